"""diagnose: from the post-mortems' log and stack excerpts to the fix; quiet on healthy logs."""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import lzma
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_hpatch

from hpatch import catalog, diagnose
from hpatch.errors import EXIT_DATA_ERROR, EXIT_NO_INPUT

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
    """Exit 1 means "a fix was named": an input that cannot be read is 66 (EX_NOINPUT)."""
    result = run_hpatch("diagnose", str(tmp_path / "missing.log"))
    assert result.code == EXIT_NO_INPUT, result.err
    assert result.error_lines == [f"hpatch: error: no such file: {tmp_path / 'missing.log'}"]
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_directory_is_an_input_error(tmp_path: Path) -> None:
    result = run_hpatch("diagnose", str(tmp_path))
    assert result.code == EXIT_NO_INPUT, result.err
    assert len(result.error_lines) == 1 and "is a directory" in result.error_lines[0]
    assert "Traceback" not in result.err


def _stdin_diagnose(data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, HPATCH_CATALOG=str(catalog.default_root()))
    return subprocess.run([sys.executable, "-m", "hpatch", "diagnose", *args], input=data,
                          capture_output=True, env=env, timeout=120, check=False)


def test_dash_reads_standard_input() -> None:
    proc = _stdin_diagnose((LOGS / "hadoop-11802-datanode.log").read_bytes(), "-", "--json")
    assert proc.returncode == 1, proc.stderr
    [finding] = json.loads(proc.stdout)["findings"]
    assert finding["fix"] == "HADOOP-11802"
    assert {e["file"] for e in finding["evidence"]} == {"<stdin>"}
    healthy = _stdin_diagnose((LOGS / "healthy-datanode.log").read_bytes(), "-")
    assert healthy.returncode == 0 and b"no known signature" in healthy.stdout


def test_dash_twice_is_bad_usage() -> None:
    proc = _stdin_diagnose(b"", "-", "-")
    assert proc.returncode == 2
    assert b"standard input" in proc.stderr


PACKINGS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "utf-16 (BOM)": (lambda b: b.decode().encode("utf-16"), "dn.log"),
    "utf-16-be (BOM)": (lambda b: codecs.BOM_UTF16_BE + b.decode().encode("utf-16-be"), "dn.log"),
    "utf-16-le, no BOM": (lambda b: b.decode().encode("utf-16-le"), "dn.log"),
    "utf-8 BOM": (lambda b: codecs.BOM_UTF8 + b, "dn.log"),
    "bz2": (bz2.compress, "dn.log.bz2"),
    "xz": (lzma.compress, "dn.xz"),
    "gzip named .log": (gzip.compress, "datanode.log"),
    "gzip of utf-16": (lambda b: gzip.compress(b.decode().encode("utf-16")), "dn.log.1"),
}


@pytest.mark.parametrize("packing", sorted(PACKINGS))
def test_compressed_and_reencoded_logs_are_read_by_content(tmp_path: Path, packing: str) -> None:
    pack, name = PACKINGS[packing]
    path = tmp_path / name
    path.write_bytes(pack((LOGS / "hadoop-11802-datanode.log").read_bytes()))
    result = run_hpatch("diagnose", str(path), "--json")
    assert result.code == 1, (packing, result.err)
    assert [f["fix"] for f in json.loads(result.out)["findings"]] == ["HADOOP-11802"]


def test_compressed_stdin_is_read_by_content() -> None:
    data = bz2.compress((LOGS / "hadoop-11802-datanode.log").read_bytes())
    proc = _stdin_diagnose(data, "-")
    assert proc.returncode == 1, proc.stderr
    assert b"HADOOP-11802" in proc.stdout


# -- pasted logs: what people paste is not what the JVM wrote ----------------------------

_TRACE_LINE = ("at ", "- locked", "- waiting", "Caused by:", "java.lang.Thread.State:", "...")


def _jira(text: str) -> str:
    """A stack trace flattened onto its first line, as JIRA comments show them."""
    out: list[str] = []
    for line in text.splitlines():
        if out and line.strip().startswith(_TRACE_LINE):
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _unindented(text: str) -> str:
    return "".join(line.lstrip(" \t") for line in text.splitlines(keepends=True))


def _stamped(text: str) -> str:
    return "".join(f"2015-11-25T10:00:00.123Z {line}" for line in text.splitlines(keepends=True))


def _wrapped(text: str) -> str:
    """Hard-wrapped at 80 columns, as a terminal or a mail client copies it."""
    out: list[str] = []
    for line in text.splitlines():
        out.extend(line[i:i + 80] for i in range(0, max(len(line), 1), 80))
    return "\n".join(out) + "\n"


def _blank_between(text: str) -> str:
    return "\n\n".join(text.splitlines()) + "\n"


PASTES = {"jira": _jira, "unindented": _unindented, "stamped": _stamped,
          "wrapped": _wrapped, "blank-lines": _blank_between}


@pytest.mark.parametrize("paste", sorted(PASTES))
@pytest.mark.parametrize("name,fix_id", sorted(EXPECTED.items()))
def test_pasted_excerpts_still_name_their_fix(tmp_path: Path, paste: str, name: str,
                                              fix_id: str) -> None:
    pasted = tmp_path / name
    pasted.write_text(PASTES[paste]((LOGS / name).read_text()))
    cat = catalog.load(catalog.default_root())
    assert {f.fix.id for f in diagnose.scan([pasted], cat)} == {fix_id}


@pytest.mark.parametrize("paste", sorted(PASTES))
@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("healthy-*.log")))
def test_pasted_healthy_logs_stay_quiet(tmp_path: Path, paste: str, name: str) -> None:
    pasted = tmp_path / name
    pasted.write_text(PASTES[paste]((LOGS / name).read_text()))
    cat = catalog.load(catalog.default_root())
    report = diagnose.examine([pasted], cat)
    assert report.named == [] and report.possible == []


def test_weak_evidence_alone_is_called_possible() -> None:
    result = run_hpatch("diagnose", str(LOGS / "yarn-4398-resourcemanager.log"))
    assert result.code == 0, result.err
    assert "possible: YARN-4398 (weak evidence: " in result.out
    assert "no known signature" not in result.out


def test_each_files_evidence_stays_with_that_file(tmp_path: Path) -> None:
    incident = (LOGS / "pipeline-datanode.log").read_text()
    (tmp_path / "dn1").mkdir()
    (tmp_path / "dn2").mkdir()
    first, second = tmp_path / "dn1" / "datanode.log", tmp_path / "dn2" / "datanode.log"
    first.write_text(incident * 3)
    second.write_text("2015-11-25 00:00:00,000 INFO healthy line\n" * 5 + incident)
    result = run_hpatch("diagnose", str(first), str(second), "--json")
    assert result.code == 1, result.err
    [finding] = json.loads(result.out)["findings"]
    assert {e["file"] for e in finding["evidence"]} == {str(first), str(second)}
    assert {e["line"] for e in finding["evidence"] if e["file"] == str(second)} >= {
        5 + incident[: incident.index(" got\n")].count("\n") + 1}
    text = run_hpatch("diagnose", str(first), str(second)).out
    assert f"in {first}:" in text and f"in {second}:" in text


def test_one_long_line_takes_no_time(tmp_path: Path) -> None:
    """A pasted blob of 512 KB without a space, before a real incident: matching must be
    linear in the line's length (it used to take minutes)."""
    log = tmp_path / "datanode.log"
    log.write_text("2015-11-25 00:00:00,000 DEBUG payload=" + "QUJD" * (128 << 10) + "\n"
                   + (LOGS / "pipeline-datanode.log").read_text())
    result = run_hpatch("diagnose", str(log), timeout=30)
    assert result.code == 1, result.err
    assert "LOCAL-PIPELINE-SRC" in result.out


def test_lint_rejects_an_unbounded_signature(catalog_copy: Path) -> None:
    toml = catalog_copy / "LOCAL-PIPELINE-SRC" / "fix.toml"
    text = toml.read_text()
    toml.write_text(text.replace(r"pattern = ' to \S{1,400} got", r"pattern = '\S+ to \S+ got"))
    assert r"\S+ to \S+ got" in toml.read_text()
    result = run_hpatch("lint", env={"HPATCH_CATALOG": str(catalog_copy)})
    assert result.code == 1
    assert "transfer-source-lacks-acked-bytes: a repeat without an upper bound" in result.out


def test_a_signature_that_is_no_pattern_is_a_catalog_error(catalog_copy: Path,
                                                           tmp_path: Path) -> None:
    """Loading the catalog does not compile signatures (status has no use for them):
    lint and diagnose still refuse one that is not a regular expression."""
    toml = catalog_copy / "LOCAL-PIPELINE-SRC" / "fix.toml"
    text = toml.read_text()
    toml.write_text(text.replace(r"pattern = ' to \S{1,400} got", r"pattern = ' to (\S{1,400} got"))
    assert r"to (\S{1,400} got" in toml.read_text()
    env = {"HPATCH_CATALOG": str(catalog_copy)}
    linted = run_hpatch("lint", env=env)
    assert linted.code == 1
    assert "transfer-source-lacks-acked-bytes: bad pattern" in linted.out
    log = tmp_path / "datanode.log"
    log.write_text((LOGS / "pipeline-datanode.log").read_text())
    diagnosed = run_hpatch("diagnose", str(log), env=env)
    assert diagnosed.code == EXIT_DATA_ERROR and not diagnosed.out, diagnosed.err
    assert len(diagnosed.error_lines) == 1, diagnosed.err
    assert "transfer-source-lacks-acked-bytes: bad pattern" in diagnosed.error_lines[0]
    assert run_hpatch("status", "--release", "2.4.1", "--json", env=env).code != 3


@pytest.mark.parametrize("packing", ["gzip", "bz2", "xz"])
def test_corrupt_archive_is_one_clear_error(tmp_path: Path, packing: str) -> None:
    packers: dict[str, Callable[[bytes], bytes]] = {
        "gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}
    pack = packers[packing]
    path = tmp_path / "datanode.log.gz"
    packed = pack(b"2015-11-25 00:00:00,000 INFO healthy line\n" * 20000)
    path.write_bytes(packed[: len(packed) // 2])
    result = run_hpatch("diagnose", str(path))
    assert result.code == EXIT_NO_INPUT, result.err
    assert len(result.error_lines) == 1, result.err
    assert f"not a valid {'bzip2' if packing == 'bz2' else packing} file" in result.error_lines[0]
    assert "Traceback" not in result.err


def test_a_plain_log_named_gz_is_read_as_text(tmp_path: Path) -> None:
    """The name does not decide: a text file called .gz is read as the text it is."""
    path = tmp_path / "datanode.log.gz"
    path.write_bytes((LOGS / "hadoop-11802-datanode.log").read_bytes())
    result = run_hpatch("diagnose", str(path))
    assert result.code == 1, result.err
    assert "HADOOP-11802" in result.out


# -- counter-evidence, the transfer half, prose ------------------------------------------

CORPUS = Path(__file__).parent / "fixtures" / "diagnose-corpus"
ONE_NODE_FRBD = (
    "java.io.IOException: Failed to replace a bad datanode on the existing pipeline due to no "
    "more good datanodes being available to try. (Nodes: current=[DatanodeInfoWithStorage["
    "10.0.0.1:9866,DS-1,DISK]], original=[DatanodeInfoWithStorage[10.0.0.1:9866,DS-1,DISK]]). "
    "The current failed datanode replacement policy is DEFAULT, and a client may configure this "
    "via 'dfs.client.block.write.replace-datanode-on-failure.policy' in its configuration.\n")
THREE_NODE_FRBD = ONE_NODE_FRBD.replace(
    "original=[DatanodeInfoWithStorage[10.0.0.1:9866,DS-1,DISK]]",
    "original=[DatanodeInfoWithStorage[10.0.0.1:9866,DS-1,DISK], DatanodeInfoWithStorage["
    "10.0.0.2:9866,DS-2,DISK], DatanodeInfoWithStorage[10.0.0.3:9866,DS-3,DISK]]")
XCEIVERS = ("2015-11-25 00:01:55,999 WARN org.apache.hadoop.hdfs.server.datanode.DataNode: "
            "dn1:50010:DataXceiverServer:\njava.io.IOException: Xceiver count 4097 exceeds the "
            "limit of concurrent xcievers: 4096\n")


def _examine(tmp_path: Path, **files: str) -> diagnose.Report:
    paths = []
    for name, text in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_text(text)
    return diagnose.examine(paths, catalog.load(catalog.default_root()))


def test_a_one_node_pipeline_is_a_benign_cause_not_possible(tmp_path: Path) -> None:
    report = _examine(tmp_path, client=ONE_NODE_FRBD)
    assert report.named == [] and report.possible == []
    [finding] = report.benign
    assert finding.fix.id == "LOCAL-PIPELINE-SRC"
    assert [e["id"] for e in finding.counter_entries()] == ["small-pipeline"]
    log = tmp_path / "client.log"
    log.write_text(ONE_NODE_FRBD)
    result = run_hpatch("diagnose", str(log))
    assert result.code == 0, result.err
    assert "possible:" not in result.out and "no known signature" not in result.out
    [line] = [x for x in result.out.splitlines() if x.startswith("benign cause seen: ")]
    assert "dfs.client.block.write.replace-datanode-on-failure.policy" in line
    assert f"{log}:1" in line
    assert line.endswith(
        "it explains no-more-good-datanodes (weak evidence for LOCAL-PIPELINE-SRC)")
    data = json.loads(run_hpatch("diagnose", str(log), "--json").out)
    assert data["possible"] == []
    [benign] = data["benign"]
    assert (benign["fix"], benign["id"], benign["explains"]) == (
        "LOCAL-PIPELINE-SRC", "small-pipeline", ["no-more-good-datanodes"])


def test_a_three_node_pipeline_stays_possible(tmp_path: Path) -> None:
    report = _examine(tmp_path, client=THREE_NODE_FRBD)
    assert [f.fix.id for f in report.possible] == ["LOCAL-PIPELINE-SRC"]
    assert report.benign == []


def test_a_benign_cause_leaves_other_weak_evidence_possible(tmp_path: Path) -> None:
    """A small pipeline explains running out of DataNodes, not a new DataNode refusing
    the recovery pipeline again and again."""
    rejected = ("INFO org.apache.hadoop.hdfs.DFSClient: Exception in createBlockOutputStream\n"
                "java.io.IOException: Bad connect ack with firstBadLink as 10.0.0.4:50010\n")
    report = _examine(tmp_path, client=ONE_NODE_FRBD + rejected)
    [finding] = report.possible
    assert finding.open_weak == {"new-datanode-rejected"}
    assert finding.cancelled == {"no-more-good-datanodes"}
    assert report.benign == [finding]  # the benign cause is still shown for the part it explains


def test_xceiver_overload_alone_is_benign_but_a_failed_shm_request_is_not(
        tmp_path: Path) -> None:
    report = _examine(tmp_path, dn=XCEIVERS)
    assert report.possible == [] and report.named == []
    assert {f.fix.id for f in report.benign} == {"HADOOP-11802"}
    shm = ("2015-11-25 00:00:00,000 INFO DataNode.clienttrace: cliID: DFSClient_1, "
           "src: 127.0.0.1, dest: 127.0.0.1, op: REQUEST_SHORT_CIRCUIT_SHM, shmId: n/a, "
           "srvID: ds-1, success: false\n")
    report = _examine(tmp_path, dn=XCEIVERS + shm)
    assert [f.fix.id for f in report.possible] == ["HADOOP-11802"]
    assert report.possible[0].open_weak == {"shm-request-failed"}


def test_a_strong_signature_is_not_cancelled_by_a_benign_cause(tmp_path: Path) -> None:
    incident = (LOGS / "hadoop-11802-datanode.log").read_text()
    report = _examine(tmp_path, dn=XCEIVERS + incident)
    assert [f.fix.id for f in report.named] == ["HADOOP-11802"]


@pytest.mark.parametrize("name", ["pipeline-transfer-client-2x.log",
                                  "pipeline-transfer-client-3x.log"])
def test_a_failed_transfer_in_recovery_is_possible_and_names_hdfs_9106(name: str) -> None:
    result = run_hpatch("diagnose", str(LOGS / name))
    assert result.code == 0, result.err
    [line] = [x for x in result.out.splitlines() if x.startswith("possible: ")]
    assert line.startswith("possible: LOCAL-PIPELINE-SRC (weak evidence: "
                           "client-transfer-failed-in-recovery at ")
    assert line.endswith("; see HDFS-9106)")
    data = json.loads(run_hpatch("diagnose", str(LOGS / name), "--json").out)
    assert [(p["fix"], p["see"]) for p in data["possible"]] == [
        ("LOCAL-PIPELINE-SRC", ["HDFS-9106"])]


def test_the_transfer_half_with_the_short_source_is_named(tmp_path: Path) -> None:
    result = run_hpatch("diagnose", str(LOGS / "pipeline-transfer-client-3x.log"),
                        str(LOGS / "pipeline-datanode.log"), "--json")
    assert result.code == 1, result.err
    [finding] = json.loads(result.out)["findings"]
    assert finding["fix"] == "LOCAL-PIPELINE-SRC"
    signatures = {e["signature"] for e in finding["evidence"]}
    assert "client-transfer-failed-in-recovery" in signatures
    assert "transfer-source-lacks-acked-bytes" in signatures


@pytest.mark.parametrize("name,fix_id,phrases", [
    ("pos-yarn-4398-jira-prose.txt", "YARN-4398", ['"RMStateStore"', '"synchronized"']),
    ("pos-hdfs-5341-jira-prose.txt", "HDFS-5341", ['"DirectoryScanner"', '"getlength"',
                                                   '"holding the dataset"']),
    ("pos-hdfs-16601-transfer-source-prose.txt", "LOCAL-PIPELINE-SRC",
     ['"source dn"', '"transfer block"', '"new DN"']),
])
def test_a_pasted_description_is_possible_with_its_phrases(name: str, fix_id: str,
                                                           phrases: list[str]) -> None:
    result = run_hpatch("diagnose", str(CORPUS / name), "--json")
    assert result.code == 0, result.err
    [possible] = json.loads(result.out)["possible"]
    assert possible["fix"] == fix_id
    texts = [e["text"] for e in possible["evidence"]]
    assert all(text.startswith("matched phrases: ") for text in texts)
    assert all(p in texts[0] for p in phrases), texts


def _corpus_outcomes() -> list[tuple[str, str, set[str], set[str]]]:
    cat = catalog.load(catalog.default_root())
    outcomes = []
    for path in sorted(CORPUS.iterdir()):
        if path.name == "README.md":
            continue
        expect = next(line.split(":", 1)[1].strip()
                      for line in path.read_text().splitlines()[:5]
                      if line.startswith("# expect:"))
        report = diagnose.examine([path], cat)
        outcomes.append((path.name, expect, {f.fix.id for f in report.named},
                         {f.fix.id for f in report.possible}))
    return outcomes


def test_the_public_corpus_meets_its_goals() -> None:
    """Every positive named (strong or possible, and only its fix), no strong naming on a
    negative, `possible` on at most a tenth of the negatives."""
    outcomes = _corpus_outcomes()
    positives = [o for o in outcomes if o[1] != "none"]
    negatives = [o for o in outcomes if o[1] == "none"]
    assert len(positives) >= 4 and len(negatives) >= 30
    assert [o[0] for o in positives if o[2] | o[3] != {o[1]}] == []
    assert [o[0] for o in negatives if o[2]] == []
    possible = [o[0] for o in negatives if o[3]]
    assert len(possible) * 10 <= len(negatives), possible


def test_lint_refuses_counter_evidence_that_cancels_no_weak_signature(
        catalog_copy: Path) -> None:
    toml = catalog_copy / "HADOOP-11802" / "fix.toml"
    toml.write_text(toml.read_text().replace('cancels = ["xceiver-limit"]',
                                             'cancels = ["removeshm-failed-to-remove"]'))
    result = run_hpatch("lint", env={"HPATCH_CATALOG": str(catalog_copy)})
    assert result.code == 1
    assert "counter_evidence xceiver-overload: `cancels` must name this fix's weak" in (
        result.out + result.err)


def test_lint_refuses_an_unbounded_counter_evidence_pattern(catalog_copy: Path) -> None:
    toml = catalog_copy / "HADOOP-11802" / "fix.toml"
    text = toml.read_text()
    head, tail = text.split("[[counter_evidence]]")
    toml.write_text(head + "[[counter_evidence]]" + tail.replace(
        r"pattern = 'Xceiver count \d{1,20}", r"pattern = 'Xceiver count \d+", 1))
    result = run_hpatch("lint", env={"HPATCH_CATALOG": str(catalog_copy)})
    assert result.code == 1
    assert "counter_evidence xceiver-overload: a repeat without an upper bound" in result.out
