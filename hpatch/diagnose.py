"""From symptoms in logs and jstack dumps to catalog fixes.

Each fix declares signatures (regular expressions). A `strong` signature alone
names its fix; `weak` ones only add evidence to a fix a strong one named, so a
healthy but busy log stays quiet. Files are scanned in overlapping chunks, so
a multi-gigabyte log never has to fit in memory.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from hpatch.catalog import Catalog, Fix
from hpatch.errors import HpatchError

CHUNK = 32 << 20
OVERLAP = 256 << 10  # a jstack frame and its lock line fit well within this
MAX_EXAMPLES = 3


@dataclass(frozen=True)
class Hit:
    signature: str
    strength: str
    file: str
    line: int
    text: str
    explains: str


@dataclass
class Finding:
    fix: Fix
    hits: list[Hit] = field(default_factory=list)

    @property
    def strong(self) -> list[Hit]:
        return [h for h in self.hits if h.strength == "strong"]


def _open(path: Path) -> IO[str]:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding="utf-8", errors="replace")
        return path.open("r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise HpatchError(f"cannot read {path}: {exc.strerror}") from exc


def _chunks(handle: IO[str]) -> Iterator[tuple[int, int, str]]:
    """(offset of chunk in file, line number at its start, text) with overlap."""
    offset, line = 0, 1
    carry = ""
    while True:
        data = handle.read(CHUNK)
        if not data:
            if carry:
                yield offset, line, carry
            return
        text = carry + data
        if len(text) <= OVERLAP:
            carry = text
            continue
        keep = text[-OVERLAP:]
        yield offset, line, text
        consumed = text[: len(text) - OVERLAP]
        line += consumed.count("\n")
        offset += len(consumed)
        carry = keep


def scan(paths: list[Path], catalog: Catalog) -> list[Finding]:
    compiled = [
        (fix, sig, re.compile(sig["pattern"], re.MULTILINE))
        for fix in catalog for sig in fix.signatures
    ]
    seen: set[tuple[str, str, str, int]] = set()
    findings: dict[str, Finding] = {}
    for path in paths:
        if not path.is_file():
            raise HpatchError(f"not a file: {path}")
        with _open(path) as handle:
            for offset, first_line, text in _chunks(handle):
                for fix, sig, pattern in compiled:
                    for match in pattern.finditer(text):
                        key = (fix.id, sig["id"], str(path), offset + match.start())
                        if key in seen:
                            continue
                        seen.add(key)
                        line_no = first_line + text.count("\n", 0, match.start())
                        line_start = text.rfind("\n", 0, match.start()) + 1
                        line_end = text.find("\n", match.start())
                        shown = text[line_start: line_end if line_end >= 0 else None]
                        finding = findings.setdefault(fix.id, Finding(fix))
                        finding.hits.append(Hit(sig["id"], sig["strength"], str(path), line_no,
                                                shown.strip()[:240], sig["explains"]))
    return [f for f in findings.values() if f.strong]


def summarize(finding: Finding) -> list[Hit]:
    """A few examples per signature, in file order."""
    per: dict[str, list[Hit]] = {}
    for hit in sorted(finding.hits, key=lambda h: (h.file, h.line)):
        per.setdefault(hit.signature, []).append(hit)
    shown: list[Hit] = []
    for hits in per.values():
        shown.extend(hits[:MAX_EXAMPLES])
    return shown
