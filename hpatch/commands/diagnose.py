from __future__ import annotations

from pathlib import Path
from typing import cast

from hpatch import output
from hpatch.assess import Assessment, State, applied_commits, assess
from hpatch.catalog import Catalog
from hpatch.checkout import Checkout
from hpatch.diagnose import BENIGN, Finding, Hit, examine, summarize

NEXT_STEP = {
    State.APPLICABLE: "this release lacks the fix: `hpatch apply {fix} --repo {repo}`, then "
                      "`hpatch verify {fix} --repo {repo}`",
    State.APPLIED: "the fix is applied in this checkout: check that the running build "
                   "was made from it",
    State.FIXED_UPSTREAM: "this release already carries the fix: the symptom has another cause",
    State.NOT_AFFECTED: "this release does not have the buggy code: the symptom has another "
                        "cause",
    State.CONFLICT: "the bug is there but no variant applies: `hpatch refresh {fix} --repo "
                    "{repo}`",
}


def diagnose(catalog: Catalog, files: list[Path], checkout: Checkout | None, *,
             as_json: bool) -> int:
    """Name the fixes whose signatures the logs show; 1 if any, 0 if none."""
    report = examine(files, catalog)
    findings = report.named
    states: dict[str, Assessment] = {}
    release = None
    if checkout is not None and findings:
        release = checkout.hadoop_release()
        applied = applied_commits(checkout.hpatch_commits())
        states = {f.fix.id: assess(checkout, f.fix, release, applied) for f in findings}
    if as_json:
        output.as_json({
            "files": [str(f) for f in files],
            "release": str(release) if release else None,
            "findings": [_as_dict(f, states.get(f.fix.id), checkout) for f in findings],
            "possible": [{"fix": f.fix.id, "title": f.fix.title, "see": _see(f),
                          "evidence": [_hit_dict(h) for h in _open_evidence(f)]}
                         for f in report.possible],
            "benign": [_benign_dict(f, entry) for f in report.benign
                       for entry in f.counter_entries()],
        })
        return 1 if findings else 0
    for finding in findings:
        _print(finding, states.get(finding.fix.id), checkout)
    for finding in report.possible:
        see = "; see " + ", ".join(_see(finding)) if _see(finding) else ""
        output.line(f"possible: {finding.fix.id} (weak evidence: {_weak_text(finding)}{see})")
    for finding in report.benign:
        for entry in finding.counter_entries():
            where = _benign_hits(finding, entry)[0]
            explained = ", ".join(sorted(set(entry["cancels"]) & finding.weak_signatures))
            output.line(f"benign cause seen: {entry['cause']} ({where.file}:{where.line}); "
                        f"answer: {entry['answer']}; it explains {explained} "
                        f"(weak evidence for {finding.fix.id})")
    if not findings and not report.possible and not report.benign:
        output.line(f"no known signature in {len(files)} file(s)")
    return 1 if findings else 0


def _open_evidence(finding: Finding) -> list[Hit]:
    """The evidence for a possible fix, without what a benign cause explains."""
    return summarize(finding, skip=frozenset(finding.cancelled))


def _see(finding: Finding) -> list[str]:
    return sorted({h.see for h in _open_evidence(finding) if h.see})


def _benign_hits(finding: Finding, entry: dict[str, object]) -> list[Hit]:
    return [h for h in summarize(finding, strengths=(BENIGN,)) if h.signature == entry["id"]]


def _benign_dict(finding: Finding, entry: dict[str, object]) -> dict[str, object]:
    return {"fix": finding.fix.id, "id": entry["id"], "cause": entry["cause"],
            "answer": entry["answer"],
            "explains": sorted(set(cast(list[str], entry["cancels"])) & finding.weak_signatures),
            "evidence": [_hit_dict(h) for h in _benign_hits(finding, entry)]}


def _weak_text(finding: Finding) -> str:
    shown = _open_evidence(finding)
    return ", ".join(f"{h.signature} at {h.file}:{h.line}" for h in shown[:6]) + (
        ", …" if len(shown) > 6 else "")


def _next(state: Assessment | None, finding: Finding, checkout: Checkout | None) -> str:
    if state is None:
        return (f"affected releases: {finding.fix.affected}; see whether yours is with "
                "`hpatch diagnose FILE --release V` or `--repo DIR`")
    repo = str(checkout.root) if checkout else "DIR"
    return NEXT_STEP[state.state].format(fix=finding.fix.id, repo=repo)


def _print(finding: Finding, state: Assessment | None, checkout: Checkout | None) -> None:
    fix = finding.fix
    output.line(f"{fix.id}: {fix.title}")
    output.line(f"  upstream: {', '.join(fix.upstream) or 'local fix'} "
                f"(first released in {fix.first_fixed}); affected: {fix.affected}")
    # Each file's evidence under that file: two logs may share a name (dn1/, dn2/).
    by_file: dict[str, list[Hit]] = {}
    for hit in summarize(finding):
        by_file.setdefault(hit.file, []).append(hit)
    for name, hits in by_file.items():
        output.line(f"  in {name}:")
        output.table([(h.strength, h.line, h.text[:110]) for h in hits],
                     ["evidence", "line", "text"])
    if state is not None:
        output.line(f"  here: {state.state.value} ({state.detail})")
    output.line("  next: " + _next(state, finding, checkout))
    output.line()


def _as_dict(finding: Finding, state: Assessment | None,
             checkout: Checkout | None) -> dict[str, object]:
    fix = finding.fix
    return {
        "fix": fix.id,
        "title": fix.title,
        "upstream": list(fix.upstream),
        "fixed_in": list(fix.fixed_in),
        "affected": fix.affected.as_list(),
        "state": state.state.value if state else None,
        "next": _next(state, finding, checkout),
        "evidence": [_hit_dict(h) for h in summarize(finding)],
    }


def _hit_dict(hit: Hit) -> dict[str, object]:
    return {"signature": hit.signature, "strength": hit.strength, "file": hit.file,
            "line": hit.line, "text": hit.text, "explains": hit.explains,
            **({"see": hit.see} if hit.see else {})}
