"""The one container lifecycle (runtime/docker.py) that verification and builds share."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hpatch import proc
from hpatch.runtime import docker as docker_runtime

pytestmark = pytest.mark.docker


MINE = "org.hpatch.test.container"  # a label of this test's own containers


def _spec(argv: list[str], work: Path) -> docker_runtime.Container:
    engine = docker_runtime.client()
    docker_runtime.ensure_base(engine, lambda _: None)
    return docker_runtime.Container(
        docker_runtime.base_tag(), argv, {str(work): {"bind": "/w", "mode": "rw"}},
        working_dir="/w", user="0:0", network_mode="none",
        options={"labels": {MINE: work.name}})


def _left(engine: object, work: Path) -> list[str]:
    """The containers of this test still on the engine (running or not); the other
    tests' containers, which run beside it, are none of its business."""
    return [c.name for c in engine.containers.list(  # type: ignore[attr-defined]
        all=True, filters={"label": f"{MINE}={work.name}"})]


def test_a_container_streams_its_lines_keeps_its_log_and_is_removed(
        docker_ready: None, tmp_path: Path) -> None:
    engine = docker_runtime.client()
    lines: list[str] = []
    code = docker_runtime.run_container(
        engine, _spec(["sh", "-c", "echo one; echo two >&2; echo made > /w/out; exit 3"],
                      tmp_path), timeout=60, on_line=lines.append, keep=tmp_path / "c.log")
    assert code == 3
    # stdout and stderr are two streams: the engine keeps each one's order, not theirs
    assert sorted(lines) == ["one", "two"]
    assert sorted((tmp_path / "c.log").read_text().splitlines()) == ["one", "two"]
    assert (tmp_path / "out").read_text() == "made\n"
    assert _left(engine, tmp_path) == []


def test_a_container_past_its_time_is_stopped(docker_ready: None, tmp_path: Path) -> None:
    engine = docker_runtime.client()
    started = time.monotonic()
    code = docker_runtime.run_container(engine, _spec(["sleep", "60"], tmp_path), timeout=2,
                                        on_line=lambda _: None)
    assert code == proc.EXIT_TIMEOUT
    assert time.monotonic() - started < 30
    assert _left(engine, tmp_path) == []
