"""The code probes on real release sources, through the real CLI.

For each bug fix: its upstream form and another form of the same fix read as
fixed-upstream; the fix's text only in a comment or a string does not; and a
buggy file whose comments are gone still reads as buggy. A case edits one file
of a release checkout, commits the edit as a fork would, reads the fix's state
with `hpatch status --json`, and resets the checkout to the release.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import HDFS_9812_FILE, YARN_4398_FILE, git, run_hpatch

from hpatch import javasrc

DATA_XCEIVER = ("hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/server/"
                "datanode/DataXceiver.java")
DIRECTORY_SCANNER = ("hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/"
                     "server/datanode/DirectoryScanner.java")
BALANCER = ("hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/server/"
            "balancer/Balancer.java")
FAIR_SCHEDULER = ("hadoop-yarn-project/hadoop-yarn/hadoop-yarn-server/"
                  "hadoop-yarn-server-resourcemanager/src/main/java/org/apache/hadoop/yarn/"
                  "server/resourcemanager/scheduler/fair/FairScheduler.java")

Edit = Callable[[str], str]


def replace(old: str, new: str) -> Edit:
    """Replace the one occurrence of old; an anchor that moved fails the case."""
    def edit(text: str) -> str:
        assert text.count(old) == 1, f"expected one {old!r}, found {text.count(old)}"
        return text.replace(old, new)
    return edit


def without_comments(text: str) -> str:
    """Delete comment lines, block comments and trailing comments, as a fork
    that cleaned up its sources would; written without javasrc on purpose."""
    text = re.sub(r"(?m)^[ \t]*//[^\n]*\n", "", text)
    text = re.sub(r"(?ms)^[ \t]*/\*.*?\*/[ \t]*\n", "", text)
    return re.sub(r"(?m)^([^\"'\n]*?)[ \t]*//[^\n]*$", r"\1", text)


@dataclass(frozen=True)
class Case:
    fix: str
    release: str
    path: str
    edits: tuple[Edit, ...]
    state: str


class Checkouts:
    """One checkout per release for the module's cases: each case commits its edit
    on top, and is reset to the release's commit after (a fresh checkout per case
    only wrote the same 2,000-odd files again)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repos: dict[str, tuple[Path, str]] = {}

    def get(self, release: str) -> tuple[Path, str]:
        if release not in self.repos:
            dest = self.root / f"hadoop-{release}"
            result = run_hpatch("source", release, str(dest))
            assert result.code == 0, result.err
            self.repos[release] = (dest, git(dest, "rev-parse", "HEAD"))
        return self.repos[release]


@pytest.fixture(scope="module")
def checkouts(tmp_path_factory: pytest.TempPathFactory) -> Checkouts:
    return Checkouts(tmp_path_factory.mktemp("probe-checkouts"))


def _state(repo: Path, fix: str) -> dict[str, object]:
    result = run_hpatch("status", "--repo", str(repo), "--json")
    assert result.code == 0, result.err
    entry: dict[str, object] = next(
        f for f in json.loads(result.out)["fixes"] if f["fix"] == fix)
    return entry


def _run(case: Case, checkouts: Checkouts) -> dict[str, object]:
    repo, base = checkouts.get(case.release)
    try:
        stock = _state(repo, case.fix)
        assert stock["state"] == "applicable", stock  # the bug is there before the edit
        file = repo / case.path
        text = file.read_text(encoding="utf-8")
        for edit in case.edits:
            text = edit(text)
        file.write_text(text, encoding="utf-8")
        git(repo, "commit", "-qam", f"fork change to {file.name}")
        return _state(repo, case.fix)
    finally:
        git(repo, "reset", "-q", "--hard", base)


# --- HADOOP-11802: requestShortCircuitShm must not close the watcher's socket

SHM_CLOSE = ("        // DomainSocketWatcher callback, cleaning up the segment.\n"
             "        IOUtils.cleanup(null, sock);\n")
SHM_CONDITION = "      if ((!success) && (peer == null)) {\n"
HADOOP_11802 = {
    "upstream": Case("HADOOP-11802", "2.4.1", DATA_XCEIVER, (replace(SHM_CLOSE, (
        "        // DomainSocketWatcher callback, cleaning up the segment.\n"
        "        try {\n"
        "          LOG.warn(\"Failed to send success response back to the client.  \" +\n"
        "              \"Shutting down socket for \" + shmInfo.shmId + \".\");\n"
        "          sock.shutdown();\n"
        "        } catch (IOException e) {\n"
        "          LOG.warn(\"Failed to shut down socket in error handler\", e);\n"
        "        }\n")),), "fixed-upstream"),
    # Another spelling of the condition, no try: the old probe called it not-affected.
    "alternative": Case("HADOOP-11802", "2.4.1", DATA_XCEIVER, (
        replace(SHM_CONDITION, "      if (!success && peer == null) {\n"),
        replace(SHM_CLOSE, "        sock.shutdown();\n")), "fixed-upstream"),
    "comment": Case("HADOOP-11802", "2.4.1", DATA_XCEIVER, (replace(SHM_CLOSE, (
        "        // HADOOP-11802 calls sock.shutdown(); here instead\n" + SHM_CLOSE)),),
        "conflict"),
    "string": Case("HADOOP-11802", "2.4.1", DATA_XCEIVER, (replace(SHM_CLOSE, (
        "        LOG.warn(\"closing, not calling sock.shutdown(); for \" + sock);\n"
        + SHM_CLOSE)),), "conflict"),
    "no-comments": Case("HADOOP-11802", "2.4.1", DATA_XCEIVER, (without_comments,), "conflict"),
}

# --- HDFS-9812: close() must stop the streamer when flushing fails

CLOSE_FINALLY = ("    } catch (ClosedChannelException e) {\n"
                 "    } finally {\n"
                 "      closed = true;\n"
                 "    }\n")
HDFS_9812 = {
    "upstream": Case("HDFS-9812", "2.4.1", HDFS_9812_FILE, (replace(CLOSE_FINALLY, (
        "    } catch (ClosedChannelException e) {\n"
        "    } finally {\n"
        "      // Failures may happen when flushing data.\n"
        "      // Streamers may keep waiting for the new block information.\n"
        "      // Thus need to force closing these threads.\n"
        "      closeThreads(true);\n"
        "    }\n")),), "fixed-upstream"),
    # Catch-and-close keeps closeThreads(false) on the normal path: the old
    # probe saw the bug, no variant applied, and it said conflict.
    "alternative": Case("HDFS-9812", "2.4.1", HDFS_9812_FILE, (replace(CLOSE_FINALLY, (
        "    } catch (ClosedChannelException e) {\n"
        "    } catch (IOException e) {\n"
        "      closeThreads(true);\n"
        "      throw e;\n"
        "    } finally {\n"
        "      closed = true;\n"
        "    }\n")),), "fixed-upstream"),
    # In closeThreads' own finally, away from the variant: it still applies.
    "comment": Case("HDFS-9812", "2.4.1", HDFS_9812_FILE, (replace(
        "    } finally {\n      streamer = null;\n",
        "    } finally {\n      // abort() and hflush() call closeThreads(true)\n"
        "      streamer = null;\n"),), "applicable"),
    "comment-in-close": Case("HDFS-9812", "2.4.1", HDFS_9812_FILE, (replace(CLOSE_FINALLY, (
        "    } catch (ClosedChannelException e) {\n"
        "    } finally {\n"
        "      /* HDFS-9812 would call closeThreads(true) here */\n"
        "      closed = true;\n"
        "    }\n")),), "conflict"),
    "no-comments": Case("HDFS-9812", "2.4.1", HDFS_9812_FILE, (without_comments,),
                        "applicable"),
}

# --- HDFS-5341: the locked comparison must not stat the block file (bug in 2.2)

SCAN_COMPARE = "info.getBlockFile().length() != memBlock.getNumBytes()"
SCAN_REASON = "            // or block file length is different than expected\n"
HDFS_5341 = {
    "upstream": Case("HDFS-5341", "2.2.0", DIRECTORY_SCANNER, (replace(
        SCAN_COMPARE, "info.getBlockFileLength() != memBlock.getNumBytes()"),),
        "fixed-upstream"),
    # The other way round, another getter: the old probe said not-affected.
    "alternative": Case("HDFS-5341", "2.2.0", DIRECTORY_SCANNER, (replace(
        SCAN_COMPARE, "memBlock.getNumBytes() != info.getScannedLength()"),),
        "fixed-upstream"),
    "comment": Case("HDFS-5341", "2.2.0", DIRECTORY_SCANNER, (replace(SCAN_REASON, (
        SCAN_REASON + "            // (upstream: info.getBlockFileLength() != "
        "memBlock.getNumBytes())\n")),), "conflict"),
    "no-comments": Case("HDFS-5341", "2.2.0", DIRECTORY_SCANNER, (without_comments,),
                        "conflict"),
}

# --- HDFS-6364: the Balancer must null-check the node it looked up (bug in 2.3, 2.4)

LOOKUP = "              final BalancerDatanode d = datanodeMap.get(datanodeUuid);\n"
NULL_CHECK = ("              if (datanode != null) { // not an unknown datanode\n"
              "                block.addLocation(d);\n"
              "              }\n")
HDFS_6364 = {
    "upstream": Case("HDFS-6364", "2.4.1", BALANCER, (replace(
        "if (datanode != null) { // not an unknown datanode",
        "if (d != null) { // not an unknown datanode"),), "fixed-upstream"),
    # Skip the unknown node instead: the old probe said not-affected.
    "alternative": Case("HDFS-6364", "2.3.0", BALANCER, (replace(NULL_CHECK, (
        "              if (d == null) continue; // not an unknown datanode\n"
        "              block.addLocation(d);\n")),), "fixed-upstream"),
    # The fixed lines, commented out above the buggy ones.
    "comment": Case("HDFS-6364", "2.4.1", BALANCER, (replace(LOOKUP, (
        "              // final BalancerDatanode d = datanodeMap.get(datanodeUuid);"
        " if (d != null) {\n" + LOOKUP)),), "conflict"),
    "string": Case("HDFS-6364", "2.3.0", BALANCER, (replace(LOOKUP, (
        "              LOG.trace(\"final BalancerDatanode d = datanodeMap.get(id);"
        " if (d != null)\");\n" + LOOKUP)),), "conflict"),
    "no-comments": Case("HDFS-6364", "2.4.1", BALANCER, (without_comments,), "conflict"),
}

# --- LOCAL-PIPELINE-SRC: the replica must come from a DataNode that has what it acked

NEIGHBOUR = "      final DatanodeInfo src = d == 0? nodes[1]: nodes[d - 1];\n"
OURS = ("      noteBadDatanode(nodes[errorIndex]);\n"
        "      final DatanodeInfo src = transferSources(original, nodes[d]).get(0);\n")
LOCAL_PIPELINE_SRC = {
    # HDFS-9106 still copies from the first DataNode after a silent failure:
    # a bug form, which the 2.2 variant does not fit.
    "upstream": Case("LOCAL-PIPELINE-SRC", "2.4.1", HDFS_9812_FILE, (replace(
        NEIGHBOUR, "      final DatanodeInfo src = original[tried % original.length];\n"),),
        "conflict"),
    "alternative": Case("LOCAL-PIPELINE-SRC", "2.4.1", HDFS_9812_FILE, (replace(
        NEIGHBOUR, "      DatanodeInfo src = original[(attempt++) % original.length];\n"),),
        "conflict"),
    # The cure carried by hand, without hpatch's commit.
    "ours": Case("LOCAL-PIPELINE-SRC", "2.4.1", HDFS_9812_FILE, (replace(NEIGHBOUR, OURS),),
                 "fixed-upstream"),
    # The cure's call only in a comment, away from the variant's hunks.
    "comment": Case("LOCAL-PIPELINE-SRC", "2.4.1", HDFS_9812_FILE, (replace(
        "package org.apache.hadoop.hdfs;\n",
        "package org.apache.hadoop.hdfs;\n// see noteBadDatanode(nodes[errorIndex]);\n"),),
        "applicable"),
    "no-comments": Case("LOCAL-PIPELINE-SRC", "2.4.1", HDFS_9812_FILE, (without_comments,),
                        "conflict"),
}

# --- YARN-4398: storeNewApplication must not take the store's lock

STORE = "  public synchronized void storeNewApplication(RMApp app) {\n"
YARN_4398 = {
    "upstream": Case("YARN-4398", "2.4.1", YARN_4398_FILE, (replace(
        STORE, "  public void storeNewApplication(RMApp app) {\n"),), "fixed-upstream"),
    # Other modifiers, the parameter on its own line: the old probe said not-affected.
    "alternative": Case("YARN-4398", "2.4.1", YARN_4398_FILE, (replace(
        STORE, "  public final void storeNewApplication(\n      final RMApp app) {\n"),),
        "fixed-upstream"),
    "comment": Case("YARN-4398", "2.4.1", YARN_4398_FILE, (replace(
        "  @SuppressWarnings(\"unchecked\")\n" + STORE,
        "  // upstream (YARN-4398): public void storeNewApplication(RMApp app) {\n"
        "  @SuppressWarnings(\"unchecked\")\n" + STORE),), "conflict"),
    "string": Case("YARN-4398", "2.4.1", YARN_4398_FILE, (replace(
        "  @SuppressWarnings(\"unchecked\")\n" + STORE,
        "  static final String NOTE =\n"
        "      \"; public void storeNewApplication(RMApp app) is YARN-4398\";\n\n"
        "  @SuppressWarnings(\"unchecked\")\n" + STORE),), "conflict"),
    "no-comments": Case("YARN-4398", "2.4.1", YARN_4398_FILE, (without_comments,),
                        "conflict"),
}

# --- YARN-4493: executeMove must refuse the move before it touches the old queue

MOVE = ("    boolean wasRunnable = oldQueue.removeApp(attempt);\n"
        "    // if app was not runnable before, it may be runnable now\n"
        "    boolean nowRunnable = maxRunningEnforcer.canAppBeRunnable(newQueue,\n"
        "        attempt.getUser());\n"
        "    if (wasRunnable && !nowRunnable) {\n"
        "      throw new IllegalStateException(\"Should have already verified that app \"\n"
        "          + attempt.getApplicationId() + \" would be runnable in new queue\");\n"
        "    }\n")


def _yarn_5136(was_runnable: str) -> Edit:
    """YARN-5136's executeMove: check first, remove from the old queue after."""
    return replace(MOVE, (
        f"    boolean wasRunnable = {was_runnable};\n"
        "    // if app was not runnable before, it may be runnable now\n"
        "    boolean nowRunnable = maxRunningEnforcer.canAppBeRunnable(newQueue,\n"
        "        attempt.getUser());\n"
        "    if (wasRunnable && !nowRunnable) {\n"
        "      throw new IllegalStateException(\"Should have already verified that app \"\n"
        "          + attempt.getApplicationId() + \" would be runnable in new queue\");\n"
        "    }\n\n"
        "    // Now it is safe to remove from the queue.\n"
        "    oldQueue.removeApp(attempt);\n"))


YARN_4493 = {
    "upstream": Case("YARN-4493", "2.4.1", FAIR_SCHEDULER, (
        _yarn_5136("oldQueue.isRunnableApp(attempt)"),), "fixed-upstream"),
    # 2.4-2.6 have no isRunnableApp: a backport looks in the runnable apps itself.
    "alternative": Case("YARN-4493", "2.4.1", FAIR_SCHEDULER, (_yarn_5136(
        "oldQueue.getRunnableAppSchedulables()\n"
        "        .contains(attempt.getAppSchedulable())"),), "fixed-upstream"),
    # Our variant changes verifyMoveDoesNotViolateConstraints, not executeMove.
    "comment": Case("YARN-4493", "2.4.1", FAIR_SCHEDULER, (replace(MOVE, (
        "    // YARN-5136: boolean wasRunnable = oldQueue.isRunnableApp(attempt);\n"
        + MOVE)),), "applicable"),
    # The old bug probe spelled this comment out: a fork without it, whose
    # other edits keep the variant from applying, read as not-affected.
    "one-comment-gone": Case("YARN-4493", "2.4.1", FAIR_SCHEDULER, (
        replace("    // if app was not runnable before, it may be runnable now\n"
                "    boolean nowRunnable", "    boolean nowRunnable"),
        replace("      \n      cur = cur.getParent();\n", "      cur = cur.getParent();\n")),
        "conflict"),
    "no-comments": Case("YARN-4493", "2.4.1", FAIR_SCHEDULER, (without_comments,),
                        "conflict"),
}

CASES = {f"{case.fix}-{name}": case
         for table in (HADOOP_11802, HDFS_9812, HDFS_5341, HDFS_6364, LOCAL_PIPELINE_SRC,
                       YARN_4398, YARN_4493)
         for name, case in table.items()}


@pytest.mark.network
@pytest.mark.parametrize("name", sorted(CASES))
def test_probe(name: str, checkouts: Checkouts, cached_release: str) -> None:
    case = CASES[name]
    entry = _run(case, checkouts)
    assert entry["state"] == case.state, entry
    if case.state == "conflict":
        # conflict is only said where the bug probe found the bug
        assert "bug present" in str(entry["detail"]), entry


def test_every_bug_fix_has_all_kinds_of_case() -> None:
    from hpatch import catalog
    bug_fixes = {f.id for f in catalog.load(catalog.default_root()) if f.kind == "bug"}
    covered = {case.fix for case in CASES.values()}
    assert covered == bug_fixes
    for fix in bug_fixes:
        names = {n.removeprefix(fix + "-") for n, c in CASES.items() if c.fix == fix}
        assert {"upstream", "alternative", "no-comments"} <= names, fix
        assert names & {"comment", "string"}, fix


# --- javasrc itself (pure)

def test_strip_blanks_comments_and_literals_keeping_lines() -> None:
    lines = [
        ("int a = 1; ", "// closeThreads(true)", ""),
        ("", "/* sock.shutdown();", ""),
        ("", "   still comment */", " int b = 2;"),
        ('String s = "', "// not a comment /* nor this", '";'),
        ("char q = '", '"', "';"),
        ("char e = '", "\\'", "';"),
        ('String t = "', 'say \\"hi\\" \\\\', '";'),
        ("int c = 3;", "", ""),
    ]
    source = "\n".join(code + blanked + rest for code, blanked, rest in lines)
    assert javasrc.strip(source).split("\n") == [
        code + " " * len(blanked) + rest for code, blanked, rest in lines]


def test_strip_stops_unclosed_literals_at_the_line_end() -> None:
    source = 'String s = "open\nint x = 1; // gone\n/* open to the end\nint y;'
    code = javasrc.strip(source)
    assert code.splitlines()[1] == "int x = 1;        "
    assert code.splitlines()[3].strip() == ""
    assert code.count("\n") == source.count("\n")


def test_only_java_and_c_files_are_stripped() -> None:
    assert javasrc.is_source("a/B.java") and javasrc.is_source("x/exception.c")
    assert javasrc.is_source("pipes/impl/HadoopPipes.cc")
    assert not javasrc.is_source("hadoop-tools/hadoop-pipes/src/CMakeLists.txt")
