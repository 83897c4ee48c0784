"""Where hpatch keeps its caches and logs."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """HPATCH_CACHE, else $XDG_CACHE_HOME/hpatch, else ~/.cache/hpatch."""
    explicit = os.environ.get("HPATCH_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hpatch"
