"""Time one upstream fix, `hpatch import` plus `hpatch verify --repo`, cold and warm,
with the split of each verify into its phases (from its progress lines, stamped as
they arrive).

    python harness/bench/bench_import.py --upstream DIR --repo DIR --fix HDFS-9033 \
        [--release 2.7.1] [-n 2] [--no-cold]

cold: an empty hpatch cache and an empty Maven local repository (the release's jars,
the module's test classpath, Surefire and its providers are all fetched through mvn);
the container images are built beforehand and timed apart. warm: everything cached,
the fix imported again (--force) and verified again.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# A phase starts at the first progress line holding its marker.
PHASES = (("classpath and builds", ""), ("surefire set-up", "Surefire (its effective pom"),
          ("compile", "compiling "), ("stock run", "running stock"),
          ("patched run", "running patched"), ("grading", ": done"))


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, list[tuple[float, str]], str]:
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    lines: list[tuple[float, str]] = []
    assert child.stderr is not None and child.stdout is not None
    for line in child.stderr:
        lines.append((time.perf_counter() - start, line.rstrip("\n")))
    out = child.stdout.read()
    code = child.wait()
    if code not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed ({code}): " + "\n".join(t for _, t in lines[-20:]))
    return time.perf_counter() - start, lines, out


def split(wall: float, lines: list[tuple[float, str]]) -> dict[str, float]:
    marks: list[tuple[str, float]] = []
    for name, marker in PHASES:
        at = 0.0 if not marker else next((t for t, text in lines if marker in text), -1.0)
        if at >= 0:
            marks.append((name, at))
    found = {}
    for (name, at), (_, end) in zip(marks, [*marks[1:], ("end", wall)], strict=True):
        found[name] = round(end - at, 1)
    return found


def one(hp: list[str], args: argparse.Namespace, env: dict[str, str], team: Path,
        label: str) -> None:
    wall_import, _, _ = timed([*hp, "import", args.fix, "--upstream", args.upstream,
                               "--releases", args.release, "--with-prerequisites", "--force",
                               "--catalog", str(team)], env)
    wall, lines, out = timed([*hp, "--catalog", str(team), "verify", args.fix, "--repo",
                              args.repo, "--json"], env)
    cell = json.loads(out)["results"][0]
    print(f"{label}: import {wall_import:.1f} s, verify {wall:.1f} s, total "
          f"{wall_import + wall:.1f} s: {cell['verdict']} ({cell.get('runner', '')}), "
          f"peak {cell.get('peak_mib', 0)} MiB")
    print("  verify split: " + ", ".join(f"{k} {v} s" for k, v in split(wall, lines).items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--fix", default="HDFS-9033")
    parser.add_argument("--release", default="2.7.1")
    parser.add_argument("-n", type=int, default=2)
    parser.add_argument("--no-cold", action="store_true")
    args = parser.parse_args()
    hp = [sys.executable, "-m", "hpatch"]
    start = time.perf_counter()
    subprocess.run([*hp, "image"], check=True, capture_output=True)
    print(f"image (build or reuse): {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory(prefix="hpatch-bench-") as tmp:
        team = Path(tmp) / "team"
        team.mkdir()
        (team / "catalog.toml").write_text("order = []\n")
        runs = dict(os.environ, HPATCH_RUNS=f"{tmp}/runs")
        if not args.no_cold:
            cold = dict(runs, HPATCH_CACHE=f"{tmp}/cache",
                        HPATCH_MAVEN_ARGS=f"-Dmaven.repo.local={tmp}/m2")
            one(hp, args, cold, team, f"cold ({args.fix} @ {args.release})")
        for n in range(args.n):
            one(hp, args, runs, team, f"warm {n + 1}")


if __name__ == "__main__":
    main()
