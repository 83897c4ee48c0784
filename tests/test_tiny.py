"""apply / revert / recover and their safety, offline: real git repositories made
here (a one-line pom, one Java file) and a one-fix catalog, through the real CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import TINY_FILE, TINY_FIXED, Tiny, git, make_tiny_repo, run_hpatch, snapshot

from hpatch.checkout import Checkout


def state(tiny: Tiny) -> dict[str, Any]:
    result = tiny.hpatch("status", "--repo", str(tiny.repo), "--json")
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def fix_state(tiny: Tiny) -> str:
    [fix] = state(tiny)["fixes"]
    return str(fix["state"])


def refused(result_code: int, err_lines: list[str], code: int, text: str) -> None:
    assert result_code == code, err_lines
    assert len(err_lines) == 1 and text in err_lines[0], err_lines


def test_apply_and_revert_are_commits_that_carry_their_trailers(tiny: Tiny) -> None:
    assert fix_state(tiny) == "applicable"
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert fix_state(tiny) == "applied"
    assert (tiny.repo / TINY_FILE).read_text() == TINY_FIXED
    [commit] = Checkout.open(tiny.repo).hpatch_commits()
    assert (commit.fix_id, commit.variant_name, commit.release) == ("TINY-1", "2.4", "2.4.1")
    assert len(commit.variant_sha) == 12
    assert git(tiny.repo, "log", "-1", "--format=%an") == "Upstream Dev"
    assert tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo)).code == 0  # a no-op
    assert git(tiny.repo, "rev-list", "--count", "HEAD") == "2"
    result = tiny.hpatch("revert", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert fix_state(tiny) == "applicable"
    assert git(tiny.repo, "rev-list", "--count", "HEAD") == "3"  # history is never rewritten
    assert git(tiny.repo, "status", "--porcelain") == ""


def test_dry_run_changes_nothing(tiny: Tiny) -> None:
    before = snapshot(tiny.repo)
    result = tiny.hpatch("apply", "--all", "--dry-run", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert "TINY-1" in result.out
    assert snapshot(tiny.repo) == before


def test_commits_before_the_release_tag_are_not_the_branchs(tmp_path: Path) -> None:
    # A trailer inside the release's own history is not an hpatch commit of this branch.
    repo = tmp_path / "hadoop"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "pom.xml").write_text(
        "<project><artifactId>hadoop-main</artifactId><version>2.4.1</version></project>\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "upstream\n\nHpatch-Fix: OLD-1")
    git(repo, "tag", "rel/release-2.4.1")
    git(repo, "commit", "-q", "--allow-empty", "-m", "ours\n\nHpatch-Fix: NEW-1")
    assert [c.fix_id for c in Checkout.open(repo).hpatch_commits()] == ["NEW-1"]
    git(repo, "tag", "-d", "rel/release-2.4.1")  # without the tag, the whole history
    assert [c.fix_id for c in Checkout.open(repo).hpatch_commits()] == ["OLD-1", "NEW-1"]


def test_a_checkout_is_found_from_a_subdirectory(tiny: Tiny) -> None:
    checkout = Checkout.open(tiny.repo / "hadoop-common-project")
    assert checkout.root == tiny.repo and checkout.git_dir == tiny.repo / ".git"


def test_uncommitted_change_in_a_touched_file_is_refused(tiny: Tiny) -> None:
    (tiny.repo / TINY_FILE).write_text((tiny.repo / TINY_FILE).read_text() + "// mine\n")
    before = snapshot(tiny.repo)
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo))
    refused(result.code, result.error_lines, 1, "uncommitted changes")
    assert snapshot(tiny.repo) == before


def test_changes_elsewhere_are_kept_untouched(tiny: Tiny) -> None:
    (tiny.repo / "README.txt").write_text("ours, staged edit\n")
    git(tiny.repo, "add", "README.txt")
    (tiny.repo / "notes.txt").write_text("untracked\n")
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert "staged edit" in git(tiny.repo, "diff", "--cached")
    assert (tiny.repo / "notes.txt").read_text() == "untracked\n"
    assert git(tiny.repo, "show", "--name-only", "--format=", "HEAD") == TINY_FILE


def test_detached_head_is_refused(tiny: Tiny) -> None:
    git(tiny.repo, "checkout", "-q", "--detach")
    before = snapshot(tiny.repo)
    result = tiny.hpatch("apply", "--all", "--repo", str(tiny.repo))
    refused(result.code, result.error_lines, 1, "HEAD is detached")
    assert snapshot(tiny.repo) == before


def test_merge_in_progress_is_refused(tiny: Tiny) -> None:
    git(tiny.repo, "checkout", "-q", "-b", "other")
    (tiny.repo / "README.txt").write_text("theirs\n")
    git(tiny.repo, "commit", "-qam", "theirs")
    git(tiny.repo, "checkout", "-q", "hadoop-2.4.1")
    (tiny.repo / "README.txt").write_text("mine\n")
    git(tiny.repo, "commit", "-qam", "mine")
    merge = subprocess.run(["git", "-C", str(tiny.repo), "merge", "-q", "other"],
                           capture_output=True, check=False)
    assert merge.returncode != 0  # a real conflict, MERGE_HEAD left by git itself
    before = snapshot(tiny.repo)
    result = tiny.hpatch("apply", "--all", "--repo", str(tiny.repo))
    refused(result.code, result.error_lines, 1, "in the middle of a merge")
    assert snapshot(tiny.repo) == before


def _lock(repo: Path, pid: int, command: str) -> Path:
    lock_dir = repo / ".git" / "hpatch"
    lock_dir.mkdir(exist_ok=True)
    (lock_dir / "lock").write_text(json.dumps({
        "pid": pid, "host": socket.gethostname(), "command": command, "since": time.time(),
        "start": ""}))
    return lock_dir / "lock"


def test_second_run_is_locked_out_and_names_the_holder(tiny: Tiny) -> None:
    holder = subprocess.Popen(["sleep", "60"])
    try:
        _lock(tiny.repo, holder.pid, "hpatch apply --all")
        before = snapshot(tiny.repo)
        result = tiny.hpatch("apply", "--all", "--repo", str(tiny.repo))
        refused(result.code, result.error_lines, 75, f"pid {holder.pid}")
        assert "hpatch apply --all" in result.err
        assert snapshot(tiny.repo) == before
    finally:
        holder.kill()
        holder.wait()


def test_stale_lock_of_a_dead_process_is_taken_over(tiny: Tiny) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = _lock(tiny.repo, dead.pid, "hpatch apply")
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert "took over a stale lock" in result.err
    assert not lock.exists()


@pytest.mark.parametrize("point,finished", [("after-journal", False), ("after-ref", True)])
def test_kill_9_mid_apply_leaves_a_journal_recover_finishes(tiny: Tiny, point: str,
                                                             finished: bool) -> None:
    head = git(tiny.repo, "rev-parse", "HEAD")
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo),
                         env={"HPATCH_FAULT": point})
    assert result.code == -9  # SIGKILL
    assert state(tiny)["interrupted"] == "apply TINY-1"
    assert "hpatch recover" in tiny.hpatch("status", "--repo", str(tiny.repo)).err
    result = tiny.hpatch("recover", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert ("finished an interrupted apply" if finished else "nothing to undo") in result.err
    assert state(tiny)["interrupted"] is None
    assert fix_state(tiny) == ("applied" if finished else "applicable")
    assert git(tiny.repo, "status", "--porcelain") == ""
    assert (git(tiny.repo, "rev-parse", "HEAD") != head) == finished
    assert not (tiny.repo / ".git" / "hpatch" / "lock").exists()


def test_unreadable_journal_is_reported_and_ignored(tiny: Tiny) -> None:
    (tiny.repo / ".git" / "hpatch").mkdir()
    (tiny.repo / ".git" / "hpatch" / "journal.json").write_text("{not json")
    result = tiny.hpatch("status", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert "hpatch: ignoring an unreadable journal" in result.err


def test_not_a_git_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "pom.xml").write_text("<project/>")
    for verb in (("status",), ("apply", "--all")):
        result = run_hpatch(*verb, "--repo", str(plain))
        refused(result.code, result.error_lines, 1, "not a git repository")
    assert [p.name for p in plain.iterdir()] == ["pom.xml"]


def test_missing_directory(tmp_path: Path) -> None:
    result = run_hpatch("status", "--repo", str(tmp_path / "nowhere"))
    refused(result.code, result.error_lines, 1, "no such directory")


def test_bare_repository_is_refused(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "bare.git")], check=True)
    result = run_hpatch("status", "--repo", str(tmp_path / "bare.git"))
    refused(result.code, result.error_lines, 1, "is a bare repository")


def test_not_a_hadoop_checkout(tmp_path: Path) -> None:
    repo = tmp_path / "other"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "pom.xml").write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><artifactId>spark</artifactId>'
        "<version>3.0.0</version></project>")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "x")
    before = snapshot(repo)
    result = run_hpatch("apply", "--all", "--repo", str(repo))
    refused(result.code, result.error_lines, 1, "not a Hadoop checkout")
    assert snapshot(repo) == before


def test_release_cannot_be_recognised(tmp_path: Path) -> None:
    repo = make_tiny_repo(tmp_path / "hadoop", version="trunk")
    before = snapshot(repo)
    result = run_hpatch("apply", "--all", "--repo", str(repo))
    refused(result.code, result.error_lines, 1, "cannot recognise the Hadoop release")
    assert snapshot(repo) == before
