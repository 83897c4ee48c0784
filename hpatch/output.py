"""The only printer: tables for people, JSON for machines, progress on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    from tabulate import tabulate  # imported only when a table is printed (not for --json)
    print(tabulate(rows, headers=list(headers), tablefmt="simple"), flush=True)


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
