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


class Progress:
    """A one-line progress bar on stderr while a long scan runs (a line per tenth when
    stderr is not a terminal, so logs stay short)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        total = max(total, done, 1)
        if self.tty:
            step = done * 40 // total
            if step != self._shown or done == total:
                self._shown = step
                bar = "#" * step + "." * (40 - step)
                end = "\n" if done == total else ""
                print(f"\rhpatch: {self.label} [{bar}] {done}/{total}", end=end,
                      file=sys.stderr, flush=True)
            return
        tenth = done * 10 // total
        if tenth != self._shown:
            self._shown = tenth
            note(f"{self.label}: {done}/{total}")


def to_file(path: Any, text: str) -> None:
    """text as the whole of path, or path untouched: written beside it, then renamed, so
    an interrupted run leaves no half file."""
    import os
    import tempfile
    from pathlib import Path
    target = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(name, target)
    except BaseException:
        if os.path.exists(name):
            os.unlink(name)
        raise
