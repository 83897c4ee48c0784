"""The fix-by-release matrix: each cell's state and, with verification, its
verdict. A verified cell is reused while its inputs (variant, stock sources,
reproducer, harness, image) are unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpatch import __version__, builders, forks, patching, records, sources
from hpatch.assess import Assessment, State, applied_commits, assess_all
from hpatch.catalog import Fix
from hpatch.checkout import Checkout
from hpatch.errors import HpatchError
from hpatch.grading import Verdict
from hpatch.paths import cache_dir, harness_dir
from hpatch.releases import Release
from hpatch.runtime import Runtime
from hpatch.verify import CellResult, CellSpec, read_result, run_cell

Progress = Callable[[str], None]
DEFAULT_RELEASES = ("2.2.0", "2.3.0", "2.4.1", "2.5.2", "2.6.0", "2.6.5", "2.7.1", "2.7.2",
                    "2.7.3", "2.8.5", "2.9.2", "2.10.2", "3.1.4", "3.3.6")
ATTENTION = {State.CONFLICT.value, Verdict.NOT_FIXED.value, Verdict.NOT_REPRODUCED.value,
             Verdict.ERROR.value, "error"}


@dataclass
class Cell:
    fix: str
    release: str
    state: str
    detail: str
    variant: str = ""
    verdict: str = ""
    reason: str = ""
    run_dir: str = ""
    reused: bool = False
    seconds: float = 0.0

    @property
    def shown(self) -> str:
        """What the table says: the verdict where there is one, else the state."""
        return self.verdict or self.state

    @property
    def needs_attention(self) -> bool:
        return self.shown in ATTENTION

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def open_release(release: Release, checkouts: dict[str, Path], progress: Progress) -> Checkout:
    """The given checkout for this release, else its sources from Maven Central."""
    given = checkouts.get(str(release))
    if given is not None:
        checkout = Checkout.open(given)
        found = forks.base_of(checkout)
        if found.release != release:
            raise HpatchError(f"--checkout {release}={given} holds {found.describe()}")
        progress(f"{release}: the checkout {given} (Hadoop {found.describe()})")
        return checkout
    return Checkout.open(sources.ensure_cached(release, progress=progress))


def states(fixes: list[Fix], release: Release, checkout: Checkout) -> list[tuple[Cell,
                                                                                Assessment]]:
    applied = applied_commits(checkout.hpatch_commits())
    cells = []
    for fix, result in zip(fixes, assess_all(checkout, fixes, release, applied), strict=True):
        cells.append((Cell(fix.id, str(release), result.state.value, result.detail,
                           result.variant.name if result.variant else ""), result))
    return cells


def input_key(assessment: Assessment, release: Release, checkout: Checkout, runtime_desc: str,
              builder_name: str, repeat: int) -> str:
    """Everything that decides a verification's outcome, hashed."""
    digest = hashlib.sha256()
    fix = assessment.fix
    # the whole committed tree: a fork's change anywhere may change the outcome
    for part in (fix.id, str(release), runtime_desc, builder_name, str(repeat),
                 assessment.state.value, assessment.commit or "", checkout.tree_of("HEAD"),
                 __version__, code_digest()):
        digest.update(part.encode() + b"\0")
    if assessment.variant is not None:
        digest.update(assessment.variant.patch.read_bytes())
        for path in patching.parse(assessment.variant.patch).paths:
            digest.update((checkout.read_blob("HEAD", path) or "").encode("utf-8", "replace"))
    test_class, repro = fix.reproducer_for(release)
    digest.update(test_class.encode())
    digest.update(",".join(fix.reproducer_methods(release)).encode())
    for folder in (repro, harness_dir() / "runner"):
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                digest.update(str(file.relative_to(folder)).encode() + file.read_bytes())
    digest.update((harness_dir() / "verify.sh").read_bytes())
    return digest.hexdigest()[:20]


def code_digest() -> str:
    """hpatch's own code that decides a verdict: grading, verification, the builders."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted([package / "grading.py", package / "verify.py", package / "forks.py",
                        package / "treebuild.py", *(package / "builders").glob("*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _memo(key: str) -> Path:
    return cache_dir() / "matrix" / f"{key}.json"


def verify_cell(cell: Cell, assessment: Assessment, release: Release, checkout: Checkout,
                runtime: Runtime, runtime_desc: str, builder: builders.Builder, run_root: Path,
                run_id: str, repeat: int, progress: Progress) -> Cell:
    key = input_key(assessment, release, checkout, runtime_desc, builder.name, repeat)
    memo = _memo(key)
    earlier = _earlier(memo)
    if earlier is not None:
        cell.verdict, cell.reason, cell.run_dir = earlier.verdict.value, earlier.reason, \
            earlier.run_dir
        cell.reused, cell.seconds = True, 0.0
        return cell
    spec = CellSpec(assessment, release, run_root / run_id / cell.fix / cell.release,
                    repeat=repeat)
    result = run_cell(spec, checkout, builder, runtime, runtime_desc, run_id, progress)
    cell.verdict, cell.reason, cell.run_dir = result.verdict.value, result.reason, result.run_dir
    cell.seconds = result.seconds
    if result.verdict in (Verdict.VERIFIED, Verdict.NOT_REPRODUCED, Verdict.NOT_FIXED,
                          Verdict.INCONCLUSIVE):
        memo.parent.mkdir(parents=True, exist_ok=True)
        records.write_json(memo, result.as_dict(), indent=None)  # errors are never reused
    return cell


def _earlier(memo: Path) -> CellResult | None:
    """A reusable earlier result; a damaged one is not reused (the cell runs again)."""
    if not memo.is_file():
        return None
    try:
        return read_result(memo)
    except records.DamagedRecordError:
        return None


def markdown(cells: list[Cell], releases: list[str], fixes: list[str]) -> str:
    grid = {(c.fix, c.release): c.shown for c in cells}
    lines = ["| fix | " + " | ".join(releases) + " |",
             "|---|" + "---|" * len(releases)]
    for fix in fixes:
        row = [grid.get((fix, r), "") for r in releases]
        lines.append(f"| {fix} | " + " | ".join(_short(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


SHORT = {"applicable": "applicable", "fixed-upstream": "upstream", "not-affected": "—",
         "applied": "applied", "conflict": "**conflict**", "verified": "verified",
         "not-reproduced": "**not-reproduced**", "not-fixed": "**not-fixed**",
         "inconclusive": "inconclusive", "error": "**error**"}


def _short(value: str) -> str:
    return SHORT.get(value, value)


def junit(cells: list[Cell]) -> str:
    from xml.sax.saxutils import quoteattr
    errors = sum(c.shown == Verdict.ERROR.value for c in cells)
    bad = sum(c.needs_attention for c in cells) - errors
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuite name="hpatch matrix" tests="{len(cells)}" failures="{bad}" '
           f'errors="{errors}">']
    for c in cells:
        out.append(f"  <testcase classname={quoteattr('hpatch.' + c.release)} "
                   f"name={quoteattr(c.fix)} time=\"{c.seconds:.1f}\">")
        if c.shown == Verdict.ERROR.value:
            out.append(f"    <error type=\"error\" message={quoteattr(c.reason or c.detail)}/>")
        elif c.needs_attention:
            out.append(f"    <failure type={quoteattr(c.shown)} "
                       f"message={quoteattr(c.reason or c.detail)}/>")
        elif c.shown in ("not-affected", "fixed-upstream", "inconclusive"):
            note = f"{c.shown}: {c.reason or c.detail}"
            out.append(f"    <skipped message={quoteattr(note)}/>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out) + "\n"
