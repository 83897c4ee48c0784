"""Which fixes to import: ids named on the command line, or a file of them (the gap
scan's JSON, a list of records with "id", or text with one id per line)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpatch import catalog as catalog_mod
from hpatch.errors import UsageError


@dataclass(frozen=True)
class Row:
    """One fix's result in a batch: imported, partial, conflict, fixed-upstream, refused."""

    fix: str
    result: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"id": self.fix, "result": self.result, "detail": self.detail}


def read_ids(path: Path) -> list[str]:
    """The ids a file names, in its order, once each; a bad line is a usage error."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the list of ids {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    if text.lstrip().startswith(("[", "{")):
        found = _json_ids(path, text)
    else:
        found = []
        for number, raw in enumerate(text.splitlines(), 1):
            value = raw.split("#", 1)[0].strip()
            if value:
                found.append((f"{path.name} line {number}", value))
    ids = []
    for where, value in found:
        fix_id = value.strip().upper()
        if not catalog_mod.ID_PATTERN.match(fix_id):
            raise UsageError(f"{where}: {value!r} is not a JIRA id like HDFS-9220")
        ids.append(fix_id)
    if not ids:
        raise UsageError(f"{path} names no fix id")
    return list(dict.fromkeys(ids))


def _json_ids(path: Path, text: str) -> list[tuple[str, str]]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if isinstance(data, dict):  # {"fixes": [...]} or {"records": [...]}: the one list in it
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else None
    if not isinstance(data, list):
        raise UsageError(f"{path}: expected a JSON list of records with \"id\"")
    found = []
    for n, record in enumerate(data):
        value = record.get("id") if isinstance(record, dict) else record
        if not isinstance(value, str):
            raise UsageError(f"{path}: record {n} has no \"id\" string")
        found.append((f"{path.name} record {n}", value))
    return found
