"""`python -m hpatch` and the `hpatch` script."""

from __future__ import annotations

import sys

from hpatch import __version__, interrupt, output

VERSION_LINE = f"hpatch, version {__version__}"  # what click's version_option prints


def run() -> None:
    if sys.argv[1:] == ["--version"]:
        output.line(VERSION_LINE)  # without loading click: the answer needs nothing else
        return
    interrupt.defer()  # before the slow imports: a Ctrl-C there must not be a traceback
    from hpatch.cli import main
    main()


if __name__ == "__main__":
    run()
