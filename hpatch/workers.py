"""Work on a pool of threads that an interrupt stops: queued items never start, and
running ones are told to stop (STOP), which containers and child processes look at."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

# Set when the main thread was interrupted: work in other threads (a container, a child
# process) stops at its next look, instead of running to its end.
STOP = threading.Event()
T = TypeVar("T")


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
