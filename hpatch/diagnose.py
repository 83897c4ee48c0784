"""From symptoms in logs and jstack dumps to catalog fixes.

Each fix declares signatures (regular expressions). A `strong` signature alone
names its fix. `weak` ones (abnormal, but not specific to the bug) without a strong
one make the fix only `possible`; `context` ones (seen on healthy clusters too) only
add evidence, so a healthy but busy log stays quiet.

Files are read line by line and normalised before matching, so that what people
paste looks like what the JVM wrote: a stack trace pasted on one line (JIRA), frames
without indentation, a timestamp on every line, lines hard-wrapped at a fixed width,
blank lines between frames. Each line is cut at MAX_LINE characters, and lint keeps
every signature's repeats bounded, so matching time grows with the size of the input,
never with the square of a line's length. The normalised text is matched in
overlapping windows, so a multi-gigabyte log never has to fit in memory.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import re
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

from hpatch.catalog import Catalog, Fix, signature_pattern
from hpatch.errors import InputError

CHUNK = 32 << 20
OVERLAP = 256 << 10  # a jstack frame and its lock line fit well within this
MAX_LINE = 4096  # no log line that matters is longer; the rest of a longer one is dropped
MAX_EXAMPLES = 3
WRAP_SAMPLE = 4000  # lines looked at to tell a hard-wrapped paste

_STAMP = re.compile(
    r"\[?(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:[.,]\d{1,3})?)\]?[ \t]{1,8}")
_FRAME = (r"at [\w$]{1,200}(?:\.[\w$<>-]{1,200}){1,60}\("
          r"|- (?:locked|waiting to lock|waiting on|parking to wait for) <"
          r"|\.\.\. \d{1,9} more|java\.lang\.Thread\.State: ")
# What may follow a timestamp on a line that only continues a stack trace or jstack.
_STACKISH = re.compile(rf"[ \t]{{0,16}}(?:{_FRAME}|Caused by: |\"|[\w$.]{{1,300}}"
                       r"(?:Exception|Error|Throwable)\b)")
_BARE_FRAME = re.compile(_FRAME)
_INDENTED_FRAME = re.compile(rf"[ \t]{{1,64}}(?:{_FRAME})|Caused by: ")
# Where a stack trace pasted on one line had its line breaks.
_INLINE_BREAK = re.compile(rf"(?<=\S)[ \t]{{1,16}}(?={_FRAME}|Caused by: )")


BENIGN = "benign"  # the strength of a counter-evidence hit


@dataclass(frozen=True)
class Hit:
    signature: str  # a signature's id, or a counter-evidence entry's (strength BENIGN)
    strength: str
    file: str
    line: int
    text: str
    explains: str
    see: str = ""  # an upstream issue about this part of the bug


@dataclass
class Finding:
    fix: Fix
    hits: list[Hit] = field(default_factory=list)

    @property
    def strong(self) -> list[Hit]:
        return [h for h in self.hits if h.strength == "strong"]

    @property
    def weak_signatures(self) -> set[str]:
        return {h.signature for h in self.hits if h.strength == "weak"}

    @property
    def benign(self) -> list[Hit]:
        """Counter-evidence seen: a benign cause of some of the fix's weak symptoms."""
        return [h for h in self.hits if h.strength == BENIGN]

    @property
    def cancelled(self) -> set[str]:
        """The weak signatures a benign cause seen in the logs explains."""
        seen = {h.signature for h in self.benign}
        return {c for entry in self.fix.counter_evidence if entry["id"] in seen
                for c in entry["cancels"]}

    @property
    def open_weak(self) -> set[str]:
        """Weak signatures seen that no benign cause explains."""
        return self.weak_signatures - self.cancelled

    def counter_entries(self) -> list[dict[str, Any]]:
        """The counter-evidence entries seen that explain weak evidence seen."""
        seen = {h.signature for h in self.benign}
        return [e for e in self.fix.counter_evidence
                if e["id"] in seen and set(e["cancels"]) & self.weak_signatures]


@dataclass(frozen=True)
class Report:
    named: list[Finding]  # a strong signature names each
    possible: list[Finding]  # weak evidence only, not all explained by a benign cause
    # weak evidence a benign cause explains (all of it; or part, and the fix is possible too)
    benign: list[Finding] = field(default_factory=list)


STDIN = "-"  # the file name that reads standard input
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_UNPACK: dict[str, Callable[[Any], Any]] = {
    "gzip": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    "bzip2": lambda raw: bz2.BZ2File(raw),
    "xz": lambda raw: lzma.LZMAFile(raw),  # noqa: SIM115 (the text reader closes it)
}
_READ_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, OSError)


def display_name(path: Path) -> str:
    return "<stdin>" if str(path) == STDIN else str(path)


def _binary(path: Path) -> io.BufferedReader[Any]:
    if str(path) == STDIN:
        return open(sys.stdin.fileno(), "rb", closefd=False)
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a log file")
    try:
        return path.open("rb")
    except FileNotFoundError as exc:
        raise InputError(f"no such file: {path}") from exc
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _decompressed(raw: io.BufferedReader[Any]) -> tuple[io.BufferedReader[Any], str]:
    """The stream, unpacked when its first bytes say gzip, bzip2 or xz (whatever the
    file is called), and the format's name ("" for none)."""
    head = raw.peek(6)[:6]
    for magic, kind in _COMPRESSED:
        if head.startswith(magic):
            return io.BufferedReader(_UNPACK[kind](raw)), kind
    return raw, ""


def _encoding(stream: io.BufferedReader[Any]) -> str:
    """UTF-8 unless a byte-order mark, or NULs in every other byte, say UTF-16/32."""
    head = stream.peek(512)[:512]
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if len(head) >= 8:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) * 2 > len(odd) and not even.count(0):
            return "utf-16-le"
        if even.count(0) * 2 > len(even) and not odd.count(0):
            return "utf-16-be"
    return "utf-8"


def _unreadable(path: Path, kind: str, exc: BaseException) -> InputError:
    what = f"not a valid {kind} file" if kind else "a read failed"
    detail = getattr(exc, "strerror", None) or exc
    return InputError(f"cannot read {display_name(path)}: {what} ({detail})")


def _open(path: Path) -> tuple[IO[str], str]:
    """The file as text, and what it was packed as ("" for plain)."""
    raw = _binary(path)
    kind = ""
    try:
        stream, kind = _decompressed(raw)
        encoding = _encoding(stream)
    except _READ_ERRORS as exc:
        raw.close()
        raise _unreadable(path, kind, exc) from exc
    return io.TextIOWrapper(stream, encoding=encoding, errors="replace"), kind


def _wrap_width(sample: list[str]) -> int | None:
    """The width a paste was hard-wrapped at (every long line exactly that long, none
    longer), or None for a log as written."""
    lengths = [len(line.rstrip("\r\n")) for line in sample]
    long = [n for n in lengths if n >= 40]
    if not long:
        return None
    width, count = Counter(long).most_common(1)[0]
    if count >= 3 and count * 10 >= len(long) * 3 and max(lengths) == width:
        return width
    return None


def _joined(handle: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, line without its end), hard-wrapped lines joined again."""
    lines = iter(handle)
    head = list(islice(lines, WRAP_SAMPLE))
    width = _wrap_width(head)
    stream = chain(head, lines)
    if width is None:
        for number, raw in enumerate(stream, 1):
            yield number, raw.rstrip("\r\n")
        return
    buffer, start = "", 0
    for number, raw in enumerate(stream, 1):
        text = raw.rstrip("\r\n")
        if not buffer:
            start = number
        if len(text) == width:
            buffer += text
            continue
        yield start, buffer + text
        buffer = ""
    if buffer:
        yield start, buffer


def _pieces(text: str) -> list[str]:
    """One line as the JVM would have written it: maybe several lines."""
    stamp = _STAMP.match(text)
    if stamp and _STACKISH.match(text, stamp.end()):
        text = text[stamp.end():]
    parts = _INLINE_BREAK.split(text) if (" at " in text or "Caused by: " in text) else [text]
    return [("\t" + p if _BARE_FRAME.match(p) else p)[:MAX_LINE] for p in parts]


def normalise(handle: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number in the file, normalised line); blank lines inside a trace dropped."""
    blanks: list[int] = []
    in_trace = False
    for number, text in _joined(handle):
        for piece in _pieces(text):
            if not piece.strip():
                blanks.append(number)
                continue
            frame = _INDENTED_FRAME.match(piece) is not None
            if blanks and not (in_trace and frame):
                yield from ((n, "") for n in blanks)
            blanks.clear()
            in_trace = frame or _STACKISH.match(piece) is not None
            yield number, piece
    yield from ((n, "") for n in blanks)


def _windows(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, list[int], str]]:
    """(offset in the normalised text, each line's number in the file, text), with the
    last OVERLAP characters of one window again at the start of the next."""
    numbers: list[int] = []
    parts: list[str] = []
    size = offset = 0
    for number, text in lines:
        numbers.append(number)
        parts.append(text)
        size += len(text) + 1
        if size < CHUNK:
            continue
        yield offset, numbers, "\n".join(parts) + "\n"
        keep, kept = 0, 0
        while keep < len(parts) and kept < OVERLAP:
            keep += 1
            kept += len(parts[-keep]) + 1
        dropped = parts[: len(parts) - keep]
        offset += sum(len(p) + 1 for p in dropped)
        numbers, parts, size = numbers[-keep:], parts[-keep:], kept
    if parts:
        yield offset, numbers, "\n".join(parts) + "\n"


@dataclass
class _Tally:
    """Hits of one signature in one file: the first few kept, duplicates from the
    windows' overlap skipped by offset."""

    last: int = -1
    hits: list[Hit] = field(default_factory=list)


def _match_window(path: str, offset: int, numbers: list[int], text: str,
                  compiled: list[tuple[Fix, dict[str, Any], re.Pattern[str]]],
                  tallies: dict[tuple[str, str, str], _Tally]) -> None:
    for fix, sig, pattern in compiled:
        tally = tallies.setdefault((fix.id, sig["strength"], sig["id"]), _Tally())
        line_index, counted_to = 0, 0
        for match in pattern.finditer(text):
            where = offset + match.start()
            if where <= tally.last:
                continue
            tally.last = where
            if len(tally.hits) >= MAX_EXAMPLES:
                break
            line_index += text.count("\n", counted_to, match.start())
            counted_to = match.start()
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.start())
            shown = (_phrases(match) if sig.get("prose")
                     else text[start: end if end >= 0 else None].strip()[:240])
            tally.hits.append(Hit(sig["id"], sig["strength"], path, numbers[line_index],
                                  shown, sig["explains"], str(sig.get("see", ""))))


def _phrases(match: re.Match[str]) -> str:
    """What a prose signature matched: the words of each of its groups."""
    words = dict.fromkeys(" ".join(g.split())[:80] for g in match.groups() if g)
    return "matched phrases: " + "; ".join(f'"{w}"' for w in words)


def _scan_file(path: Path, compiled: list[tuple[Fix, dict[str, Any], re.Pattern[str]]],
               findings: dict[str, Finding]) -> None:
    name = display_name(path)
    tallies: dict[tuple[str, str, str], _Tally] = {}
    handle, kind = _open(path)
    try:
        with handle:
            for offset, numbers, text in _windows(normalise(handle)):
                _match_window(name, offset, numbers, text, compiled, tallies)
    except _READ_ERRORS as exc:
        raise _unreadable(path, kind, exc) from exc
    by_id = {fix.id: fix for fix, _, _ in compiled}
    for (fix_id, _, _), tally in tallies.items():
        if tally.hits:
            findings.setdefault(fix_id, Finding(by_id[fix_id])).hits.extend(tally.hits)


def _counter_signature(entry: dict[str, Any]) -> dict[str, Any]:
    return {"id": entry["id"], "strength": BENIGN,
            "explains": f"{entry['cause']}; answer: {entry['answer']}"}


def examine(paths: list[Path], catalog: Catalog) -> Report:
    compiled = [
        (fix, sig, signature_pattern(fix.id, sig))
        for fix in catalog for sig in fix.signatures
    ] + [
        (fix, _counter_signature(entry), signature_pattern(fix.id, entry))
        for fix in catalog for entry in fix.counter_evidence
    ]
    findings: dict[str, Finding] = {}
    for path in paths:
        _scan_file(path, compiled, findings)
    named = [f for f in findings.values() if f.strong]
    possible = [f for f in findings.values() if not f.strong and f.open_weak]
    benign = [f for f in findings.values() if not f.strong and f.weak_signatures & f.cancelled]
    return Report(named, possible, benign)


def scan(paths: list[Path], catalog: Catalog) -> list[Finding]:
    """The fixes a strong signature names."""
    return examine(paths, catalog).named


def summarize(finding: Finding, *, strengths: tuple[str, ...] = ("strong", "weak", "context"),
              skip: frozenset[str] = frozenset()) -> list[Hit]:
    """A few examples per signature and file, grouped by file, in file order (benign
    causes and the signatures in skip left out unless asked for)."""
    per: dict[tuple[str, str], list[Hit]] = {}
    for hit in sorted(finding.hits, key=lambda h: (h.file, h.line)):
        if hit.strength in strengths and hit.signature not in skip:
            per.setdefault((hit.file, hit.signature), []).append(hit)
    shown: list[Hit] = []
    for hits in per.values():
        shown.extend(hits[:MAX_EXAMPLES])
    return sorted(shown, key=lambda h: (h.file, h.line))
