"""Ctrl-C while Python is still importing hpatch's modules.

Until main() is inside the try block that turns KeyboardInterrupt into one line and
exit 130, a Ctrl-C would end in a traceback. defer() makes SIGINT only be noted
during the imports; arm() restores KeyboardInterrupt and raises the noted one, inside
that try block.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# Imported first of all hpatch's modules (a Ctrl-C is noted from then on): it imports
# nothing slow. Worker threads' stopping lives in workers.py.
_noted: list[int] = []


def _note(signum: int, frame: FrameType | None) -> None:
    _noted.append(signum)


def defer() -> None:
    signal.signal(signal.SIGINT, _note)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def arm() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # `kill PID` (and a CI runner's cancel) ends a run as a Ctrl-C does: its containers
    # and children are stopped, and what it wrote is whole.
    signal.signal(signal.SIGTERM, _terminate)
    if _noted:
        raise KeyboardInterrupt


@contextmanager
def held() -> Iterator[None]:
    """Writes that must land together (an entry and its place in the catalog's order):
    a Ctrl-C during the block is noted and raised when the block is done."""
    noted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    terminate = signal.signal(signal.SIGTERM, lambda signum, frame: noted.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, terminate)
    if noted:
        raise KeyboardInterrupt
