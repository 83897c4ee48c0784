"""How `hpatch diagnose` does on a corpus of public logs (tests/fixtures/diagnose-corpus).

    PYTHONPATH=TREE python harness/bench/bench_diagnose_corpus.py [--corpus DIR] [--cases]

Each case file starts with `# source:`, `# expect:` (a fix id, or `none`) and
`# note:` lines. Every case is diagnosed by a fresh `python -m hpatch diagnose
--json` process, as a user runs it, so PYTHONPATH picks the code measured (run it
once with a checkout of main, once with your tree, to compare). Prints per-case
results with --cases, then the table: positives named (strong / possible),
negatives falsely named (strong / possible), and whether the goals hold (every
positive named, no strong false naming, `possible` on at most 10% of negatives).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "diagnose-corpus"


@dataclass(frozen=True)
class Outcome:
    name: str
    expect: str  # a fix id or "none"
    strong: frozenset[str]
    possible: frozenset[str]
    benign: tuple[str, ...]


def expectation(path: Path) -> str:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[:5]:
        if line.startswith("# expect:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"{path}: no `# expect:` line")


def run(path: Path) -> Outcome:
    proc = subprocess.run([sys.executable, "-m", "hpatch", "diagnose", str(path), "--json"],
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{path.name}: exit {proc.returncode}: {proc.stderr.strip()}")
    data = json.loads(proc.stdout)
    return Outcome(path.name, expectation(path),
                   frozenset(f["fix"] for f in data["findings"]),
                   frozenset(f["fix"] for f in data["possible"]),
                   tuple(b["id"] for b in data.get("benign", [])))


def table(outcomes: list[Outcome]) -> dict[str, int]:
    pos = [o for o in outcomes if o.expect != "none"]
    neg = [o for o in outcomes if o.expect == "none"]
    return {
        "positives": len(pos),
        "named strong": sum(o.expect in o.strong for o in pos),
        "named possible": sum(o.expect in o.possible and o.expect not in o.strong for o in pos),
        "not named": sum(o.expect not in o.strong | o.possible for o in pos),
        "wrong fix named on a positive": sum(bool((o.strong | o.possible) - {o.expect})
                                            for o in pos),
        "negatives": len(neg),
        "strong false namings": sum(bool(o.strong) for o in neg),
        "possible false namings": sum(bool(o.possible) and not o.strong for o in neg),
        "benign cause shown": sum(bool(o.benign) for o in outcomes),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--cases", action="store_true", help="also print every case")
    args = parser.parse_args()
    files = sorted(p for p in args.corpus.iterdir() if p.is_file() and p.name != "README.md")
    outcomes = [run(p) for p in files]
    if args.cases:
        for o in outcomes:
            print(f"{o.name:55} expect={o.expect:20} strong={','.join(sorted(o.strong)) or '-':20} "
                  f"possible={','.join(sorted(o.possible)) or '-':20} "
                  f"benign={','.join(o.benign) or '-'}")
        print()
    counts = table(outcomes)
    for key, value in counts.items():
        print(f"{key:32} {value}")
    goals = (counts["not named"] == 0 and counts["strong false namings"] == 0
             and counts["possible false namings"] * 10 <= counts["negatives"])
    print(f"{'goals met':32} {'yes' if goals else 'no'}")


if __name__ == "__main__":
    main()
