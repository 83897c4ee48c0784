"""`hpatch gap` against a vendor tree whose own patch series is the ground truth.

    python harness/bench/bench_gap.py --repo ~/src/cdh543 \\
        --upstream /path/to/hadoop.git --until rel/release-2.7.3 \\
        --patches cdh543-patches.txt [--base-tag release-2.6.0] [--misses out.txt]

The patch series' file names (`NNNN-HDFS-1234.-subject.patch`) say which upstream
fixes the vendor carries; `partial` and `superseded` count as present. Prints
precision, recall and coverage (fixes given a state other than `unknown`), the
scan's wall time beside a bare `git log -p` of the same range, and both peak
resident sets. --misses writes the misread fixes with their evidence.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CARRIED = {"present", "partial", "superseded"}
_PATCH = re.compile(r"^\d{4}-(.*)\.patch$")
_VENDOR = re.compile(r"^CLOUDERA[-_]BUILD\.?-")
_JIRA = re.compile(r"^([A-Z][A-Z0-9]+-\d+)\b")


def vendor_ids(listing: Path) -> set[str]:
    """The upstream ids a patch series carries: each patch's leading JIRA id, less those
    a later patch reverts (`Revert-HDFS-1234...`), plus those a revert of a revert
    restores (the vendor's `CLOUDERA-BUILD-Revert-Revert-YARN-2713` too). MR1 patches
    are another code base (hadoop-mapreduce1-project)."""
    carried: set[str] = set()
    for name in listing.read_text(encoding="utf-8").split():
        match = _PATCH.match(name)
        if not match or match.group(1).startswith("MR1-"):
            continue
        # the vendor's own build changes may revert (or restore) an upstream fix
        title = _VENDOR.sub("", match.group(1))
        reverts = 0
        while title.startswith("Revert-"):
            reverts += 1
            title = title[len("Revert-"):]
        jira = _JIRA.match(title)
        if jira is None:
            continue
        if reverts % 2:
            carried.discard(jira.group(1))
        else:
            carried.add(jira.group(1))
    return carried


def timed(argv: list[str], cwd: Path | None = None) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) of the process and what it waited for, exit code."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--until", required=True)
    parser.add_argument("--base-tag", default="release-2.6.0")
    parser.add_argument("--patches", default=None)
    parser.add_argument("--misses", default=None)
    parser.add_argument("--no-carry", action="store_true")
    args = parser.parse_args()

    git_wall, git_mem, _ = timed(["git", "log", "-p", f"{args.base_tag}..{args.until}"],
                                 cwd=Path(args.upstream))
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "gap.json"
        argv = [sys.executable, "-m", "hpatch", "gap", "--repo", args.repo, "--upstream",
                args.upstream, "--until", args.until, "--json", "--output", str(out)]
        if args.no_carry:
            argv.append("--no-carry")
        wall, mem, code = timed(argv)
        if code != 0:
            sys.exit(f"hpatch gap exited {code}: {' '.join(argv)}")
        records = json.loads(out.read_text(encoding="utf-8"))
    print(f"range {args.base_tag}..{args.until}: {len(records)} fixes that change src/main")
    print(f"git log -p: {git_wall:.2f} s, peak {git_mem:.0f} MiB")
    print(f"hpatch gap: {wall:.2f} s, peak {mem:.0f} MiB  (ratio {wall / git_wall:.1f}x)")
    states: dict[str, int] = {}
    for record in records:
        states[record["state"]] = states.get(record["state"], 0) + 1
    print("states: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    classified = sum(1 for r in records if r["state"] != "unknown")
    print(f"coverage: {classified / len(records):.3f} ({classified} of {len(records)})")
    if args.patches is None:
        return
    truth = vendor_ids(Path(args.patches))
    said = {r["id"] for r in records if r["state"] in CARRIED}
    ids = {r["id"] for r in records}
    has = truth & ids
    hits = said & has
    precision = len(hits) / len(said) if said else 0.0
    recall = len(hits) / len(has) if has else 0.0
    print(f"vendor carries {len(has)} of the range's fixes")
    print(f"precision {precision:.3f} ({len(hits)}/{len(said)})  "
          f"recall {recall:.3f} ({len(hits)}/{len(has)})")
    if args.misses:
        with open(args.misses, "w", encoding="utf-8") as handle:
            for record in records:
                wrong = ("FP" if record["id"] in said - has else
                         "FN" if record["id"] in has - said else None)
                if wrong:
                    handle.write(f"{wrong} {record['id']} {record['state']} "
                                 f"{record['score']} {record['reason']} | "
                                 f"{record['subject'][:70]}\n")
                    for hunk in record["evidence"][:6]:
                        handle.write(f"    {json.dumps(hunk)}\n")


if __name__ == "__main__":
    main()
