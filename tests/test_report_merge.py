"""`hpatch report RUN RUN ...`: the run directories of a sharded verification
(each shard job's own) as one table, JSON and JUnit XML. Offline: run records
written by hpatch.records as a verification writes them, the real CLI."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import run_hpatch
from test_files import one_error

from hpatch import records
from hpatch.grading import Verdict
from hpatch.verify import RESULT, CellResult


def write_run(root: Path, run_id: str, cells: list[tuple[str, str, Verdict]]) -> Path:
    """A run directory as verify leaves it: runs/<run-id>/<fix>/<release>/result.json."""
    for fix, release, verdict in cells:
        cell = root / run_id / fix / release
        cell.mkdir(parents=True)
        reason = "stock: assertion, patched: passed" if verdict is Verdict.VERIFIED \
            else "patched still fails"
        records.write_json(cell / RESULT, CellResult(
            fix, release, verdict, reason, 12.0, str(cell), run_id=run_id).as_dict())
    return root / run_id


def shard_runs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Three shard jobs' artifacts, each with a runs/ of its own."""
    one = write_run(tmp_path / "shard-1" / "runs", "20261204-1",
                    [("TINY-1", "2.4.1", Verdict.VERIFIED), ("TINY-4", "2.4.1", Verdict.VERIFIED)])
    two = write_run(tmp_path / "shard-2" / "runs", "20261204-2",
                    [("TINY-2", "2.4.1", Verdict.VERIFIED)])
    three = write_run(tmp_path / "shard-3" / "runs", "20261204-3",
                      [("TINY-3", "2.4.1", Verdict.NOT_FIXED)])
    return one, two, three


def test_shard_runs_make_one_table_json_and_junit(tmp_path: Path) -> None:
    one, two, three = shard_runs(tmp_path)
    junit = tmp_path / "all.xml"
    result = run_hpatch("report", str(one), str(two), str(three), "--junit-xml", str(junit))
    assert result.code == 1, result.err  # one shard's cell is not fixed
    rows = [ln.split()[:2] for ln in result.out.splitlines() if ln.startswith("TINY-")
            and "2.4.1" in ln.split()[:2]]
    assert rows == [["TINY-1", "2.4.1"], ["TINY-4", "2.4.1"], ["TINY-2", "2.4.1"],
                    ["TINY-3", "2.4.1"]]
    assert "TINY-3: not-fixed: patched still fails" in result.out
    assert f"3 runs: records in {one}, {two}, {three}" in result.out
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "0")
    assert [c.get("name") for c in suite.iter("testcase")] == ["TINY-1", "TINY-4", "TINY-2",
                                                               "TINY-3"]
    assert suite.find("testcase[@name='TINY-3']/failure") is not None

    data = json.loads(run_hpatch("report", str(one), str(two), "--json").out)
    assert data["runs"] == ["20261204-1", "20261204-2"]
    assert data["runs_dirs"] == [str(one), str(two)]
    assert {(r["fix"], r["verdict"]) for r in data["results"]} == {
        ("TINY-1", "verified"), ("TINY-4", "verified"), ("TINY-2", "verified")}
    assert run_hpatch("report", str(one), str(two)).code == 0


def test_run_ids_are_looked_up_under_the_runs_directory(tmp_path: Path) -> None:
    runs = tmp_path / "hpatch-runs"
    write_run(runs, "a", [("TINY-1", "2.4.1", Verdict.VERIFIED)])
    write_run(runs, "b", [("TINY-1", "2.7.1", Verdict.VERIFIED)])
    result = run_hpatch("report", "a", "b", "--json", env={"HPATCH_RUNS": str(runs)})
    assert result.code == 0, result.err
    assert [(r["fix"], r["release"]) for r in json.loads(result.out)["results"]] == [
        ("TINY-1", "2.4.1"), ("TINY-1", "2.7.1")]
    # one run keeps its own JSON shape
    single = json.loads(run_hpatch("report", "a", "--json", env={"HPATCH_RUNS": str(runs)}).out)
    assert single["run"] == "a" and "runs" not in single


def test_a_cell_in_two_runs_with_different_results_is_one_line_exit_2(tmp_path: Path) -> None:
    one, two, _ = shard_runs(tmp_path)
    write_run(tmp_path / "again", "20261204-9", [("TINY-1", "2.4.1", Verdict.NOT_FIXED)])
    junit = tmp_path / "all.xml"
    result = run_hpatch("report", str(one), str(two), str(tmp_path / "again" / "20261204-9"),
                        "--junit-xml", str(junit))
    assert result.code == 2
    line = one_error(result.err)
    assert "TINY-1 @ 2.4.1 is in two runs with different results" in line
    assert str(one) in line and "(verified)" in line and "(not-fixed)" in line
    assert not junit.exists()  # nothing half-merged is written


def test_the_same_record_twice_is_reported_once_saying_which(tmp_path: Path) -> None:
    one, two, _ = shard_runs(tmp_path)
    copy = tmp_path / "downloaded-again" / one.name
    shutil.copytree(one, copy)  # the same artifact, downloaded twice
    result = run_hpatch("report", str(one), str(copy), str(two), str(one), "--json")
    assert result.code == 0, result.err
    fixes = [r["fix"] for r in json.loads(result.out)["results"]]
    assert fixes == ["TINY-1", "TINY-4", "TINY-2"]
    assert (f"TINY-1 @ 2.4.1: the same record is in {one} and {copy}; reporting the one "
            f"in {one}") in result.err
    assert f"{one}: given twice; reported once" in result.err


def test_a_missing_run_among_several_is_one_line(tmp_path: Path) -> None:
    one, _, _ = shard_runs(tmp_path)
    result = run_hpatch("report", str(one), str(tmp_path / "nope"))
    assert result.code == 1
    assert "no such run" in one_error(result.err)
    assert run_hpatch("report").code == 2
