"""How the stock and patched builds a reproducer runs against are made.

A builder lays out, in a work directory, what the runtime's script needs:
the classpath and the sources to compile for each side. Adding a builder is
one module and one entry in BUILDERS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hpatch.assess import Assessment
from hpatch.checkout import Checkout
from hpatch.releases import Release

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Prepared:
    classpath: list[Path]
    touched: list[str]
    native_lib: Path | None = None


class Builder(Protocol):
    name: str

    def prepare(self, checkout: Checkout, release: Release, assessment: Assessment,
                work: Path, progress: Progress) -> Prepared: ...


def make(name: str, build_dir: Path | None = None) -> Builder:
    if name == "overlay":
        from hpatch.builders.overlay import OverlayBuilder
        return OverlayBuilder()
    if name == "full":
        from hpatch.builders.full import FullBuilder
        return FullBuilder(build_dir)
    raise ValueError(f"unknown builder {name}")


BUILDERS = ("overlay", "full")
