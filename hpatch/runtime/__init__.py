"""Where the reproducers' JVM runs: a small family behind one interface."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    """One script run: WORK is writable, everything in `readonly` is mounted as is."""

    work: Path
    argv: Sequence[str]
    readonly: Sequence[Path]
    timeout: float


class Runtime(Protocol):
    name: str

    def prepare(self, progress: Progress) -> str:
        """Make sure the runtime is usable; return what it is (image tag, JDK)."""
        ...

    def run(self, job: Job, progress: Progress) -> int:
        """Run job.argv; stream its `hpatch-progress:` lines; return its exit code."""
        ...


def make(name: str) -> Runtime:
    if name == "docker":
        from hpatch.runtime.docker import DockerRuntime
        return DockerRuntime()
    if name == "local":
        from hpatch.runtime.local import LocalRuntime
        return LocalRuntime()
    raise ValueError(f"unknown runtime {name}")


RUNTIMES = ("docker", "local")
LOCAL = "local"  # the host's own JDK: what --no-docker picks
