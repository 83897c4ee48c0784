"""Shared fixtures: real release sources (through mvn), real git repos, the real CLI.

Every test gets a cache and a runs directory of its own. The network tier
shares one source cache per session (the user's cached releases hard-linked
in, anything else fetched through mvn once), so it stays fast without ever
writing to the user's cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from hpatch.paths import cache_dir

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "patches"
RELEASE = "2.4.1"
USER_CACHE = cache_dir()  # read before any test points HPATCH_CACHE elsewhere


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln.startswith("hpatch: error:")]


def run_hpatch(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
               timeout: float = 300) -> Result:
    full_env = dict(os.environ)
    full_env.setdefault("HPATCH_CATALOG", str(CATALOG))
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "hpatch", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def snapshot(repo: Path) -> dict[str, str]:
    """Everything a user could lose: HEAD, branch, refs, index, work tree, untracked."""
    digest = hashlib.sha256()
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo)
        if rel.parts[0] == ".git":
            continue
        digest.update(str(rel).encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    index = repo / ".git" / "index"
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "branch": git(repo, "rev-parse", "--abbrev-ref", "HEAD"),
        "refs": git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        "index": hashlib.sha256(index.read_bytes()).hexdigest() if index.exists() else "",
        "status": git(repo, "status", "--porcelain=v1", "--untracked-files=all"),
        "tree": digest.hexdigest(),
    }


@pytest.fixture(scope="session")
def session_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's shared source cache (HPATCH_CACHE/sources of every network test)."""
    sources = tmp_path_factory.mktemp("session-cache") / "sources"
    sources.mkdir()
    for release in sorted((USER_CACHE / "sources").glob("v*/*")):
        if (release / ".git" / "hpatch-complete").is_file():
            target = sources / release.parent.name / release.name
            # Hard links: instant, and hpatch only reads a cached release (git
            # replaces the files it writes rather than writing into them).
            shutil.copytree(release, target, symlinks=True, copy_function=_link_or_copy)
    return sources


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


@pytest.fixture(autouse=True)
def own_cache_and_runs(request: pytest.FixtureRequest, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """HPATCH_CACHE and HPATCH_RUNS of this test's own; network tests share the
    session's release sources."""
    cache = tmp_path / "hpatch-cache"
    cache.mkdir()
    if request.node.get_closest_marker("network") is not None:
        shared: Path = request.getfixturevalue("session_sources")
        (cache / "sources").symlink_to(shared, target_is_directory=True)
    monkeypatch.setenv("HPATCH_CACHE", str(cache))
    monkeypatch.setenv("HPATCH_RUNS", str(tmp_path / "hpatch-runs"))


@pytest.fixture(scope="session")
def cached_release(session_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Make sure 2.4.1's sources are in the session's cache (through mvn at most once)."""
    scratch = tmp_path_factory.mktemp("warm") / "hadoop"
    cache = session_sources.parent
    result = run_hpatch("source", RELEASE, str(scratch), env={"HPATCH_CACHE": str(cache)})
    shutil.rmtree(scratch, ignore_errors=True)
    assert result.code == 0, result.err
    return RELEASE


@pytest.fixture(scope="module")
def docker_ready() -> None:
    """A Docker engine and the verification image (made here if missing): a skip
    without an engine, a failure where Docker is required (HPATCH_REQUIRE_DOCKER=1)."""
    result = run_hpatch("image", timeout=1800)
    if result.code != 0:
        if os.environ.get("HPATCH_REQUIRE_DOCKER") == "1":
            pytest.fail(f"Docker is required here: {result.err.strip()}")
        pytest.skip(f"no Docker engine: {result.err.strip()}")


@pytest.fixture
def hadoop(cached_release: str, tmp_path: Path) -> Path:
    """A fresh checkout of 2.4.1's sources, with a git identity of its own."""
    dest = tmp_path / "hadoop"
    result = run_hpatch("source", cached_release, str(dest))
    assert result.code == 0, result.err
    git(dest, "config", "user.name", "Platform Engineer")
    git(dest, "config", "user.email", "pe@example.com")
    return dest


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled catalog."""
    dest = tmp_path / "catalog"
    shutil.copytree(CATALOG, dest)
    return dest


HDFS_9812_FILE = ("hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/"
                  "DFSOutputStream.java")
YARN_4398_FILE = ("hadoop-yarn-project/hadoop-yarn/hadoop-yarn-server/"
                  "hadoop-yarn-server-resourcemanager/src/main/java/org/apache/hadoop/yarn/"
                  "server/resourcemanager/recovery/RMStateStore.java")


TINY_FILE = "hadoop-common-project/hadoop-common/src/main/java/org/apache/hadoop/Tiny.java"
TINY_BUGGY = """package org.apache.hadoop;

public class Tiny {
  public void close() {
    flush();
  }
}
"""
TINY_FIXED = """package org.apache.hadoop;

public class Tiny {
  public void close() {
    try {
      flush();
    } finally {
      stop();
    }
  }
}
"""
TINY_FIX_TOML = f'''id = "TINY-1"
kind = "bug"
title = "Tiny.close() leaks its thread when flushing fails"
component = "Common"
upstream = ["TINY-1"]
fixed_in = ["2.7.3"]
affected = [">=2.2.0,<2.7.3"]
symptom = "A thread stays after close()."
root_cause = "close() stops nothing when flush() throws."
fix = "stop() in a finally block."

[detect]
paths = ["{TINY_FILE}"]
bug = 'public void close\\(\\) \\{{\\s*flush\\(\\);\\s*\\}}'
fixed = 'finally \\{{\\s*stop\\(\\);'

[reproducer]
class = "org.apache.hadoop.TestTiny"
'''
TINY_VARIANTS = '''# The one variant. This comment is the catalog maintainer's and must survive.
[[variant]]
name = "2.4"
# From upstream's commit, as it was: a reviewer's note inside the block.
releases = [">=2.2.0,<2.7.3"]
patch = "variants/2.4.patch"
made_for = "2.4.1"
'''


@dataclass
class Tiny:
    """A Hadoop checkout in miniature (a one-line pom, one Java file) and a catalog
    with one fix for it: the whole apply/revert machinery, no Maven."""

    repo: Path
    catalog: Path

    def hpatch(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return run_hpatch(*args, env={"HPATCH_CATALOG": str(self.catalog), **(env or {})})


def make_tiny_repo(repo: Path, version: str = RELEASE) -> Path:
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "--initial-branch=hadoop-" + version)
    git(repo, "config", "user.name", "Platform Engineer")
    git(repo, "config", "user.email", "pe@example.com")
    (repo / "pom.xml").write_text(
        f"<project><artifactId>hadoop-main</artifactId><version>{version}</version></project>\n")
    (repo / TINY_FILE).parent.mkdir(parents=True)
    (repo / TINY_FILE).write_text(TINY_BUGGY)
    (repo / "README.txt").write_text("ours\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"Apache Hadoop {version}")
    git(repo, "tag", f"rel/release-{version}")
    return repo


def make_tiny_catalog(catalog: Path, repo: Path) -> Path:
    """The catalog, its variant made by git from the fixed file (a real format-patch)."""
    fix = catalog / "TINY-1"
    (fix / "variants").mkdir(parents=True)
    (fix / "reproducer" / "org" / "apache" / "hadoop").mkdir(parents=True)
    (fix / "reproducer" / "org" / "apache" / "hadoop" / "TestTiny.java").write_text(
        "package org.apache.hadoop;\npublic class TestTiny {}\n")
    (catalog / "catalog.toml").write_text('order = ["TINY-1"]\n')
    (fix / "fix.toml").write_text(TINY_FIX_TOML)
    (fix / "variants.toml").write_text(TINY_VARIANTS)
    scratch = catalog.parent / "variant-scratch"
    subprocess.run(["git", "clone", "-q", str(repo), str(scratch)], check=True)
    (scratch / TINY_FILE).write_text(TINY_FIXED)
    git(scratch, "commit", "-qam", "TINY-1: stop the thread in close()",
        "--author", "Upstream Dev <dev@example.org>")
    (fix / "variants" / "2.4.patch").write_text(
        git(scratch, "format-patch", "-1", "--stdout") + "\n")
    shutil.rmtree(scratch)
    return catalog


@pytest.fixture
def tiny(tmp_path: Path) -> Tiny:
    repo = make_tiny_repo(tmp_path / "hadoop")
    return Tiny(repo, make_tiny_catalog(tmp_path / "catalog", repo))
