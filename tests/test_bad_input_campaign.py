"""harness/dev/bad_input_campaign.py: the cases that need no Hadoop checkout run on this
tree and pass; two saved runs print as one markdown table; a wrong item is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "harness" / "dev" / "bad_input_campaign.py"


def _campaign(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=300, check=False)


def test_items_without_a_checkout_pass_on_this_code(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = _campaign("--checkout", str(tmp_path / "none"), "--work", str(tmp_path / "w"),
                     "--items", "10,13", "--json", str(out))
    rows = json.loads(out.read_text())
    assert [(r["item"], r["passed"]) for r in rows] == [("10", True), ("13", True)], done.stdout
    assert done.returncode == 0
    assert "2 cases, 2 pass, 0 fail" in done.stdout


def test_side_by_side_puts_old_and_new_in_one_row(tmp_path: Path) -> None:
    row = {"item": "10", "case": "report of a truncated result.json", "expected": "exit 1"}
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps([{**row, "code": 3, "outcome": "internal | error",
                                "passed": False}]))
    new.write_text(json.dumps([{**row, "code": 1, "outcome": "one line", "passed": True}]))
    done = _campaign("--side-by-side", str(old), str(new))
    line = done.stdout.splitlines()[2].replace("\\|", "¦")
    assert done.returncode == 0
    assert [c.strip() for c in line.strip("|").split("|")][3:] == [
        "FAIL", "3", "internal ¦ error", "pass", "1", "one line"]


def test_an_unknown_item_is_refused() -> None:
    done = _campaign("--items", "20")
    assert done.returncode == 2
    assert "no such item: 20" in done.stderr
