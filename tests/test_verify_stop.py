"""A verification stopped part-way (Ctrl-C, `kill`, a CI runner's cancel, `kill -9`):
queued cells never start, running containers are stopped, no verdict is recorded for
a cell that did not finish, and a run killed outright has its containers cleared by
the next one. Real 2.4.1 sources, real containers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CATALOG, run_hpatch

pytestmark = [pytest.mark.network, pytest.mark.docker, pytest.mark.slow]
LABEL = "org.hpatch.verify.pid"


def _containers_of(pid: int) -> list[str]:
    return subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL}={pid}"],
                          capture_output=True, text=True, check=True).stdout.split()


def _start(cached_release: str, runs: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, HPATCH_CATALOG=str(CATALOG), HPATCH_RUNS=str(runs))
    return subprocess.Popen(
        [sys.executable, "-m", "hpatch", "verify", "YARN-4398", "HDFS-6364", "HDFS-9812",
         "YARN-4493", "--release", cached_release, "--jobs", "2", "--repeat", "3"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_a_container(child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if _containers_of(child.pid):
            time.sleep(3)  # well inside the run
            return
        assert child.poll() is None, child.communicate()
        time.sleep(0.5)
    pytest.fail("no verification container started")


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_verify_stops_its_containers_and_records_no_verdict(
        docker_ready: None, cached_release: str, tmp_path: Path, how: int) -> None:
    runs = tmp_path / "runs"
    child = _start(cached_release, runs)
    _wait_for_a_container(child)
    sent = time.monotonic()
    child.send_signal(how)
    _, err = child.communicate(timeout=120)
    took = time.monotonic() - sent
    assert child.returncode == 130, err
    assert err.strip().splitlines()[-1] == "hpatch: error: interrupted", err
    assert "Traceback" not in err
    assert took < 60, f"{took:.0f} s to stop"
    assert _containers_of(child.pid) == []
    # the four cells: two were running, two queued and never started; none has a verdict
    assert list(runs.glob("*/*/*/result.json")) == []


def test_containers_of_a_killed_run_are_cleared_by_the_next(
        docker_ready: None, cached_release: str, tmp_path: Path) -> None:
    child = _start(cached_release, tmp_path / "runs")
    _wait_for_a_container(child)
    child.kill()
    child.communicate(timeout=60)
    left = _containers_of(child.pid)
    assert left, "SIGKILL leaves the containers running (nothing could stop them)"
    result = run_hpatch("verify", "YARN-4398", "--release", cached_release, "--json",
                        env={"HPATCH_RUNS": str(tmp_path / "runs2")}, timeout=1800)
    assert result.code == 0, result.err
    assert _containers_of(child.pid) == []
