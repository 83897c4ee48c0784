"""Grading is pure: saved output in, verdict out. A run is re-graded from its
files, never re-run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

BEGIN = "HPATCH-RESULT-BEGIN"
END = "HPATCH-RESULT-END"
ASSERTIONS = ("java.lang.AssertionError", "junit.framework.AssertionFailedError",
              "org.junit.ComparisonFailure", "junit.framework.ComparisonFailure",
              "org.junit.internal.ArrayComparisonFailure")
SETUP_PREFIX = "setup:"
TIMEOUT_EXIT = (124, 137)


class Verdict(str, Enum):
    VERIFIED = "verified"
    NOT_REPRODUCED = "not-reproduced"
    NOT_FIXED = "not-fixed"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"
    COMPILED = "compiled"  # --compile-only: both sides and the reproducer build; nothing ran


class Kind(str, Enum):
    """How one run of the reproducer ended."""

    PASSED = "passed"
    ASSERTION = "assertion"  # failed on the reproducer's own assertion: the bug shows
    SKIPPED = "skipped"
    BROKEN = "broken"  # anything else: setup crash, other exception, timeout, no result


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    summary: str
    test: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "summary": self.summary, "test": self.test}


def _fields(line: str) -> dict[str, str]:
    out = {}
    for part in line.split("\t"):
        key, _, value = part.partition("=")
        out[key] = value.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")
    return out


def parse_run(log: str, exit_code: int | None, test_class: str) -> Outcome:
    """One run's outcome from its log and exit code."""
    if BEGIN not in log or END not in log.split(BEGIN, 1)[1]:
        if exit_code in TIMEOUT_EXIT:
            return Outcome(Kind.BROKEN, "timed out (no result from the runner)")
        tail = [ln for ln in log.strip().splitlines() if ln.strip()][-1:] or ["(empty log)"]
        return Outcome(Kind.BROKEN, f"no result (exit {exit_code}): {tail[0][:200]}")
    block = log.split(BEGIN, 1)[1].split(END, 1)[0]
    tests = [_fields(ln) for ln in block.strip().splitlines()[1:] if ln.startswith("test=")]
    if not tests:
        return Outcome(Kind.BROKEN, "the reproducer ran no test")
    worst: Outcome | None = None
    for test in tests:
        outcome = _grade_test(test, test_class)
        if worst is None or _rank(outcome.kind) > _rank(worst.kind):
            worst = outcome
    assert worst is not None
    return worst


def _rank(kind: Kind) -> int:
    return {Kind.PASSED: 0, Kind.SKIPPED: 1, Kind.ASSERTION: 2, Kind.BROKEN: 3}[kind]


def _grade_test(test: dict[str, str], test_class: str) -> Outcome:
    name = test.get("test", "?")
    status = test.get("status")
    if status == "passed":
        return Outcome(Kind.PASSED, "passed", name)
    exception = test.get("exception", "")
    message = test.get("message", "")
    if status == "skipped":
        return Outcome(Kind.SKIPPED, f"skipped: {message or exception}", name)
    frames = [f for f in test.get("frames", "").split(";") if f]
    own = next((f for f in frames if not f.startswith(("org.junit.", "junit."))), "")
    first_line = message.splitlines()[0] if message else ""
    if exception in ASSERTIONS and own.startswith(test_class + "."):
        if first_line.startswith(SETUP_PREFIX):
            return Outcome(Kind.BROKEN, f"set-up failed: {first_line}", name)
        return Outcome(Kind.ASSERTION, first_line, name)
    where = f" at {own}" if own else ""
    return Outcome(Kind.BROKEN, f"{exception}: {first_line}{where}", name)


@dataclass(frozen=True)
class Grade:
    verdict: Verdict
    reason: str
    stock: list[Outcome] = field(default_factory=list)
    patched: list[Outcome] = field(default_factory=list)


def grade(stock: list[Outcome], patched: list[Outcome]) -> Grade:
    """The verdict for repeated runs: every stock run must fail on the reproducer's
    own assertion and every patched run must pass."""
    def first(runs: list[Outcome], kind: Kind) -> Outcome | None:
        return next((o for o in runs if o.kind is kind), None)

    if not stock or not patched:
        return Grade(Verdict.ERROR, "no runs", stock, patched)
    for side, runs in (("stock", stock), ("patched", patched)):
        broken = first(runs, Kind.BROKEN)
        if broken:
            return Grade(Verdict.ERROR, f"{side}: {broken.summary}", stock, patched)
    for side, runs in (("stock", stock), ("patched", patched)):
        skipped = first(runs, Kind.SKIPPED)
        if skipped:
            return Grade(Verdict.INCONCLUSIVE, f"{side}: {skipped.summary}", stock, patched)
    passed_stock = sum(o.kind is Kind.PASSED for o in stock)
    if passed_stock:
        return Grade(Verdict.NOT_REPRODUCED,
                     f"stock passed {passed_stock} of {len(stock)} run(s)", stock, patched)
    failed_patched = [o for o in patched if o.kind is Kind.ASSERTION]
    if failed_patched:
        return Grade(Verdict.NOT_FIXED, f"patched still fails {len(failed_patched)} of "
                     f"{len(patched)} run(s): {failed_patched[0].summary}", stock, patched)
    return Grade(Verdict.VERIFIED, f"stock: {stock[0].summary}", stock, patched)


def compile_failure(side: str, log: str) -> Grade:
    lines = log.splitlines()
    at = next((i for i, ln in enumerate(lines) if ": error:" in ln), None)
    first_error = lines[at] if at is not None else (log.strip().splitlines() or ["(no output)"])[0]
    reason = f"{side} does not compile: {first_error[-200:]}"
    symbol = _missing_symbol(lines[at + 1:at + 6]) if at is not None else ""
    if symbol:
        # An upstream test using API the release lacks: name what is missing.
        reason += f" ({symbol})"
    return Grade(Verdict.ERROR, reason)


def _missing_symbol(following: list[str]) -> str:
    """javac's `symbol: ...` (and `location: ...`) lines under a cannot-find-symbol error."""
    found = [ln.strip() for ln in following if ln.strip().startswith(("symbol:", "location:"))]
    return "; ".join(found[:2])
