from __future__ import annotations

from pathlib import Path

from hpatch import output, records
from hpatch.ci import emit, install_line, servable
from hpatch.errors import UsageError
from hpatch.releases import Release


def ci(kind: str, *, releases: list[str] | None, branches: list[str] | None,
       install: str | None, install_from: str | None, extra_args: str,
       out: Path | None, shards: int = 1) -> int:
    """Write the workflow: per release (published sources) or per branch of a fork."""
    from hpatch.matrix import DEFAULT_RELEASES
    if branches and releases:
        raise UsageError("give --releases or --branches, not both")
    if branches and not (install or install_from):
        raise UsageError("hpatch is not on PyPI: with --branches, say how a job installs it "
                         "(--install-from PATH_OR_URL, e.g. git+https://git.example.com/"
                         "platform/hpatch.git, or --install 'SHELL LINE')")
    wanted = [str(Release.parse(r)) for r in releases] if releases else list(DEFAULT_RELEASES)
    kept, dropped = servable(wanted)
    if not branches:
        for release in dropped:
            output.note(f"no job for {release}: it published no -sources jars, so "
                        "`--release` cannot serve it (verify a clone of it with --branches)")
        if not kept:
            raise UsageError("none of these releases can be verified from published sources")
    text = emit(kind, kept, install_line(install, install_from), extra_args,
                branches=branches, shards=shards)
    if out is None:
        output.line(text.rstrip("\n"))
    else:
        records.write_output(out, text, "--output")
        output.note(f"wrote {out}")
    return 0
