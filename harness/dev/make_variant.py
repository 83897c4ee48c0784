"""Maintainer's helper: turn an edit of a release checkout into a catalog variant.

    python harness/dev/make_variant.py REPO FIX_ID "subject" OUT.patch [CONTEXT]

CONTEXT (default 3) is the diff's context lines: fewer lets one variant cover
releases whose code differs a few lines away from the change.

Commits the work tree's changes on a throwaway branch with the hpatch
maintainers' identity, writes `git format-patch` output to OUT.patch, and
leaves the checkout as it was (branch, index, work tree).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def git(repo: Path, *args: str, raw: bool = False) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], check=True,
                         capture_output=True, text=True).stdout
    return out if raw else out.strip()


def main() -> None:
    repo, fix_id, subject, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    env_args = ["-c", "user.name=hpatch maintainers", "-c", "user.email=hpatch@localhost",
                "-c", "commit.gpgsign=false"]
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "add", "-A")
    tree = git(repo, "write-tree")
    commit = subprocess.run(
        ["git", "-C", str(repo), *env_args, "commit-tree", tree, "-p", head, "-m",
         f"{fix_id}: {subject}"],
        check=True, capture_output=True, text=True,
        env={"GIT_AUTHOR_DATE": "2026-11-21T00:00:00Z", "GIT_COMMITTER_DATE":
             "2026-11-21T00:00:00Z", "PATH": "/usr/bin:/bin"}).stdout.strip()
    context = sys.argv[5] if len(sys.argv) > 5 else "3"
    # Written as git prints it: a whitespace-only last context line must survive.
    patch = git(repo, "format-patch", f"-U{context}", "-1", "--stdout", "--no-signature",
                commit, raw=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(patch, encoding="utf-8")
    git(repo, "reset", "-q", "--hard", head)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
