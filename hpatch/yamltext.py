"""A small YAML writer for the files hpatch emits (CI workflows): block mappings
and sequences of plain data, every scalar written so that YAML 1.1 and 1.2
parsers read back exactly the value given. No dependency: the emitted files are
small, and a writer this narrow is easy to prove correct by parsing its output.

A string is written plain only when it cannot be read as anything else (no
`: `, ` #`, leading indicator, or word a parser takes for a bool, null or
number); as a literal block (`|`) when it is a multi-line script of printable
text; otherwise double-quoted, with every character YAML does not allow raw
escaped."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

# Plain: starts with a character that is no indicator and starts no number; printable
# ASCII; nothing that would start a comment or a key (` #`, `: `, a trailing `:`).
_PLAIN = re.compile(r"[A-Za-z_/$][\x20-\x7e]*\Z")
_NOT_PLAIN = re.compile(r": | #|:\Z|\s\Z")
# Words YAML 1.1 reads as bools or nulls (GitHub's `on` among them).
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def dump(data: Mapping[str, Any], *, header: str = "") -> str:
    """data as a YAML document; header lines become `#` comments above it."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += _mapping(data, 0)
    return "\n".join(lines) + "\n"


def scalar(value: Any) -> str:
    """One scalar on one line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"no YAML form for {type(value).__name__}")
    if _PLAIN.match(value) and not _NOT_PLAIN.search(value) and value.lower() not in _RESERVED:
        return value
    return '"' + "".join(_escape(ch) for ch in value) + '"'


def _printable(ch: str) -> bool:
    """YAML's c-printable, less what needs an escape: tab, and anything YAML 1.1 reads
    as a line break (NEL, LS, PS) or a byte-order mark."""
    code = ord(ch)
    return (0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF) and code not in (0x2028, 0x2029, 0xFEFF)


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if _printable(ch):
        return ch
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError("a lone surrogate has no YAML form")
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _block(value: str) -> bool:
    """Whether value reads back exactly as a literal block scalar (`|` or `|-`)."""
    body = value[:-1] if value.endswith("\n") else value
    # a block's indentation is read from its first line with text: that one starts flush
    first = body.lstrip("\n")
    return ("\n" in body and not first.startswith((" ", "\t")) and not body.endswith("\n")
            and all(_printable(ch) or ch in "\n\t" for ch in body))


def _value_lines(key_text: str, value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            return [f"{pad}{key_text}: {{}}"]
        return [f"{pad}{key_text}:", *_mapping(value, indent + 2)]
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            return [f"{pad}{key_text}: []"]
        return [f"{pad}{key_text}:", *_sequence(value, indent + 2)]
    if value is None:
        return [f"{pad}{key_text}:"]
    if isinstance(value, str) and _block(value):
        chomp = "" if value.endswith("\n") else "-"
        body = value[:-1] if value.endswith("\n") else value
        inner = " " * (indent + 2)
        return [f"{pad}{key_text}: |{chomp}",
                *[f"{inner}{line}" if line else "" for line in body.split("\n")]]
    return [f"{pad}{key_text}: {scalar(value)}"]


def _mapping(data: Mapping[str, Any], indent: int) -> list[str]:
    lines: list[str] = []
    for key, value in data.items():
        if not isinstance(key, str):
            raise TypeError("YAML keys here are strings")
        lines += _value_lines(scalar(key), value, indent)
    return lines


def _sequence(items: Sequence[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        if isinstance(item, Mapping) and item:
            inner = _mapping(item, indent + 2)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines += inner[1:]
        elif isinstance(item, Sequence) and not isinstance(item, str) and item:
            raise TypeError("a list directly inside a list has no form here")
        elif isinstance(item, str) and _block(item):
            first, *rest = _value_lines("x", item, indent)
            lines += [f"{pad}-{first[len(pad) + 2:]}", *rest]
        else:
            lines.append(f"{pad}- {_inline(item)}")
    return lines


def _inline(value: Any) -> str:
    """An item too small for a block of its own: a scalar, {} or []."""
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[]"
    return scalar(value)
