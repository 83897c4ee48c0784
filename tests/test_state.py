"""A fix's state is read from the code, not from an old commit's trailer; revert takes
out exactly a fix's own change. Offline: tiny real git repositories, the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    TINY_BUGGY,
    TINY_FILE,
    TINY_FIX_TOML,
    TINY_FIXED,
    TINY_VARIANTS,
    Tiny,
    git,
    make_tiny_catalog,
    make_tiny_repo,
    snapshot,
)

from hpatch.checkout import Checkout, trailer_groups

OTHER_FILE = TINY_FILE.replace("Tiny.java", "Other.java")
OTHER_BUGGY = TINY_BUGGY.replace("Tiny", "Other")
OTHER_FIXED = TINY_FIXED.replace("Tiny", "Other")


def states(tiny: Tiny) -> dict[str, str]:
    result = tiny.hpatch("status", "--repo", str(tiny.repo), "--json")
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return {f["fix"]: f["state"] for f in data["fixes"]}


def noted(tiny: Tiny) -> list[str]:
    result = tiny.hpatch("notes", "--repo", str(tiny.repo), "--format", "json")
    assert result.code == 0, result.err
    return [f["id"] for f in json.loads(result.out)["fixes"]]


def hpatch_ok(tiny: Tiny, *args: str) -> str:
    result = tiny.hpatch(*args, "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    return result.out


@pytest.fixture
def two(tmp_path: Path) -> Tiny:
    """The tiny checkout with a second buggy file, and a catalog with a second fix
    (TINY-2) for it, its variant made by git like the first."""
    repo = make_tiny_repo(tmp_path / "hadoop")
    (repo / OTHER_FILE).write_text(OTHER_BUGGY)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--amend", "--no-edit")
    git(repo, "tag", "-f", "rel/release-2.4.1")
    catalog = make_tiny_catalog(tmp_path / "catalog", repo)
    fix = catalog / "TINY-2"
    shutil.copytree(catalog / "TINY-1", fix)
    (fix / "fix.toml").write_text(TINY_FIX_TOML.replace("TINY-1", "TINY-2")
                                  .replace(TINY_FILE, OTHER_FILE)
                                  .replace("org.apache.hadoop.TestTiny",
                                           "org.apache.hadoop.TestOther"))
    (fix / "reproducer" / "org" / "apache" / "hadoop" / "TestTiny.java").rename(
        fix / "reproducer" / "org" / "apache" / "hadoop" / "TestOther.java")
    (fix / "reproducer" / "org" / "apache" / "hadoop" / "TestOther.java").write_text(
        "package org.apache.hadoop;\npublic class TestOther {}\n")
    (fix / "variants.toml").write_text(TINY_VARIANTS)
    scratch = tmp_path / "scratch"
    git(tmp_path, "clone", "-q", str(repo), str(scratch))
    (scratch / OTHER_FILE).write_text(OTHER_FIXED)
    git(scratch, "commit", "-qam", "TINY-2: stop the other thread in close()")
    (fix / "variants" / "2.4.patch").write_text(
        git(scratch, "format-patch", "-1", "--stdout") + "\n")
    (catalog / "catalog.toml").write_text('order = ["TINY-1", "TINY-2"]\n')
    return Tiny(repo, catalog)


def squash_last(repo: Path, count: int) -> None:
    """What a "squash and merge" makes: one commit whose message joins all of theirs."""
    messages = git(repo, "log", f"-{count}", "--reverse", "--format=* %B")
    git(repo, "reset", "-q", "--soft", f"HEAD~{count}")
    git(repo, "commit", "-q", "-m", f"Backports (#12)\n\n{messages}")


# -- item 1: a hand revert -------------------------------------------------------


def test_a_git_revert_makes_the_fix_applicable_again(tiny: Tiny) -> None:
    hpatch_ok(tiny, "apply", "TINY-1")
    git(tiny.repo, "revert", "--no-edit", "HEAD")
    assert (tiny.repo / TINY_FILE).read_text() == TINY_BUGGY
    result = tiny.hpatch("status", "--repo", str(tiny.repo), "--json")
    [fix] = json.loads(result.out)["fixes"]
    assert fix["state"] == "applicable", fix
    assert "no longer in the code" in fix["detail"]
    assert noted(tiny) == []
    out = hpatch_ok(tiny, "revert", "TINY-1")  # nothing to take out: not an error
    assert "nothing to revert" in out
    assert git(tiny.repo, "rev-list", "--count", "HEAD") == "3"
    hpatch_ok(tiny, "apply", "TINY-1")  # applies again, as a new commit
    assert (tiny.repo / TINY_FILE).read_text() == TINY_FIXED
    assert git(tiny.repo, "rev-list", "--count", "HEAD") == "4"
    assert states(tiny) == {"TINY-1": "applied"}
    assert noted(tiny) == ["TINY-1"]


def test_a_later_commit_that_takes_the_lines_out_is_a_revert_too(tiny: Tiny) -> None:
    hpatch_ok(tiny, "apply", "TINY-1")
    (tiny.repo / TINY_FILE).write_text(TINY_BUGGY.replace("flush();", "flush(); // v2"))
    git(tiny.repo, "commit", "-qam", "a teammate's rewrite of close()")
    result = tiny.hpatch("revert", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert "nothing to revert" in result.out
    assert states(tiny)["TINY-1"] != "applied"
    assert noted(tiny) == []


def test_a_fix_whose_lines_were_changed_since_is_refused_in_one_line(tiny: Tiny) -> None:
    hpatch_ok(tiny, "apply", "TINY-1")
    (tiny.repo / TINY_FILE).write_text(TINY_FIXED.replace("stop();", "stop(); // later"))
    git(tiny.repo, "commit", "-qam", "a later change inside the fix's lines")
    before = snapshot(tiny.repo)
    result = tiny.hpatch("revert", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 4, result.err
    assert len(result.error_lines) == 1 and "cannot be reverted cleanly" in result.err
    assert snapshot(tiny.repo) == before


def test_a_git_revert_of_hpatchs_revert_brings_the_fix_back(tiny: Tiny) -> None:
    hpatch_ok(tiny, "apply", "TINY-1")
    hpatch_ok(tiny, "revert", "TINY-1")
    result = tiny.hpatch("status", "--repo", str(tiny.repo), "--json")
    [fix] = json.loads(result.out)["fixes"]
    assert (fix["state"], fix["detail"]) == ("applicable", "variant 2.4")  # no remark
    hpatch_ok(tiny, "revert", "TINY-1")  # again: nothing to take out, no commit
    assert git(tiny.repo, "rev-list", "--count", "HEAD") == "3"
    git(tiny.repo, "revert", "--no-edit", "HEAD")  # a teammate undoes the revert
    assert (tiny.repo / TINY_FILE).read_text() == TINY_FIXED
    assert states(tiny) == {"TINY-1": "applied"}
    assert noted(tiny) == ["TINY-1"]
    assert "nothing to do" in hpatch_ok(tiny, "apply", "TINY-1")
    hpatch_ok(tiny, "revert", "TINY-1")
    assert (tiny.repo / TINY_FILE).read_text() == TINY_BUGGY
    assert states(tiny) == {"TINY-1": "applicable"}


def test_a_builds_manifest_leaves_out_a_fix_reverted_by_hand(tiny: Tiny, tmp_path: Path) -> None:
    from hpatch.catalog import load
    from hpatch.commands.build import _manifest
    from hpatch.releases import Release

    def manifest_fixes() -> list[object]:
        checkout = Checkout.open(tiny.repo)
        data = _manifest(checkout, load(tiny.catalog), Release.parse("2.4.1"),
                         checkout.head(), "image", [], 0, 1.0, [], [], 0, tmp_path / "runs")
        fixes = data["fixes"]
        assert isinstance(fixes, list)
        return [f["id"] for f in fixes]

    hpatch_ok(tiny, "apply", "TINY-1")
    assert manifest_fixes() == ["TINY-1"]
    git(tiny.repo, "revert", "--no-edit", "HEAD")
    assert manifest_fixes() == []


# -- item 2: a squashed commit, an amended commit ----------------------------------


def test_every_trailer_of_a_squashed_message_is_read() -> None:
    body = ("Backports\n\n* TINY-1: a\n\nHpatch-Fix: TINY-1\nHpatch-Variant: 2.4 sha256:aaa\n"
            "Hpatch-Release: 2.4.1\n\n* TINY-2: b\n\n  Hpatch-Fix: TINY-2\n"
            "  Hpatch-Variant: 2.5 sha256:bbb\n")
    assert trailer_groups(body) == [
        {"Hpatch-Fix": "TINY-1", "Hpatch-Variant": "2.4 sha256:aaa", "Hpatch-Release": "2.4.1"},
        {"Hpatch-Fix": "TINY-2", "Hpatch-Variant": "2.5 sha256:bbb"}]


def test_a_squashed_commit_carries_both_fixes(two: Tiny) -> None:
    hpatch_ok(two, "apply", "TINY-1", "TINY-2")
    squash_last(two.repo, 2)
    assert git(two.repo, "rev-list", "--count", "HEAD") == "2"
    commits = Checkout.open(two.repo).hpatch_commits()
    assert [(c.fix_id, c.carries) for c in commits] == [
        ("TINY-1", ("TINY-1", "TINY-2")), ("TINY-2", ("TINY-1", "TINY-2"))]
    assert states(two) == {"TINY-1": "applied", "TINY-2": "applied"}
    assert noted(two) == ["TINY-1", "TINY-2"]


def test_revert_of_one_fix_of_a_squashed_commit_leaves_the_other(two: Tiny) -> None:
    hpatch_ok(two, "apply", "TINY-1", "TINY-2")
    squash_last(two.repo, 2)
    out = hpatch_ok(two, "revert", "TINY-1")
    assert "reverted" in out
    assert (two.repo / TINY_FILE).read_text() == TINY_BUGGY
    assert (two.repo / OTHER_FILE).read_text() == OTHER_FIXED
    assert git(two.repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD") == TINY_FILE
    assert "TINY-2" in git(two.repo, "log", "-1", "--format=%B")  # says what it left
    assert git(two.repo, "status", "--porcelain") == ""
    assert states(two) == {"TINY-1": "applicable", "TINY-2": "applied"}
    assert noted(two) == ["TINY-2"]
    hpatch_ok(two, "revert", "TINY-2")
    assert (two.repo / OTHER_FILE).read_text() == OTHER_BUGGY
    assert states(two) == {"TINY-1": "applicable", "TINY-2": "applicable"}


def test_revert_leaves_a_file_the_user_amended_into_the_fix_commit(tiny: Tiny) -> None:
    hpatch_ok(tiny, "apply", "TINY-1")
    (tiny.repo / "README.txt").write_text("ours, and a note amended into the fix's commit\n")
    git(tiny.repo, "commit", "-q", "-a", "--amend", "--no-edit")
    assert states(tiny) == {"TINY-1": "applied"}
    hpatch_ok(tiny, "revert", "TINY-1")
    assert (tiny.repo / TINY_FILE).read_text() == TINY_BUGGY
    assert (tiny.repo / "README.txt").read_text().startswith("ours, and a note")
    assert git(tiny.repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD") == TINY_FILE
    assert "change to README.txt" in git(tiny.repo, "log", "-1", "--format=%B")
    assert states(tiny) == {"TINY-1": "applicable"}


def test_a_plain_hpatch_commit_is_still_reverted_with_gits_words(tiny: Tiny) -> None:
    hpatch_ok(tiny, "apply", "TINY-1")
    applied = git(tiny.repo, "rev-parse", "HEAD")
    hpatch_ok(tiny, "revert", "TINY-1")
    assert f"This reverts commit {applied}." in git(tiny.repo, "log", "-1", "--format=%B")


def test_verify_takes_off_only_the_fix_it_verifies_from_a_squashed_commit(two: Tiny) -> None:
    from hpatch.assess import applied_commits, assess
    from hpatch.builders.checkout import stock_tree
    from hpatch.builders.overlay import _sides
    from hpatch.catalog import load
    from hpatch.releases import Release

    hpatch_ok(two, "apply", "TINY-1", "TINY-2")
    squash_last(two.repo, 2)
    checkout = Checkout.open(two.repo)
    fix = load(two.catalog).get("TINY-1")
    result = assess(checkout, fix, Release.parse("2.4.1"),
                    applied_commits(checkout.hpatch_commits()))
    stock = checkout.tree_entries(stock_tree(checkout, result))
    head = checkout.tree_entries(checkout.tree_of("HEAD"))
    assert checkout.blob_bytes(stock[TINY_FILE][1]).decode() == TINY_BUGGY
    assert stock[OTHER_FILE] == head[OTHER_FILE]  # TINY-2 stays in TINY-1's stock
    before, after = _sides(checkout, result)
    assert (before, after) == ({TINY_FILE: TINY_BUGGY}, {TINY_FILE: TINY_FIXED})


def test_verify_keeps_a_file_amended_into_the_fix_commit_in_stock(tiny: Tiny) -> None:
    from hpatch.assess import applied_commits, assess
    from hpatch.builders.checkout import stock_tree
    from hpatch.catalog import load
    from hpatch.releases import Release

    hpatch_ok(tiny, "apply", "TINY-1")
    (tiny.repo / "README.txt").write_text("ours, amended\n")
    git(tiny.repo, "commit", "-q", "-a", "--amend", "--no-edit")
    checkout = Checkout.open(tiny.repo)
    result = assess(checkout, load(tiny.catalog).get("TINY-1"), Release.parse("2.4.1"),
                    applied_commits(checkout.hpatch_commits()))
    stock = checkout.tree_entries(stock_tree(checkout, result))
    assert checkout.blob_bytes(stock["README.txt"][1]) == b"ours, amended\n"
    assert checkout.blob_bytes(stock[TINY_FILE][1]).decode() == TINY_BUGGY


def test_a_squashed_commit_whose_variant_changed_is_refused_in_one_line(two: Tiny) -> None:
    hpatch_ok(two, "apply", "TINY-1", "TINY-2")
    squash_last(two.repo, 2)
    patch = two.catalog / "TINY-1" / "variants" / "2.4.patch"
    patch.write_text(patch.read_text().replace("stop the thread", "stop its thread"))
    assert states(two) == {"TINY-1": "applied", "TINY-2": "applied"}
    before = snapshot(two.repo)
    result = two.hpatch("revert", "TINY-1", "--repo", str(two.repo))
    assert result.code == 4, result.err
    assert len(result.error_lines) == 1, result.err
    assert "cannot be reverted exactly" in result.err and "TINY-2" in result.err
    assert snapshot(two.repo) == before


def test_a_changed_variant_still_reverts_a_commit_that_carries_only_it(tiny: Tiny) -> None:
    hpatch_ok(tiny, "apply", "TINY-1")
    patch = tiny.catalog / "TINY-1" / "variants" / "2.4.patch"
    patch.write_text(patch.read_text().replace("stop the thread", "stop its thread"))
    assert states(tiny) == {"TINY-1": "applied"}
    hpatch_ok(tiny, "revert", "TINY-1")
    assert (tiny.repo / TINY_FILE).read_text() == TINY_BUGGY


# -- the same on a real release checkout (2.4.1's sources, through mvn) -------------


def real_states(repo: Path) -> dict[str, str]:
    from conftest import run_hpatch
    result = run_hpatch("status", "--repo", str(repo), "--json")
    assert result.code == 0, result.err
    return {f["fix"]: f["state"] for f in json.loads(result.out)["fixes"]}


def real_notes(repo: Path) -> list[str]:
    from conftest import run_hpatch
    result = run_hpatch("notes", "--repo", str(repo), "--format", "json")
    assert result.code == 0, result.err
    return [f["id"] for f in json.loads(result.out)["fixes"]]


def real_ok(*args: str) -> str:
    from conftest import run_hpatch
    result = run_hpatch(*args)
    assert result.code == 0, result.err
    return result.out


@pytest.mark.network
def test_a_git_revert_on_a_release_checkout(hadoop: Path) -> None:
    from conftest import HDFS_9812_FILE
    stock = (hadoop / HDFS_9812_FILE).read_text()
    real_ok("apply", "HDFS-9812", "--repo", str(hadoop))
    git(hadoop, "revert", "--no-edit", "HEAD")
    assert (hadoop / HDFS_9812_FILE).read_text() == stock
    assert real_states(hadoop)["HDFS-9812"] == "applicable"
    assert "HDFS-9812" not in real_notes(hadoop)
    assert "nothing to revert" in real_ok("revert", "HDFS-9812", "--repo", str(hadoop))
    assert "applied" in real_ok("apply", "HDFS-9812", "--repo", str(hadoop))
    assert real_states(hadoop)["HDFS-9812"] == "applied"
    assert real_notes(hadoop) == ["HDFS-9812"]
    assert git(hadoop, "rev-list", "--count", "HEAD") == "4"


@pytest.mark.network
def test_squashed_and_amended_fixes_on_a_release_checkout(hadoop: Path) -> None:
    from conftest import HDFS_9812_FILE, YARN_4398_FILE
    stock = {p: (hadoop / p).read_text() for p in (HDFS_9812_FILE, YARN_4398_FILE)}
    real_ok("apply", "HDFS-9812", "YARN-4398", "--repo", str(hadoop))
    fixed_yarn = (hadoop / YARN_4398_FILE).read_text()
    squash_last(hadoop, 2)
    (hadoop / "OUR-NOTES.txt").write_text("our build notes, amended into the squash\n")
    git(hadoop, "add", "OUR-NOTES.txt")
    git(hadoop, "commit", "-q", "--amend", "--no-edit")
    assert {f: s for f, s in real_states(hadoop).items() if f in ("HDFS-9812", "YARN-4398")} \
        == {"HDFS-9812": "applied", "YARN-4398": "applied"}
    assert sorted(real_notes(hadoop)) == ["HDFS-9812", "YARN-4398"]
    real_ok("revert", "HDFS-9812", "--repo", str(hadoop))
    assert (hadoop / HDFS_9812_FILE).read_text() == stock[HDFS_9812_FILE]
    assert (hadoop / YARN_4398_FILE).read_text() == fixed_yarn
    assert (hadoop / "OUR-NOTES.txt").read_text().startswith("our build notes")
    assert git(hadoop, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD") == \
        HDFS_9812_FILE
    after = real_states(hadoop)
    assert (after["HDFS-9812"], after["YARN-4398"]) == ("applicable", "applied")
    assert real_notes(hadoop) == ["YARN-4398"]
    assert git(hadoop, "status", "--porcelain") == ""
