"""One hpatch run per checkout at a time, and a journal so that a run killed in
the middle of a change leaves a state the next run can finish or undo."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from hpatch import output
from hpatch.errors import HpatchError, LockedError


def _proc_start(pid: int) -> str:
    """The process's start time in clock ticks since boot, to tell a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not start or _proc_start(pid) in ("", start)


def pid_alive(pid: int) -> bool:
    """Is a process with this pid running (on this host)?"""
    return pid > 0 and _alive(pid, "")


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    command: str
    since: float
    start: str = ""

    def describe(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"pid {self.pid} on {self.host}, `{self.command}`, since {when}"


def running(state_dir: Path) -> Holder | None:
    """The hpatch run that holds the checkout's lock now, if any. A holder on another
    host cannot be checked from here and is taken as running; a dead one is not."""
    holder = _parse_holder(_read_raw(state_dir / "lock"))
    if holder is None:
        return None
    import socket  # here only, and only when there is a lock to read
    if holder.host != socket.gethostname():
        return holder
    return holder if _alive(holder.pid, holder.start) else None


@contextmanager
def repo_lock(state_dir: Path, command: str) -> Iterator[list[str]]:
    """Hold state_dir/lock for the duration; yields notes (e.g. a stale lock taken over)."""
    _make_state_dir(state_dir)
    lock = state_dir / "lock"
    notes: list[str] = []
    import socket  # here only: status reads a lock, it never takes one
    me = Holder(os.getpid(), socket.gethostname(), command, time.time(), _proc_start(os.getpid()))
    for _ in range(3):
        if _publish(lock, me):
            break
        seen = _read_raw(lock)
        holder = _parse_holder(seen)
        if holder is None and _age(lock) < 60:
            raise LockedError(f"another hpatch run holds {lock} (just taken); wait for it")
        if holder and holder.host != me.host:
            raise LockedError(
                f"another hpatch run holds {lock}: {holder.describe()}; wait for it to finish, "
                f"or, if no hpatch runs on {holder.host} any more, remove {lock}")
        if holder and _alive(holder.pid, holder.start):
            raise LockedError(
                f"another hpatch run holds {lock}: {holder.describe()}; wait for it to finish")
        if _take_over(lock, seen, me):
            what = holder.describe() if holder else "unreadable"
            notes.append(f"took over a stale lock ({what}: that process is gone)")
            break
    else:
        raise LockedError(f"could not take {lock}")
    try:
        yield notes
    finally:
        lock.unlink(missing_ok=True)


def _make_state_dir(state_dir: Path) -> None:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise HpatchError(f"{state_dir} is not a directory: hpatch keeps its lock and journal "
                          "there; move that file away") from exc
    except PermissionError as exc:
        raise HpatchError(f"cannot create {state_dir}: permission denied (is the checkout "
                          "another user's?)") from exc


def _take_over(lock: Path, seen: bytes | None, me: Holder) -> bool:
    """Replace the stale lock whose content was `seen` with ours, in one step.

    Takeovers are serialised by an flock on a side file (the kernel drops it when its
    holder dies, so it never goes stale itself). Under it, the lock is replaced only if
    it still holds exactly what was judged stale, and by a rename, so there is no
    moment without a lock in which a plain _publish could slip in: of several
    processes taking over the same dead holder's lock, one wins."""
    with open(lock.with_name("lock.takeover"), "ab") as side:
        fcntl.flock(side.fileno(), fcntl.LOCK_EX)
        try:
            if seen is None or _read_raw(lock) != seen:
                return False  # gone, or someone else's by now: look again
            tmp = lock.with_name(f"lock.{me.pid}.tmp")
            tmp.write_text(json.dumps(asdict(me)))
            os.replace(tmp, lock)
            return True
        finally:
            fcntl.flock(side.fileno(), fcntl.LOCK_UN)


def _publish(lock: Path, me: Holder) -> bool:
    """Create lock with its content in one step (link), so no reader sees it empty."""
    tmp = lock.with_name(f"lock.{me.pid}.tmp")
    tmp.write_text(json.dumps(asdict(me)))
    try:
        os.link(tmp, lock)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 1e9


def _read_raw(lock: Path) -> bytes | None:
    try:
        return lock.read_bytes()
    except OSError:
        return None


def _parse_holder(raw: bytes | None) -> Holder | None:
    if raw is None:
        return None
    try:
        return Holder(**json.loads(raw))
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True)
class Journal:
    """What a change is about to do, written before the branch moves."""

    op: str
    fix: str
    branch: str
    old: str
    new: str
    paths: list[str]

    @staticmethod
    def path(state_dir: Path) -> Path:
        return state_dir / "journal.json"

    def write(self, state_dir: Path) -> None:
        target = self.path(state_dir)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(target)

    @classmethod
    def read(cls, state_dir: Path) -> Journal | None:
        target = cls.path(state_dir)
        if not target.is_file():
            return None
        try:
            return cls(**json.loads(target.read_text()))
        except (ValueError, TypeError):
            output.note(f"ignoring an unreadable journal {target}")
            return None

    @classmethod
    def clear(cls, state_dir: Path) -> None:
        cls.path(state_dir).unlink(missing_ok=True)
