from __future__ import annotations

import math
import time

from hpatch import output, treebuild
from hpatch.errors import UsageError
from hpatch.treebuild import ENTRY


def cache_ls(*, as_json: bool) -> int:
    """The builds of checkouts' code that verification reuses; damaged ones as such."""
    found = list(treebuild.entries())
    if as_json:
        output.as_json([{"key": e.key, "path": str(e.path), "bytes": e.bytes,
                         "last_used": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(e.used)),
                         "damaged": e.damage or None,
                         **{k: e.meta.get(k) for k in ("version", "modules", "native", "tree",
                                                        "command", "minutes")}}
                        for e in found])
        return 0
    rows = [(e.key[:12], e.meta.get("version"), _what(e), f"{e.bytes / 2**20:.0f}",
             time.strftime("%Y-%m-%d %H:%M", time.localtime(e.used)),
             e.meta.get("minutes")) for e in found]
    output.table(rows, ["build", "version", "modules", "MiB", "last used", "minutes"])
    total = sum(e.bytes for e in found)
    output.line(f"{len(found)} build(s), {total / 2**30:.2f} GiB in {treebuild.root()} "
                f"(bound {treebuild.max_bytes() / 2**30:.1f} GiB: HPATCH_BUILD_CACHE_MAX)")
    damaged = sum(bool(e.damage) for e in found)
    if damaged:
        output.note(f"{damaged} damaged build(s), never reused: `hpatch cache prune` "
                    "removes them")
    return 0


def cache_prune(*, max_gib: float | None, older_than_days: float | None, everything: bool) -> int:
    if older_than_days is not None and (math.isnan(older_than_days) or older_than_days < 0):
        raise UsageError(f"--older-than must be a number of days from 0 up, not "
                         f"{older_than_days:g}")
    if everything:
        limit = 0
    elif max_gib is not None:
        limit = treebuild.gib_bytes(max_gib, "--max-size", UsageError)
    else:
        limit = treebuild.max_bytes()
    removed = treebuild.prune(max_bytes=limit, older_than_days=older_than_days)
    freed = sum(e.bytes for e in removed)
    output.line(f"removed {len(removed)} build(s), {freed / 2**20:.0f} MiB")
    return 0


def _what(entry: treebuild.Entry) -> str:
    if entry.damage:
        return f"damaged: {ENTRY} cannot be read (`cache ls --json` says why)"
    modules = entry.meta.get("modules") or []
    names = [str(m).rsplit("/", 1)[-1] for m in modules] if isinstance(modules, list) else []
    text = ", ".join(names) if names else "whole tree"
    return text + (" +native" if entry.meta.get("native") else "")
