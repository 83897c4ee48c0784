"""Time `hpatch verify` on a fork against the published-jar fast path, side by side.

    python harness/bench/bench_fork.py --fork DIR --release 2.6.0 \\
        [--fixes HDFS-9812,YARN-4398] [-n 3] [--cold] [--full FIX]

warm: the fork's builds, the published-source indexes and the classpath are
cached; each round runs `verify FIXES --repo FORK` and then `verify FIXES
--release RELEASE` (published jars), and the ratio is taken pair by pair, so a
drift in the machine's speed cancels out.
--cold: first one run of the fork with an empty hpatch cache (a new
HPATCH_CACHE: no builds, no indexes), the Maven volume kept as it is.
--full FIX: one `verify FIX --builder full` (stock and patched each built
whole) against one fast verify of the same fix on the same fork, in one run.
Verdicts are printed with the times, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def verify(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, str]]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "hpatch", "verify", *args, "--json"],
                          env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        sys.exit(f"verify {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    results = json.loads(proc.stdout)["results"]
    return wall, {r["fix"]: r["verdict"] for r in results}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fork", required=True)
    parser.add_argument("--release", required=True)
    parser.add_argument("--fixes", default="")
    parser.add_argument("-n", type=int, default=3)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--full", default="")
    opts = parser.parse_args()
    fixes = [f for f in opts.fixes.split(",") if f]
    env = dict(os.environ, HPATCH_RUNS=tempfile.mkdtemp(prefix="hpatch-bench-runs-"))
    fork = [*fixes, "--repo", opts.fork]
    published = [*fixes, "--release", opts.release]
    if opts.cold:
        cold_env = dict(env, HPATCH_CACHE=tempfile.mkdtemp(prefix="hpatch-bench-cache-"))
        wall, verdicts = verify(fork, cold_env)
        print(f"cold fork verify: {wall:.1f} s {verdicts}")
    if opts.full:
        wall_full, v_full = verify([opts.full, "--repo", opts.fork, "--builder", "full"], env)
        wall_fast, v_fast = verify([opts.full, "--repo", opts.fork], env)
        print(f"--builder full {wall_full:.1f} s {v_full}; fast {wall_fast:.1f} s {v_fast}; "
              f"full/fast = {wall_full / wall_fast:.1f}x")
    verify(fork, env)  # warm-up: fills what is missing
    verify(published, env)
    ratios, forks, pubs = [], [], []
    for _ in range(opts.n):
        a, va = verify(fork, env)
        b, vb = verify(published, env)
        forks.append(a)
        pubs.append(b)
        ratios.append(a / b)
        print(f"fork {a:.1f} s {va} | published {b:.1f} s {vb} | ratio {a / b:.2f}")
        time.sleep(1)
    print(f"warm, median of {opts.n}: fork {statistics.median(forks):.1f} s, published "
          f"{statistics.median(pubs):.1f} s, fork/published {statistics.median(ratios):.2f}x "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
