"""The only printer: tables for people, JSON for machines, progress on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

# Imported before Ctrl-C is deferred (hpatch.interrupt): what only a failure needs is
# imported where it fails, so that window stays short.


def _out(text: str) -> None:
    try:
        print(text, flush=True)
    except OSError as exc:
        from hpatch.errors import OutputError
        _drop_stdout()
        raise OutputError(exc) from exc


def _drop_stdout() -> None:
    """What is left in stdout's buffer goes nowhere, so that the flush at exit does
    not fail a second time (with a message of Python's own and exit 120)."""
    import os
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    _out(render_table(rows, headers))


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
    _out(json.dumps(data, indent=2, sort_keys=False, default=str))


def line(text: str = "") -> None:
    _out(text)


def note(text: str) -> None:
    """Progress and remarks: stderr, so stdout stays machine-readable."""
    _err(f"hpatch: {text}")


def error(text: str) -> None:
    _err(f"hpatch: error: {text}")


def _err(text: str) -> None:
    try:  # noqa: SIM105 (contextlib is not imported this early)
        print(text, file=sys.stderr, flush=True)
    except OSError:
        pass  # nowhere left to say it; the exit code still does


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
