from __future__ import annotations

from pathlib import Path

from hpatch import output, sources
from hpatch.errors import HpatchError
from hpatch.releases import Release


def source(release: Release, dest: Path) -> int:
    """Lay out release's sources (from Maven) as a git checkout at dest."""
    if dest.exists() and not dest.is_dir():
        raise HpatchError(f"{dest} exists and is not a directory; give a new directory")
    if not dest.exists() and dest.parent.exists() and not dest.parent.is_dir():
        raise HpatchError(f"{dest.parent} is not a directory; give a new directory")
    sources.materialize(release, dest, progress=output.note)
    output.line(f"{dest}: Hadoop {release} sources, branch hadoop-{release}, "
                f"tag {sources.release_tag(release)}")
    return 0
