"""`hpatch gap` on release 2.6.0's real sources: an upstream with six upstream-style
fixes after release 2.6.0, and a fork of 2.6.0 that took them in five ways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import git, run_hpatch

pytestmark = [pytest.mark.network, pytest.mark.slow]

RELEASE = "2.6.0"
STRING_UTILS = ("hadoop-common-project/hadoop-common/src/main/java/org/apache/hadoop/util/"
                "StringUtils.java")
TOPOLOGY = ("hadoop-common-project/hadoop-common/src/main/java/org/apache/hadoop/net/"
            "NetworkTopology.java")
OUTPUT_STREAM = ("hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/"
                 "DFSOutputStream.java")
SCANNER = ("hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/server/"
           "datanode/DirectoryScanner.java")
FAIR = ("hadoop-yarn-project/hadoop-yarn/hadoop-yarn-server/"
        "hadoop-yarn-server-resourcemanager/src/main/java/org/apache/hadoop/yarn/server/"
        "resourcemanager/scheduler/fair/FairScheduler.java")

Edit = tuple[str, str, str]   # path, old text, new text

NULL_ARRAY: list[Edit] = [(STRING_UTILS, '    if (strs.length == 0) { return ""; }\n',
                           '    if (strs == null || strs.length == 0) {\n'
                           '      return "";\n    }\n')]
FLUSH_OLD = "      flushInternal();             // flush all data to Datanodes\n"
CLOSE_LEAK: list[Edit] = [(OUTPUT_STREAM, FLUSH_OLD,
                           "      try {\n  " + FLUSH_OLD +
                           "      } catch (IOException flushFailure) {\n"
                           "        closeThreads(true);\n"
                           "        throw flushFailure;\n      }\n")]
# The fork's own hand-port of CLOSE_LEAK: other names, another comment.
CLOSE_LEAK_BY_HAND: list[Edit] = [(OUTPUT_STREAM, FLUSH_OLD,
                                   "      try {\n        flushInternal(); // all data out\n"
                                   "      } catch (IOException ioe) {\n"
                                   "        closeThreads(true);\n"
                                   "        throw ioe;\n      }\n")]
MOVE_CHECK: list[Edit] = [(FAIR, "    boolean wasRunnable = oldQueue.removeApp(attempt);\n", ""),
                          (FAIR, "    if (wasRunnable && !nowRunnable) {\n",
                           "    boolean wasRunnable = oldQueue.isRunnableApp(attempt);\n"
                           "    if (wasRunnable && !nowRunnable) {\n"),
                          (FAIR, "    }\n    \n    if (wasRunnable) {\n      maxRunningEnforcer."
                                 "untrackRunnableApp(attempt);\n",
                           "    }\n    oldQueue.removeApp(attempt);\n    if (wasRunnable) {\n"
                           "      maxRunningEnforcer.untrackRunnableApp(attempt);\n")]
SCANNER_STOP: list[Edit] = [(SCANNER, "    shouldRun = false;\n    if (masterThread != null) "
                                      "masterThread.shutdown();\n",
                             "    shouldRun = false;\n    if (scanInProgress != null) {\n"
                             "      scanInProgress.cancel(true);\n    }\n"
                             "    if (masterThread != null) masterThread.shutdown();\n")]
LOCATION_CHECK: list[Edit] = [
    (TOPOLOGY, "    if (node==null) return;\n    String oldTopoStr",
     "    if (node==null) return;\n    if (node.getNetworkLocation() == null) {\n"
     "      LOG.warn(\"Refusing a node without a location: \" + node.getName());\n"
     "      throw new IllegalArgumentException(\"No network location for \" + node);\n"
     "    }\n    String oldTopoStr"),
    (STRING_UTILS, "  public static String formatPercent(double fraction, int decimalPlaces) {\n",
     "  public static String formatPercent(double fraction, int decimalPlaces) {\n"
     "    Preconditions.checkArgument(decimalPlaces >= 0, \"decimalPlaces < 0\");\n")]
PERCENT_ROUNDING: list[Edit] = [
    (STRING_UTILS, '    return format("%." + decimalPlaces + "f%%", fraction*100);\n',
     '    double percent = Math.round(fraction * 100 * Math.pow(10, decimalPlaces))\n'
     '        / Math.pow(10, decimalPlaces);\n'
     '    return format("%." + decimalPlaces + "f%%", percent);\n')]

FIXES = {
    "HADOOP-90101": ("StringUtils.arrayToString fails on a null array. Contributed by A.",
                     NULL_ARRAY),
    "HDFS-90102": ("DFSOutputStream#close leaks the streamer when flushing fails "
                   "(B via C)", CLOSE_LEAK),
    "YARN-90103": ("FairScheduler#executeMove loses the app when the new queue refuses it. "
                   "Contributed by D.", MOVE_CHECK),
    "HDFS-90104": ("DirectoryScanner#shutdown leaves a scan running. Contributed by E.",
                   SCANNER_STOP),
    "HADOOP-90106": ("StringUtils#formatPercent rounds the wrong way. Contributed by G.",
                     PERCENT_ROUNDING),
    "HADOOP-90105": ("NetworkTopology#add accepts a node without a location. "
                     "Contributed by F.", LOCATION_CHECK),
}


def _apply(repo: Path, edits: list[Edit]) -> None:
    for path, old, new in edits:
        file = repo / path
        text = file.read_text(encoding="utf-8")
        assert text.count(old) == 1, (path, old)
        file.write_text(text.replace(old, new), encoding="utf-8")


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def trees(cached_260: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("gap")
    upstream, fork = root / "upstream", root / "fork"
    for repo in (upstream, fork):
        result = run_hpatch("source", RELEASE, str(repo))
        assert result.code == 0, result.err
    git(upstream, "checkout", "-q", "-b", "branch-2.6")
    for fix_id, (subject, edits) in FIXES.items():
        _apply(upstream, edits)
        _commit(upstream, f"{fix_id}. {subject}")
    git(upstream, "tag", "rel/release-2.6.1")
    # The fork: a vendor snapshot of 2.6.0 with a version of its own and no Apache tags.
    git(fork, "tag", "-d", f"rel/release-{RELEASE}")
    _apply(fork, [("pom.xml", f"<version>{RELEASE}</version>",
                   f"<version>{RELEASE}-acme1</version>")])
    _commit(fork, "ACME-1. Version 2.6.0-acme1")
    _apply(fork, NULL_ARRAY)                                  # cherry-picked
    _commit(fork, "HADOOP-90101. StringUtils.arrayToString fails on a null array.")
    _apply(fork, CLOSE_LEAK_BY_HAND)                          # by hand, other names
    _commit(fork, "ACME-7. Close the streamer when a flush fails")
    _apply(fork, MOVE_CHECK + SCANNER_STOP)                   # squashed together
    _commit(fork, "ACME-8. Scheduler and DataNode fixes from upstream")
    _apply(fork, LOCATION_CHECK[:1])                          # partly taken
    _commit(fork, "ACME-9. Refuse nodes without a location")
    _apply(fork, PERCENT_ROUNDING)
    taken = _commit(fork, "HADOOP-90106. Round percents")
    git(fork, "revert", "--no-edit", taken)                   # taken, later reverted
    return upstream, fork


@pytest.fixture(scope="module")
def cached_260(session_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    scratch = tmp_path_factory.mktemp("warm260") / "hadoop"
    result = run_hpatch("source", RELEASE, str(scratch),
                        env={"HPATCH_CACHE": str(session_sources.parent)})
    assert result.code == 0, result.err
    return RELEASE


def test_five_ways_of_taking_a_fix_are_each_read_right(trees: tuple[Path, Path]) -> None:
    upstream, fork = trees
    result = run_hpatch("gap", "--repo", str(fork), "--upstream", str(upstream / ".git"),
                        "--json")
    assert result.code == 0, result.err
    records: dict[str, dict[str, Any]] = {r["id"]: r for r in json.loads(result.out)}
    states = {fix_id: r["state"] for fix_id, r in records.items()}
    assert states == {
        "HADOOP-90101": "present",     # cherry-picked
        "HDFS-90102": "present",       # hand-edited with other names
        "YARN-90103": "present",       # squashed together with HDFS-90104
        "HDFS-90104": "present",
        "HADOOP-90105": "partial",     # one of its two files taken
        "HADOOP-90106": "absent",      # taken and later reverted
    }, json.dumps(records, indent=1)[:4000]
    assert any(h["how"] == "resemblance" for h in records["HDFS-90102"]["evidence"])
    partial = {h["file"]: h["verdict"] for h in records["HADOOP-90105"]["evidence"]}
    assert partial == {TOPOLOGY: "found", STRING_UTILS: "missing"}
    assert records["HADOOP-90105"]["carry"]["method"] in ("3way", "conflict")
    assert records["HADOOP-90106"]["carry"]["method"] == "clean"
    assert records["HADOOP-90106"]["backported_to"] == ["2.6"]
