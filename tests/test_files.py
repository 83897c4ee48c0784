"""Files hpatch writes and reads: CI workflows that carry any value safely, records
written whole, the build cache and the catalog read with one clear line when
damaged, and output that cannot be written. Offline: tiny real repositories, the
real CLI, real bash."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import run_hpatch

from hpatch import records, treebuild
from hpatch.commands.cache import cache_prune
from hpatch.errors import HpatchError, UsageError
from hpatch.grading import Verdict
from hpatch.verify import CellResult


def one_error(result_err: str) -> str:
    """The run's stderr is exactly one `hpatch: error:` line (no traceback)."""
    lines = [ln for ln in result_err.splitlines() if not ln.startswith("hpatch: ")
             or ln.startswith("hpatch: error:")]
    assert len(lines) == 1 and lines[0].startswith("hpatch: error:"), result_err
    return lines[0]


# -- 10: records written whole, damaged ones read in one line ---------------------------

def _record(run_dir: Path) -> dict[str, Any]:
    return CellResult("TINY-1", "2.4.1", Verdict.VERIFIED, "ok", 1.0, str(run_dir)).as_dict()


def test_report_of_a_truncated_record_is_one_line(tmp_path: Path) -> None:
    runs = tmp_path / "hpatch-runs"
    good, cut = runs / "r1" / "TINY-1" / "2.4.1", runs / "r1" / "TINY-1" / "2.7.1"
    for cell in (good, cut):
        cell.mkdir(parents=True)
        records.write_json(cell / "result.json", _record(cell))
    text = (cut / "result.json").read_text()
    (cut / "result.json").write_text(text[: len(text) // 2])  # what a kill mid-write left
    result = run_hpatch("report", "r1")
    assert result.code == 1
    line = one_error(result.err)
    assert str(cut / "result.json") in line and "damaged" in line
    # a record without a verdict is damaged too, not an internal error
    (cut / "result.json").write_text(json.dumps({"fix": "TINY-1"}))
    result = run_hpatch("report", "r1")
    assert result.code == 1 and "damaged" in one_error(result.err)


def test_a_failed_write_leaves_the_old_record_and_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "cell").mkdir()
    target = tmp_path / "cell" / "result.json"
    records.write_json(target, {"verdict": "verified"})
    with pytest.raises(UnicodeEncodeError):
        records.write_text(target, "half written \udc80 then the process died")
    assert json.loads(target.read_text()) == {"verdict": "verified"}
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # a plain file's mode


def test_damaged_matrix_memo_and_build_entry_are_not_reused(tmp_path: Path) -> None:
    from hpatch import matrix
    memo = tmp_path / "memo.json"
    memo.write_text('{"fix": "TINY-1", "verd')
    assert matrix._earlier(memo) is None
    records.write_json(memo, _record(tmp_path))
    earlier = matrix._earlier(memo)
    assert earlier is not None and earlier.verdict is Verdict.VERIFIED
    spec = treebuild.BuildSpec("0" * 40, "2.4.1", (), (), False, ("install",), "img")
    entry = treebuild.root() / spec.key()
    entry.mkdir(parents=True)
    (entry / treebuild.ENTRY).write_text('{"jars": {')
    assert treebuild.lookup(spec) is None


# -- 11: the build cache ------------------------------------------------------------

def _cache_with_entries(cache: Path) -> dict[str, Path]:
    builds = cache / "builds"
    made = {}
    for name, meta in (("a" * 64, {"version": "2.4.1", "modules": [], "native": False,
                                   "jars": {}}),
                       ("b" * 64, {"version": "2.7.3", "modules": [], "native": True,
                                   "jars": {}}),
                       ("c" * 64, None)):
        path = builds / name
        (path / "jars").mkdir(parents=True)
        (path / "jars" / "x.jar").write_bytes(b"\0" * 4096)
        (path / treebuild.ENTRY).write_text(json.dumps(meta) if meta else '{"version": "2.')
        made[name[0]] = path
    return made


@pytest.mark.parametrize("max_gib,days,text", [
    (-1.0, None, "--max-size must be a number of GiB from 0"),
    (float("nan"), None, "--max-size must be a number of GiB from 0"),
    (float("inf"), None, "--max-size must be a number of GiB from 0"),
    (None, -1.0, "--older-than must be a number of days from 0"),
    (None, float("nan"), "--older-than must be a number of days from 0"),
])
def test_prune_refuses_bounds_that_would_empty_the_cache(
        tmp_path: Path, max_gib: float | None, days: float | None, text: str) -> None:
    made = _cache_with_entries(tmp_path / "hpatch-cache")
    with pytest.raises(UsageError, match=re.escape(text)):
        cache_prune(max_gib=max_gib, older_than_days=days, everything=False)
    assert all(p.is_dir() for p in made.values())


def test_negative_prune_bound_is_one_line_and_removes_nothing(tmp_path: Path) -> None:
    made = _cache_with_entries(tmp_path / "hpatch-cache")
    for args in (("--max-size", "-1"), ("--older-than", "-0.5")):
        result = run_hpatch("cache", "prune", *args)
        assert result.code == 2 and "must be a number" in one_error(result.err)
    assert all(p.is_dir() for p in made.values())


def test_damaged_entry_is_listed_as_such_and_pruned(tmp_path: Path) -> None:
    made = _cache_with_entries(tmp_path / "hpatch-cache")
    listed = run_hpatch("cache", "ls")
    assert listed.code == 0, listed.err
    assert "damaged" in listed.out and "1 damaged build(s)" in listed.err
    as_json = run_hpatch("cache", "ls", "--json")
    assert as_json.code == 0, as_json.err
    damaged = {e["key"][0]: e["damaged"] for e in json.loads(as_json.out)}
    assert damaged["a"] is None and damaged["b"] is None and "entry.json" in damaged["c"]
    pruned = run_hpatch("cache", "prune")
    assert pruned.code == 0, pruned.err
    assert "removed 1 build(s)" in pruned.out
    assert made["a"].is_dir() and made["b"].is_dir() and not made["c"].exists()


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "-3", "lots"])
def test_build_cache_bound_from_the_environment_is_checked(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HPATCH_BUILD_CACHE_MAX", value)
    with pytest.raises(HpatchError, match="HPATCH_BUILD_CACHE_MAX must be a number of GiB"):
        treebuild.max_bytes()


def test_infinite_build_cache_bound_is_one_line(tmp_path: Path) -> None:
    made = _cache_with_entries(tmp_path / "hpatch-cache")
    for verb in ("ls", "prune"):
        result = run_hpatch("cache", verb, env={"HPATCH_BUILD_CACHE_MAX": "inf"})
        assert result.code == 1
        assert "HPATCH_BUILD_CACHE_MAX must be a number of GiB" in one_error(result.err)
    assert all(p.is_dir() for p in made.values())
