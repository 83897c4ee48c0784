from __future__ import annotations

from pathlib import Path

from hpatch.catalog import Catalog
from hpatch.commands.verify import report
from hpatch.errors import HpatchError
from hpatch.grading import Verdict
from hpatch.releases import Release
from hpatch.verify import load_run, regrade


def report_run(catalog: Catalog, run: str, runs_root: Path, *, as_json: bool,
               junit_path: Path | None) -> int:
    """Re-print (and re-grade from its saved logs) a verification run."""
    run_dir = Path(run) if Path(run).is_dir() else runs_root / run
    if not run_dir.is_dir():
        raise HpatchError(f"no such run: {run} (looked in {runs_root})")
    results = []
    for result in load_run(run_dir):
        try:
            test_class, _ = catalog.get(result.fix).reproducer_for(
                Release.parse(result.release))
        except HpatchError:
            results.append(result)
            continue
        results.append(regrade(result, test_class))
    report(results, [], as_json=as_json, junit_path=junit_path, run_id=run_dir.name,
           runs_root=run_dir.parent)
    return 0 if all(r.verdict is Verdict.VERIFIED for r in results) else 1
