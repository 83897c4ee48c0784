"""Time `hpatch diagnose` on a big log and on one very long line.

    python harness/bench/bench_diagnose.py [--log-mb 200] [--line-kb 1024] [--timeout 600]

Generates both inputs in a temporary directory: a DataNode-like log of
--log-mb megabytes (busy but healthy lines, with one real incident near the end)
and a file that is a single --line-kb kilobyte line without spaces (a base64
blob or a minified payload pasted into a log: the worst case for a signature
with an unbounded repeat). Each is diagnosed by a fresh process, as a user runs
it; wall seconds and the peak resident set are printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INCIDENT = ROOT / "tests" / "fixtures" / "logs" / "pipeline-datanode.log"
BUSY = (
    "2015-11-25 00:00:{s:02d},{ms:03d} INFO org.apache.hadoop.hdfs.server.datanode.DataNode: "
    "Receiving BP-1:blk_{n}_1001 src: /10.0.0.{a}:50010 dest: /10.0.0.{b}:50010\n",
    "2015-11-25 00:00:{s:02d},{ms:03d} INFO org.apache.hadoop.hdfs.server.datanode.DataNode."
    "clienttrace: src: /10.0.0.{a}:50010, dest: /10.0.0.{b}:50010, bytes: {n}, op: HDFS_WRITE, "
    "cliID: DFSClient_NONMAPREDUCE_{n}_1, offset: 0, srvID: ds-{a}, blockid: blk_{n}, "
    "duration: {ms}\n",
    "2015-11-25 00:00:{s:02d},{ms:03d} WARN org.apache.hadoop.hdfs.server.datanode.DataNode: "
    "Slow BlockReceiver write packet to mirror took {ms}ms (threshold=300ms)\n",
)


def make_log(path: Path, megabytes: int) -> None:
    target = megabytes << 20
    block = "".join(BUSY[n % len(BUSY)].format(s=n % 60, ms=n % 1000, n=n, a=n % 250,
                                               b=(n + 7) % 250)
                    for n in range(20000))
    written = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target:
            handle.write(block)
            written += len(block)
        handle.write(INCIDENT.read_text(encoding="utf-8"))


def make_line(path: Path, kilobytes: int) -> None:
    unit = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw=="
    text = (unit * ((kilobytes << 10) // len(unit) + 1))[: kilobytes << 10]
    path.write_text("2015-11-25 00:00:00,000 DEBUG payload=" + text + "\n", encoding="utf-8")


def timed(path: Path, timeout: float) -> str:
    argv = [sys.executable, "-m", "hpatch", "diagnose", str(path)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"over {timeout:.0f} s (stopped)"
    wall = time.perf_counter() - start
    verdict = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else proc.stderr.strip()
    return f"{wall:.2f} s, exit {proc.returncode} ({verdict[:60]})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log-mb", type=int, default=200)
    parser.add_argument("--line-kb", type=int, default=1024)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hpatch-bench-") as scratch:
        log = Path(scratch) / "datanode.log"
        line = Path(scratch) / "one-line.log"
        make_log(log, args.log_mb)
        make_line(line, args.line_kb)
        print(f"hpatch diagnose on {os.cpu_count()} cores")
        print(f"{args.log_mb} MB log:          {timed(log, args.timeout)}")
        print(f"{args.line_kb} KB single line:  {timed(line, args.timeout)}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"peak RSS: {peak_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
