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
        return _usable_dir(Path(explicit).expanduser(), "HPATCH_CACHE")
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return _usable_dir(base / "hpatch", "XDG_CACHE_HOME" if xdg else "the cache directory")


def _usable_dir(path: Path, what: str) -> Path:
    """path, if it is a directory or can become one: nothing on the way is a file."""
    for existing in (path, *path.parents):
        if existing.exists():
            if not existing.is_dir():
                named = "" if existing == path else f" ({existing} is a file)"
                raise HpatchError(f"{what} names {path}, which cannot be a directory"
                                  f"{named}: point it at a directory")
            return path
    return path


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
