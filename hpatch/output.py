"""The only printer: tables for people, JSON for machines, progress on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    print(render_table(rows, headers), flush=True)


def render_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain table (tabulate's "simple"). Imported here, not at start-up, where it
    would cost every command; no number parsing, so a variant "2.10" stays 2.10."""
    from tabulate import tabulate
    cells = [[" ".join(str(v).splitlines()) if isinstance(v, str) else v for v in row]
             for row in rows]
    text_columns = [i for i in range(len(headers)) if any(isinstance(row[i], str)
                                                          for row in rows)]
    return tabulate(cells, headers=list(headers), tablefmt="simple",
                    disable_numparse=text_columns or True)


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
