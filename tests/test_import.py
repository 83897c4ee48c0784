"""hpatch import on a real git repository made from 2.4.1's sources, with
upstream-style history made here: a fix and its JUnit test on a trunk-like
branch, a backport with a `(cherry picked from commit ...)` trailer on a
release branch with a tag, and releases where it applies cleanly, with
offsets, by a 3-way merge, or not at all."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import tomllib
from conftest import CATALOG, git, run_hpatch

# every test imports from a repository made of 2.4.1's release sources (through mvn)
pytestmark = [pytest.mark.network]

COMMON = "hadoop-common-project/hadoop-common"
STRING_UTILS = f"{COMMON}/src/main/java/org/apache/hadoop/util/StringUtils.java"
TEST_DIR = f"{COMMON}/src/test/java/org/apache/hadoop/util"
TEST_FILE = f"{TEST_DIR}/TestStringUtilsImported.java"
SUPPORT_FILE = f"{TEST_DIR}/ImportTestSupport.java"
CHANGES = f"{COMMON}/CHANGES.txt"
FIX = "HADOOP-90001"
BUGGY = '    if (strs.length == 0) { return ""; }\n'
FIXED = '    if (strs == null || strs.length == 0) { return ""; }\n'

TEST_BEFORE = """package org.apache.hadoop.util;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class TestStringUtilsImported {
  @Test
  public void testJoinKeepsOrder() {
    assertEquals("a,b", StringUtils.arrayToString(new String[] {"a", "b"}));
  }

  @Test
  public void testUnrelatedBroken() {
    // Fails everywhere: the fix did not touch it, so the reproducer must not run it.
    assertTrue("unrelated and broken", false);
  }
}
"""
NEW_METHOD = """
  @Test(timeout = 60000)
  public void testArrayToStringNull() {
    assertEquals("", ImportTestSupport.orNpe(null));
  }
}
"""
TEST_AFTER = TEST_BEFORE[:TEST_BEFORE.rindex("}")] + NEW_METHOD.lstrip("\n")
SUPPORT = """package org.apache.hadoop.util;

/** What arrayToString gives, with a NullPointerException as "NPE". */
final class ImportTestSupport {
  private ImportTestSupport() {
  }

  static String orNpe(String[] strs) {
    try {
      return StringUtils.arrayToString(strs);
    } catch (NullPointerException e) {
      return "NPE";
    }
  }
}
"""


def _write(repo: Path, path: str, text: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def _edit(repo: Path, path: str, old: str, new: str) -> None:
    text = (repo / path).read_text(encoding="utf-8")
    assert old in text, old
    _write(repo, path, text.replace(old, new, 1))


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def _line(upstream: Path, tmp_path: Path, name: str, start: str = "rel/release-2.4.1"
          ) -> Path:
    """A clone of the upstream, on a new branch `line-NAME` from start."""
    repo = tmp_path / name
    git(tmp_path, "clone", "-q", str(upstream), str(repo))
    git(repo, "checkout", "-q", "-b", f"line-{name}", start)
    return repo


def _fix_with_test(repo: Path, fix_id: str, tag: str, fixed: str = FIXED) -> str:
    """The null check and the test that shows it (with its support file), committed as
    fix_id and tagged; the commit."""
    _edit(repo, STRING_UTILS, BUGGY, fixed)
    _write(repo, TEST_FILE, TEST_AFTER)
    _write(repo, SUPPORT_FILE, SUPPORT)
    sha = _commit(repo, f"{fix_id}. arrayToString fails on null. Contributed by T.")
    git(repo, "tag", tag)
    return sha


def _release_variant(repo: Path, tag: str, old: str, new: str) -> None:
    """A release whose StringUtils differs from 2.4.1's by one edit."""
    git(repo, "checkout", "-q", "-b", f"line-{tag}", "rel/release-2.4.1")
    _edit(repo, STRING_UTILS, old, new)
    _commit(repo, f"Release {tag}")
    git(repo, "tag", f"rel/release-{tag}")


@pytest.fixture(scope="module")
def upstream(cached_release: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("upstream") / "hadoop"
    result = run_hpatch("source", cached_release, str(repo))
    assert result.code == 0, result.err
    git(repo, "checkout", "-q", "-b", "trunk")
    _write(repo, CHANGES, "Hadoop Change Log\n\n")
    _write(repo, TEST_FILE, TEST_BEFORE)
    tests = _commit(repo, "HADOOP-90000. Add StringUtils tests. Contributed by T.")
    # Trunk has moved on: the fix's hunks sit lower there than in the releases.
    _edit(repo, STRING_UTILS, "package org.apache.hadoop.util;\n",
          "package org.apache.hadoop.util;\n" + "// trunk-only line\n" * 10)
    _commit(repo, "HADOOP-90002. Document StringUtils.")
    _edit(repo, STRING_UTILS, BUGGY, FIXED)
    _write(repo, TEST_FILE, TEST_AFTER)
    _write(repo, SUPPORT_FILE, SUPPORT)
    _edit(repo, CHANGES, "\n\n", "\n\n    HADOOP-90001. arrayToString fails on null.\n")
    fix = _commit(repo, f"{FIX}. StringUtils.arrayToString fails on a null array. "
                        "Contributed by T.")
    _edit(repo, CHANGES, "Log\n", "Log (2.5)\n")
    _commit(repo, "HADOOP-90003. Move entries in CHANGES.txt.")
    _edit(repo, STRING_UTILS, "    sbuf.append(\",\");\n", "    sbuf.append(',');\n")
    gone = _commit(repo, "HADOOP-90004. Use a char separator.")
    git(repo, "revert", "--no-edit", gone)
    git(repo, "checkout", "-q", "-b", "feature", "trunk")
    _write(repo, f"{COMMON}/feature.txt", "feature\n")
    _commit(repo, "Feature work")
    git(repo, "checkout", "-q", "trunk")
    git(repo, "merge", "-q", "--no-ff", "-m", "HADOOP-90006. Merge the feature branch.",
        "feature")
    git(repo, "tag", "rel/release-2.5.0")
    # The release branch: the test file comes first, then the fix, both picked with -x.
    git(repo, "checkout", "-q", "-b", "branch-2.4", "rel/release-2.4.1")
    git(repo, "cherry-pick", "-x", tests)
    git(repo, "cherry-pick", "-x", fix)
    git(repo, "tag", "rel/release-2.4.2")
    loop = '    for (int idx = 1; idx < strs.length; idx++) {\n'
    _release_variant(repo, "2.2.0", loop, loop.replace("idx++", "++idx"))  # 3 lines below
    _release_variant(repo, "2.3.0", BUGGY, BUGGY.replace("== 0", "< 1"))   # the line itself
    _release_variant(repo, "2.4.0", "  /** The same as String.format(",
                     "  public static int zero() {\n    return 0;\n  }\n\n"
                     "  /** The same as String.format(")
    git(repo, "checkout", "-q", "trunk")
    return repo


def _variant(team: Path, fix_id: str) -> dict[str, Any]:
    """The first variant an import wrote for fix_id, as its variants.toml says."""
    variants: list[dict[str, Any]] = tomllib.loads(
        (team / fix_id / "variants.toml").read_text())["variant"]
    return variants[0]


def _review(team: Path, fix_id: str) -> str:
    """What the imported entry asks a reviewer to check."""
    return str(tomllib.loads((team / fix_id / "fix.toml").read_text())["imported"]["review"])


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    if root.exists():
        for path in sorted(root.rglob("*")):
            digest.update(str(path.relative_to(root)).encode())
            if path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _import(upstream: Path, team: Path, *args: str) -> tuple[int, str, str]:
    result = run_hpatch("import", *args, "--upstream", str(upstream), "--catalog", str(team))
    return result.code, result.out, result.err


def test_list_shows_commits_and_how_each_release_takes_it(upstream: Path,
                                                          tmp_path: Path) -> None:
    team = tmp_path / "team"
    code, out, _ = _import(upstream, team, FIX, "--list",
                           "--releases", "2.2.0,2.3.0,2.4.0,2.4.1,2.4.2")
    assert code == 1  # 2.3.0 conflicts
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln[:1].isdigit()}
    assert rows["2.2.0"][2] == "3way"
    assert rows["2.3.0"][2] == "conflict" and "StringUtils.java hunk #1" in " ".join(
        rows["2.3.0"])
    assert rows["2.4.0"][2] == "offsets"
    assert rows["2.4.1"][2] == "clean"
    assert rows["2.4.2"][1:3] == ["-", "fixed-upstream"]  # the release with the backport
    trunk = git(upstream, "rev-parse", "trunk~4")  # the fix on trunk
    backport = git(upstream, "rev-parse", "rel/release-2.4.2")
    assert f"{backport[:11]}  2.4.2" in out and f"{trunk[:11]}  2.5.0" in out
    assert trunk[:11] in out.split(backport[:11], 1)[1].splitlines()[0]  # picked from
    # the backport on the 2.4 line is the one carried, not trunk's
    assert rows["2.4.1"][1] == backport[:11]
    assert not team.exists()


def test_import_writes_a_reviewable_entry(upstream: Path, hadoop: Path, tmp_path: Path) -> None:
    team = tmp_path / "team"
    code, _out, err = _import(upstream, team, FIX, "--releases", "2.2.0,2.3.0,2.4.0",
                             "--repo", str(hadoop))
    assert code == 1, err  # written, but 2.3.0 got no variant
    entry = team / FIX
    meta = tomllib.loads((entry / "fix.toml").read_text())
    variants = tomllib.loads((entry / "variants.toml").read_text())["variant"]
    how = {v["name"]: v["imported"]["method"] for v in variants}
    assert how == {"2.2.0": "3way", "2.4.0": "offsets", "2.4.1": "clean"}
    assert "2.3.0: no variant, conflict" in meta["imported"]["review"]
    assert meta["title"] == "StringUtils.arrayToString fails on a null array"
    assert meta["fixed_in"] == ["2.4.2", "2.5.0"]
    assert meta["imported"]["imported"] is True and "symptom" in meta["imported"]["fields"]
    for variant in variants:
        patch = (entry / variant["patch"]).read_text()
        assert STRING_UTILS in patch and "src/test/" not in patch and "CHANGES" not in patch
    repro = meta["reproducer"]
    assert repro["class"] == "org.apache.hadoop.util.TestStringUtilsImported"
    assert repro["methods"] == ["testArrayToStringNull"]
    sources = entry / repro["sources"] / "org/apache/hadoop/util"
    assert (sources / "TestStringUtilsImported.java").read_text() == TEST_AFTER
    assert (sources / "ImportTestSupport.java").read_text() == SUPPORT
    # the probes tell 2.4.1 (bug) from the fix, on code
    lint = run_hpatch("--catalog", str(team), "lint")
    assert lint.code == 0, lint.out + lint.err
    env = {"HPATCH_CATALOG": str(team)}
    status = run_hpatch("status", "--repo", str(hadoop), "--json", env=env)
    state = json.loads(status.out)["fixes"][0]
    assert (state["state"], state["variant"]) == ("applicable", "2.4.1"), status.err
    applied = run_hpatch("apply", FIX, "--repo", str(hadoop), env=env)
    assert applied.code == 0, applied.err
    assert FIXED in (hadoop / STRING_UTILS).read_text()
    assert run_hpatch("notes", "--repo", str(hadoop), env=env).out.count(FIX) >= 1
    fixed = run_hpatch("status", "--repo", str(hadoop), "--json", env=env)
    assert json.loads(fixed.out)["fixes"][0]["state"] == "applied"


def test_a_fork_takes_the_variant_of_its_apache_base(upstream: Path, hadoop: Path,
                                                     tmp_path: Path) -> None:
    """A vendor's version (2.4.1-acme1) has no upstream tag of its own: the fork is
    carried at its Apache base, as status and verify read it."""
    pom = hadoop / "pom.xml"
    text = pom.read_text(encoding="utf-8")
    pom.write_text(text.replace("<version>2.4.1</version>", "<version>2.4.1-acme1</version>",
                                1), encoding="utf-8")
    git(hadoop, "commit", "-qam", "Our own version")
    team = tmp_path / "team"
    code, out, err = _import(upstream, team, FIX, "--list", "--repo", str(hadoop))
    assert code == 0, err
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln[:1].isdigit()}
    assert rows["2.4.1"][2] == "clean", out
    assert "no tag for release" not in err


def test_force_keeps_curated_text_and_refuses_without(upstream: Path, tmp_path: Path) -> None:
    team = tmp_path / "team"
    assert _import(upstream, team, FIX, "--releases", "2.4.1")[0] == 0
    meta_path = team / FIX / "fix.toml"
    text = meta_path.read_text()
    start = text.index("symptom = '''")
    end = text.index("'''", start + 13) + 3
    meta_path.write_text(text[:start] + "symptom = 'Written by the on-call engineer.'"
                         + text[end:])
    before = _tree_digest(team)
    code, _, err = _import(upstream, team, FIX, "--releases", "2.4.1")
    assert code == 2 and "already in" in err and "--force" in err
    assert _tree_digest(team) == before
    assert _import(upstream, team, FIX, "--releases", "2.4.0,2.4.1", "--force")[0] == 0
    meta = tomllib.loads(meta_path.read_text())
    assert meta["symptom"].strip() == "Written by the on-call engineer."
    assert "symptom" not in meta["imported"]["fields"]
    assert len(tomllib.loads((team / FIX / "variants.toml").read_text())["variant"]) == 2
    assert not [p for p in team.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(("fix_id", "words"), [
    ("HADOOP-99999", "no commit"),
    ("HADOOP-90003", "only touch CHANGES.txt"),
    ("HADOOP-90004", "reverted"),
    ("HADOOP-90000", "only touch tests"),
    ("HADOOP-90006", "merge commit"),
])
def test_bad_ids_are_one_line_errors(upstream: Path, tmp_path: Path, fix_id: str,
                                     words: str) -> None:
    team = tmp_path / "team"
    _write(team, "README", "the team's catalog\n")
    before = _tree_digest(team)
    code, _, err = _import(upstream, team, fix_id, "--releases", "2.4.1")
    lines = [ln for ln in err.splitlines() if ln.startswith("hpatch: error:")]
    assert code != 0 and len(lines) == 1 and words in lines[0], err
    assert "Traceback" not in err
    assert _tree_digest(team) == before


def test_bad_upstreams_and_catalogs(upstream: Path, tmp_path: Path) -> None:
    team = tmp_path / "team"
    plain = tmp_path / "plain"
    plain.mkdir()
    code, _, err = _import(plain, team, FIX, "--releases", "2.4.1")
    assert code != 0 and "not a git repository" in err
    untagged = tmp_path / "untagged"
    untagged.mkdir()
    git(untagged, "init", "-q")
    _write(untagged, "README", "x\n")
    _commit(untagged, "HADOOP-90001. Something.")
    code, _, err = _import(untagged, team, FIX, "--releases", "2.4.1")
    assert code != 0 and "no release tags" in err
    code, _, err = _import(upstream, CATALOG, FIX, "--releases", "2.4.1")
    assert code == 2 and "bundled catalog" in err
    code, _, err = _import(upstream, team, FIX, "--releases", "2.3.0")
    assert code == 4 and "conflicts on every release" in err
    assert not team.exists()


def test_revert_then_reapply_takes_the_final_state(upstream: Path, tmp_path: Path) -> None:
    repo = tmp_path / "history"
    git(tmp_path, "clone", "-q", str(upstream), str(repo))
    git(repo, "checkout", "-q", "-b", "again", "origin/branch-2.4")
    git(repo, "revert", "--no-edit", "HEAD")
    git(repo, "cherry-pick", "-x", "HEAD~1")
    git(repo, "tag", "rel/release-2.4.3")
    team = tmp_path / "team"
    code, _out, err = _import(repo, team, FIX, "--releases", "2.4.1")
    assert code == 0, err
    assert "was reverted by" in err and "taking the final state" in err
    meta = tomllib.loads((team / FIX / "fix.toml").read_text())
    assert meta["imported"]["reverted"]


def test_a_commit_without_a_test_says_so(upstream: Path, tmp_path: Path) -> None:
    repo = tmp_path / "history"
    git(tmp_path, "clone", "-q", str(upstream), str(repo))
    git(repo, "checkout", "-q", "-b", "nofix", "origin/branch-2.4")
    _edit(repo, STRING_UTILS, "    sbuf.append(\",\");\n", "    sbuf.append(',');\n")
    _commit(repo, "HADOOP-90007. Use a char separator. Contributed by T.")
    team = tmp_path / "team"
    code, _, err = _import(repo, team, "HADOOP-90007", "--releases", "2.4.1")
    assert code == 0, err
    meta = tomllib.loads((team / "HADOOP-90007" / "fix.toml").read_text())
    assert "carries no test" in meta["reproducer"]["missing"]
    assert run_hpatch("--catalog", str(team), "lint").code == 0
    # nothing to run is never a pass (no JVM is needed to say so)
    result = run_hpatch("verify", "HADOOP-90007", "--version", "2.4.1", "--no-docker",
                        "--catalog", str(team), "--json",
                        env={"HPATCH_RUNS": str(tmp_path / "runs")})
    cell = json.loads(result.out)["results"][0]
    assert cell["verdict"] == "inconclusive" and "carries no test" in cell["reason"]
    assert result.code == 1


@pytest.mark.docker
@pytest.mark.network
@pytest.mark.slow
def test_imported_fix_verifies_in_docker(upstream: Path, cached_release: str,
                                         tmp_path: Path) -> None:
    """Stock 2.4.1 fails the test the fix added, patched passes; the broken test the fix
    did not touch is not run (else patched would fail too)."""
    if run_hpatch("image", timeout=1800).code != 0:
        if os.environ.get("HPATCH_REQUIRE_DOCKER") == "1":
            pytest.fail("Docker is required here")
        pytest.skip("no Docker engine")
    team = tmp_path / "team"
    assert _import(upstream, team, FIX, "--releases", "2.4.1")[0] == 0
    runs = tmp_path / "runs"
    result = run_hpatch("verify", FIX, "--version", cached_release, "--catalog", str(team),
                        "--json", env={"HPATCH_RUNS": str(runs)}, timeout=1800)
    cell = json.loads(result.out)["results"][0]
    assert cell["verdict"] == "verified", cell
    assert cell["stock"][0]["kind"] == "assertion"
    assert cell["stock"][0]["test"] == "testArrayToStringNull"
    assert "NPE" in cell["stock"][0]["summary"]
    assert result.code == 0
    assert cell["runner"] == "surefire"
    reports = list((Path(cell["run_dir"]) / "work" / "reports-patched-1").glob("TEST-*.xml"))
    assert len(reports) == 1, reports
    cases = ET.parse(reports[0]).getroot().findall("testcase")
    assert [c.get("name") for c in cases] == ["testArrayToStringNull"]
    assert not list(cases[0])  # no failure, error or skip: it passed


def test_bare_mirror_and_git_dir_are_upstreams(upstream: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "-q", "--mirror", str(upstream), str(mirror))
    for source in (mirror, upstream / ".git"):
        team = tmp_path / f"team-{source.name}"
        code, out, err = _import(source, team, FIX, "--releases", "2.4.1")
        assert code == 0, err
        assert "bare repository" not in err and (team / FIX / "fix.toml").is_file(), out


def test_import_adds_the_fix_to_the_catalogs_order(upstream: Path, tmp_path: Path) -> None:
    """A team catalog with catalog.toml stays lint-clean after an import."""
    team = tmp_path / "team"
    team.mkdir()
    (team / "catalog.toml").write_text("# our order\norder = []\n")
    code, _out, err = _import(upstream, team, FIX, "--releases", "2.4.1")
    assert code == 0, err
    assert tomllib.loads((team / "catalog.toml").read_text())["order"] == [FIX]
    assert (team / "catalog.toml").read_text().startswith("# our order\n")
    lint = run_hpatch("--catalog", str(team), "lint")
    assert lint.code == 0, lint.out + lint.err


def test_several_ids_and_a_file_of_ids_give_a_row_each(upstream: Path, tmp_path: Path) -> None:
    team = tmp_path / "team"
    team.mkdir()
    (team / "catalog.toml").write_text("order = []\n")
    ids = tmp_path / "gap.txt"
    ids.write_text(f"# from the gap scan\n{FIX}\nhadoop-99999  # unknown\n\nHADOOP-90000\n")
    code, out, err = _import(upstream, team, "--from", str(ids), "--releases", "2.4.1",
                             "--json")
    assert code == 1, err
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows[FIX]["result"] == "imported" and "clean" in rows[FIX]["detail"]
    assert rows["HADOOP-99999"]["result"] == "refused" and "no commit" in rows[
        "HADOOP-99999"]["detail"]
    assert rows["HADOOP-90000"]["result"] == "refused" and "only touch tests" in rows[
        "HADOOP-90000"]["detail"]
    assert "Traceback" not in err
    assert tomllib.loads((team / "catalog.toml").read_text())["order"] == [FIX]
    # the gap scan's JSON, and ids on the command line: one table row per fix
    records = tmp_path / "gap.json"
    records.write_text(json.dumps([{"id": FIX, "state": "absent"}]))
    code, out, _ = _import(upstream, team, "--from", str(records), "HADOOP-90001",
                           "--releases", "2.3.0,2.4.1")
    assert code == 1
    assert [ln.split()[:2] for ln in out.splitlines() if ln.startswith(FIX)] == [
        [FIX, "refused"]]  # already there, and named twice: one row
    code, out, _ = _import(upstream, team, "--from", str(records), "--releases", "2.3.0",
                           "--force")
    assert code == 1 and [ln.split()[:2] for ln in out.splitlines()
                          if ln.startswith(FIX)] == [[FIX, "conflict"]]
    assert (team / FIX / "fix.toml").is_file()  # a conflict leaves the entry as it was


@pytest.mark.parametrize(("text", "words"), [
    ("HDFS-1\nnot an id\n", "line 2: 'not an id' is not a JIRA id"),
    ("# nothing\n", "names no fix id"),
    ("[{\"state\": 1}]", "record 0 has no \"id\""),
    ("[{\"id\": ", "not valid JSON"),
])
def test_bad_id_files_are_one_line_usage_errors(upstream: Path, tmp_path: Path, text: str,
                                               words: str) -> None:
    ids = tmp_path / "ids"
    ids.write_text(text)
    code, _, err = _import(upstream, tmp_path / "team", "--from", str(ids),
                           "--releases", "2.4.1")
    lines = [ln for ln in err.splitlines() if ln.startswith("hpatch: error:")]
    assert code == 2 and len(lines) == 1 and words in lines[0], err
    assert not (tmp_path / "team").exists()


def test_prerequisites_are_named_and_carried_on_request(upstream: Path, tmp_path: Path) -> None:
    """A branch backport that edits a line an earlier upstream change on its branch
    wrote: named as a conflict's cause; --with-prerequisites carries both, credited."""
    repo = tmp_path / "history"
    git(tmp_path, "clone", "-q", str(upstream), str(repo))
    git(repo, "checkout", "-q", "-b", "line-2.4", "origin/branch-2.4")
    loop = "    for (int idx = 1; idx < strs.length; idx++) {\n"
    _edit(repo, STRING_UTILS, loop, loop.replace("idx++", "++idx"))
    earlier = _commit(repo, "HADOOP-90020. Pre-increment in arrayToString. Contributed by T.")
    _edit(repo, STRING_UTILS, loop.replace("idx++", "++idx"),
          loop.replace("idx = 1", "idx = 1 + 0").replace("idx++", "++idx"))
    _commit(repo, "HADOOP-90021. Start at one, said plainly. Contributed by T.")
    git(repo, "tag", "rel/release-2.4.3")
    team = tmp_path / "team"
    code, _, err = _import(repo, team, "HADOOP-90021", "--releases", "2.4.1")
    assert code == 4 and "needs earlier upstream change(s) first" in err, err
    assert earlier[:11] in err and "--with-prerequisites" in err
    code, _, err = _import(repo, team, "HADOOP-90021", "--releases", "2.4.1",
                           "--with-prerequisites")
    assert code == 0, err
    variant = _variant(team, "HADOOP-90021")
    assert variant["imported"]["method"] == "with-prerequisites"
    assert variant["imported"]["prerequisites"] == [earlier]
    patch = (team / "HADOOP-90021" / variant["patch"]).read_text()
    assert f"Upstream-Prerequisite: {earlier}" in patch and "idx = 1 + 0" in patch
    review = _review(team, "HADOOP-90021")
    assert "carried on top of its prerequisites" in review and earlier[:11] in review


def test_a_prerequisite_that_needs_its_own_is_carried_with_it(upstream: Path,
                                                              tmp_path: Path) -> None:
    """HDFS-9314's shape: the fix edits what B wrote in another file; B itself edits a
    line A wrote, in a file the fix does not touch. B is the fix's prerequisite and A
    is B's: both are carried, in order."""
    repo = tmp_path / "chain"
    git(tmp_path, "clone", "-q", str(upstream), str(repo))
    git(repo, "checkout", "-q", "-b", "line-2.4", "origin/branch-2.4")
    time_java = f"{COMMON}/src/main/java/org/apache/hadoop/util/Time.java"
    loop = "    for (int idx = 1; idx < strs.length; idx++) {\n"
    _edit(repo, STRING_UTILS, loop, loop.replace("idx++", "++idx"))
    first = _commit(repo, "HADOOP-90022. Pre-increment in arrayToString. Contributed by T.")
    _edit(repo, STRING_UTILS, loop.replace("idx++", "++idx"),
          loop.replace("idx = 1", "idx = 1 + 0").replace("idx++", "++idx"))
    package = "package org.apache.hadoop.util;\n"
    _edit(repo, time_java, package, package + "// Clocks: see HADOOP-90023.\n")
    second = _commit(repo, "HADOOP-90023. Start at one, said plainly. Contributed by T.")
    _edit(repo, time_java, "// Clocks: see HADOOP-90023.\n", "// Clocks: monotonic first.\n")
    _commit(repo, "HADOOP-90024. Say which clock comes first. Contributed by T.")
    git(repo, "tag", "rel/release-2.4.3")
    team = tmp_path / "team"
    code, out, err = _import(repo, team, "HADOOP-90024", "--releases", "2.4.1",
                             "--with-prerequisites")
    assert code == 0, err
    # the table says what is carried first, as a reader knows it
    assert "after HADOOP-90022; after HADOOP-90023" in out, out
    variant = _variant(team, "HADOOP-90024")
    assert variant["imported"]["prerequisites"] == [first, second]
    assert variant["imported"]["prerequisite_subjects"][1].startswith("HADOOP-90023")
    patch = (team / "HADOOP-90024" / variant["patch"]).read_text()
    assert "idx = 1 + 0" in patch and "monotonic first" in patch


NPE_TEST = """package org.apache.hadoop.util;

import static org.junit.Assert.assertEquals;

import org.junit.Before;
import org.junit.Test;

public class TestStringUtilsNull {
  private String prefix = "";

  @Before
  public void setUp() {
%s  }

  @Test(timeout = 60000)
  public void testArrayToStringOfNull() {
%s    assertEquals(prefix, StringUtils.arrayToString(null));
  }
}
"""
HOOK = ("  @VisibleForTesting\n  static int nullChecksForTesting() {\n    return 1;\n  }\n\n"
        "  /** The same as String.format(")


def _upstream_with_graded_fixes(upstream: Path, tmp_path: Path) -> Path:
    """HADOOP-90040: the null check, a test hook, and a test that calls arrayToString(null)
    itself (stock: a NullPointerException from the method the fix changes).
    HADOOP-90041: the same fix, but its test's set-up crashes in code it does not touch."""
    repo = tmp_path / "graded"
    git(tmp_path, "clone", "-q", str(upstream), str(repo))
    test_path = f"{TEST_DIR}/TestStringUtilsNull.java"
    for fix_id, setup, extra in (
            ("HADOOP-90040", "", "    assertEquals(1, StringUtils.nullChecksForTesting());\n"),
            ("HADOOP-90041", "    prefix = System.getProperty(\"no.such.property\").trim();\n",
             "")):
        git(repo, "checkout", "-q", "-b", f"line-{fix_id}", "rel/release-2.4.1")
        _edit(repo, STRING_UTILS, BUGGY, FIXED)
        if extra:
            _edit(repo, STRING_UTILS, "  /** The same as String.format(", HOOK)
            _edit(repo, STRING_UTILS, "import com.google.common.net.InetAddresses;\n",
                  "import com.google.common.annotations.VisibleForTesting;\n"
                  "import com.google.common.net.InetAddresses;\n")
        _write(repo, test_path, NPE_TEST % (setup, extra))
        _commit(repo, f"{fix_id}. arrayToString fails on null. Contributed by T.")
    git(repo, "tag", "rel/release-2.4.9")
    return repo


@pytest.mark.docker
@pytest.mark.network
@pytest.mark.slow
def test_upstream_tests_are_graded_by_the_rule(upstream: Path, cached_release: str,
                                               tmp_path: Path) -> None:
    """On the real 2.4.1 sources: an exception through the changed method verifies
    (with the fix's test hook on stock, recorded); a set-up crash elsewhere never does."""
    if run_hpatch("image", timeout=1800).code != 0:
        if os.environ.get("HPATCH_REQUIRE_DOCKER") == "1":
            pytest.fail("Docker is required here")
        pytest.skip("no Docker engine")
    repo = _upstream_with_graded_fixes(upstream, tmp_path)
    team = tmp_path / "team"
    code, out, err = _import(repo, team, "HADOOP-90040", "HADOOP-90041", "--releases", "2.4.1")
    assert code == 0, out + err
    # the entry says which test hooks verify will put on stock
    review = _review(team, "HADOOP-90040")
    assert "verify puts on stock as test support: StringUtils.nullChecksForTesting" in review
    result = run_hpatch("verify", "HADOOP-90040", "HADOOP-90041", "--version", cached_release,
                        "--catalog", str(team), "--jobs", "2", "--json",
                        env={"HPATCH_RUNS": str(tmp_path / "runs")}, timeout=1800)
    cells = {c["fix"]: c for c in json.loads(result.out)["results"]}
    hooked = cells["HADOOP-90040"]
    assert hooked["verdict"] == "verified", hooked
    # through hadoop-common's own Surefire, as `mvn test` runs it: its report is graded
    for cell in cells.values():
        assert cell["runner"] == "surefire", cell
        work = Path(cell["run_dir"]) / "work"
        assert list((work / "reports-stock-1").glob("TEST-*TestStringUtilsNull.xml"))
        log = (work / "stock-1.log").read_text()
        assert "maven-surefire-plugin" in log or "surefire" in log
        assert "Tests run: 1" in log
    assert hooked["stock_failure"] == "exception-in-changed-code"
    assert hooked["stock"][0]["frame"] == "org.apache.hadoop.util.StringUtils.arrayToString"
    assert hooked["stock_hooks"] == ["StringUtils.nullChecksForTesting"]
    crashed = cells["HADOOP-90041"]
    assert crashed["verdict"] == "error" and crashed["error_kind"] == "exception-elsewhere"
    assert "TestStringUtilsNull.setUp" in crashed["reason"]
    assert result.code == 1


def test_the_modules_declared_test_jars_and_libraries_are_the_reproducers(upstream: Path,
                                                            tmp_path: Path) -> None:
    """The test-jars the test module's pom declares (a MapReduce test's MockRM) go on the
    reproducer's classpath, as Maven gives them to Surefire."""
    repo = tmp_path / "declared"
    git(tmp_path, "clone", "-q", str(upstream), str(repo))
    git(repo, "checkout", "-q", "-b", "line-2.4.5", "rel/release-2.4.1")
    pom = f"{COMMON}/pom.xml"
    _edit(repo, pom, "<dependencies>\n", "<dependencies>\n    <dependency>\n"
          "      <groupId>org.apache.hadoop</groupId>\n"
          "      <artifactId>hadoop-yarn-server-resourcemanager</artifactId>\n"
          "      <type>test-jar</type>\n      <scope>test</scope>\n    </dependency>\n"
          "    <dependency>\n      <groupId>org.bouncycastle</groupId>\n"
          "      <artifactId>bcprov-jdk16</artifactId>\n      <version>1.46</version>\n"
          "      <scope>test</scope>\n"
          "    </dependency>\n")
    _commit(repo, "Release 2.4.5")
    git(repo, "tag", "rel/release-2.4.5")
    _fix_with_test(repo, "HADOOP-90050", "rel/release-2.4.6")
    team = tmp_path / "team"
    code, _, err = _import(repo, team, "HADOOP-90050", "--releases", "2.4.5")
    assert code == 0, err
    meta = tomllib.loads((team / "HADOOP-90050" / "fix.toml").read_text())
    assert meta["reproducer"]["test_jars"] == ["hadoop-common",
                                               "hadoop-yarn-server-resourcemanager"]
    # a test-scope library (2.7.1's poms take its version from hadoop-project's
    # dependencyManagement); JUnit and Mockito, which hadoop-common also declares, are
    # the harness's own
    assert meta["reproducer"]["test_deps"] == ["org.bouncycastle:bcprov-jdk16:1.46"]
    assert run_hpatch("--catalog", str(team), "lint").code == 0


def test_a_backport_using_an_earlier_changes_helper_names_it(upstream: Path,
                                                             tmp_path: Path) -> None:
    """The backport applies, but calls a helper an earlier commit on its branch added
    (HDFS-9220 and HDFS-8722's doCrcRecalc): named; --with-prerequisites carries it."""
    repo = _line(upstream, tmp_path, "helper")
    _edit(repo, STRING_UTILS, "  /** The same as String.format(",
          "  static boolean noneIn(String[] strs) {\n    return strs == null || "
          "strs.length == 0;\n  }\n\n  /** The same as String.format(")
    earlier = _commit(repo, "HADOOP-90060. Add noneIn. Contributed by T.")
    _fix_with_test(repo, "HADOOP-90061", "rel/release-2.4.7",
                   fixed='    if (noneIn(strs)) { return ""; }\n')
    team = tmp_path / "team"
    code, _, err = _import(repo, team, "HADOOP-90061", "--releases", "2.4.1")
    assert code == 0, err
    review = _review(team, "HADOOP-90061")
    assert "uses noneIn, which the release lacks" in review and earlier[:11] in review
    code, _, err = _import(repo, team, "HADOOP-90061", "--releases", "2.4.1",
                           "--with-prerequisites", "--force")
    assert code == 0, err
    variant = _variant(team, "HADOOP-90061")
    assert variant["imported"]["prerequisites"] == [earlier]
    assert "static boolean noneIn" in (team / "HADOOP-90061" / variant["patch"]).read_text()


def test_an_override_of_a_method_an_earlier_change_added_names_it(upstream: Path,
                                                                  tmp_path: Path) -> None:
    """The backport applies, but overrides a superclass method that an earlier commit on
    its branch added in another file (MAPREDUCE-6558 on 6549's
    unsetNeedAdditionalRecordAfterSplit): named; --with-prerequisites carries it."""
    compress = f"{COMMON}/src/main/java/org/apache/hadoop/io/compress"
    repo = _line(upstream, tmp_path, "override")
    _edit(repo, f"{compress}/CompressionOutputStream.java",
          "  public abstract void finish() throws IOException;\n",
          "  public abstract void finish() throws IOException;\n\n"
          "  protected boolean finishedForTesting() {\n    return false;\n  }\n")
    earlier = _commit(repo, "HADOOP-90062. Let streams say they finished. Contributed by T.")
    _edit(repo, f"{compress}/CompressorStream.java",
          "  public void finish() throws IOException {\n",
          "  @Override\n  protected boolean finishedForTesting() {\n"
          "    return compressor.finished();\n  }\n\n"
          "  public void finish() throws IOException {\n")
    _fix_with_test(repo, "HADOOP-90063", "rel/release-2.4.6")
    team = tmp_path / "team"
    code, _, err = _import(repo, team, "HADOOP-90063", "--releases", "2.4.1")
    assert code == 0, err
    review = _review(team, "HADOOP-90063")
    assert "uses finishedForTesting, which the release lacks" in review, review
    assert earlier[:11] in review
    code, _, err = _import(repo, team, "HADOOP-90063", "--releases", "2.4.1",
                           "--with-prerequisites", "--force")
    assert code == 0, err
    variant = _variant(team, "HADOOP-90063")
    assert variant["imported"]["prerequisites"] == [earlier]


def test_access_an_earlier_change_widened_for_the_test_is_recorded_not_carried(
        upstream: Path, tmp_path: Path) -> None:
    """HDFS-9958's 2.7 test calls DatanodeStorageInfo.getStorageID() from another
    package; HDFS-9198, a large change before it, made that public. The entry records
    the access (and the commit) for verify to open on both sides; the variant does not
    carry it, nor the earlier change."""
    util = f"{COMMON}/src/main/java/org/apache/hadoop/util"
    repo = _line(upstream, tmp_path, "access")
    _edit(repo, f"{util}/ReflectionUtils.java", "  static int getCacheSize() {",
          "  public static int getCacheSize() {")
    earlier = _commit(repo, "HADOOP-90064. Open the cache size. Contributed by T.")
    elsewhere = f"{COMMON}/src/test/java/org/apache/hadoop/io/TestCacheSizeImported.java"
    _write(repo, elsewhere, "package org.apache.hadoop.io;\n\nimport static org.junit.Assert."
           "assertTrue;\n\nimport org.apache.hadoop.util.ReflectionUtils;\nimport org.junit."
           "Test;\n\npublic class TestCacheSizeImported {\n  @Test\n  public void testSize() "
           "{\n    assertTrue(ReflectionUtils.getCacheSize() >= 0);\n  }\n}\n")
    _fix_with_test(repo, "HADOOP-90065", "rel/release-2.4.5")
    team = tmp_path / "team"
    code, _, err = _import(repo, team, "HADOOP-90065", "--releases", "2.4.1")
    assert code == 0, err
    variant = _variant(team, "HADOOP-90065")
    assert variant["imported"]["test_access"] == [{
        "path": f"{util}/ReflectionUtils.java", "method": "getCacheSize", "params": ")",
        "from": "package", "to": "public", "commit": f"HADOOP-90064 ({earlier[:11]})"}]
    assert variant["imported"]["prerequisites"] == []
    assert "ReflectionUtils" not in (team / "HADOOP-90065" / variant["patch"]).read_text()
    review = _review(team, "HADOOP-90065")
    assert "ReflectionUtils.getCacheSize (package -> public, HADOOP-90064" in review, review


def test_a_change_that_adds_only_test_support_says_no_test_can_show_it(
        upstream: Path, tmp_path: Path) -> None:
    """HADOOP-12682 fixes a test and adds UserGroupInformation.logoutUserFromKeytab for
    it, which no production code calls: the review says verify will run the same code
    on both sides."""
    repo = _line(upstream, tmp_path, "support")
    _edit(repo, STRING_UTILS, "  /** The same as String.format(",
          "  public static int zeroForTests() {\n    return 0;\n  }\n\n"
          "  /** The same as String.format(")
    _write(repo, TEST_FILE, TEST_BEFORE.replace(
        "  @Test\n  public void testUnrelatedBroken",
        "  @Test\n  public void testZero() {\n    assertEquals(0, StringUtils.zeroForTests());"
        "\n  }\n\n  @Test\n  public void testUnrelatedBroken"))
    _commit(repo, "HADOOP-90066. Fix TestStringUtilsImported. Contributed by T.")
    git(repo, "tag", "rel/release-2.4.4")
    team = tmp_path / "team"
    code, _, err = _import(repo, team, "HADOOP-90066", "--releases", "2.4.1")
    assert code == 0, err
    review = _review(team, "HADOOP-90066")
    assert ("all the change adds to production code is test support "
            "(StringUtils.zeroForTests)") in review, review


def test_a_binary_test_resource_the_fix_adds_goes_with_its_test(upstream: Path,
                                                                 tmp_path: Path) -> None:
    """MAPREDUCE-6558's compressed input file: beside the test, on its classpath."""
    repo = _line(upstream, tmp_path, "resource")
    data = bytes(range(256)) * 4
    target = repo / COMMON / "src/test/resources/input/records.bin"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    _fix_with_test(repo, "HADOOP-90064", "rel/release-2.4.5")
    team = tmp_path / "team"
    code, _, err = _import(repo, team, "HADOOP-90064", "--releases", "2.4.1")
    assert code == 0, err
    assert (team / "HADOOP-90064" / "reproducer" / "2.4.1" / "input" / "records.bin"
            ).read_bytes() == data
    assert run_hpatch("--catalog", str(team), "lint").code == 0


def test_an_upstream_without_tags_or_branches_is_one_line(upstream: Path,
                                                          tmp_path: Path) -> None:
    bare = tmp_path / "refless.git"
    git(tmp_path, "clone", "-q", "--bare", str(upstream), str(bare))
    for ref in git(bare, "for-each-ref", "--format=%(refname)").splitlines():
        git(bare, "update-ref", "-d", ref)
    git(bare, "update-ref", "--no-deref", "HEAD", git(upstream, "rev-parse", "trunk"))
    team = tmp_path / "team"
    code, _, err = _import(bare, team, FIX, "--releases", "2.4.1")
    assert code != 0 and len(err.strip().splitlines()) == 1, err
    assert "no release tags" in err and "Traceback" not in err
    assert not team.exists()


def test_a_module_the_release_does_not_have_is_a_conflict_that_names_it(
        upstream: Path, tmp_path: Path) -> None:
    repo = tmp_path / "newmodule"
    git(tmp_path, "clone", "-q", str(upstream), str(repo))
    git(repo, "checkout", "-q", "trunk")
    module = "hadoop-tools/hadoop-newtool"
    _write(repo, f"{module}/src/main/java/org/apache/hadoop/tools/NewTool.java",
           "package org.apache.hadoop.tools;\npublic class NewTool {\n}\n")
    _commit(repo, "HADOOP-90070. Add a tool. Contributed by T.")
    _write(repo, f"{module}/src/main/java/org/apache/hadoop/tools/NewTool.java",
           "package org.apache.hadoop.tools;\npublic class NewTool {\n  int x;\n}\n")
    _write(repo, f"{module}/src/test/java/org/apache/hadoop/tools/TestNewTool.java",
           "package org.apache.hadoop.tools;\npublic class TestNewTool {\n}\n")
    _commit(repo, "HADOOP-90071. Fix the tool. Contributed by T.")
    team = tmp_path / "team"
    code, out, err = _import(repo, team, "HADOOP-90071", "--releases", "2.4.1")
    assert code == 4, out + err
    assert "conflicts on every release" in err and len(err.strip().splitlines()) == 1
    assert "NewTool.java" in out  # the row names the file the release lacks
    assert not team.exists()


def test_an_interrupted_import_leaves_the_catalog_as_it_was(upstream: Path,
                                                           tmp_path: Path) -> None:
    """SIGINT at any point: the catalog is as before, or has the whole entry (the write
    is one rename); never a half entry, and lint stays clean."""
    team = tmp_path / "team"
    team.mkdir()
    (team / "catalog.toml").write_text("order = []\n")
    before = _tree_digest(team)
    env = dict(os.environ, HPATCH_CATALOG=str(CATALOG))
    interrupted = 0
    for delay in (0.3, 0.8, 1.5):
        child = subprocess.Popen(
            [sys.executable, "-m", "hpatch", "import", FIX, "--releases", "2.4.1",
             "--upstream", str(upstream), "--catalog", str(team)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=120)
        assert "Traceback" not in err, err
        entry = team / FIX
        if child.returncode == 0:
            assert (entry / "fix.toml").is_file()
            assert FIX in (team / "catalog.toml").read_text()
            shutil.rmtree(entry)
            (team / "catalog.toml").write_text("order = []\n")
        else:
            assert child.returncode == 130, err
            assert _tree_digest(team) == before, f"after SIGINT at {delay} s"
            interrupted += 1
        assert not [p for p in team.iterdir() if p.name.startswith(".")]
    assert interrupted, "no SIGINT arrived before the import finished"


HANG_TEST = """package org.apache.hadoop.util;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class TestStringUtilsWaits {
  @Test
  public void testArrayToStringOfNullReturns() throws Exception {
    while (true) {
      try {
        assertEquals("", StringUtils.arrayToString(null));
        return;
      } catch (NullPointerException e) {
        Thread.sleep(200);  // stock: waits forever
      }
    }
  }
}
"""


@pytest.mark.docker
@pytest.mark.network
@pytest.mark.slow
def test_a_test_that_hangs_is_a_timeout_and_leaves_nothing_running(
        upstream: Path, cached_release: str, tmp_path: Path) -> None:
    """Through Surefire: the fork passes --timeout, Surefire stops it, the verdict is an
    error of kind timeout, and no container (so no JVM) is left."""
    if run_hpatch("image", timeout=1800).code != 0:
        if os.environ.get("HPATCH_REQUIRE_DOCKER") == "1":
            pytest.fail("Docker is required here")
        pytest.skip("no Docker engine")
    repo = _line(upstream, tmp_path, "hang")
    _edit(repo, STRING_UTILS, BUGGY, FIXED)
    _write(repo, f"{TEST_DIR}/TestStringUtilsWaits.java", HANG_TEST)
    _commit(repo, "HADOOP-90080. arrayToString fails on null. Contributed by T.")
    git(repo, "tag", "rel/release-2.4.4")
    team = tmp_path / "team"
    assert _import(repo, team, "HADOOP-90080", "--releases", "2.4.1")[0] == 0

    def containers() -> set[str]:
        return set(subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True,
                                  text=True, check=True).stdout.split())

    before = containers()
    result = run_hpatch("verify", "HADOOP-90080", "--version", cached_release, "--catalog",
                        str(team), "--timeout", "20", "--json",
                        env={"HPATCH_RUNS": str(tmp_path / "runs")}, timeout=1800)
    cell = json.loads(result.out)["results"][0]
    assert cell["runner"] == "surefire"
    assert cell["verdict"] == "error" and cell["error_kind"] == "timeout", cell
    assert cell["reason"].startswith("stock:")
    assert result.code != 0
    assert containers() <= before  # the container, and the JVMs in it, are gone


def _repository_state(git_dir: Path) -> tuple[str, list[str], str, str]:
    """What a repository holds, to the byte: `git count-objects -v`, every file under
    objects/ with its digest, every ref, and every other file of the git directory."""
    objects = git_dir / "objects"
    files = sorted(f"{p.relative_to(objects)} {hashlib.sha256(p.read_bytes()).hexdigest()}"
                   for p in objects.rglob("*") if p.is_file())
    others = sorted(str(p.relative_to(git_dir)) for p in git_dir.rglob("*")
                    if p.is_file() and objects not in p.parents)
    return (git(git_dir, "count-objects", "-v"), files,
            git(git_dir, "for-each-ref", "--format=%(refname) %(objectname)"),
            "\n".join(others))


def test_import_writes_nothing_into_the_upstream(upstream: Path, tmp_path: Path) -> None:
    """The upstream is read-only: one id, several, --list, --dry-run and
    --with-prerequisites, on a clone, its .git and a bare mirror, leave its objects,
    refs and files as they were (the 3-way merges and the variant's commit included)."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    for branch in ("branch-2.4", "line-2.2.0"):
        git(clone, "branch", "-q", "--track", branch, f"origin/{branch}")
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "-q", "--mirror", str(upstream), str(mirror))
    for source, git_dir in ((clone, clone / ".git"), (clone / ".git", clone / ".git"),
                            (mirror, mirror)):
        before = _repository_state(git_dir)
        team = tmp_path / f"team-{source.name}"
        # 2.2.0 takes it by a 3-way merge, 2.4.0 with offsets: both write blobs and trees
        releases = ("--releases", "2.2.0,2.4.0,2.4.1")
        for args in (("--list",), ("--dry-run",), ("--with-prerequisites",), ()):
            code, _, err = _import(source, team, FIX, *releases, *args, "--force")
            assert code == 0, err
        code, _, err = _import(source, team, FIX, "HADOOP-90000", *releases, "--force",
                               "--json")
        assert code == 1 and "Traceback" not in err, err
        assert (team / FIX / "fix.toml").is_file()
        after = _repository_state(git_dir)
        assert after[0] == before[0], f"{source}: objects written\n{after[0]}"
        assert after[1:] == before[1:], source
