"""diagnose: from the post-mortems' log and stack excerpts to the fix; quiet on healthy logs."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from conftest import run_hpatch

from hpatch import catalog, diagnose

LOGS = Path(__file__).parent / "fixtures" / "logs"
EXPECTED = {
    "hadoop-11802-datanode.log": "HADOOP-11802",
    "yarn-4398-resourcemanager.jstack": "YARN-4398",
    "pipeline-datanode.log": "LOCAL-PIPELINE-SRC",
    "pipeline-regionserver.log": "LOCAL-PIPELINE-SRC",
    "yarn-4493-resourcemanager.log": "YARN-4493",
}
EXPECTED.update({p.name: p.name.split("-reproducer")[0].upper()
                 for p in LOGS.glob("*-reproducer.log")})


def found(*names: str) -> set[str]:
    cat = catalog.load(catalog.default_root())
    return {f.fix.id for f in diagnose.scan([LOGS / n for n in names], cat)}


@pytest.mark.parametrize("name,fix_id", sorted(EXPECTED.items()))
def test_each_post_mortem_excerpt_names_its_fix(name: str, fix_id: str) -> None:
    assert found(name) == {fix_id}


@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("healthy-*.log")))
def test_healthy_logs_stay_quiet(name: str) -> None:
    assert found(name) == set()


def test_event_queue_lines_alone_are_only_weak_evidence() -> None:
    """Big event queues happen on healthy busy RMs too: alone they name nothing."""
    assert found("yarn-4398-resourcemanager.log") == set()
    assert found("yarn-4398-resourcemanager.log", "yarn-4398-resourcemanager.jstack") == {
        "YARN-4398"}


def test_cli_reports_lines_state_and_next_step(tmp_path: Path) -> None:
    big = tmp_path / "datanode.log.gz"
    with gzip.open(big, "wt") as handle:
        handle.write("2015-11-25 00:00:00,000 INFO healthy line\n" * 200000)
        handle.write((LOGS / "hadoop-11802-datanode.log").read_text())
    result = run_hpatch("diagnose", str(big), "--json")
    assert result.code == 1, result.err
    data = json.loads(result.out)
    [finding] = data["findings"]
    assert finding["fix"] == "HADOOP-11802"
    lines = {e["line"] for e in finding["evidence"]}
    assert 200002 in lines  # the IllegalStateException line, counted across chunks
    assert "affected releases" in finding["next"]


def test_cli_is_quiet_on_healthy_logs() -> None:
    result = run_hpatch("diagnose", *[str(p) for p in LOGS.glob("healthy-*.log")])
    assert result.code == 0
    assert "no known signature" in result.out


def test_multiline_signature_across_a_chunk_boundary(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagnose, "CHUNK", 4096)
    monkeypatch.setattr(diagnose, "OVERLAP", 2048)
    text = "x" * 4000 + "\n" + (LOGS / "yarn-4398-resourcemanager.jstack").read_text()
    path = tmp_path / "rm.jstack"
    path.write_text(text)
    cat = catalog.load(catalog.default_root())
    assert {f.fix.id for f in diagnose.scan([path], cat)} == {"YARN-4398"}


def test_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    result = run_hpatch("diagnose", str(tmp_path / "missing.log"))
    assert result.code == 1
    assert result.error_lines and "not a file" in result.error_lines[0]
    shutil.rmtree(tmp_path, ignore_errors=True)
