"""Shared fixtures: real release sources (through mvn), real git repos, the real CLI."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "patches"
RELEASE = "2.4.1"


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
def cached_release() -> str:
    """Make sure 2.4.1's sources are in the cache (fetched through mvn once)."""
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"hpatch-warm-{os.getpid()}"
    result = run_hpatch("source", RELEASE, str(scratch))
    shutil.rmtree(scratch, ignore_errors=True)
    assert result.code == 0, result.err
    return RELEASE


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
