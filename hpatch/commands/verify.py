from __future__ import annotations

import functools
from pathlib import Path

from hpatch import builders, forks, output, records, runtime, workers
from hpatch.assess import State, applied_commits, assess
from hpatch.catalog import Catalog, Fix
from hpatch.checkout import Checkout
from hpatch.grading import Verdict
from hpatch.shard import Shard, note_picked
from hpatch.verify import CellResult, CellSpec, junit_xml, new_run_id, run_cell

HEADERS = ["fix", "release", "code", "stock", "patched", "verdict", "time"]


def verify(checkout: Checkout, fixes: list[Fix], catalog: Catalog, *, runtime_name: str,
           builder_name: str, repeat: int, jobs: int, timeout: float, runs_root: Path,
           as_json: bool, junit_path: Path | None, native_lib: Path | None = None,
           base_override: str | None = None, shard: Shard | None = None) -> int:
    """Run each applicable fix's reproducer on stock and patched; 0 iff all verified.

    With a shard, only its fixes; a shard that holds nothing to verify is no failure
    (another shard verifies the rest), a conflict or a failed verdict still is."""
    if shard is not None:
        fixes = note_picked(shard, fixes)
    base = forks.base_of(checkout, base_override)
    release = base.release
    output.note(f"{checkout.root}: Hadoop {base.describe()}")
    applied = applied_commits(checkout.hpatch_commits())
    run_id = new_run_id()
    specs: list[CellSpec] = []
    others: list[tuple[str, str, str]] = []
    for fix in fixes:
        result = assess(checkout, fix, release, applied)
        if result.state in (State.APPLICABLE, State.APPLIED):
            specs.append(CellSpec(result, release, runs_root / run_id / fix.id / str(release),
                                  repeat=repeat, timeout=timeout, native_lib=native_lib,
                                  base=base))
        else:
            others.append((fix.id, result.state.value, result.detail))
    results: list[CellResult] = []
    if specs:
        engine = runtime.make(runtime_name)
        described = engine.prepare(output.note)
        output.note(f"run {run_id}: {len(specs)} fix(es) at {release} on {described}")
        builder = builders.make(builder_name, builders.Options(
            base, catalog, native_lib, on_host=runtime_name == "local"))
        results = workers.run_all(jobs, [
            functools.partial(run_cell, spec, checkout, builder, engine, described, run_id,
                              output.note) for spec in specs])
    report(results, others, as_json=as_json, junit_path=junit_path, run_id=run_id,
           runs_root=runs_root, checkout=base.as_dict())
    attention = [s for _, s, _ in others if s == State.CONFLICT.value]
    wanted = Verdict.COMPILED if repeat == 0 else Verdict.VERIFIED
    some = bool(results) or shard is not None
    return 0 if some and all(r.verdict is wanted for r in results) and not attention else 1


def report(results: list[CellResult], others: list[tuple[str, str, str]], *, as_json: bool,
           junit_path: Path | None, run_id: str, runs_root: Path,
           checkout: dict[str, str] | None = None, merged: list[Path] | None = None) -> None:
    """The results as a table (or JSON) and JUnit XML; `merged`: the run directories
    the results were gathered from, when they come from several runs."""
    if junit_path is not None:
        records.write_output(junit_path, junit_xml(results), "--junit-xml")
    where = ({"runs": [d.name for d in merged], "runs_dirs": [str(d) for d in merged]}
             if merged else {"run": run_id, "runs_dir": str(runs_root / run_id)})
    if as_json:
        output.as_json({**where,
                        **({"checkout": checkout} if checkout else {}),
                        "results": [r.as_dict() for r in results],
                        "not_verified": [{"fix": f, "state": s, "detail": d}
                                         for f, s, d in others]})
        return
    rows = [(r.fix, r.release, code_summary(r), _side(r.stock), _side(r.patched),
             r.verdict.value, f"{r.seconds:.0f} s") for r in results]
    if rows:
        output.table(rows, HEADERS)
        for r in results:
            if r.verdict not in (Verdict.VERIFIED, Verdict.COMPILED):
                output.line(f"{r.fix}: {r.verdict.value}: {r.reason} (logs: {r.run_dir})")
    for fix_id, state, detail in others:
        output.line(f"{fix_id}: {state}, not verified ({detail})")
    if results and merged:
        output.line(f"{len(merged)} runs: records in {', '.join(map(str, merged))}")
    elif results:
        output.line(f"run {run_id}: records in {runs_root / run_id}")


def code_summary(result: CellResult) -> str:
    """Where the code the reproducer ran came from, in a few words."""
    entries = result.provenance.get("stock", [])
    jars = [e for e in entries if "jar" in e and e.get("from") in ("checkout", "published")]
    if not jars:
        return "-"
    built = sum(e["from"] == "checkout" for e in jars)
    native = any(e.get("native") and e.get("from") == "checkout" for e in entries)
    if built == len(jars):
        text = "built"
    elif built:
        text = f"{built} built, {len(jars) - built} published"
    else:
        text = f"published {result.base}"
    return text + (" +native" if native else "")


def _side(outcomes: list[dict[str, str]]) -> str:
    if not outcomes:
        return "-"
    first = outcomes[0]
    text = first["summary"] if first["kind"] != "passed" else "passed"
    if len(outcomes) > 1:
        same = sum(o["kind"] == first["kind"] for o in outcomes)
        text = f"{same}/{len(outcomes)} {text}"
    return text if len(text) <= 70 else text[:67] + "..."
