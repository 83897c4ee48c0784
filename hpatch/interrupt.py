"""Ctrl-C while Python is still importing hpatch's modules.

Until main() is inside the try block that turns KeyboardInterrupt into one line and
exit 130, a Ctrl-C would end in a traceback. defer() makes SIGINT only be noted
during the imports; arm() restores KeyboardInterrupt and raises the noted one, inside
that try block.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

_noted: list[int] = []
# Set when the main thread was interrupted: work in other threads (a container, a child
# process) stops at its next look, instead of running to its end.
STOP = threading.Event()
T = TypeVar("T")


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


def run_all(jobs: int, work: Iterable[Callable[[], T]]) -> list[T]:
    """Each callable on a pool of jobs threads, results in order. On an interrupt the
    queued ones never start and the running ones are told to stop (STOP); the interrupt
    goes on once they have."""
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    futures: list[Future[T]] = [pool.submit(item) for item in work]
    try:
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        STOP.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


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
