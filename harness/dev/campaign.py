"""A kill campaign and concurrent runs on a real checkout: does any user change get
lost, any fix half-applied or applied twice, any traceback printed?

    python harness/dev/campaign.py CHECKOUT [--kills 150] [--rounds 30] [--seed 1]

CHECKOUT is a throwaway git checkout of Hadoop (e.g. `hpatch source 2.4.1 DIR`);
its branch is reset between runs. User work is left in it: a staged edit, an
unstaged edit, an untracked file, and a file without a final newline, all in
files no fix touches. Each kill starts `apply`, `revert` or `recover`, sends
SIGKILL, SIGTERM or SIGINT after a random delay (or at a fault point inside the
commit path), then runs `recover` and checks the work and the branch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

FIX = "YARN-4398"
FIXES = ("YARN-4398", "HDFS-9812")
STAGED = "hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/DFSClient.java"
UNSTAGED = ("hadoop-common-project/hadoop-common/src/main/java/org/apache/hadoop/conf/"
            "Configuration.java")
NO_NEWLINE = ("hadoop-common-project/hadoop-common/src/main/java/org/apache/hadoop/fs/"
              "CreateFlag.java")
UNTRACKED = "acme-notes.txt"
FAULTS = ("before-ref", "after-ref", "")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def hpatch(repo: Path, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hpatch", *args, "--repo", str(repo)],
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def work_digest(repo: Path) -> str:
    """The user's work: its files' bytes, and what the index holds for them."""
    digest = hashlib.sha256()
    for path in (STAGED, UNSTAGED, NO_NEWLINE, UNTRACKED):
        digest.update((repo / path).read_bytes())
    digest.update(git(repo, "ls-files", "-s", "--", STAGED, UNSTAGED, NO_NEWLINE).encode())
    return digest.hexdigest()


def leave_work(repo: Path) -> None:
    (repo / STAGED).write_text((repo / STAGED).read_text() + "// staged by the user\n")
    git(repo, "add", STAGED)
    (repo / UNSTAGED).write_text((repo / UNSTAGED).read_text() + "// not staged\n")
    text = (repo / NO_NEWLINE).read_bytes().rstrip(b"\n")
    (repo / NO_NEWLINE).write_bytes(text + b"\n// no final newline")
    (repo / UNTRACKED).write_text("ours\n")


def applied_count(repo: Path) -> int:
    log = git(repo, "log", "--format=%B", "-n", "50")
    return log.count(f"Hpatch-Fix: {FIX}") - log.count(f"Hpatch-Revert: {FIX}")


def consistent(repo: Path) -> str:
    """'' when the branch, index and work tree agree on the fix; else what is wrong."""
    count = applied_count(repo)
    if count not in (0, 1):
        return f"{FIX} applied {count} times"
    status = git(repo, "status", "--porcelain=v1", "--untracked-files=no")
    touched = [ln for ln in status.splitlines() if "RMStateStore.java" in ln]
    return f"the fix's file is not in sync: {touched}" if touched else ""


def kill_once(repo: Path, rng: random.Random, stats: dict[str, int]) -> str:
    verb = rng.choice(("apply", "revert", "recover"))
    fault = rng.choice(FAULTS) if verb != "recover" else ""
    args = [verb] + ([FIX] if verb != "recover" else [])
    child = hpatch(repo, *args, env={"HPATCH_FAULT": fault} if fault else None)
    sig = rng.choice((signal.SIGKILL, signal.SIGTERM, signal.SIGINT))
    time.sleep(rng.uniform(0.0, 0.6))
    if child.poll() is None:
        child.send_signal(sig)
        stats["killed"] += 1
    _, err = child.communicate(timeout=120)
    if "Traceback" in err:
        if "/hpatch/" not in err:
            # the signal came while the interpreter itself was starting (site's .pth
            # files), before any hpatch code ran: counted apart, not hpatch's to catch
            stats["interpreter"] += 1
        else:
            return f"traceback from {verb}: {err[-800:]}"
    done = hpatch(repo, "recover")
    _, err = done.communicate(timeout=120)
    if done.returncode not in (0,) or "Traceback" in err:
        return f"recover after {verb} exited {done.returncode}: {err[-800:]}"
    return consistent(repo)


def concurrent_round(repo: Path) -> str:
    base = git(repo, "rev-parse", "HEAD").strip()
    runs = [hpatch(repo, "apply", *FIXES) for _ in range(2)]
    errs = [r.communicate(timeout=300)[1] for r in runs]
    if any("Traceback" in e for e in errs):
        return "traceback: " + " | ".join(e[-400:] for e in errs)
    log = git(repo, "log", "--format=%B", f"{base}..HEAD")
    counts = {f: log.count(f"Hpatch-Fix: {f}") for f in FIXES}
    if any(c != 1 for c in counts.values()):
        return f"commits per fix {counts}; exits {[r.returncode for r in runs]}: {errs}"
    undo = hpatch(repo, "revert", *FIXES)  # revert commits: the user's work stays
    _, err = undo.communicate(timeout=300)
    return "" if undo.returncode == 0 else f"revert after the round failed: {err[-400:]}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--kills", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    opts = parser.parse_args()
    repo = opts.checkout.resolve()
    rng = random.Random(opts.seed)
    leave_work(repo)
    before = work_digest(repo)
    stats = {"killed": 0, "runs": 0, "interpreter": 0}
    problems: list[str] = []
    start = time.monotonic()
    for n in range(opts.kills):
        stats["runs"] += 1
        problem = kill_once(repo, rng, stats)
        if work_digest(repo) != before:
            problem = (problem + "; " if problem else "") + "the user's work changed"
        if problem:
            problems.append(f"kill {n}: {problem}")
    for n in range(opts.rounds):
        if applied_count(repo):
            hpatch(repo, "revert", FIX).communicate(timeout=120)
        problem = concurrent_round(repo)
        if work_digest(repo) != before:
            problem = (problem + "; " if problem else "") + "the user's work changed"
        if problem:
            problems.append(f"round {n}: {problem}")
    print(f"{stats['runs']} runs, {stats['killed']} of them killed mid-run, {opts.rounds} "
          f"concurrent rounds of two `apply {' '.join(FIXES)}`, "
          f"{time.monotonic() - start:.0f} s: {len(problems)} problem(s); "
          f"{stats['interpreter']} signal(s) landed in the interpreter's own start-up")
    for problem in problems:
        print(" ", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
