"""Time the verified matrix over releases: cold (no reusable cell, a fresh
hpatch cache: release sources and classpaths rebuilt from the local Maven
repository), then warm (nothing changed: every verified cell reused).

    python harness/bench/bench_matrix.py --releases 2.2.0,...,2.8.5 \\
        --checkout 2.8.5=/path/to/hadoop-2.8.5 [--runs runs] [--jobs 2]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", required=True)
    parser.add_argument("--checkout", action="append", default=[])
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--jobs", default="2")
    parser.add_argument("--cache", default=None, help="hpatch cache (default: a new one)")
    args = parser.parse_args()
    cache = args.cache or tempfile.mkdtemp(prefix="hpatch-bench-cache-")
    env = dict(os.environ, HPATCH_CACHE=cache, HPATCH_RUNS=os.path.abspath(args.runs))
    argv = [sys.executable, "-m", "hpatch", "matrix", "--releases", args.releases, "--verify",
            "--jobs", args.jobs, "--json"]
    for item in args.checkout:
        argv += ["--checkout", item]
    for label in ("cold", "warm"):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        cells = json.loads(proc.stdout) if proc.stdout.strip() else []
        shown = collections.Counter(c["verdict"] or c["state"] for c in cells)
        reused = sum(c["reused"] for c in cells)
        print(f"{label}: {wall:.1f} s, exit {proc.returncode}, {len(cells)} cells "
              f"({dict(shown)}), {reused} reused")
        if label == "cold":
            with open(os.path.join(args.runs, "matrix-cold.json"), "w") as handle:
                json.dump(cells, handle, indent=1)
            for cell in cells:
                if cell["verdict"] not in ("", "verified", "inconclusive"):
                    print(f"  {cell['fix']} @ {cell['release']}: {cell['verdict']}: "
                          f"{cell['reason']}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"hpatch process tree peak RSS: {peak:.0f} MiB (containers not included)")


if __name__ == "__main__":
    main()
