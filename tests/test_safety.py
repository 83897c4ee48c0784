"""Concurrent runs, killed runs, and Maven that cannot deliver."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import YARN_4398_FILE, git, run_hpatch, snapshot

pytestmark = pytest.mark.network


def _state(repo: Path) -> dict[str, Any]:
    result = run_hpatch("status", "--repo", str(repo), "--json")
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def test_second_run_is_locked_out_and_names_the_holder(hadoop: Path) -> None:
    holder = subprocess.Popen(["sleep", "60"])
    try:
        lock_dir = hadoop / ".git" / "hpatch"
        lock_dir.mkdir()
        (lock_dir / "lock").write_text(json.dumps({
            "pid": holder.pid, "host": socket.gethostname(), "command": "hpatch apply --all",
            "since": time.time(), "start": ""}))
        before = snapshot(hadoop)
        result = run_hpatch("apply", "--all", "--repo", str(hadoop))
        assert result.code == 75
        assert len(result.error_lines) == 1
        assert f"pid {holder.pid}" in result.err and "hpatch apply --all" in result.err
        assert snapshot(hadoop) == before
    finally:
        holder.kill()
        holder.wait()


def test_stale_lock_of_a_dead_process_is_taken_over(hadoop: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock_dir = hadoop / ".git" / "hpatch"
    lock_dir.mkdir()
    (lock_dir / "lock").write_text(json.dumps({
        "pid": dead.pid, "host": socket.gethostname(), "command": "hpatch apply",
        "since": time.time(), "start": ""}))
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop))
    assert result.code == 0, result.err
    assert "took over a stale lock" in result.err
    assert not (lock_dir / "lock").exists()


def test_two_real_runs_at_once_one_waits_out(hadoop: Path) -> None:
    env = dict(os.environ, HPATCH_CATALOG=str(Path(__file__).parent.parent / "patches"))
    argv = [sys.executable, "-m", "hpatch", "apply", "--all", "--repo", str(hadoop)]
    runs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
            for _ in range(2)]
    for proc in runs:
        proc.communicate(timeout=120)
    codes = sorted(p.returncode for p in runs)
    assert codes in ([0, 0], [0, 75])  # the loser either found it done, or was locked out
    after = {f["fix"]: f["state"] for f in _state(hadoop)["fixes"]}
    assert after["HDFS-9812"] == after["YARN-4398"] == "applied"
    applied = sum(s == "applied" for s in after.values())
    assert git(hadoop, "rev-list", "--count", "HEAD") == str(1 + applied)  # each once
    assert git(hadoop, "status", "--porcelain") == ""


@pytest.mark.parametrize("point,expect_applied", [("after-journal", False), ("after-ref", True)])
def test_kill_9_mid_apply_leaves_a_state_the_next_command_finishes(
        hadoop: Path, point: str, expect_applied: bool) -> None:
    head = git(hadoop, "rev-parse", "HEAD")
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop), env={"HPATCH_FAULT": point})
    assert result.code == -9  # SIGKILL
    status = _state(hadoop)
    assert status["interrupted"] == "apply YARN-4398"
    result = run_hpatch("status", "--repo", str(hadoop))
    assert "hpatch recover" in result.err
    result = run_hpatch("recover", "--repo", str(hadoop))
    assert result.code == 0, result.err
    assert ("finished an interrupted apply" if expect_applied else "nothing to undo") in result.err
    status = _state(hadoop)
    assert status["interrupted"] is None
    states = {f["fix"]: f["state"] for f in status["fixes"]}
    assert states["YARN-4398"] == ("applied" if expect_applied else "applicable")
    assert git(hadoop, "status", "--porcelain") == ""
    assert (git(hadoop, "rev-parse", "HEAD") != head) == expect_applied
    assert not (hadoop / ".git" / "hpatch" / "lock").exists()
    assert ("public void storeNewApplication(" in (hadoop / YARN_4398_FILE).read_text()) \
        == expect_applied


def test_kill_9_then_apply_again_finishes_and_continues(hadoop: Path) -> None:
    run_hpatch("apply", "YARN-4398", "--repo", str(hadoop), env={"HPATCH_FAULT": "after-ref"})
    result = run_hpatch("apply", "--all", "--repo", str(hadoop))
    assert result.code == 0, result.err
    assert "finished an interrupted apply of YARN-4398" in result.err
    states = {f["fix"]: f["state"] for f in _state(hadoop)["fixes"]}
    assert states["HDFS-9812"] == states["YARN-4398"] == "applied"
    applied = sum(s == "applied" for s in states.values())
    assert git(hadoop, "rev-list", "--count", "HEAD") == str(1 + applied)


def test_release_not_on_maven_central(tmp_path: Path) -> None:
    result = run_hpatch("source", "2.4.99", str(tmp_path / "x"),
                        env={"HPATCH_CACHE": str(tmp_path / "cache")})
    assert result.code == 1
    assert len(result.error_lines) == 1
    assert "not in the Maven repository" in result.err and "2.4.99" in result.err
    assert not (tmp_path / "x").exists()


def test_no_network_to_maven(tmp_path: Path) -> None:
    settings = tmp_path / "settings.xml"
    settings.write_text(
        "<settings><mirrors><mirror><id>unreachable</id><mirrorOf>*</mirrorOf>"
        "<url>http://127.0.0.1:9/maven2</url></mirror></mirrors></settings>")
    env = {"HPATCH_CACHE": str(tmp_path / "cache"),
           "HPATCH_MAVEN_ARGS": f"-s {settings} -Dmaven.repo.local={tmp_path / 'm2'}"}
    result = run_hpatch("source", "2.4.1", str(tmp_path / "x"), env=env)
    assert result.code == 1
    assert len(result.error_lines) == 1
    assert "cannot reach the Maven repository" in result.err
    assert not (tmp_path / "x").exists()


def test_source_into_a_non_empty_directory_is_refused(cached_release: str, tmp_path: Path) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    result = run_hpatch("source", cached_release, str(dest))
    assert result.code == 1 and "not empty" in result.err
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]
