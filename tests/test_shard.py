"""Sharding a set of fixes over CI jobs: `--shard I/N` of verify and matrix, and
`hpatch ci --shards N`. Offline: the real CLI, a tiny real repository, real shells
running the emitted commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path

import pytest
from conftest import CATALOG, Tiny, run_hpatch
from test_files import ODD_SOURCE, gh_eval, load_yaml, one_error, run_shell, schema_check

from hpatch import ci, records, shard
from hpatch.catalog import load
from hpatch.errors import UsageError
from hpatch.grading import Verdict
from hpatch.verify import CellResult

# Ids of the kind a backlog holds, beyond the shipped catalog's few.
BACKLOG = [f"{p}-{n}" for p in ("HADOOP", "HDFS", "YARN", "MAPREDUCE")
           for n in range(4000, 12000, 640)]


class Item:
    def __init__(self, id: str) -> None:
        self.id = id


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 16])
def test_shards_partition_the_set_in_catalog_order(count: int) -> None:
    items = [Item(i) for i in [f.id for f in load(CATALOG)] + BACKLOG]
    parts = [shard.Shard(i, count).pick(items) for i in range(1, count + 1)]
    assert sorted(x.id for p in parts for x in p) == sorted(x.id for x in items)
    for a, b in combinations(parts, 2):
        assert not {x.id for x in a} & {x.id for x in b}
    for part in parts:  # each shard keeps the order it was given
        assert [x.id for x in part] == [x.id for x in items if x in part]


def test_adding_a_fix_moves_no_other_fix() -> None:
    before = {i: shard.shard_of(i, 4) for i in BACKLOG}
    grown = ["AAA-1", *BACKLOG, "HDFS-99999"]
    after = {i: shard.Shard(s, 4) for i in grown for s in range(1, 5)
             if shard.Shard(s, 4).holds(i)}
    assert {i: after[i].index for i in BACKLOG} == before
    # and the shards are used: none is empty for a set of this size
    assert set(before.values()) == {1, 2, 3, 4}


@pytest.mark.parametrize("text,message", [
    ("0/3", "the shard must be 1 to 3"),
    ("4/3", "the shard must be 1 to 3"),
    ("1/0", "the number of shards must be 1 to 256"),
    ("1/257", "the number of shards must be 1 to 256"),
    ("x", "takes I/N"), ("", "takes I/N"), ("1/3/4", "takes I/N"), ("-1/3", "takes I/N"),
    (" 1/3", "takes I/N"), ("\u0661/\u0663", "takes I/N"), ("3", "takes I/N"),
])
def test_bad_shard_is_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        shard.parse(text)


def test_good_shard_parses() -> None:
    assert shard.parse("3/4") == shard.Shard(3, 4) and str(shard.parse("1/1")) == "1/1"


@pytest.mark.parametrize("verb,args,text,message", [
    ("verify", ("--release", "2.4.1"), "0/3", "the shard must be 1 to 3"),
    ("verify", ("--repo", "."), "2", "takes I/N"),
    ("matrix", ("--releases", "2.4.1"), "5/4", "the shard must be 1 to 4")])
def test_bad_shard_is_one_line_exit_2(tmp_path: Path, verb: str, args: tuple[str, ...],
                                      text: str, message: str) -> None:
    result = run_hpatch(verb, *args, "--shard", text, cwd=tmp_path)
    assert result.code == 2, result.err
    assert message in one_error(result.err)


def test_matrix_shard_with_update_readme_is_refused(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("x\n")
    result = run_hpatch("matrix", "--shard", "1/2", "--update-readme", str(readme))
    assert result.code == 2 and "--update-readme" in one_error(result.err)
    assert readme.read_text() == "x\n"


def test_matrix_shards_of_a_tiny_checkout_split_its_fixes(tiny: Tiny) -> None:
    home = shard.shard_of("TINY-1", 2)
    seen = {}
    for index in (1, 2):
        result = tiny.hpatch("matrix", "--releases", "2.4.1", "--checkout",
                             f"2.4.1={tiny.repo}", "--shard", f"{index}/2", "--json")
        assert result.code == 0, result.err
        seen[index] = [c["fix"] for c in json.loads(result.out)]
        assert f"shard {index}/2: {int(index == home)} of 1 fix(es)" in result.err
    assert seen == {home: ["TINY-1"], 3 - home: []}


def test_verify_shard_without_fixes_is_no_failure_and_writes_empty_junit(
        tiny: Tiny, tmp_path: Path) -> None:
    other = 3 - shard.shard_of("TINY-1", 2)
    junit = tmp_path / "shard.xml"
    result = tiny.hpatch("verify", "--repo", str(tiny.repo), "--no-docker", "--shard",
                         f"{other}/2", "--junit-xml", str(junit))
    assert result.code == 0, result.err
    assert f"shard {other}/2: 0 of 1 fix(es)" in result.err
    assert ET.parse(junit).getroot().get("tests") == "0"


# -- ci --shards -----------------------------------------------------------------------

BRANCHES = ["acme/2.6", "o'neil\"s`x`", "semi;colon&&"]


def test_github_branch_workflow_has_a_job_per_branch_and_shard(tmp_path: Path) -> None:
    out = tmp_path / "hpatch.yml"
    result = run_hpatch("ci", "--emit", "github-actions", "--branches", ",".join(BRANCHES),
                        "--install-from", ODD_SOURCE, "--shards", "3", "--output", str(out))
    assert result.code == 0, result.err
    job = load_yaml(out.read_text())["jobs"]["hpatch"]
    entries = job["strategy"]["matrix"]["include"]
    assert len(entries) == 3 * len(BRANCHES)
    assert sorted((e["branch"], e["shard"]) for e in entries) == sorted(
        (b, i) for b in BRANCHES for i in (1, 2, 3))
    [verify] = [s for s in job["steps"] if s.get("run", "").startswith("hpatch")]
    [upload] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload")]
    names, files = set(), set()
    for entry in entries:
        entry = {k: str(v) for k, v in entry.items()}
        env = {k: gh_eval(v, entry) for k, v in verify["env"].items()}
        [line] = run_shell("bash", verify["run"], env)
        junit = f"hpatch-{entry['slug']}-shard-{entry['shard']}-of-3.xml"
        assert line == (f"<hpatch>[verify][--repo][.][--shard][{entry['shard']}/3]"
                        f"[--junit-xml][{junit}]")
        name = gh_eval(upload["with"]["name"], entry)
        assert gh_eval(upload["with"]["path"], entry).splitlines() == [junit, "runs/"]
        names.add(name)
        files.add(junit)
    assert len(names) == len(files) == len(entries)
    schema_check(out, "vendor.github-workflows")


def test_github_release_workflow_crosses_releases_with_shards(tmp_path: Path) -> None:
    out = tmp_path / "hpatch.yml"
    result = run_hpatch("ci", "--emit", "github-actions", "--releases", "2.4.1,2.7.3",
                        "--shards", "2", "--output", str(out))
    assert result.code == 0, result.err
    job = load_yaml(out.read_text())["jobs"]["hpatch"]
    assert job["strategy"]["matrix"] == {"release": ["2.4.1", "2.7.3"], "shard": [1, 2]}
    run = next(s for s in job["steps"] if s.get("run", "").startswith("hpatch"))
    lines = run_shell("bash", run["run"], {k: gh_eval(v, {"release": "2.7.3", "shard": "2"})
                                           for k, v in run["env"].items()})
    assert lines == ["<hpatch>[matrix][--releases][2.7.3][--verify][--shard][2/2]"
                     "[--junit-xml][hpatch-2.7.3-shard-2-of-2.xml]"]
    schema_check(out, "vendor.github-workflows")


def _gitlab_jobs(matrix: list[dict[str, object]]) -> list[dict[str, str]]:
    """parallel:matrix as GitLab expands it: each entry's lists crossed."""
    jobs: list[dict[str, str]] = []
    for entry in matrix:
        combos: list[dict[str, str]] = [{}]
        for key, value in entry.items():
            values = value if isinstance(value, list) else [value]
            combos = [{**c, key: str(v)} for c in combos for v in values]
        jobs += combos
    return jobs


def _gl_expand(text: str, env: dict[str, str]) -> str:
    return re.sub(r"\$(\w+)", lambda m: env[m.group(1)], text)


def test_gitlab_branch_workflow_has_a_job_per_branch_and_shard(tmp_path: Path) -> None:
    out = tmp_path / "gitlab-ci.yml"
    result = run_hpatch("ci", "--emit", "gitlab", "--branches", ",".join(BRANCHES),
                        "--install-from", "x", "--shards", "4", "--output", str(out))
    assert result.code == 0, result.err
    job = load_yaml(out.read_text())["hpatch"]
    jobs = _gitlab_jobs(job["parallel"]["matrix"])
    assert len(jobs) == 4 * len(BRANCHES)
    names, files = set(), set()
    for entry in jobs:
        env = {**{k: str(v) for k, v in job["variables"].items()}, **entry}
        lines = run_shell("sh", "\n".join(job["script"]), env)
        junit = f"hpatch-{entry['BRANCH_SLUG']}-shard-{entry['SHARD']}-of-4.xml"
        assert lines == [f"<hpatch>[verify][--repo][.][--shard][{entry['SHARD']}/4]"
                         f"[--junit-xml][{junit}]"]
        assert _gl_expand(job["artifacts"]["reports"]["junit"], env) == junit
        assert [_gl_expand(p, env) for p in job["artifacts"]["paths"]] == [junit, "runs/"]
        names.add(_gl_expand(job["artifacts"]["name"], env))
        files.add(junit)
    assert len(names) == len(files) == len(jobs)
    schema_check(out, "vendor.gitlab-ci")


def test_one_shard_leaves_the_workflow_as_it_was() -> None:
    for kind in ci.EMITTERS:
        assert ci.emit(kind, ["2.4.1"], ci.Install(), "", shards=1) == \
            ci.emit(kind, ["2.4.1"], ci.Install(), "")
        assert "--shard" not in ci.emit(kind, ["2.4.1"], ci.Install(), "")


@pytest.mark.parametrize("args,message", [
    (("--emit", "gitlab", "--branches", "a,b,c", "--install-from", "x", "--shards", "67"),
     "201 jobs"),
    (("--emit", "github-actions", "--releases", "2.4.1,2.7.3", "--shards", "129"),
     "258 jobs"),
    (("--emit", "gitlab", "--shards", "0"), "'--shards': 0 is not in the range"),
    (("--emit", "gitlab", "--shards", "two"), "'--shards': 'two' is not a valid integer"),
])
def test_ci_shards_bad_input_is_one_line_exit_2(args: tuple[str, ...], message: str) -> None:
    result = run_hpatch("ci", *args)
    assert result.code == 2, result.err
    assert message in one_error(result.err)


# -- the report job after the shards ----------------------------------------------------

def _run_report(shell: str, script: str, cwd: Path, env: dict[str, str]) -> int:
    """The emitted report lines, run by a real shell with the real hpatch."""
    real = f'hpatch() {{ "{sys.executable}" -m hpatch "$@"; }}\n'
    proc = subprocess.run([shell, "-e", "-c", real + script], cwd=cwd, capture_output=True,
                          text=True, check=False, env={**os.environ, **env,
                                                       "HPATCH_CATALOG": str(CATALOG)})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode


def _artifact(root: Path, runs: str, run_id: str, cells: list[tuple[str, Verdict]],
              release: str = "2.4.1") -> None:
    """What a shard job leaves: its JUnit XML, and its run records unless it had none."""
    root.mkdir(parents=True)
    (root / f"{root.name}.xml").write_text("<testsuite/>\n")
    for fix, verdict in cells:
        cell = root / runs / run_id / fix / release
        cell.mkdir(parents=True)
        records.write_json(cell / "result.json", CellResult(
            fix, release, verdict, "r", 1.0, str(cell), run_id=run_id).as_dict())


def _junit_cells(path: Path) -> list[tuple[str, str]]:
    return sorted((c.get("classname", ""), c.get("name", ""))
                  for c in ET.parse(path).getroot().iter("testcase"))


def test_github_release_shards_end_in_one_report(tmp_path: Path) -> None:
    out = tmp_path / "hpatch.yml"
    assert run_hpatch("ci", "--emit", "github-actions", "--releases", "2.4.1,2.7.3",
                      "--shards", "2", "--output", str(out)).code == 0
    workflow = load_yaml(out.read_text())
    job = workflow["jobs"]["report"]
    assert job["needs"] == "hpatch" and job["if"] == "always()"
    [fetch] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/download")]
    assert fetch["with"] == {"pattern": "hpatch-*", "path": "shards"}
    [merge] = [s for s in job["steps"] if "hpatch report" in s.get("run", "")]
    [keep] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload")]
    assert keep["with"] == {"name": "report", "path": "hpatch-report.xml"}
    assert not keep["with"]["name"].startswith("hpatch-")  # never one the fetch takes
    # the artifacts as the download leaves them: a directory per artifact name
    shards = tmp_path / "ci" / "shards"
    _artifact(shards / "hpatch-2.4.1-shard-1-of-2", "runs", "a", [("TINY-1", Verdict.VERIFIED)])
    _artifact(shards / "hpatch-2.4.1-shard-2-of-2", "runs", "b", [])  # nothing to verify
    _artifact(shards / "hpatch-2.7.3-shard-1-of-2", "runs", "c", [("TINY-1", Verdict.VERIFIED)],
              "2.7.3")
    _artifact(shards / "hpatch-2.7.3-shard-2-of-2", "runs", "d", [("TINY-2", Verdict.VERIFIED)],
              "2.7.3")
    assert _run_report("bash", merge["run"], tmp_path / "ci", {}) == 0
    assert _junit_cells(tmp_path / "ci" / "hpatch-report.xml") == [
        ("hpatch.2.4.1", "TINY-1"), ("hpatch.2.7.3", "TINY-1"), ("hpatch.2.7.3", "TINY-2")]
    # a failure in any shard fails the report job
    _artifact(shards / "hpatch-2.4.1-shard-3-of-2", "runs", "e", [("TINY-3", Verdict.NOT_FIXED)])
    assert _run_report("bash", merge["run"], tmp_path / "ci", {}) == 1
    schema_check(out, "vendor.github-workflows")


def test_github_branch_shards_end_in_one_report_per_branch(tmp_path: Path) -> None:
    out = tmp_path / "hpatch.yml"
    assert run_hpatch("ci", "--emit", "github-actions", "--branches", ",".join(BRANCHES),
                      "--install-from", ODD_SOURCE, "--shards", "2",
                      "--output", str(out)).code == 0
    jobs = load_yaml(out.read_text())["jobs"]
    [verify] = [s for s in jobs["hpatch"]["steps"] if s.get("run", "").startswith("hpatch")]
    job = jobs["report"]
    assert job["needs"] == "hpatch" and job["if"] == "always()"
    entries = job["strategy"]["matrix"]["include"]
    assert [e["branch"] for e in entries] == BRANCHES
    [fetch] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/download")]
    [merge] = [s for s in job["steps"] if "hpatch report" in s.get("run", "")]
    [keep] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload")]
    # every branch's shards verify the same fix at the same release: a report that took
    # another branch's runs would meet the cell twice and stop
    shards = tmp_path / "ci" / "shards"
    for entry in entries:
        runs = gh_eval(verify["env"]["HPATCH_RUNS"], entry)
        assert runs == f"runs/{entry['slug']}"
        _artifact(shards / f"hpatch-{entry['slug']}-shard-1-of-2", runs, "a",
                  [("TINY-1", Verdict.VERIFIED)])
        _artifact(shards / f"hpatch-{entry['slug']}-shard-2-of-2", runs, "b",
                  [("TINY-2", Verdict.VERIFIED if entry["branch"] != BRANCHES[1]
                    else Verdict.NOT_FIXED)])
    names = set()
    for entry in entries:
        assert gh_eval(fetch["with"]["pattern"], entry) == f"hpatch-{entry['slug']}-shard-*"
        env = {k: gh_eval(v, entry) for k, v in merge["env"].items()}
        code = _run_report("bash", merge["run"], tmp_path / "ci", env)
        assert code == (1 if entry["branch"] == BRANCHES[1] else 0)
        path = gh_eval(keep["with"]["path"], entry)
        assert _junit_cells(tmp_path / "ci" / path) == [("hpatch.2.4.1", "TINY-1"),
                                                        ("hpatch.2.4.1", "TINY-2")]
        names.add(gh_eval(keep["with"]["name"], entry))
    assert len(names) == len(entries)
    schema_check(out, "vendor.github-workflows")


def test_gitlab_shards_end_in_one_report(tmp_path: Path) -> None:
    out = tmp_path / "gitlab-ci.yml"
    assert run_hpatch("ci", "--emit", "gitlab", "--releases", "2.4.1", "--shards", "3",
                      "--output", str(out)).code == 0
    workflow = load_yaml(out.read_text())
    assert workflow["stages"] == ["verify", "report"]
    job = workflow["hpatch-report"]
    assert (job["stage"], job["needs"], job["when"]) == ("report", ["hpatch"], "always")
    # GitLab unpacks every shard job's artifacts into the one directory
    ci_dir = tmp_path / "ci"
    ci_dir.mkdir()
    assert _run_report("sh", "\n".join(job["script"]), ci_dir, {}) == 1  # no shard ran a cell
    for i, (fix, verdict) in enumerate([("TINY-1", Verdict.VERIFIED),
                                        ("TINY-2", Verdict.VERIFIED)]):
        cell = ci_dir / "runs" / f"run{i}" / fix / "2.4.1"
        cell.mkdir(parents=True)
        records.write_json(cell / "result.json",
                           CellResult(fix, "2.4.1", verdict, "r", 1.0, str(cell)).as_dict())
    assert _run_report("sh", "\n".join(job["script"]), ci_dir, {}) == 0
    assert job["artifacts"]["paths"] == ["hpatch-report.xml"]
    assert _junit_cells(ci_dir / "hpatch-report.xml") == [("hpatch.2.4.1", "TINY-1"),
                                                          ("hpatch.2.4.1", "TINY-2")]
    schema_check(out, "vendor.gitlab-ci")


def test_gitlab_branch_shards_end_in_one_report_per_branch(tmp_path: Path) -> None:
    out = tmp_path / "gitlab-ci.yml"
    assert run_hpatch("ci", "--emit", "gitlab", "--branches", ",".join(BRANCHES),
                      "--install-from", "x", "--shards", "2", "--output", str(out)).code == 0
    workflow = load_yaml(out.read_text())
    shard_job, job = workflow["hpatch"], workflow["hpatch-report"]
    assert job["needs"] == ["hpatch"] and job["when"] == "always"
    ci_dir = tmp_path / "ci"
    for entry in _gitlab_jobs(shard_job["parallel"]["matrix"]):
        env = {**{k: str(v) for k, v in shard_job["variables"].items()}, **entry}
        [runs] = run_shell("sh", "\n".join(job_line for job_line in shard_job["script"]
                                           if "HPATCH_RUNS" in job_line)
                           + '\necho "$HPATCH_RUNS"', env)
        assert runs == f"runs/{entry['BRANCH_SLUG']}"
        cell = ci_dir / runs / f"run{entry['SHARD']}" / f"TINY-{entry['SHARD']}" / "2.4.1"
        cell.mkdir(parents=True)
        # one branch's TINY-2 is not fixed: a report that took its runs would meet the
        # cell twice with different results and stop
        bad = entry["BRANCH"] == BRANCHES[1] and entry["SHARD"] == "2"
        records.write_json(cell / "result.json", CellResult(
            f"TINY-{entry['SHARD']}", "2.4.1", Verdict.NOT_FIXED if bad else Verdict.VERIFIED,
            "r", 1.0, str(cell)).as_dict())
    reports = _gitlab_jobs(job["parallel"]["matrix"])
    assert [r["BRANCH"] for r in reports] == BRANCHES
    for entry in reports:
        assert _run_report("sh", "\n".join(job["script"]), ci_dir, entry) == \
            (1 if entry["BRANCH"] == BRANCHES[1] else 0)
        [junit] = [_gl_expand(p, entry) for p in job["artifacts"]["paths"]]
        assert _junit_cells(ci_dir / junit) == [("hpatch.2.4.1", "TINY-1"),
                                                ("hpatch.2.4.1", "TINY-2")]
    schema_check(out, "vendor.gitlab-ci")
