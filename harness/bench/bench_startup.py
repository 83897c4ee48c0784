"""How quickly hpatch starts and answers, next to what it is compared with.

    python harness/bench/bench_startup.py --repo /tmp/h330 [--release 2.4.1] [-n 15]

Each pair runs alternately (the order swapped every round), each run a fresh
process, so load on a shared machine hits both sides alike; the ratio is taken
pair by pair and its median reported with the medians of both sides:

- `hpatch --version` against `python3 -c pass` (goal: at most 4x);
- `hpatch status --repo R` against `git status --porcelain` on the same full
  clone (goal: at most 2.5x);
- `hpatch status --release X` from the source cache (goal: under 0.3 s).

hpatch runs from this tree (PYTHONPATH) with its bytecode cached, as an
installed copy would have it. Run it with the interpreter of an hpatch
install (the venv harness/setup.sh installs into, as CI has it): a shared
interpreter's other packages change start-up on both sides (a .pth file
that imports certifi), and on hpatch's alone (wcwidth, which tabulate loads
when it is installed). Exit 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Pair:
    label: str
    ours: list[str]
    theirs: list[str]
    max_ratio: float | None = None
    max_seconds: float | None = None


def wall(argv: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    # cwd: not a source tree, which `python -m` would put ahead of PYTHONPATH
    subprocess.run(argv, check=True, capture_output=True, env=env, cwd=env["PYTHONPYCACHEPREFIX"])
    return time.perf_counter() - start


def measure(pair: Pair, n: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    wall(pair.ours, env), wall(pair.theirs, env)  # warm-up: page cache, bytecode
    ours, theirs = [], []
    for round_ in range(n):
        if round_ % 2:
            theirs.append(wall(pair.theirs, env))
            ours.append(wall(pair.ours, env))
        else:
            ours.append(wall(pair.ours, env))
            theirs.append(wall(pair.theirs, env))
    return ours, theirs


def report(pair: Pair, ours: list[float], theirs: list[float]) -> bool:
    ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    mine = statistics.median(ours)
    met = ((pair.max_ratio is None or ratio <= pair.max_ratio)
           and (pair.max_seconds is None or mine < pair.max_seconds))
    goal = (f"ratio <= {pair.max_ratio}" if pair.max_ratio is not None
            else f"< {pair.max_seconds} s")
    print(f"{pair.label}: hpatch {mine:.3f} s (min {min(ours):.3f}), "
          f"{' '.join(pair.theirs[:3])} {statistics.median(theirs):.3f} s "
          f"(min {min(theirs):.3f}), ratio {ratio:.2f} "
          f"(goal {goal}: {'met' if met else 'MISSED'})")
    return met


def pairs(repo: str, release: str) -> list[Pair]:
    hpatch = [sys.executable, "-m", "hpatch"]
    python = [sys.executable, "-c", "pass"]
    return [
        Pair("hpatch --version", [*hpatch, "--version"], python, max_ratio=4.0),
        Pair(f"hpatch status --repo {repo}", [*hpatch, "status", "--repo", repo],
             ["git", "-C", repo, "status", "--porcelain"], max_ratio=2.5),
        Pair(f"hpatch status --release {release}", [*hpatch, "status", "--release", release],
             python, max_seconds=0.3),
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True, help="a full clone of Hadoop at a release tag")
    parser.add_argument("--release", default="2.4.1", help="a release in the source cache")
    parser.add_argument("-n", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hpatch-bench-pyc-") as pyc:
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=pyc)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        print(f"{args.n} alternating rounds per pair on {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.2f}")
        met = [report(pair, *measure(pair, args.n, env)) for pair in pairs(args.repo,
                                                                            args.release)]
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
