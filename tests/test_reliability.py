"""A busy index, git's lock files, exact bytes, leftovers of killed runs, refusals of
the whole set, and lock takeovers that race: a change is finished or not made."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import HDFS_9812_FILE, YARN_4398_FILE, git, run_hpatch, snapshot

from hpatch.errors import LockedError
from hpatch.guard import Journal, repo_lock

BUSY_ROUNDS = 5
TAKEOVER_ROUNDS = 100
TAKERS = 4


def _state(repo: Path) -> dict[str, object]:
    result = run_hpatch("status", "--repo", str(repo), "--json")
    assert result.code == 0, result.err
    data: dict[str, object] = json.loads(result.out)
    return data


def _states(repo: Path) -> dict[str, str]:
    fixes: list[dict[str, str]] = _state(repo)["fixes"]  # type: ignore[assignment]
    return {f["fix"]: f["state"] for f in fixes}


class StatusLoop:
    """`git status` again and again beside hpatch, as an IDE or a shell prompt does."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.stop = threading.Event()
        self.runs = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            subprocess.run(["git", "-C", str(self.repo), "status"], capture_output=True,
                           check=False)
            self.runs += 1

    def __enter__(self) -> StatusLoop:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@pytest.mark.network
def test_busy_index_never_breaks_apply_or_revert(hadoop: Path) -> None:
    with StatusLoop(hadoop) as loop:
        for _ in range(BUSY_ROUNDS):
            for verb in ("apply", "revert"):
                result = run_hpatch(verb, "YARN-4398", "--repo", str(hadoop))
                assert result.code == 0, result.err
    assert loop.runs > BUSY_ROUNDS
    assert git(hadoop, "status", "--porcelain", "--", YARN_4398_FILE) == ""
    assert _state(hadoop)["interrupted"] is None
    assert git(hadoop, "rev-list", "--count", "HEAD") == str(1 + 2 * BUSY_ROUNDS)


@pytest.mark.network
def test_recovery_keeps_a_file_without_final_newline(hadoop: Path) -> None:
    path = hadoop / YARN_4398_FILE
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    git(hadoop, "commit", "-qam", "no newline at the end, like 170 files of 2.4.1")
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop),
                        env={"HPATCH_FAULT": "after-ref"})
    assert result.code == -9
    result = run_hpatch("recover", "--repo", str(hadoop))
    assert result.code == 0, result.err
    assert "finished an interrupted apply" in result.err
    assert "left your edits" not in result.err
    assert git(hadoop, "status", "--porcelain") == ""
    assert "public void storeNewApplication(" in path.read_text()


def _small_repo(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@t")
    (root / "README").write_text("hello\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "first")
    return root


@pytest.mark.parametrize("old,new", [
    (b"one\r\ntwo\r\n", b"one\r\nTWO\r\n"),
    (b"one\r\ntwo", b"one\r\nTWO"),
    (b"one\ntwo", b"one\nTWO"),
])
def test_recovery_compares_exact_bytes(tmp_path: Path, old: bytes, new: bytes) -> None:
    """A kill after the branch moved: the work tree still holds the old bytes exactly."""
    repo = _small_repo(tmp_path / "repo")
    (repo / "data.txt").write_bytes(old)
    git(repo, "add", "data.txt")
    git(repo, "commit", "-qm", "old")
    before = git(repo, "rev-parse", "HEAD")
    (repo / "data.txt").write_bytes(new)
    git(repo, "commit", "-qam", "new")
    after = git(repo, "rev-parse", "HEAD")
    git(repo, "reset", "-q", "--hard", before)
    git(repo, "update-ref", "refs/heads/main", after, before)
    (repo / ".git" / "hpatch").mkdir()
    Journal("apply", "X-1", "main", before, after, ["data.txt"]).write(repo / ".git" / "hpatch")
    result = run_hpatch("recover", "--repo", str(repo))
    assert result.code == 0, result.err
    assert "finished an interrupted apply" in result.err
    assert "left your edits" not in result.err
    assert (repo / "data.txt").read_bytes() == new
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.network
@pytest.mark.parametrize("how", ["env", "option"])
def test_relative_catalog_from_another_directory(hadoop: Path, catalog_copy: Path,
                                                how: str) -> None:
    cwd = catalog_copy.parent
    args = ["status", "--repo", str(hadoop), "--json"]
    if how == "option":
        args = ["--catalog", catalog_copy.name, *args]
    result = run_hpatch(*args, cwd=cwd, env={"HPATCH_CATALOG": catalog_copy.name})
    assert result.code == 0, result.err
    states = {f["fix"]: f["state"] for f in json.loads(result.out)["fixes"]}
    assert states["YARN-4398"] == "applicable"
    assert "conflict" not in states.values()


# A lock that nobody releases: the error comes after this wait, not after the default 10 s.
SHORT_LOCK_WAIT = {"HPATCH_GIT_LOCK_WAIT": "1"}


def _lock_path(repo: Path, which: str) -> Path:
    return {"index": repo / ".git" / "index.lock", "HEAD": repo / ".git" / "HEAD.lock",
            "branch": repo / ".git" / "refs" / "heads" / "hadoop-2.4.1.lock"}[which]


@pytest.mark.network
@pytest.mark.parametrize("which", ["index", "HEAD", "branch"])
def test_leftover_git_lock_is_named_and_nothing_changes(hadoop: Path, which: str) -> None:
    lock = _lock_path(hadoop, which)
    lock.write_text("")
    before = snapshot(hadoop)
    status = run_hpatch("status", "--repo", str(hadoop), env=SHORT_LOCK_WAIT)
    assert status.code == 0 and str(lock) in status.err and "remove" in status.err
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop), env=SHORT_LOCK_WAIT)
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1
    assert str(lock) in result.error_lines[0] and "remove" in result.error_lines[0]
    assert snapshot(hadoop) == before
    assert _state(hadoop)["interrupted"] is None
    recover = run_hpatch("recover", "--repo", str(hadoop), env=SHORT_LOCK_WAIT)
    assert recover.code == 1 and str(lock) in recover.err
    lock.unlink()
    assert run_hpatch("apply", "YARN-4398", "--repo", str(hadoop), env=SHORT_LOCK_WAIT).code == 0


@pytest.mark.network
def test_revert_blocked_by_a_lock_is_not_called_a_conflict(hadoop: Path) -> None:
    assert run_hpatch("apply", "YARN-4398", "--repo", str(hadoop), env=SHORT_LOCK_WAIT).code == 0
    lock = hadoop / ".git" / "index.lock"
    lock.write_text("")
    result = run_hpatch("revert", "YARN-4398", "--repo", str(hadoop), env=SHORT_LOCK_WAIT)
    assert result.code == 1, result.err
    assert str(lock) in result.error_lines[0]
    assert "cannot be reverted cleanly" not in result.err


@pytest.mark.network
def test_refused_branch_update_leaves_no_journal(hadoop: Path) -> None:
    hook = hadoop / ".git" / "hooks" / "reference-transaction"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text('#!/bin/sh\n[ "$1" = prepared ] && { echo "policy: no" >&2; exit 1; }\n'
                    "exit 0\n")
    hook.chmod(0o755)
    before = snapshot(hadoop)
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop))
    assert result.code == 1, result.err
    assert snapshot(hadoop) == before
    assert _state(hadoop)["interrupted"] is None
    hook.unlink()
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop))
    assert result.code == 0, result.err
    assert "interrupted" not in result.err


@pytest.mark.network
@pytest.mark.parametrize("how", ["deleted", "git-rm", "directory"])
def test_deleted_file_is_an_uncommitted_change(hadoop: Path, how: str) -> None:
    path = hadoop / YARN_4398_FILE
    if how == "git-rm":
        git(hadoop, "rm", "-q", YARN_4398_FILE)
    else:
        path.unlink()
        if how == "directory":
            path.mkdir()
            (path / "keep").write_text("x")
    before = snapshot(hadoop)
    assert _states(hadoop)["YARN-4398"] == "blocked"
    result = run_hpatch("status", "--repo", str(hadoop))
    assert "RMStateStore.java deleted or replaced" in result.out
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop))
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1 and "RMStateStore.java" in result.error_lines[0]
    assert "uncommitted" in result.error_lines[0]
    assert snapshot(hadoop) == before


@pytest.mark.network
@pytest.mark.parametrize("dry_run", [False, True])
def test_apply_all_checks_the_whole_set_first(hadoop: Path, dry_run: bool) -> None:
    path = hadoop / YARN_4398_FILE  # YARN-4398 comes late in the catalog's order
    path.write_text(path.read_text() + "\n// my work in progress\n")
    before = snapshot(hadoop)
    args = ["apply", "--all", "--repo", str(hadoop)] + (["--dry-run"] if dry_run else [])
    result = run_hpatch(*args)
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1
    assert "YARN-4398 touches files with uncommitted changes" in result.error_lines[0]
    assert "nothing was committed" in result.error_lines[0]
    assert snapshot(hadoop) == before


@pytest.mark.network
def test_temporary_files_of_killed_runs_are_cleaned(hadoop: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    live = subprocess.Popen(["sleep", "60"])
    try:
        gitdir = hadoop / ".git"
        (gitdir / "hpatch").mkdir()
        leftovers = [gitdir / f"hpatch-index-{dead.pid}-abc123", gitdir / "hpatch-msg-k2j3h4",
                     gitdir / f"hpatch-blob-{dead.pid}-zz", gitdir / "hpatch-index-q1w2.lock",
                     gitdir / "hpatch" / "tmpab12cd.patch"]
        owned = gitdir / f"hpatch-blob-{live.pid}-xy"
        for path in [*leftovers, owned]:
            path.write_text("left over")
        result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop))
        assert result.code == 0, result.err
        assert [p for p in leftovers if p.exists()] == []
        assert owned.exists()
        assert sorted(p.name for p in gitdir.glob("hpatch-*")) == [owned.name]
    finally:
        live.kill()
        live.wait()


# -- the lock's stale takeover: one winner, however many race for it --------------------

def _taker(state: str, start: multiprocessing.synchronize.Barrier,
           done: multiprocessing.synchronize.Barrier, inside: str,
           results: multiprocessing.queues.Queue[str]) -> None:
    """One racer, kept for every round (a process per round spent most of the time)."""
    for _ in range(TAKEOVER_ROUNDS):
        start.wait()
        try:
            with repo_lock(Path(state), "taker"):
                try:
                    fd = os.open(inside, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    results.put("overlap")
                else:
                    os.close(fd)
                    time.sleep(0.02)
                    os.unlink(inside)
                    results.put("held")
        except LockedError:
            results.put("locked")
        done.wait()


def test_concurrent_stale_takeovers_let_one_through(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    dead = subprocess.Popen(["true"])
    dead.wait()
    state = tmp_path / "hpatch"
    state.mkdir()
    start, done = context.Barrier(TAKERS + 1), context.Barrier(TAKERS + 1)
    results: multiprocessing.queues.Queue[str] = context.Queue()
    takers = [context.Process(target=_taker, args=(str(state), start, done,
                                                   str(tmp_path / "inside"), results))
              for _ in range(TAKERS)]
    for proc in takers:
        proc.start()
    overlaps = 0
    try:
        for _ in range(TAKEOVER_ROUNDS):
            # Every round, the lock of a dead holder, which all takers judge stale at once.
            (state / "lock").write_text(json.dumps({
                "pid": dead.pid, "host": socket.gethostname(), "command": "hpatch apply",
                "since": time.time(), "start": ""}))
            start.wait(30)
            done.wait(30)
            outcome = [results.get(timeout=5) for _ in takers]
            overlaps += outcome.count("overlap")
            assert "held" in outcome
            assert not (state / "lock").exists()
    finally:
        for proc in takers:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    assert overlaps == 0


# -- user-caused conditions: one line, exit 1 -------------------------------------------

def test_checkout_owned_by_another_user(tmp_path: Path) -> None:
    repo = _small_repo(tmp_path / "repo")
    result = run_hpatch("status", "--repo", str(repo),
                        env={"GIT_TEST_ASSUME_DIFFERENT_OWNER": "1"})
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1 and "owned by another user" in result.error_lines[0]
    assert "safe.directory" in result.error_lines[0]


def test_state_directory_that_is_a_file(tmp_path: Path) -> None:
    repo = _small_repo(tmp_path / "repo")
    (repo / ".git" / "hpatch").write_text("not a directory")
    result = run_hpatch("recover", "--repo", str(repo))
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1 and "is not a directory" in result.error_lines[0]


def test_fix_toml_that_is_not_utf8(catalog_copy: Path) -> None:
    toml = catalog_copy / "YARN-4398" / "fix.toml"
    toml.write_bytes(toml.read_bytes().replace(b"Size of", b"Size \xff of", 1))
    result = run_hpatch("list", env={"HPATCH_CATALOG": str(catalog_copy)})
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1 and "not UTF-8" in result.error_lines[0]


def test_source_onto_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("mine")
    result = run_hpatch("source", "2.4.1", str(target))
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1 and "not a directory" in result.error_lines[0]
    assert target.read_text() == "mine"


@pytest.mark.network
def test_notes_into_a_missing_folder(hadoop: Path, tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "notes.md"
    result = run_hpatch("notes", "--repo", str(hadoop), "--output", str(out))
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1 and str(out) in result.error_lines[0]


def test_ctrl_c_early_is_one_line(tmp_path: Path) -> None:
    """SIGINT while Python is still importing hpatch (and just after)."""
    log = tmp_path / "big.log"
    log.write_text("2015-11-25 00:00:00,000 INFO healthy line\n" * 2_500_000)
    work = [str(log)] * 8  # diagnose reads it in under a second: eight times is seconds
    env = dict(os.environ, HPATCH_CATALOG=str(Path(__file__).parent.parent / "patches"))
    # The interpreter's own start-up (site's .pth files), before any hpatch code runs,
    # is Python's to interrupt, and it takes longer on a loaded machine: the delays
    # count from its end, and a run the signal hit before hpatch started is tried again.
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    python_itself = time.monotonic() - start
    in_hpatch = 0
    for extra in (0.06, 0.1, 0.15, 0.2, 0.25, 0.3):
        for _ in range(3):
            proc = subprocess.Popen([sys.executable, "-m", "hpatch", "diagnose", *work],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            time.sleep(python_itself + extra)
            assert proc.poll() is None, "diagnose ended before the signal: give it more work"
            proc.send_signal(2)
            _, err = proc.communicate(timeout=60)
            if "Traceback" in err and "/hpatch/" not in err:
                continue  # interrupted inside the interpreter's start-up, not hpatch's code
            in_hpatch += 1
            # 130, or death by SIGINT itself, which a shell reports as 130 too
            assert proc.returncode in (130, -2), (extra, err)
            assert "Traceback" not in err, (extra, err)
            assert err.strip().splitlines() == ["hpatch: error: interrupted"], (extra, err)
            break
    assert in_hpatch >= 3  # most signals did land in hpatch's own code


# -- misleading answers -----------------------------------------------------------------

def test_rebase_in_progress_is_not_called_a_detached_head(tmp_path: Path) -> None:
    repo = _small_repo(tmp_path / "repo")
    (repo / "README").write_text("second\n")
    git(repo, "commit", "-qam", "second")
    env = dict(os.environ, GIT_SEQUENCE_EDITOR="sed -i 1s/^pick/edit/", GIT_EDITOR="true")
    subprocess.run(["git", "-C", str(repo), "rebase", "-q", "-i", "HEAD~1"], env=env,
                   check=True, capture_output=True)
    result = run_hpatch("apply", "--all", "--repo", str(repo))
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1 and "a rebase" in result.error_lines[0]
    assert "detached" not in result.error_lines[0]


def test_empty_catalog_is_an_error(tmp_path: Path) -> None:
    repo = _small_repo(tmp_path / "repo")
    empty = tmp_path / "catalog"
    empty.mkdir()
    result = run_hpatch("apply", "--all", "--repo", str(repo),
                        env={"HPATCH_CATALOG": str(empty)})
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1 and "holds no fixes" in result.error_lines[0]


def test_repo_pointing_at_a_file_is_refused(tmp_path: Path) -> None:
    repo = _small_repo(tmp_path / "repo")
    result = run_hpatch("status", "--repo", str(repo / "README"))
    assert result.code == 1, result.err
    assert len(result.error_lines) == 1 and "not a directory" in result.error_lines[0]


def test_lock_of_another_host_says_how_to_clear_it(tmp_path: Path) -> None:
    repo = _small_repo(tmp_path / "repo")
    state = repo / ".git" / "hpatch"
    state.mkdir()
    (state / "lock").write_text(json.dumps({
        "pid": 4242, "host": "elsewhere.example", "command": "hpatch apply --all",
        "since": time.time(), "start": ""}))
    result = run_hpatch("apply", "--all", "--repo", str(repo))
    assert result.code == 75, result.err
    assert len(result.error_lines) == 1
    assert "elsewhere.example" in result.error_lines[0]
    assert f"remove {state / 'lock'}" in result.error_lines[0]


@pytest.mark.network
def test_damaged_variant_is_a_catalog_error(hadoop: Path, catalog_copy: Path) -> None:
    (catalog_copy / "HDFS-9812" / "variants" / "2.3.patch").write_text("not a diff at all\n")
    env = {"HPATCH_CATALOG": str(catalog_copy)}
    before = snapshot(hadoop)
    result = run_hpatch("apply", "HDFS-9812", "--repo", str(hadoop), env=env)
    assert result.code == 1, result.err  # like a broken fix.toml, not 4 ("conflict")
    assert len(result.error_lines) == 1 and "not a diff" in result.error_lines[0]
    assert snapshot(hadoop) == before
    assert HDFS_9812_FILE
