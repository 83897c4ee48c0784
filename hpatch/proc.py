"""The one process runner: every subprocess goes through here."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from hpatch.errors import ProcessError

EXIT_TIMEOUT = 124  # as timeout(1) says it
Completed = subprocess.CompletedProcess[str]  # what run() returns, for other modules' hints


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    unset: Collection[str] = (),
    input_text: str | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv, capture both streams; raise ProcessError with them on failure.

    The child's environment is this process's, less the names in unset, plus env."""
    full_env = _environment(env, unset)
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=full_env,
            input=input_text,
            stdin=subprocess.DEVNULL if input_text is None else None,
            capture_output=True,
            encoding="utf-8",
            errors="surrogateescape",  # git prints file names and contents as they are
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ProcessError(list(argv), 127, "", f"{argv[0]}: command not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProcessError(list(argv), 124, "", f"timed out after {timeout:.0f} s") from exc
    if check and proc.returncode != 0:
        raise ProcessError(list(argv), proc.returncode, proc.stdout, proc.stderr)
    return proc


def run_bytes(argv: Sequence[str], *, input_bytes: bytes, cwd: Path | None = None,
              env: Mapping[str, str] | None = None, unset: Collection[str] = ()) -> bytes:
    """Run argv with bytes in and out (git's object streams); ProcessError on failure."""
    try:
        proc = subprocess.run(list(argv), cwd=cwd, input=input_bytes, capture_output=True,
                              env=_environment(env, unset), check=False)
    except FileNotFoundError as exc:
        raise ProcessError(list(argv), 127, "", f"{argv[0]}: command not found") from exc
    if proc.returncode != 0:
        raise ProcessError(list(argv), proc.returncode, "",
                           proc.stderr.decode("utf-8", "replace"))
    return proc.stdout


def _environment(env: Mapping[str, str] | None, unset: Collection[str]) -> dict[str, str]:
    full_env = {name: value for name, value in os.environ.items() if name not in unset}
    if env:
        full_env.update(env)
    return full_env


def stream(argv: Sequence[str], *, on_line: Callable[[str], None], cwd: Path | None = None,
           timeout: float | None = None) -> int:
    """Run argv with both streams merged, each line to on_line as it comes; its exit
    code, or EXIT_TIMEOUT once it has run past timeout seconds (it is killed).

    The deadline is kept by a timer, not by reading: a child that prints nothing
    and never exits must still be stopped."""
    try:
        child = subprocess.Popen(list(argv), cwd=cwd, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, errors="replace",
                                 start_new_session=True)
    except FileNotFoundError as exc:
        raise ProcessError(list(argv), 127, "", f"{argv[0]}: command not found") from exc
    expired = threading.Event()
    timer = threading.Timer(timeout, _expire, (child, expired)) if timeout else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    done = threading.Event()
    threading.Thread(target=_stop_on_interrupt, args=(child, done), daemon=True).start()
    try:
        assert child.stdout is not None
        for line in child.stdout:
            on_line(line.rstrip("\n"))
        code = child.wait()
    finally:
        done.set()
        if timer is not None:
            timer.cancel()
        if child.poll() is None:  # on_line raised, or ^C: leave no child behind
            _kill_group(child)
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    return EXIT_TIMEOUT if expired.is_set() else code


def _stop_on_interrupt(child: subprocess.Popen[str], done: threading.Event) -> None:
    """A run interrupted in the main thread stops this child too (it runs in a worker)."""
    from hpatch import workers
    while not done.wait(1.0):
        if workers.STOP.is_set():
            _kill_group(child)
            return


def _expire(child: subprocess.Popen[str], expired: threading.Event) -> None:
    expired.set()
    _kill_group(child)


def _kill_group(child: subprocess.Popen[str]) -> None:
    """Kill the child and what it started (a script's JVM holds the pipe open too)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, 9)


def open_pipe(argv: Sequence[str], *, cwd: Path | None = None,
              env: Mapping[str, str] | None = None, unset: Collection[str] = (),
              stdin: bool = True) -> subprocess.Popen[bytes]:
    """A long-lived child to talk to through binary pipes (git cat-file --batch, a
    streaming git log); close_pipe() ends it. Its environment is built as run()'s."""
    full_env = _environment(env, unset)
    try:
        return subprocess.Popen(list(argv), cwd=cwd, env=full_env,
                                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise ProcessError(list(argv), 127, "", f"{argv[0]}: command not found") from exc


def close_pipe(child: subprocess.Popen[bytes]) -> None:
    """End a child from open_pipe: closed input, then killed if it is still running."""
    if child.stdin is not None:
        with contextlib.suppress(OSError):
            child.stdin.close()
    if child.poll() is None:
        child.kill()
    child.wait()
    for stream_ in (child.stdout, child.stderr):
        if stream_ is not None:
            stream_.close()
