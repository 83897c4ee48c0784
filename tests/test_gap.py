"""`hpatch gap` on tiny real repositories: an upstream with release tags and JIRA-named
commits, and a fork made as a snapshot (no shared history), as vendor trees are."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import git, run_hpatch

from hpatch import gap, records

COMMON = "hadoop-common-project/hadoop-common/src/main/java/org/apache/hadoop/"
HDFS = "hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/"
POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <artifactId>hadoop-main</artifactId>
  <version>{version}</version>
</project>
"""
CACHE = """package org.apache.hadoop;

public class Cache {
  private final Map<String, Long> entries = new HashMap<String, Long>();

  public synchronized long lookup(String key) {
    Long found = entries.get(key);
    return found.longValue();
  }

  public synchronized void store(String key, long value) {
    entries.put(key, value);
  }
}
"""
STREAM = """package org.apache.hadoop.hdfs;

public class Stream {
  public void close() throws IOException {
    flushBuffer();
    closeThreads();
  }

  // Flushes what the buffer holds
  void flushBuffer() throws IOException {
    writer.write(buffer, 0, count);
  }
}
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _commit(repo: Path, message: str, files: dict[str, str]) -> str:
    _write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


FIXED_LOOKUP = CACHE.replace("""    Long found = entries.get(key);
    return found.longValue();""", """    Long found = entries.get(key);
    if (found == null) {
      throw new NoSuchElementException("no entry for " + key);
    }
    return found.longValue();""")
FIXED_CLOSE = STREAM.replace("""    flushBuffer();
    closeThreads();""", """    try {
      flushBuffer();
    } finally {
      closeThreads();
    }""")
TYPO = FIXED_CLOSE.replace("// Flushes what the buffer holds", "// Flushes what the buffer holds.")


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """release-2.6.0, then three fixes and release-2.6.1."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "--initial-branch=trunk")
    _commit(repo, "Import 2.6.0", {"pom.xml": POM.format(version="2.6.0"),
                                   COMMON + "Cache.java": CACHE, HDFS + "Stream.java": STREAM})
    git(repo, "tag", "release-2.6.0")
    _commit(repo, "HADOOP-1001. Cache.lookup NPEs on a missing key. Contributed by A.",
            {COMMON + "Cache.java": FIXED_LOOKUP,
             "hadoop-common-project/hadoop-common/src/test/java/TestCache.java": "class T {}\n"})
    _commit(repo, "HDFS-2002. Stream.close leaks its threads when flushing fails (B via C)",
            {HDFS + "Stream.java": FIXED_CLOSE})
    _commit(repo, "HDFS-2003. Fix a comment in Stream.", {HDFS + "Stream.java": TYPO})
    _commit(repo, "Preparing for release 2.6.1", {"pom.xml": POM.format(version="2.6.1")})
    git(repo, "tag", "release-2.6.1")
    return repo


def _fork(tmp_path: Path, upstream: Path, files: dict[str, str],
          version: str = "2.6.0-acme1") -> Path:
    """A snapshot of upstream's 2.6.0 with these files changed: no shared history."""
    fork = tmp_path / "fork"
    git(upstream, "worktree", "add", "-q", str(tmp_path / "base"), "release-2.6.0")
    shutil.copytree(tmp_path / "base", fork, ignore=shutil.ignore_patterns(".git"))
    _write(fork, {"pom.xml": POM.format(version=version), **files})
    git(fork, "init", "-q", "--initial-branch=main")
    git(fork, "add", "-A")
    git(fork, "commit", "-q", "-m", "acme 2.6.0-acme1 snapshot")
    return fork


def _records(result_out: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in json.loads(result_out)}


def test_reads_each_fix_from_the_code(tmp_path: Path, upstream: Path) -> None:
    fork = _fork(tmp_path, upstream, {COMMON + "Cache.java": FIXED_LOOKUP})
    result = run_hpatch("gap", "--repo", str(fork), "--upstream", str(upstream), "--json")
    assert result.code == 0, result.err
    records = _records(result.out)
    assert records["HADOOP-1001"]["state"] == "present"
    assert records["HADOOP-1001"]["has_test"] is True
    assert records["HDFS-2002"]["state"] == "absent"
    assert records["HDFS-2002"]["carry"]["method"] == "clean"
    assert records["HDFS-2002"]["rank"] == 1
    assert records["HDFS-2002"]["backported_to"] == ["2.6"]
    assert records["HDFS-2003"]["state"] == "cosmetic"
    assert "release-2.6.1" in result.err or "2.6.1" in result.err


def test_a_fix_the_fork_carries_in_a_file_of_its_own(tmp_path: Path, upstream: Path) -> None:
    """A vendor moved the method into a class of its own and ported the fix there."""
    moved = FIXED_LOOKUP.replace("class Cache", "class AcmeCacheLookup")
    fork = _fork(tmp_path, upstream, {COMMON + "AcmeCacheLookup.java": moved,
                                      COMMON + "Cache.java": CACHE.replace("  public synch"
                                      "ronized long lookup(String key) {\n", "  // moved: "
                                      "AcmeCacheLookup\n  long lookup(String key) {\n")})
    result = run_hpatch("gap", "--repo", str(fork), "--upstream", str(upstream), "--json")
    assert result.code == 0, result.err
    record = _records(result.out)["HADOOP-1001"]
    assert record["state"] == "present", record
    assert [h["how"] for h in record["evidence"]] == ["elsewhere"]


def test_a_release_itself_lacks_every_fix_but_cosmetic_ones(tmp_path: Path,
                                                            upstream: Path) -> None:
    fork = _fork(tmp_path, upstream, {}, version="2.6.0")
    result = run_hpatch("gap", "--repo", str(fork), "--upstream", str(upstream), "--json")
    assert result.code == 0, result.err
    states = {k: r["state"] for k, r in _records(result.out).items()}
    assert states == {"HADOOP-1001": "absent", "HDFS-2002": "absent", "HDFS-2003": "cosmetic"}


def test_bare_mirror_and_git_dir_as_upstream(tmp_path: Path, upstream: Path) -> None:
    fork = _fork(tmp_path, upstream, {HDFS + "Stream.java": FIXED_CLOSE})
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(upstream), str(mirror)], check=True)
    for source in (mirror, upstream / ".git"):
        result = run_hpatch("gap", "--repo", str(fork), "--upstream", str(source), "--json")
        assert result.code == 0, result.err
        assert _records(result.out)["HDFS-2002"]["state"] == "present"


def test_table_csv_and_output_file(tmp_path: Path, upstream: Path) -> None:
    fork = _fork(tmp_path, upstream, {})
    table = run_hpatch("gap", "--repo", str(fork), "--upstream", str(upstream))
    assert table.code == 0, table.err
    assert "HDFS-2002" in table.out and "By state and component" in table.out
    out = tmp_path / "gap.csv"
    result = run_hpatch("gap", "--repo", str(fork), "--upstream", str(upstream), "--csv",
                        "--output", str(out))
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {r["id"]: r["state"] for r in rows}["HADOOP-1001"] == "absent"
    assert result.out == ""
    nowhere = run_hpatch("gap", "--repo", str(fork), "--upstream", str(upstream), "--json",
                         "--output", str(tmp_path / "missing" / "gap.json"))
    assert nowhere.code == 1 and len(nowhere.error_lines) == 1, nowhere.err
    assert "cannot write" in nowhere.err and "Traceback" not in nowhere.err


def test_the_users_git_environment_and_config_change_nothing(tmp_path: Path,
                                                             upstream: Path) -> None:
    """GIT_DIR/GIT_INDEX_FILE of another repository and a diff config of the user's
    (no prefixes, colour, an external diff) lead no git call of gap astray."""
    fork = _fork(tmp_path, upstream, {COMMON + "Cache.java": FIXED_LOOKUP})
    plain = run_hpatch("gap", "--repo", str(fork), "--upstream", str(upstream), "--json")
    assert plain.code == 0, plain.err
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", str(other))
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[diff]\n\tnoprefix = true\n\tmnemonicPrefix = true\n\texternal = false\n"
        "[color]\n\tui = always\n[log]\n\tshowSignature = true\n", encoding="utf-8")
    env = {"GIT_DIR": str(other / ".git"), "GIT_INDEX_FILE": str(other / ".git" / "index"),
           "GIT_OBJECT_DIRECTORY": str(other / ".git" / "objects"), "HOME": str(home),
           "XDG_CONFIG_HOME": str(home)}
    redirected = run_hpatch("gap", "--repo", str(fork), "--upstream", str(upstream),
                            "--json", env=env)
    assert redirected.code == 0, redirected.err
    assert _records(redirected.out) == _records(plain.out)


def test_component_filter(tmp_path: Path, upstream: Path) -> None:
    fork = _fork(tmp_path, upstream, {})
    result = run_hpatch("gap", "--repo", str(fork), "--upstream", str(upstream), "--json",
                        "--component", "hdfs")
    assert result.code == 0, result.err
    assert set(_records(result.out)) == {"HDFS-2002", "HDFS-2003"}


def test_bad_input_is_one_line_and_its_exit_code(tmp_path: Path, upstream: Path) -> None:
    fork = _fork(tmp_path, upstream, {})
    untagged = tmp_path / "untagged"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(upstream), str(untagged)],
                   check=True)
    assert git(untagged, "tag") == ""
    cases = {
        "no release tags": (["--upstream", str(untagged)], "no release tags"),
        "unknown --until": (["--upstream", str(upstream), "--until", "release-9.9.9"],
                            "--until release-9.9.9"),
        "empty range": (["--upstream", str(upstream), "--until", "release-2.6.0"],
                        "holds no"),
        "bad component": (["--upstream", str(upstream), "--component", "HBASE"],
                          "--component HBASE"),
    }
    for name, (args, words) in cases.items():
        result = run_hpatch("gap", "--repo", str(fork), *args)
        assert result.code == 2, (name, result.err)
        assert len(result.error_lines) == 1 and words in result.err, (name, result.err)
        assert "Traceback" not in result.err
    (tmp_path / "x").mkdir()
    unknown = _fork(tmp_path / "x", upstream, {}, version="trunk-SNAPSHOT")
    result = run_hpatch("gap", "--repo", str(unknown), "--upstream", str(upstream))
    assert result.code == 2 and "--base" in result.err and len(result.error_lines) == 1
    given = run_hpatch("gap", "--repo", str(unknown), "--upstream", str(upstream),
                       "--base", "2.6.0", "--json")
    assert given.code == 0, given.err


def test_an_interrupted_write_leaves_no_file(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out" / "gap.json"
    target.parent.mkdir()

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        records.write_text(target, "[]")
    assert list(target.parent.iterdir()) == []


def test_parse_diff_and_cosmetic() -> None:
    diff = ("diff --git a/x/src/main/A.java b/x/src/main/A.java\n"
            f"index {'1' * 40}..{'2' * 40} 100644\n--- a/x/src/main/A.java\n"
            "+++ b/x/src/main/A.java\n@@ -1,3 +1,3 @@\n int a;\n-// old words\n+// new words\n"
            " int b;\n-LOG.info(\"old text\");\n+LOG.info(\"new text\");\n")
    changes = gap.parse_diff(diff)
    assert [c.path for c in changes] == ["x/src/main/A.java"]
    assert changes[0].hunks[0].added == ("// new words", 'LOG.info("new text");')
    assert gap.is_cosmetic(changes)
    assert not gap.is_cosmetic(gap.parse_diff(diff.replace('+LOG.info("new text");',
                                                           '+LOG.warn("new text");')))
