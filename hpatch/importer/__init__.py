"""`hpatch import`'s domain: an upstream fix carried to releases (port) and
written as an entry of the team's catalog (entry)."""
