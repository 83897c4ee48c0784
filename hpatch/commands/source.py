from __future__ import annotations

from pathlib import Path

from hpatch import output, sources
from hpatch.releases import Release


def source(release: Release, dest: Path) -> int:
    """Lay out release's sources (from Maven) as a git checkout at dest."""
    sources.materialize(release, dest, progress=output.note)
    output.line(f"{dest}: Hadoop {release} sources, branch hadoop-{release}, "
                f"tag {sources.release_tag(release)}")
    return 0
