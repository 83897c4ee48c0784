"""The one process runner: every subprocess goes through here."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from hpatch.errors import ProcessError


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv, capture both streams; raise ProcessError with them on failure."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=full_env,
            input=input_text,
            capture_output=True,
            text=True,
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


def run_bytes(argv: Sequence[str], *, input_bytes: bytes, cwd: Path | None = None) -> bytes:
    """Run argv with bytes in and out (git's object streams); ProcessError on failure."""
    try:
        proc = subprocess.run(list(argv), cwd=cwd, input=input_bytes, capture_output=True,
                              check=False)
    except FileNotFoundError as exc:
        raise ProcessError(list(argv), 127, "", f"{argv[0]}: command not found") from exc
    if proc.returncode != 0:
        raise ProcessError(list(argv), proc.returncode, "",
                           proc.stderr.decode("utf-8", "replace"))
    return proc.stdout
