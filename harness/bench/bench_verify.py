"""Time `hpatch verify` at a release: one fix cold and warm, the whole set warm.

    python harness/bench/bench_verify.py [--release 2.4.1] [--fix YARN-4398] [-n 3]

cold: an empty hpatch cache and an empty Maven local repository, so the release
sources, the jars and the classpath are fetched through mvn (the container image
is built beforehand, and timed apart as `image`).
warm: everything cached. Peak memory is the verification container's (cgroup
max_usage, from result.json) and hpatch's own process tree (RUSAGE_CHILDREN).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any


def run(argv: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return wall, data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--release", default="2.4.1")
    parser.add_argument("--fix", default="YARN-4398")
    parser.add_argument("-n", type=int, default=3)
    args = parser.parse_args()
    hp = [sys.executable, "-m", "hpatch"]
    base = dict(os.environ)
    start = time.perf_counter()
    subprocess.run([*hp, "image"], check=True, capture_output=True)
    print(f"image (build or reuse): {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory(prefix="hpatch-bench-") as tmp:
        cold_env = dict(base, HPATCH_CACHE=f"{tmp}/cache", HPATCH_RUNS=f"{tmp}/runs",
                        HPATCH_MAVEN_ARGS=f"-Dmaven.repo.local={tmp}/m2")
        wall, data = run([*hp, "verify", args.fix, "--release", args.release, "--json"],
                         cold_env)
        verdicts = [r["verdict"] for r in data.get("results", [])]
        print(f"one fix cold ({args.fix} @ {args.release}): {wall:.1f} s {verdicts}")
        warm_env = dict(base, HPATCH_RUNS=f"{tmp}/runs")
        run([*hp, "verify", args.fix, "--release", args.release, "--json"], warm_env)
        walls, peaks = [], []
        for _ in range(args.n):
            wall, data = run([*hp, "verify", args.fix, "--release", args.release, "--json"],
                             warm_env)
            walls.append(wall)
            peaks += [r.get("peak_mib", 0) for r in data.get("results", [])]
        print(f"one fix warm: median {statistics.median(walls):.1f} s "
              f"(min {min(walls):.1f}, max {max(walls):.1f}, n={args.n})")
        wall, data = run([*hp, "verify", "--release", args.release, "--jobs", "2", "--json"],
                         warm_env)
        results = data.get("results", [])
        summary = {r["fix"]: r["verdict"] for r in results}
        peaks += [r.get("peak_mib", 0) for r in results]
        print(f"whole {args.release} set warm (--jobs 2): {wall:.1f} s {summary}")
    print(f"peak memory: container {max(peaks or [0]):.0f} MiB; hpatch process tree "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
