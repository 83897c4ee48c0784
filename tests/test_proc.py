"""The one process runner: its deadline holds, and the --no-docker runtime keeps it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hpatch import proc
from hpatch.errors import ProcessError
from hpatch.runtime import Job
from hpatch.runtime.local import LocalRuntime


def test_stream_hands_on_lines_and_the_exit_code() -> None:
    lines: list[str] = []
    code = proc.stream(["bash", "-c", "echo one; echo two >&2; exit 3"], on_line=lines.append,
                       timeout=30)
    assert code == 3
    assert lines == ["one", "two"]


def test_stream_stops_a_job_at_its_deadline() -> None:
    started = time.monotonic()
    code = proc.stream(["bash", "-c", "echo started; sleep 4; echo finished"],
                       on_line=lambda _: None, timeout=1)
    assert code == proc.EXIT_TIMEOUT
    assert time.monotonic() - started < 3


def test_the_deadline_also_stops_what_the_job_started() -> None:
    # A script's JVM is a grandchild holding the pipe open: it must go too.
    lines: list[str] = []
    code = proc.stream(["bash", "-c", "sleep 30 & echo $!; wait"], on_line=lines.append,
                       timeout=1)
    assert code == proc.EXIT_TIMEOUT
    assert not _running(int(lines[0]))


def _running(pid: int) -> bool:
    """Alive and not a zombie, within a second (a killed process is reaped by init)."""
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.05)
    return True


def test_stream_of_a_missing_command_is_a_process_error() -> None:
    with pytest.raises(ProcessError, match="command not found"):
        proc.stream(["no-such-command-here"], on_line=lambda _: None)


def test_local_runtime_keeps_the_jobs_timeout(tmp_path: Path) -> None:
    seen: list[str] = []
    job = Job(work=tmp_path, argv=["bash", "-c", "echo 'hpatch-progress: compiling'; sleep 4"],
              readonly=[], timeout=1)
    started = time.monotonic()
    assert LocalRuntime().run(job, seen.append) == proc.EXIT_TIMEOUT
    assert time.monotonic() - started < 3
    assert seen == ["compiling"]
