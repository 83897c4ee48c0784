"""How the stock and patched builds a reproducer runs against are made.

A builder lays out, in a work directory, what the runtime's script needs:
the classpath and the sources to compile for each side. Adding a builder is
one module and one entry in BUILDERS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hpatch.assess import Assessment
from hpatch.catalog import Catalog
from hpatch.checkout import Checkout
from hpatch.forks import Base
from hpatch.releases import Release

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Prepared:
    """What a runtime needs for one cell: the classpath (and libhadoop.so) of each side.

    classpath serves both sides unless classpath_patched is given (two builds);
    provenance says where every jar and native library came from."""

    classpath: list[Path]
    touched: list[str]
    native_lib: Path | None = None
    provenance: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    classpath_patched: list[Path] | None = None
    native_patched: Path | None = None
    provenance_patched: list[dict[str, object]] | None = None
    # the patched side's tree, when its modules were built with the fix (a .proto, a
    # resource): the test module's own files come from it on that side
    patched_tree: str = ""


class Builder(Protocol):
    name: str

    def prepare(self, checkout: Checkout, release: Release, assessment: Assessment,
                work: Path, progress: Progress) -> Prepared: ...


@dataclass(frozen=True)
class Options:
    """What any builder may need besides the cell: the fork's base, the catalog (its
    build fixes), a libhadoop.so the user gave, an earlier `hpatch build`."""

    base: Base
    catalog: Catalog
    native_lib: Path | None = None
    on_host: bool = False       # --no-docker: builds run on the host's JDK and Maven


def _fast(options: Options) -> Builder:
    from hpatch.builders.checkout import CheckoutBuilder
    return CheckoutBuilder(options)


def _full(options: Options) -> Builder:
    from hpatch.builders.full import FullBuilder
    return FullBuilder(options)


BUILDERS: dict[str, Callable[[Options], Builder]] = {"fast": _fast, "full": _full}


def make(name: str, options: Options) -> Builder:
    factory = BUILDERS.get("fast" if name == "overlay" else name)
    if factory is None:
        raise ValueError(f"unknown builder {name}")
    return factory(options)
