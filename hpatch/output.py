"""The only printer: tables for people, JSON for machines, progress on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    print(render_table(rows, headers), flush=True)


def render_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain table: a header, a rule, a row a line, columns two spaces apart; numbers
    right-aligned. (Written here: the tabulate package took a fifth of start-up, and
    read "2.10" in a text column as the number 2.1.)"""
    cells = [[_text(value) for value in row] for row in rows]
    right = [bool(rows) and all(_is_number(row[i]) or row[i] is None for row in rows)
             for i in range(len(headers))]
    widths = [max([len(h) + 2, *(len(row[i]) for row in cells)])
              for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w)
                         for v, w, r in zip(values, widths, right, strict=True)).rstrip()

    return "\n".join([line(list(headers)), line(["-" * w for w in widths]),
                      *(line(row) for row in cells)])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, "g")
    return " ".join(str(value).splitlines())


def as_json(data: Any) -> None:
    import json
    print(json.dumps(data, indent=2, sort_keys=False, default=str), flush=True)


def line(text: str = "") -> None:
    print(text, flush=True)


def note(text: str) -> None:
    """Progress and remarks: stderr, so stdout stays machine-readable."""
    print(f"hpatch: {text}", file=sys.stderr, flush=True)


def error(text: str) -> None:
    print(f"hpatch: error: {text}", file=sys.stderr, flush=True)
