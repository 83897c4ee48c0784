"""`hpatch report RUN [RUN ...]`: one run, or the runs of a sharded verification
(each CI shard job's run directory), re-printed and re-graded from their files
as one table, one JSON document and one JUnit XML file. Nothing is re-run."""

from __future__ import annotations

from pathlib import Path

from hpatch import output
from hpatch.catalog import Catalog
from hpatch.commands.verify import report
from hpatch.errors import HpatchError, UsageError
from hpatch.grading import Verdict
from hpatch.releases import Release
from hpatch.verify import CellResult, load_run, regrade


def report_run(catalog: Catalog, run: str, runs_root: Path, *, as_json: bool,
               junit_path: Path | None) -> int:
    """Re-print (and re-grade from its saved logs) a verification run."""
    return report_runs(catalog, [run], runs_root, as_json=as_json, junit_path=junit_path)


def report_runs(catalog: Catalog, runs: list[str], runs_root: Path, *, as_json: bool,
                junit_path: Path | None) -> int:
    """Re-print several runs as one report; 0 iff every cell is verified (or, from
    --compile-only, compiled), as verify's own exit code.

    A fix+release met in two runs is a UsageError unless both records are the
    same (a copy of one run, e.g. an artifact downloaded twice): then the first
    run given is reported and a note says so."""
    dirs = _run_dirs(runs, runs_root)
    results = [_regraded(catalog, r) for r in merged_results(dirs)]
    if len(dirs) == 1:
        report(results, [], as_json=as_json, junit_path=junit_path, run_id=dirs[0].name,
               runs_root=dirs[0].parent)
    else:
        report(results, [], as_json=as_json, junit_path=junit_path, run_id="",
               runs_root=Path(), merged=dirs)
    ok = (Verdict.VERIFIED, Verdict.COMPILED)
    return 0 if all(r.verdict in ok for r in results) else 1


def merged_results(run_dirs: list[Path]) -> list[CellResult]:
    """The cells of the runs, in the order given; a cell in two runs must be one record."""
    seen: dict[tuple[str, str], tuple[CellResult, Path]] = {}
    for run_dir in run_dirs:
        for result in load_run(run_dir):
            key = (result.fix, result.release)
            if key not in seen:
                seen[key] = (result, run_dir)
                continue
            first, where = seen[key]
            if _content(first) != _content(result):
                raise UsageError(f"{result.fix} @ {result.release} is in two runs with "
                                 f"different results: {where} ({first.verdict.value}) and "
                                 f"{run_dir} ({result.verdict.value}); give one of them")
            output.note(f"{result.fix} @ {result.release}: the same record is in {where} "
                        f"and {run_dir}; reporting the one in {where}")
    return [result for result, _ in seen.values()]


def _content(result: CellResult) -> dict[str, object]:
    """A record apart from where it lies on disk."""
    data = result.as_dict()
    data.pop("run_dir")
    return data


def _run_dirs(runs: list[str], runs_root: Path) -> list[Path]:
    dirs: list[Path] = []
    for run in runs:
        run_dir = (Path(run) if Path(run).is_dir() else runs_root / run).resolve()
        if not run_dir.is_dir():
            raise HpatchError(f"no such run: {run} (looked in {runs_root})")
        if run_dir in dirs:
            output.note(f"{run}: given twice; reported once")
            continue
        dirs.append(run_dir)
    return dirs


def _regraded(catalog: Catalog, result: CellResult) -> CellResult:
    try:
        test_class, _ = catalog.get(result.fix).reproducer_for(Release.parse(result.release))
    except HpatchError:
        return result
    return regrade(result, test_class)
