"""Pure logic, offline: JUnit XML, re-grading from saved files, the matrix's reuse
key, release notes, CI workflows."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import TINY_FILE, Tiny, git, run_hpatch

from hpatch import catalog, ci, matrix, notes, output
from hpatch.assess import State, applied_commits, assess
from hpatch.checkout import Checkout, HpatchCommit
from hpatch.grading import BEGIN, END, Verdict
from hpatch.verify import CellResult, junit_xml, regrade

CLS = "org.apache.hadoop.TestTiny"


def result(verdict: Verdict, **extra: object) -> CellResult:
    values: dict[str, object] = {"fix": "TINY-1", "release": "2.4.1", "verdict": verdict,
                                 "reason": f"because {verdict.value}", "seconds": 1.5,
                                 "run_dir": "/runs/r1/TINY-1/2.4.1"}
    values.update(extra)
    return CellResult(**values)  # type: ignore[arg-type]


def test_junit_xml_tells_failures_errors_and_skips_apart() -> None:
    cells = [result(Verdict.VERIFIED), result(Verdict.NOT_FIXED),
             result(Verdict.ERROR, error_kind="build"), result(Verdict.INCONCLUSIVE),
             result(Verdict.NOT_REPRODUCED, fix="B & <C>")]
    suite = ET.fromstring(junit_xml(cells))
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "5", "failures": "2", "errors": "1", "skipped": "1"}
    cases = suite.findall("testcase")
    assert cases[0].find("failure") is None and cases[0].find("error") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("type") == "not-fixed"
    error = cases[2].find("error")
    assert error is not None and error.get("type") == "build"
    assert cases[3].find("skipped") is not None
    assert cases[4].get("name") == "B & <C>"  # escaped, and read back as it was


def _run_log(passed: bool) -> str:
    status = "status=passed" if passed else (
        f"status=failed\texception=java.lang.AssertionError\tmessage=thread leaked\t"
        f"frames=org.junit.Assert.fail;{CLS}.t")
    return f"{BEGIN}\nclass={CLS}\tmillis=5\trun=1\ntest=t\t{status}\n{END}\n"


def _work(run_dir: Path, *, stock_passed: bool) -> None:
    work = run_dir / "work"
    work.mkdir(parents=True)
    for side in ("stock", "patched", "repro"):
        (work / f"status-compile-{side}.txt").write_text("0\n")
    (work / "stock-1.log").write_text(_run_log(stock_passed))
    (work / "status-stock-1.txt").write_text("0\n" if stock_passed else "1\n")
    (work / "patched-1.log").write_text(_run_log(True))
    (work / "status-patched-1.txt").write_text("0\n")


@pytest.mark.parametrize("stock_passed,verdict", [(False, Verdict.VERIFIED),
                                                  (True, Verdict.NOT_REPRODUCED)])
def test_regrade_reads_the_verdict_from_the_saved_files(tmp_path: Path, stock_passed: bool,
                                                        verdict: Verdict) -> None:
    _work(tmp_path, stock_passed=stock_passed)
    stale = result(Verdict.ERROR, run_dir=str(tmp_path), reason="graded by an old hpatch")
    graded = regrade(stale, CLS)
    assert graded.verdict is verdict
    assert graded.reason != "graded by an old hpatch"
    assert len(graded.stock) == len(graded.patched) == 1


def test_regrade_without_saved_files_keeps_the_record(tmp_path: Path) -> None:
    kept = result(Verdict.VERIFIED, run_dir=str(tmp_path))
    assert regrade(kept, CLS).verdict is Verdict.VERIFIED


def _key(tiny: Tiny, *, repeat: int = 1, runtime: str = "docker image x") -> str:
    checkout = Checkout.open(tiny.repo)
    release = checkout.hadoop_release()
    [fix] = catalog.load(tiny.catalog)
    assessment = assess(checkout, fix, release, applied_commits(checkout.hpatch_commits()))
    assert assessment.state is State.APPLICABLE
    return matrix.input_key(assessment, release, checkout, runtime, "fast", repeat)


def test_matrix_reuse_key_follows_every_input(tiny: Tiny) -> None:
    first = _key(tiny)
    assert _key(tiny) == first  # same inputs, same key: the cell is reused
    assert _key(tiny, repeat=3) != first
    assert _key(tiny, runtime="host JDK (javac 1.8.0)") != first
    (tiny.repo / "README.txt").write_text("a fork's change anywhere\n")
    git(tiny.repo, "commit", "-qam", "local change")
    second = _key(tiny)
    assert second != first  # the committed tree changed
    patch = tiny.catalog / "TINY-1" / "variants" / "2.4.patch"
    patch.write_text(patch.read_text().replace("stop the thread", "stop its thread"))
    assert _key(tiny) != second  # the variant changed


def _entry(runs: Path | None = None) -> notes.Entry:
    commit = HpatchCommit("a" * 40, "TINY-1: Tiny.close() leaks", {
        "Hpatch-Fix": "TINY-1", "Hpatch-Variant": "2.4 sha256:0123456789ab",
        "Hpatch-Release": "2.4.1"}, "Upstream Dev", "2026-01-02")
    verification = notes.latest_verification(runs, "TINY-1", "2.4.1", commit.variant_sha) \
        if runs else None
    return notes.Entry("TINY-1", None, commit, verification)


def test_notes_are_read_from_the_trailers(tmp_path: Path) -> None:
    entry = _entry()
    assert entry.variant == "2.4" and entry.title == "Tiny.close() leaks"
    text = notes.markdown("acme-2.4", "2.4.1", [entry])
    assert "### TINY-1: Tiny.close() leaks" in text
    assert "(variant 2.4, by Upstream Dev, 2026-01-02)" in text
    assert "not verified yet" in text
    data = notes.as_json("acme-2.4", "2.4.1", [entry])
    assert data["fixes"][0]["variant"] == "2.4" and data["fixes"][0]["verification"] is None
    assert "    TINY-1. Tiny.close() leaks. (Upstream Dev via hpatch; not verified)" in \
        notes.changes("acme-2.4", "2.4.1", [entry], "2026-01-03")


def test_notes_prefer_the_verification_of_the_same_variant(tmp_path: Path) -> None:
    import json
    for run_id, sha in (("20260101-1", "0123456789ab"), ("20260102-1", "ffffffffffff")):
        record = tmp_path / run_id / "TINY-1" / "2.4.1" / "result.json"
        record.parent.mkdir(parents=True)
        record.write_text(json.dumps({"run_id": run_id, "variant_sha": sha,
                                      "verdict": "verified", "release": "2.4.1",
                                      "date": "2026-01-01T00:00:00", "jvm": "1.8"}))
    entry = _entry(tmp_path)
    assert entry.verification is not None and entry.verification["run_id"] == "20260101-1"
    assert "another revision" not in notes.markdown("b", "2.4.1", [entry])


def test_ci_emits_one_job_per_release_or_per_branch() -> None:
    per_release = ci.emit("github-actions", ["2.4.1", "2.7.3"], ci.Install(), "")
    assert '- "2.4.1"\n' in per_release and '- "2.7.3"\n' in per_release
    per_branch = ci.emit("gitlab", [], ci.Install(), "--repeat 2",
                         branches=["acme-2.6", "acme-2.7"])
    assert "acme-2.6" in per_branch and "acme-2.7" in per_branch and "--repeat 2" in per_branch
    assert ci.servable(["2.4.1", "2.8.5"]) == (["2.4.1"], ["2.8.5"])


@pytest.mark.parametrize("kind,schema", [("github-actions", "vendor.github-workflows"),
                                         ("gitlab", "vendor.gitlab-ci")])
def test_emitted_workflows_pass_their_schema(tmp_path: Path, kind: str, schema: str) -> None:
    out = tmp_path / "workflow.yml"
    result = run_hpatch("ci", "--emit", kind, "--releases", "2.4.1,2.7.3", "--output", str(out))
    assert result.code == 0, result.err
    text = out.read_text()
    assert "--junit-xml" in text and "2.7.3" in text
    check = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                            schema, str(out)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    # and a broken one is caught, so the check can fail
    out.write_text(text.replace("runs-on:", "runs_on:").replace("stage:", "stages_x:"))
    check = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                            schema, str(out)], capture_output=True, text=True, check=False)
    assert check.returncode != 0


def test_tiny_fix_probes_read_code_not_comments(tiny: Tiny) -> None:
    [fix] = catalog.load(tiny.catalog)
    text = (tiny.repo / TINY_FILE).read_text()
    assert fix.detect.shows_bug(TINY_FILE, text)
    assert not fix.detect.shows_fix(TINY_FILE, text + "// finally { stop(); }\n")


def test_tables_align_text_left_and_numbers_right() -> None:
    text = output.render_table([("HDFS-9812", "2.10", 7, None), ("YARN-4398", "-", 12, "x\ny")],
                               ["fix", "variant", "hunks", "note"])
    assert text.splitlines() == [
        "fix        variant      hunks  note",     # a column is as wide as its header + 2
        "---------  ---------  -------  ------",
        "HDFS-9812  2.10             7",          # "2.10" stays text; trailing blanks go
        "YARN-4398  -               12  x y",
    ]
    assert output.render_table([], ["a", "bb"]).splitlines() == ["a    bb", "---  ----"]
