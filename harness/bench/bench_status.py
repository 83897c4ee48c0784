"""Time `hpatch status` on a checkout: whole-process wall time and peak memory.

    python harness/bench/bench_status.py /path/to/hadoop [-n 7]

Runs one warm-up, then N measured runs, each a fresh process (as a user runs
it), and prints min / median / max wall seconds and the peak resident set.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo")
    parser.add_argument("-n", type=int, default=7)
    args = parser.parse_args()
    argv = [sys.executable, "-m", "hpatch", "status", "--repo", args.repo]
    subprocess.run(argv, check=True, capture_output=True)
    walls = []
    for _ in range(args.n):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    commits = subprocess.run(["git", "-C", args.repo, "rev-list", "--count", "HEAD"],
                             check=True, capture_output=True, text=True).stdout.strip()
    files = subprocess.run(["git", "-C", args.repo, "ls-files"], check=True,
                           capture_output=True, text=True).stdout.count("\n")
    print(f"hpatch status on {os.path.abspath(args.repo)} ({commits} commits, {files} files), "
          f"{args.n} runs on {os.cpu_count()} cores")
    print(f"wall s: min {min(walls):.3f}  median {statistics.median(walls):.3f}  "
          f"max {max(walls):.3f}")
    print(f"peak RSS: {peak_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
