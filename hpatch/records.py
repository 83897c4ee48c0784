"""Files hpatch writes for itself and reads back (run records, cache entries,
written reports): each written whole or not at all, and read back with one
clear line when damaged.

A write goes to a temporary file beside the target, is flushed to disk, and is
renamed over the target, so a kill or a full disk leaves the old file or the
new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hpatch.errors import HpatchError, UsageError


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # once, at import: setting it later could race another thread


class DamagedRecordError(HpatchError):
    """A record hpatch wrote cannot be read back (truncated, edited, not JSON)."""


def write_text(path: Path, text: str) -> None:
    """Write path atomically (temp file + fsync + rename); HpatchError in one line.
    A symlink is written through; a device or pipe (/dev/stdout) is written plainly."""
    if path.is_dir():
        raise HpatchError(f"{path} is a directory: name a file to write")
    if path.exists() and not path.is_file():
        _write_plainly(path, text)  # through any link: /dev/stdout is one to a pipe
        return
    if path.is_symlink():
        path = path.resolve()
    try:
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                       suffix=".tmp")
    except OSError as exc:
        raise HpatchError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0600 is not what a plain write makes
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise HpatchError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_dir(path.parent)


def write_output(path: Path, text: str, option: str) -> None:
    """A file the user named (--output, --junit-xml), in one line if it cannot be one:
    a directory given for it is a usage error, a folder that is not there a failure."""
    if path.is_dir():
        raise UsageError(f"{option} {path} is a directory: name a file to write")
    if not path.parent.is_dir():
        raise HpatchError(f"cannot write {path}: no such directory {path.parent}")
    write_text(path, text)


def _write_plainly(path: Path, text: str) -> None:
    try:
        with path.open("w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise HpatchError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_json(path: Path, data: Any, *, indent: int | None = 1) -> None:
    write_text(path, json.dumps(data, indent=indent) + "\n")


def read_json(path: Path, what: str = "record") -> Any:
    """A JSON record; DamagedRecordError naming it when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DamagedRecordError(f"cannot read the {what} {path}: {reason}") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        state = "empty" if not text.strip() else f"not valid JSON ({exc})"
        raise DamagedRecordError(f"the {what} {path} is damaged: {state}") from exc


def read_json_object(path: Path, what: str = "record") -> dict[str, Any]:
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise DamagedRecordError(f"the {what} {path} is damaged: not a JSON object")
    return data


def _sync_dir(directory: Path) -> None:
    """The rename itself is durable only once the directory is flushed."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
