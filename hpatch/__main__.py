"""`python -m hpatch` and the `hpatch` script."""

from __future__ import annotations

import sys

from hpatch import __version__, interrupt

VERSION_LINE = f"hpatch, version {__version__}"  # what click's version_option prints


def run() -> None:
    # First of all, before any import that takes time: a Ctrl-C from here on is
    # noted, and raised inside main()'s handling, never shown as a traceback.
    interrupt.defer()
    from hpatch import output
    if sys.argv[1:] == ["--version"]:
        output.line(VERSION_LINE)  # without loading click: the answer needs nothing else
        return
    from hpatch.cli import main
    main()


if __name__ == "__main__":
    run()
