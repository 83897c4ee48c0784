"""Where hpatch keeps its caches, logs and run records, and finds its harness."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hpatch.errors import HpatchError


def cache_dir() -> Path:
    """HPATCH_CACHE, else $XDG_CACHE_HOME/hpatch, else ~/.cache/hpatch."""
    explicit = os.environ.get("HPATCH_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hpatch"


def runs_dir() -> Path:
    """HPATCH_RUNS, else ./runs: where every verification leaves its record."""
    return Path(os.environ.get("HPATCH_RUNS", "runs")).resolve()


def harness_dir() -> Path:
    """The JVM side (runner, container scripts), shipped with hpatch."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_harness", here.parent / "harness"):
        if (candidate / "verify.sh").is_file():
            return candidate
    raise HpatchError("hpatch's harness directory is missing from this installation")


@contextmanager
def cache_lock(name: str) -> Iterator[None]:
    """Serialise filling one cache entry across processes (flock, released on exit)."""
    locks = cache_dir() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
