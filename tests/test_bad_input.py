"""Bad input: one clear error line, a non-zero exit, and the checkout unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import HDFS_9812_FILE, YARN_4398_FILE, git, run_hpatch, snapshot

pytestmark = pytest.mark.network


def assert_refused(result_code: int, err_lines: list[str], code: int, text: str) -> None:
    assert result_code == code, err_lines
    assert len(err_lines) == 1, err_lines
    assert text in err_lines[0], err_lines


def test_release_cannot_be_recognised(hadoop: Path) -> None:
    pom = hadoop / "pom.xml"
    pom.write_text(pom.read_text().replace("<version>2.4.1</version>",
                                           "<version>trunk</version>", 1))
    git(hadoop, "commit", "-qam", "odd version")
    before = snapshot(hadoop)
    result = run_hpatch("apply", "--all", "--repo", str(hadoop))
    assert_refused(result.code, result.error_lines, 1, "cannot recognise the Hadoop release")
    assert snapshot(hadoop) == before


def test_uncommitted_change_in_a_touched_file_is_refused(hadoop: Path) -> None:
    path = hadoop / YARN_4398_FILE
    path.write_text(path.read_text() + "\n// my work in progress\n")
    before = snapshot(hadoop)
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop))
    assert_refused(result.code, result.error_lines, 1, "uncommitted changes")
    assert "RMStateStore.java" in result.error_lines[0]
    assert snapshot(hadoop) == before
    assert path.read_text().endswith("// my work in progress\n")


def test_changes_elsewhere_are_kept_untouched(hadoop: Path) -> None:
    notes = hadoop / "NOTES.txt"
    notes.write_text("untracked notes\n")
    pom = hadoop / "pom.xml"
    pom.write_text(pom.read_text() + "<!-- staged edit -->\n")
    git(hadoop, "add", "pom.xml")
    common = hadoop / "hadoop-common-project/hadoop-common/pom.xml"
    common.write_text(common.read_text() + "<!-- unstaged edit -->\n")
    status_before = git(hadoop, "status", "--porcelain")
    result = run_hpatch("apply", "--all", "--repo", str(hadoop))
    assert result.code == 0, result.err
    assert git(hadoop, "status", "--porcelain") == status_before
    assert notes.read_text() == "untracked notes\n"
    # the staged edit stayed staged, and out of hpatch's commits
    assert "staged edit" in git(hadoop, "diff", "--cached")
    assert git(hadoop, "show", "--stat", "--format=", "HEAD").count("|") == 1


def test_detached_head_is_refused(hadoop: Path) -> None:
    git(hadoop, "checkout", "-q", "--detach")
    before = snapshot(hadoop)
    result = run_hpatch("apply", "--all", "--repo", str(hadoop))
    assert_refused(result.code, result.error_lines, 1, "HEAD is detached")
    assert snapshot(hadoop) == before


def test_unknown_fix_id(hadoop: Path) -> None:
    before = snapshot(hadoop)
    result = run_hpatch("apply", "HDFS-0000", "--repo", str(hadoop))
    assert_refused(result.code, result.error_lines, 2, "unknown fix: HDFS-0000")
    assert snapshot(hadoop) == before


def _replace_variant(catalog: Path, text: str) -> None:
    (catalog / "HDFS-9812" / "variants" / "2.3.patch").write_text(text)


@pytest.mark.parametrize("mangle,message", [
    (lambda t: "this is not a diff at all\n", "not a diff"),
    (lambda t: t[: t.rindex("+        }")], "truncated"),
    (lambda t: t.replace(" a/hadoop-hdfs-project", " a/../hadoop-hdfs-project")
               .replace(" b/hadoop-hdfs-project", " b/../hadoop-hdfs-project"),
     "escapes the repository"),
    (lambda t: t.replace("--- a/hadoop-hdfs-project", "--- /hadoop-hdfs-project")
               .replace("+++ b/hadoop-hdfs-project", "+++ /hadoop-hdfs-project"),
     "absolute path"),
])
def test_bad_variants_are_refused(hadoop: Path, catalog_copy: Path, mangle, message) -> None:  # type: ignore[no-untyped-def]
    variant = catalog_copy / "HDFS-9812" / "variants" / "2.3.patch"
    _replace_variant(catalog_copy, mangle(variant.read_text()))
    env = {"HPATCH_CATALOG": str(catalog_copy)}
    before = snapshot(hadoop)
    result = run_hpatch("apply", "HDFS-9812", "--repo", str(hadoop), env=env)
    assert result.code == 1  # catalog damage, like a broken fix.toml: not 4 ("conflict")
    assert len(result.error_lines) == 1 and message in result.error_lines[0], result.err
    assert snapshot(hadoop) == before
    lint = run_hpatch("lint", env=env)
    assert lint.code == 1 and message in lint.out


def test_variant_through_a_symlinked_directory_is_refused(hadoop: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(hadoop / "hadoop-hdfs-project", outside)
    shutil.rmtree(hadoop / "hadoop-hdfs-project")
    (hadoop / "hadoop-hdfs-project").symlink_to(outside)
    git(hadoop, "add", "-A")
    git(hadoop, "commit", "-qm", "hdfs lives elsewhere")
    before = snapshot(hadoop)
    outside_before = (outside / HDFS_9812_FILE.split("/", 1)[1]).read_text()
    result = run_hpatch("apply", "HDFS-9812", "--repo", str(hadoop))
    assert result.code != 0
    assert len(result.error_lines) == 1 and "symlink" in result.error_lines[0], result.err
    assert snapshot(hadoop) == before
    assert (outside / HDFS_9812_FILE.split("/", 1)[1]).read_text() == outside_before


def test_merge_in_progress_is_refused(hadoop: Path) -> None:
    (hadoop / ".git" / "MERGE_HEAD").write_text(git(hadoop, "rev-parse", "HEAD") + "\n")
    before = snapshot(hadoop)
    result = run_hpatch("apply", "--all", "--repo", str(hadoop))
    assert_refused(result.code, result.error_lines, 1, "in the middle of a merge")
    assert snapshot(hadoop) == before


def test_no_fix_named(hadoop: Path) -> None:
    result = run_hpatch("apply", "--repo", str(hadoop))
    assert_refused(result.code, result.error_lines, 2, "name the fixes to apply")
