"""What hpatch takes from the user's git environment, configuration and index, and
what it must not: real tiny git repositories, through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    HDFS_9812_FILE,
    TINY_BUGGY,
    TINY_FILE,
    TINY_FIXED,
    Tiny,
    git,
    make_tiny_catalog,
    make_tiny_repo,
    run_hpatch,
    snapshot,
)

REAL_GIT = shutil.which("git") or "/usr/bin/git"


def _status(tiny: Tiny, *args: str) -> dict[str, Any]:
    result = tiny.hpatch("status", "--repo", str(tiny.repo), "--json", *args)
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def _fix(tiny: Tiny) -> dict[str, Any]:
    [fix] = _status(tiny)["fixes"]
    return dict(fix)


def _one_line(err: str, text: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.startswith("hpatch: error:")]
    assert len(lines) == 1 and text in lines[0], err
    assert "Traceback" not in err, err


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


# -- 3: git's environment must not lead hpatch to another repository ---------------


def _other_repo(tmp_path: Path) -> Path:
    other = make_tiny_repo(tmp_path / "other")
    return other


@pytest.mark.parametrize("names", [
    ("GIT_DIR", "GIT_WORK_TREE"),
    ("GIT_DIR",),
    ("GIT_INDEX_FILE",),
    ("GIT_OBJECT_DIRECTORY",),
    ("GIT_COMMON_DIR",),
    ("GIT_ALTERNATE_OBJECT_DIRECTORIES",),
    ("GIT_NAMESPACE",),
    ("GIT_CEILING_DIRECTORIES",),
])
def test_git_environment_does_not_redirect_apply(tiny: Tiny, tmp_path: Path,
                                                 names: tuple[str, ...]) -> None:
    other = _other_repo(tmp_path)
    values = {
        "GIT_DIR": str(other / ".git"), "GIT_WORK_TREE": str(other),
        "GIT_INDEX_FILE": str(other / ".git" / "index"),
        "GIT_OBJECT_DIRECTORY": str(other / ".git" / "objects"),
        "GIT_COMMON_DIR": str(other / ".git"),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(other / ".git" / "objects"),
        "GIT_NAMESPACE": "elsewhere",
        # the checkout itself: git would not look upwards from --repo's subdirectory
        "GIT_CEILING_DIRECTORIES": str(tiny.repo),
    }
    env = {name: values[name] for name in names}
    theirs = snapshot(other)
    where = tiny.repo / "hadoop-common-project" if "GIT_CEILING_DIRECTORIES" in names \
        else tiny.repo
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(where), env=env)
    assert result.code == 0, result.err
    assert snapshot(other) == theirs
    assert (tiny.repo / TINY_FILE).read_text() == TINY_FIXED
    assert git(tiny.repo, "status", "--porcelain") == ""
    git(tiny.repo, "fsck", "--no-dangling")  # every object the branch needs is in its store
    assert git(tiny.repo, "log", "-1", "--format=%(trailers:key=Hpatch-Fix,valueonly)") \
        == "TINY-1"
    result = tiny.hpatch("revert", "TINY-1", "--repo", str(where), env=env)
    assert result.code == 0, result.err
    assert snapshot(other) == theirs
    assert (tiny.repo / TINY_FILE).read_text() == TINY_BUGGY
    result = tiny.hpatch("status", "--repo", str(where), "--json", env=env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["repo"] == str(tiny.repo)


# -- 4: index flags must not hide a user's edit --------------------------------------


@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_hidden_edit_is_not_overwritten(tiny: Tiny, flag: str) -> None:
    git(tiny.repo, "update-index", flag, TINY_FILE)
    (tiny.repo / TINY_FILE).write_text("// mine\n" + TINY_BUGGY)  # the fix still applies
    mine = (tiny.repo / TINY_FILE).read_text()
    assert git(tiny.repo, "status", "--porcelain") == ""  # git itself does not show it
    head = git(tiny.repo, "rev-parse", "HEAD")
    for dry in ((), ("--dry-run",)):
        result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo), *dry)
        assert result.code == 1, result.err
        _one_line(result.err, "uncommitted changes")
        assert TINY_FILE in result.err
    assert (tiny.repo / TINY_FILE).read_text() == mine
    assert git(tiny.repo, "rev-parse", "HEAD") == head


@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_flagged_file_without_edits_is_applied(tiny: Tiny, flag: str) -> None:
    git(tiny.repo, "update-index", flag, TINY_FILE)
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert (tiny.repo / TINY_FILE).read_text() == TINY_FIXED
    assert git(tiny.repo, "status", "--porcelain") == ""


@pytest.mark.network
@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_hidden_edit_survives_on_a_release_checkout(hadoop: Path, flag: str) -> None:
    git(hadoop, "update-index", flag, HDFS_9812_FILE)
    target = hadoop / HDFS_9812_FILE
    target.write_text(target.read_text() + "// a local note\n")
    mine = target.read_text()
    head = git(hadoop, "rev-parse", "HEAD")
    result = run_hpatch("apply", "HDFS-9812", "--repo", str(hadoop))
    assert result.code == 1, result.err
    _one_line(result.err, "uncommitted changes")
    assert target.read_text() == mine
    assert git(hadoop, "rev-parse", "HEAD") == head


# -- 6: the user's diff configuration --------------------------------------------------


def _hostile_config(repo: Path, tmp_path: Path) -> dict[str, str]:
    garbage = tmp_path / "extdiff"
    garbage.write_text("#!/bin/sh\necho 'not a patch'\n")
    garbage.chmod(0o755)
    for key, value in [("diff.noprefix", "true"), ("color.ui", "always"),
                       ("color.diff", "always"), ("diff.mnemonicprefix", "true"),
                       ("diff.renames", "copies"), ("diff.external", str(garbage)),
                       ("diff.context", "0"), ("diff.relative", "true"),
                       ("core.pager", "false"), ("column.ui", "always"),
                       ("log.showSignature", "true"), ("format.numbered", "true"),
                       ("format.attach", "true"), ("format.signature", "signed")]:
        git(repo, "config", key, value)
    return {"GIT_EXTERNAL_DIFF": str(garbage), "GIT_DIFF_OPTS": "-u0", "GIT_PAGER": "false"}


def test_apply_and_revert_ignore_the_users_diff_config(tiny: Tiny, tmp_path: Path) -> None:
    env = _hostile_config(tiny.repo, tmp_path)
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo), env=env)
    assert result.code == 0, result.err
    assert _fix(tiny)["state"] == "applied"
    result = tiny.hpatch("revert", "TINY-1", "--repo", str(tiny.repo), env=env)
    assert result.code == 0, result.err
    assert (tiny.repo / TINY_FILE).read_text() == TINY_BUGGY
    assert git(tiny.repo, "status", "--porcelain") == ""


def test_refresh_ignores_the_users_diff_config(tiny: Tiny, tmp_path: Path) -> None:
    _edit(tiny.repo / TINY_FILE, "public class Tiny {", "public final class Tiny {")
    git(tiny.repo, "commit", "-qam", "a fork's own change next to the bug")
    env = _hostile_config(tiny.repo, tmp_path)
    result = tiny.hpatch("refresh", "TINY-1", "--repo", str(tiny.repo), env=env)
    assert result.code == 0, result.err
    patch = (tiny.catalog / "TINY-1" / "variants" / "2.4.1.patch").read_text()
    assert f"--- a/{TINY_FILE}" in patch and "\x1b[" not in patch
    assert "Content-Type: multipart" not in patch
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo), env=env)
    assert result.code == 0, result.err


# -- 7 and 8: the moment the work tree is written ---------------------------------------


@pytest.fixture
def git_wrapper(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A directory put first on PATH with a `git` that runs a hook before the real git
    runs `update-ref` (after the commit is made, before the work tree is written)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    hook = tmp_path / "hook.sh"
    hook.write_text("")
    (bindir / "git").write_text(
        "#!/bin/sh\n"
        "for arg; do [ \"$arg\" = update-ref ] && . " + str(hook) + " && break; done\n"
        f"exec {REAL_GIT} \"$@\"\n")
    (bindir / "git").chmod(0o755)
    yield hook, {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def test_edit_saved_while_apply_runs_is_kept(tiny: Tiny,
                                             git_wrapper: tuple[Path, dict[str, str]]) -> None:
    hook, env = git_wrapper
    target = tiny.repo / TINY_FILE
    # the user saves the file in the window between hpatch's checks and its write
    once = hook.with_name("saved")
    hook.write_text(f"[ -e '{once}' ] || {{ printf '// saved meanwhile\\n' >> '{target}'; "
                    f"touch '{once}'; }}\n")
    head = git(tiny.repo, "rev-parse", "HEAD")
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo), env=env)
    assert result.code == 1, result.err
    _one_line(result.err, "changed while hpatch ran")
    assert target.read_text() == TINY_BUGGY + "// saved meanwhile\n"
    assert git(tiny.repo, "rev-parse", "HEAD") == head
    assert git(tiny.repo, "diff", "--cached", "--name-only") == ""
    assert not (tiny.repo / ".git" / "hpatch" / "journal.json").exists()
    result = tiny.hpatch("recover", "--repo", str(tiny.repo))
    assert result.code == 0 and "consistent" in result.out, result.err


def _unwritable(path: Path) -> None:
    """Make path impossible to replace, for root too (an immutable file) or else by
    taking away the write permission of its directory."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot make a file immutable here: {done.stderr!r}")
    else:
        path.parent.chmod(0o555)


def _writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=False)
    else:
        path.parent.chmod(0o755)


def test_failed_sync_leaves_nothing_staged(tiny: Tiny,
                                          git_wrapper: tuple[Path, dict[str, str]]) -> None:
    hook, env = git_wrapper
    target = tiny.repo / TINY_FILE
    head = git(tiny.repo, "rev-parse", "HEAD")
    before = snapshot(tiny.repo)
    staged = git(tiny.repo, "ls-files", "-s")
    mode = "chattr +i" if os.geteuid() == 0 else "chmod 555"
    where = target if os.geteuid() == 0 else target.parent
    hook.write_text(f"{mode} '{where}'\n")
    try:
        result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo), env=env)
    finally:
        _writable(target)
    if result.code == 0 and os.geteuid() == 0 and "Operation not permitted" not in result.err:
        pytest.skip("this filesystem does not keep immutable files")
    assert result.code == 1, result.err
    assert git(tiny.repo, "rev-parse", "HEAD") == head
    assert git(tiny.repo, "status", "--porcelain") == ""  # nothing staged, nothing changed
    _one_line(result.err, TINY_FILE)
    assert "nothing was committed" in result.err
    after = snapshot(tiny.repo)
    # the index file is written again (its stat data), its entries are as before
    assert {**after, "index": ""} == {**before, "index": ""}
    assert git(tiny.repo, "ls-files", "-s") == staged
    result = tiny.hpatch("recover", "--repo", str(tiny.repo))
    assert result.code == 0 and "consistent" in result.out, result.err
    assert tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo)).code == 0


def test_recover_unstages_what_a_failed_sync_staged(tiny: Tiny) -> None:
    """A run killed after a failed sync left index entries of a commit that is no
    longer on the branch: recover puts the old ones back."""
    from hpatch.checkout import Checkout
    from hpatch.guard import Journal
    checkout = Checkout.open(tiny.repo)
    old = checkout.head()
    (tiny.repo / TINY_FILE).write_text(TINY_FIXED)
    git(tiny.repo, "commit", "-qam", "the fix")
    new = checkout.head()
    git(tiny.repo, "reset", "-q", "--soft", old)  # branch back, the index still has new's
    (tiny.repo / TINY_FILE).write_text(TINY_BUGGY)
    assert git(tiny.repo, "diff", "--cached", "--name-only") == TINY_FILE
    (tiny.repo / ".git" / "hpatch").mkdir()
    Journal("apply", "TINY-1", "hadoop-2.4.1", old, new, [TINY_FILE]).write(
        tiny.repo / ".git" / "hpatch")
    result = tiny.hpatch("recover", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert "undid" in result.err and TINY_FILE in result.err
    assert git(tiny.repo, "status", "--porcelain") == ""


# -- 14: an unborn branch -----------------------------------------------------------------


def test_orphan_branch_status_json_matches_text(tiny: Tiny) -> None:
    git(tiny.repo, "checkout", "-q", "--orphan", "fresh")
    text = tiny.hpatch("status", "--repo", str(tiny.repo))
    assert text.code == 0, text.err
    data = json.loads(tiny.hpatch("status", "--repo", str(tiny.repo), "--json").out)
    assert data["head"] is None and data["branch"] == "fresh"
    assert [f["state"] for f in data["fixes"]] == ["applicable"]


def test_empty_repository_is_one_line_in_both_modes(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "pom.xml").write_text(
        "<project><artifactId>hadoop-main</artifactId><version>2.4.1</version></project>\n")
    catalog = make_tiny_catalog(tmp_path / "catalog", make_tiny_repo(tmp_path / "model"))
    env = {"HPATCH_CATALOG": str(catalog)}
    text = run_hpatch("status", "--repo", str(repo), env=env)
    as_json = run_hpatch("status", "--repo", str(repo), "--json", env=env)
    assert (text.code, as_json.code) == (0, 0), (text.err, as_json.err)
    assert json.loads(as_json.out)["head"] is None


# -- 15: a sparse checkout ----------------------------------------------------------------


def test_files_outside_a_sparse_checkout_are_not_deletions(tiny: Tiny) -> None:
    git(tiny.repo, "sparse-checkout", "set", "--no-cone", "/pom.xml", "/README.txt")
    assert not (tiny.repo / TINY_FILE).exists()
    result = tiny.hpatch("status", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    assert "deleted" not in result.out
    fix = _fix(tiny)
    assert fix["state"] != "blocked" and "sparse" in fix["detail"], fix
    before = snapshot(tiny.repo)
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 1, result.err
    _one_line(result.err, "sparse")
    assert snapshot(tiny.repo) == before


# -- 17: an apply that is running ---------------------------------------------------------


def test_status_names_a_running_apply(tiny: Tiny, tmp_path: Path,
                                      git_wrapper: tuple[Path, dict[str, str]]) -> None:
    hook, env = git_wrapper
    started, release = tmp_path / "started", tmp_path / "release"
    # the apply waits (up to 30 s) in the middle of its change until status has looked
    hook.write_text(f"touch '{started}'; i=0; while [ ! -e '{release}' ] && [ $i -lt 300 ]; "
                    "do sleep 0.1; i=$((i+1)); done\n")
    full_env = dict(os.environ, HPATCH_CATALOG=str(tiny.catalog), **env)
    child = subprocess.Popen([sys.executable, "-m", "hpatch", "apply", "TINY-1", "--repo",
                              str(tiny.repo)], env=full_env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
        text = tiny.hpatch("status", "--repo", str(tiny.repo))
        data = _status(tiny)
    finally:
        release.touch()
        assert child.wait(timeout=60) == 0
    assert text.code == 0, text.err
    assert "interrupted" not in text.err and "recover" not in text.err, text.err
    assert "in progress" in text.err and f"pid {child.pid}" in text.err, text.err
    assert data["interrupted"] is None
    assert data["running"]["pid"] == child.pid
    assert "apply TINY-1" in data["running"]["command"]
    assert _fix(tiny)["state"] == "applied"


# -- 18: a touched file replaced by a symlink -----------------------------------------------


def test_symlink_in_place_of_a_touched_file_is_blocked(tiny: Tiny, tmp_path: Path) -> None:
    elsewhere = tmp_path / "Tiny.java"
    elsewhere.write_text(TINY_BUGGY)
    target = tiny.repo / TINY_FILE
    target.unlink()
    target.symlink_to(elsewhere)
    assert _fix(tiny)["state"] == "blocked"
    result = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 1, result.err
    assert elsewhere.read_text() == TINY_BUGGY and target.is_symlink()


# -- 19: --repo with --release ----------------------------------------------------------------


@pytest.mark.parametrize("verb", ["status", "verify"])
def test_repo_and_release_together_are_refused(tiny: Tiny, verb: str) -> None:
    result = tiny.hpatch(verb, *(["TINY-1"] if verb == "verify" else []),
                         "--repo", str(tiny.repo), "--release", "2.4.1")
    assert result.code == 2, result.err
    _one_line(result.err, "--repo or --release, not both")



def test_readme_names_every_variable_hpatch_ignores() -> None:
    from hpatch.checkout import GIT_CONFIG, SCRUBBED_ENV
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    safety = readme.split("#### What hpatch takes from your git configuration", 1)[1]
    assert [name for name in SCRUBBED_ENV if f"`{name}`" not in safety] == []
    assert [key for key in GIT_CONFIG
            if not key.startswith(("format.", "i18n.")) and key.split(".")[1] not in safety] == []


def _objects(repo: Path) -> list[str]:
    root = repo / ".git" / "objects"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_read_only_repository_gets_no_objects(tmp_path: Path) -> None:
    """What `import --upstream` does to a source repository (a 3-way apply on a private
    index, write-tree, commit-tree, reading what it made) writes no object, ref or file
    into it: all of it goes to a scratch store that is gone afterwards."""
    from hpatch import checkout as git_ops
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "--initial-branch=main")
    lines = [f"line {n}\n" for n in range(30)]
    (repo / "f.txt").write_text("".join(lines))
    git(repo, "add", "f.txt")
    git(repo, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "fix")
    (repo / "f.txt").write_text("".join([*lines[:5], "fixed 5\n", *lines[6:]]))
    git(repo, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "-am", "fix")
    git(repo, "checkout", "-q", "main")
    (repo / "f.txt").write_text("".join([*lines[:7], "moved 7\n", *lines[8:]]))
    git(repo, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "-am", "release")
    before = (_objects(repo), git(repo, "for-each-ref"), sorted(
        str(p) for p in (repo / ".git").iterdir()))
    source = git_ops.Checkout.open_repository(repo)
    with git_ops.read_only(source) as reading:
        diff = git_ops.commit_diff_paths(reading, "fix", ["f.txt"])
        applied = git_ops.apply_to_tree(reading, reading.tree_of("main"), diff)
        assert applied.method == "3way" and applied.tree
        made = reading.commit_tree(applied.tree, parent="main", message="carried\n",
                                   author=git_ops.Author("u", "u@x"))
        assert "fixed 5" in reading.format_patch(made)
        assert reading.read_blob(made, "f.txt") == "".join(
            [*lines[:5], "fixed 5\n", lines[6], "moved 7\n", *lines[8:]])
        assert _objects(repo) == before[0]  # already while it runs
    assert (_objects(repo), git(repo, "for-each-ref"), sorted(
        str(p) for p in (repo / ".git").iterdir())) == before
    assert source.rev(made) is None  # gone with the scratch store


def test_refresh_writes_no_object_into_the_checkout(tiny: Tiny) -> None:
    """refresh's commit only yields the new variant's text: none of its blobs, trees or
    commit lands in the user's repository, nor a temporary file in its git directory."""
    _edit(tiny.repo / TINY_FILE, "public class Tiny {", "public final class Tiny {")
    git(tiny.repo, "commit", "-qam", "a fork's own change next to the bug")
    before = (_objects(tiny.repo), sorted(str(p) for p in (tiny.repo / ".git").iterdir()))
    result = tiny.hpatch("refresh", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    patch = (tiny.catalog / "TINY-1" / "variants" / "2.4.1.patch").read_text()
    assert "public final class Tiny" in patch
    after = (_objects(tiny.repo), sorted(str(p) for p in (tiny.repo / ".git").iterdir()
                                         if p.name != "hpatch"))
    assert after == (before[0], [p for p in before[1] if not p.endswith("/hpatch")])
