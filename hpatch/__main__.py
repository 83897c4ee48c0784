"""`python -m hpatch` and the `hpatch` script."""

from __future__ import annotations

from hpatch import interrupt


def run() -> None:
    interrupt.defer()  # before the slow imports: a Ctrl-C there must not be a traceback
    from hpatch.cli import main
    main()


if __name__ == "__main__":
    run()
