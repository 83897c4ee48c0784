"""verify on real 2.4.1 sources and jars, a real JDK 8 in a real container."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import YARN_4398_FILE, git, run_hpatch

pytestmark = [pytest.mark.network, pytest.mark.docker, pytest.mark.slow]


def test_verify_241_in_docker(docker_ready: None, cached_release: str, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    junit = tmp_path / "verify.xml"
    result = run_hpatch("verify", "--release", cached_release, "--jobs", "2", "--json",
                        "--junit-xml", str(junit), env={"HPATCH_RUNS": str(runs)}, timeout=1800)
    data = json.loads(result.out)
    verdicts = {r["fix"]: r["verdict"] for r in data["results"]}
    # every fix applicable at 2.4.1 is proven, but the native one: no libhadoop.so here,
    # and a skip is never a pass, so it is inconclusive and the exit code says so
    assert verdicts.pop("HADOOP-11802") == "inconclusive"
    assert {"HDFS-9812", "YARN-4398", "HDFS-6364", "YARN-4493"} <= set(verdicts)
    assert set(verdicts.values()) == {"verified"}, data
    assert result.code == 1
    for r in data["results"]:
        if r["fix"] == "HADOOP-11802":
            assert "libhadoop" in r["reason"]
            continue
        assert r["stock"][0]["kind"] == "assertion" and r["patched"][0]["kind"] == "passed"
        assert r["jvm"].startswith('openjdk version "1.8.0')
        assert r["runtime"].startswith("docker image hpatch-verify:")
        record = Path(r["run_dir"])
        for name in ("result.json", "stock-1.log", "patched-1.log", "jvm.txt",
                     "classpath.txt", "commands.txt"):
            assert (record / name).is_file(), name
    leak = next(r for r in data["results"] if r["fix"] == "HDFS-9812")
    assert "still alive" in leak["stock"][0]["summary"]
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == str(len(data["results"])) and suite.get("failures") == "0"
    assert suite.get("skipped") == "1"
    assert suite.find("testcase[@name='HADOOP-11802']/skipped") is not None

    # report re-grades from the files alone
    report = run_hpatch("report", data["run"], "--json", env={"HPATCH_RUNS": str(runs)})
    again = {r["fix"]: r["verdict"] for r in json.loads(report.out)["results"]}
    assert again == {**verdicts, "HADOOP-11802": "inconclusive"}


def test_a_fix_that_does_not_fix_is_caught(docker_ready: None, hadoop: Path,
                                           catalog_copy: Path, tmp_path: Path) -> None:
    """A variant that applies but only changes a comment must come out not-fixed."""
    path = hadoop / YARN_4398_FILE
    original = path.read_text()
    path.write_text(original.replace(
        "  public synchronized void storeNewApplication(RMApp app) {",
        "  // YARN-4398: the RM dispatcher calls this (a comment changes nothing)\n"
        "  public synchronized void storeNewApplication(RMApp app) {"))
    git(hadoop, "commit", "-qam", "YARN-4398: comment only")
    patch = git(hadoop, "format-patch", "-1", "--stdout", "--no-signature", "HEAD")
    git(hadoop, "reset", "-q", "--hard", "HEAD^")
    (catalog_copy / "YARN-4398" / "variants" / "2.4.patch").write_text(patch + "\n")
    # the comment-only change is not a fix, so the code probe cannot see it as one
    env = {"HPATCH_CATALOG": str(catalog_copy), "HPATCH_RUNS": str(tmp_path / "runs")}
    result = run_hpatch("verify", "YARN-4398", "--repo", str(hadoop), "--json", env=env,
                        timeout=900)
    assert result.code == 1
    [cell] = json.loads(result.out)["results"]
    assert cell["verdict"] == "not-fixed", cell
    assert "RM dispatcher thread BLOCKED" in cell["reason"]


def test_matrix_reuses_unchanged_cells_and_notes_cite_the_run(
        docker_ready: None, hadoop: Path, tmp_path: Path) -> None:
    env = {"HPATCH_RUNS": str(tmp_path / "runs"), "HPATCH_CACHE": str(tmp_path / "cache")}
    args = ("matrix", "--releases", "2.4.1", "--fixes", "YARN-4398", "--verify", "--json")
    first = run_hpatch(*args, env=env, timeout=900)
    assert first.code == 0, first.err
    [cell] = json.loads(first.out)
    assert cell["verdict"] == "verified" and not cell["reused"]
    second = run_hpatch(*args, env=env, timeout=900)
    assert second.code == 0, second.err
    [again] = json.loads(second.out)
    assert again["verdict"] == "verified" and again["reused"]
    assert "1 of 1 verified cell(s) reused" in second.err

    # notes for a branch carrying the fix cite the verification run
    assert run_hpatch("apply", "YARN-4398", "--repo", str(hadoop), env=env).code == 0
    result = run_hpatch("verify", "YARN-4398", "--repo", str(hadoop), env=env, timeout=900)
    assert result.code == 0, result.out + result.err
    notes = json.loads(run_hpatch("notes", "--repo", str(hadoop), "--format", "json",
                                  env=env).out)
    [entry] = notes["fixes"]
    assert entry["verification"]["verdict"] == "verified"
    assert entry["verification"]["release"] == "2.4.1"
