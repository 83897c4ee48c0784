from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from hpatch import changes, output
from hpatch.assess import applied_commits, assess_all
from hpatch.catalog import Fix
from hpatch.checkout import Checkout
from hpatch.errors import GitLockError, HpatchError
from hpatch.guard import Holder, Journal, running


def _base(checkout: Checkout) -> dict[str, str]:
    """The checkout's own version and the Apache release it derives from, as verify
    takes them (status reads the code either way, so an unknown base only says so)."""
    from hpatch import forks
    try:
        return forks.base_of(checkout).as_dict()
    except HpatchError as exc:
        version = checkout.pom_version()
        return {"version": version, "base": "", "base_from": str(exc)}


def status(checkout: Checkout, fixes: list[Fix], *, as_json: bool) -> int:
    release = checkout.hadoop_release()
    base = _base(checkout)
    results = assess_all(checkout, fixes, release, applied_commits(checkout.hpatch_commits()))
    branch = checkout.branch()
    pending = Journal.read(changes.state_dir(checkout))
    live = running(changes.state_dir(checkout))
    busy = checkout.operation_in_progress()
    locks = checkout.git_locks(branch)
    if as_json:
        output.as_json({
            "repo": str(checkout.root), "release": str(release), **base, "branch": branch,
            "head": checkout.rev("HEAD"),  # None on an unborn branch
            # a journal of a run that is still going is its work in progress, not a leftover
            "interrupted": pending.op + " " + pending.fix if pending and not live else None,
            "running": _running_dict(live, pending),
            "in_progress": busy,
            "git_locks": [str(p) for p in locks],
            "fixes": [r.as_dict() for r in results],
        })
        return 0
    where = f"branch {branch}" if branch else "detached HEAD"
    if busy:
        where += f", {busy} in progress"
    shown = str(release)
    if base["base"] != shown:
        shown += (f" (Apache base {base['base']}, from {base['base_from']})" if base["base"]
                  else f" ({base['base_from']})")
    output.line(f"Hadoop {shown} at {checkout.root} ({where})")
    if live:
        doing = f", in the middle of `{pending.op} {pending.fix}`" if pending else ""
        output.note(f"an hpatch run is in progress here: {live.describe()}{doing}; the states "
                    "below may change when it finishes")
    elif pending:
        output.note(f"an interrupted `{pending.op} {pending.fix}` is pending; "
                    "`hpatch recover` (or the next apply/revert) finishes it")
    for lock in locks:
        output.note(str(GitLockError(str(lock), _age(lock))))
    rows = [(r.fix.id, r.state.value, r.variant.name if r.variant else "-", r.detail)
            for r in results]
    output.table(rows, ["fix", "state", "variant", "detail"])
    return 0


def _running_dict(live: Holder | None, pending: Journal | None) -> dict[str, object] | None:
    if live is None:
        return None
    return {"pid": live.pid, "host": live.host, "command": live.command,
            "since": datetime.fromtimestamp(live.since, timezone.utc).isoformat(
                timespec="seconds"),
            "step": f"{pending.op} {pending.fix}" if pending else None}


def _age(path: Path) -> float | None:
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return None
