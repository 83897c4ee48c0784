"""Grading is pure: saved output in, verdict out. A run is re-graded from its
files, never re-run."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from math import comb

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
    # an exception thrown from, or passing through, a method the fix changes: the bug shows
    CHANGED_CODE = "exception-in-changed-code"
    SKIPPED = "skipped"
    BROKEN = "broken"  # anything else: setup crash, other exception, timeout, no result


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    summary: str
    test: str = ""
    frame: str = ""  # for CHANGED_CODE: the frame in the fix's changed methods

    def as_dict(self) -> dict[str, str]:
        found = {"kind": self.kind.value, "summary": self.summary, "test": self.test}
        if self.frame:
            found["frame"] = self.frame
        return found


def _fields(line: str) -> dict[str, str]:
    out = {}
    for part in line.split("\t"):
        key, _, value = part.partition("=")
        out[key] = value.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")
    return out


def _tests(log: str) -> list[dict[str, str]] | None:
    """The result block's tests, or None when the runner left no whole block."""
    if BEGIN not in log or END not in log.split(BEGIN, 1)[1]:
        return None
    block = log.split(BEGIN, 1)[1].split(END, 1)[0]
    return [_fields(ln) for ln in block.strip().splitlines()[1:] if ln.startswith("test=")]


def outcomes_by_test(log: str, test_class: str, changed: Collection[str] = (),
                     bases: Collection[str] = ()) -> dict[str, Outcome]:
    """Each test's outcome in one run (none when the run left no result)."""
    return {t.get("test", "?"): _grade_test(t, test_class, changed, bases)
            for t in _tests(log) or []}


def fail_either_way(stock: list[dict[str, Outcome]],
                    patched: list[dict[str, Outcome]]) -> list[str]:
    """The tests that fail in every run of both sides, the same way (kind and message):
    what they show does not depend on the fix (a test the commit only tidied, failing
    here for its own reasons). Upstream harnesses leave such tests out of what a fix
    must turn (SWE-bench's FAIL_TO_PASS is the tests that fail before and pass after)."""
    runs = [*stock, *patched]
    if not stock or not patched or not all(runs):
        return []
    names = set.intersection(*(set(r) for r in runs))
    same = []
    for name in sorted(names):
        ways = {(r[name].kind, r[name].summary) for r in runs}
        kind = next(iter(ways))[0]
        if len(ways) == 1 and kind not in (Kind.PASSED, Kind.SKIPPED):
            same.append(name)
    return same


def parse_run(log: str, exit_code: int | None, test_class: str,
              changed: Collection[str] = (), bases: Collection[str] = (),
              skip: Collection[str] = ()) -> Outcome:
    """One run's outcome from its log and exit code; changed: the methods the fix
    changes, as `package.TopLevelClass.method` (`<init>` for constructors); bases: the
    test class's superclasses among the reproducer's sources (their assertions are the
    test's own); skip: tests set aside (they fail either way)."""
    found = _tests(log)
    if found is None:
        if exit_code in TIMEOUT_EXIT:
            return Outcome(Kind.BROKEN, "timed out (no result from the runner)")
        tail = [ln for ln in log.strip().splitlines() if ln.strip()][-1:] or ["(empty log)"]
        return Outcome(Kind.BROKEN, f"no result (exit {exit_code}): {tail[0][:200]}")
    tests = [t for t in found if t.get("test", "?") not in skip]
    if not tests:
        return Outcome(Kind.BROKEN, "the reproducer ran no test")
    worst: Outcome | None = None
    for test in tests:
        outcome = _grade_test(test, test_class, changed, bases)
        if worst is None or _rank(outcome.kind) > _rank(worst.kind):
            worst = outcome
    assert worst is not None
    return worst


def _rank(kind: Kind) -> int:
    return {Kind.PASSED: 0, Kind.SKIPPED: 1, Kind.ASSERTION: 2, Kind.CHANGED_CODE: 2,
            Kind.BROKEN: 3}[kind]


# A remote exception carries the server's stack in its message: `at pkg.Class.method(`.
_MESSAGE_FRAME = re.compile(r"\bat ([\w$.]+)\.([\w$<>]+)\(")


def frame_key(frame: str) -> str:
    """`pkg.Outer$Inner.method` as `pkg.Outer.method`: methods are keyed by the file
    (the top-level class) that declares them."""
    owner, _, method = frame.rpartition(".")
    return f"{owner.split('$', 1)[0]}.{method}"


REMOTE = "org.apache.hadoop.ipc.RemoteException"
# A server's exception as a RemoteException carries it: its class, then its stack.
_REMOTE_HEAD = re.compile(r"^\s*[\w$.]+(?:Exception|Error)\b")


def _in_changed_code(frames: list[str], message: str, changed: Collection[str],
                     exception: str = "") -> str:
    """The first frame (of the exception, its causes, or a remote stack in its message)
    that lies in a method the fix changes. A message that is no exception's stack (a
    wait's thread dump: "Timed out waiting for condition. Thread diagnostics: ...")
    names frames of threads the failure did not pass through: they do not count. A
    RemoteException's message is the server's stack after the server's own message."""
    is_remote = exception.startswith(REMOTE) or bool(_REMOTE_HEAD.match(message))
    remote = _MESSAGE_FRAME.findall(message) if is_remote else []
    candidates = frames + [f"{c}.{m}" for c, m in remote]
    return next((f for f in candidates if frame_key(f) in changed), "")


def _grade_test(test: dict[str, str], test_class: str,
                changed: Collection[str] = (), bases: Collection[str] = ()) -> Outcome:
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
    owners = tuple(f"{c}." for c in (test_class, *bases))
    # an assertion in the test's inner or anonymous classes (a doAs block) is the test's
    if exception in ASSERTIONS and frame_key(own).startswith(owners):
        if first_line.startswith(SETUP_PREFIX):
            return Outcome(Kind.BROKEN, f"set-up failed: {first_line}", name)
        return Outcome(Kind.ASSERTION, first_line, name)
    if exception in ASSERTIONS and first_line.startswith(EXPECTED) and any(
            f.startswith(EXPECT_STATEMENT) for f in frames):
        # @Test(expected = X): the exception the test asserts never came.
        return Outcome(Kind.ASSERTION, first_line, name)
    if (exception == WAIT_TIMEOUT and len(frames) > 1 and frames[0] in WAITS
            and frame_key(frames[1]).startswith(owners) and not test.get("caused")):
        # GenericTestUtils.waitFor(condition) called by the test: "this comes true within
        # the time" is the test's assertion, and the condition never held.
        said = first_line.split(_THREAD_DUMP, 1)[0].strip()
        return Outcome(Kind.ASSERTION, f"the test's wait never came true: {said}", name)
    if (frames and frame_key(frames[0]).startswith(owners) and not test.get("caused")
            and exception and not exception.startswith(_NOT_THROWN_BY_THE_TEST)
            and not first_line.startswith(SETUP_PREFIX)):
        # The test's own `throw new IOException("... should have been replaced")`: an
        # exception made in the test's code, wrapping nothing, is its verdict.
        return Outcome(Kind.ASSERTION, f"{exception.rsplit('.', 1)[-1]}: {first_line}", name)
    mockito = _mockito_verification(exception, message, owners)
    if mockito:
        # A verify(...) of the test that failed: the test's own assertion.
        return Outcome(Kind.ASSERTION, mockito, name)
    hit = _in_changed_code(frames, message, changed, exception) if changed else ""
    if hit and not first_line.startswith(SETUP_PREFIX):
        return Outcome(Kind.CHANGED_CODE, f"{exception}: {first_line} (through {hit})", name,
                       frame=hit)
    where = f" at {own}" if own else ""
    return Outcome(Kind.BROKEN, f"{exception}: {first_line}{where}", name)


# A wait the test makes for a condition of its own: its time-out is the test's verdict
# on that condition, as an assertEquals is on a value. A thread dump follows the words.
WAIT_TIMEOUT = "java.util.concurrent.TimeoutException"
WAITS = ("org.apache.hadoop.test.GenericTestUtils.waitFor",)
_THREAD_DUMP = "Thread diagnostics:"


# What is raised in the test's own frame without a `throw` of the test there: a null
# dereference, a bad cast or index, any Error (a missing class, no memory), and what
# Mockito and JUnit raise (Mockito cleans its own frames from the stack).
_NOT_THROWN_BY_THE_TEST = (
    "org.mockito.", "org.junit.", "junit.",
    "java.lang.NullPointerException", "java.lang.ClassCastException",
    "java.lang.ArithmeticException", "java.lang.ArrayIndexOutOfBounds",
    "java.lang.ArrayStoreException", "java.lang.NegativeArraySize",
    "java.lang.IllegalMonitorStateException", "java.lang.ExceptionInInitializerError",
    "java.lang.NoSuch", "java.lang.NoClassDefFoundError", "java.lang.OutOfMemoryError",
    "java.lang.StackOverflowError", "java.lang.AbstractMethodError",
    "java.lang.IncompatibleClassChangeError", "java.lang.VerifyError",
    "java.lang.LinkageError", "java.lang.UnsatisfiedLinkError", "java.lang.InternalError")
EXPECTED = "Expected exception: "
EXPECT_STATEMENT = "org.junit.internal.runners.statements.ExpectException."
_MOCKITO_PHRASES = ("Argument(s) are different! Wanted:", "Wanted but not invoked:",
                    "Never wanted here:", "No interactions wanted here:",
                    "But was ", "Wanted at most")
_MOCKITO_WANTED = re.compile(r"wanted \d+ times?|wanted at (?:least|most)", re.IGNORECASE)
_MOCKITO_AT = re.compile(r"-> at ([\w$.]+)\.[\w$<>]+\(")


def _mockito_verification(exception: str, message: str, owners: tuple[str, ...]) -> str:
    """The first line of a Mockito verification failure raised at a verify(...) in the
    test class (Mockito names the place: `-> at pkg.TestX.method(TestX.java:12)`), else "".
    Surefire's report may give no class name for it: the message tells."""
    text = message.strip()
    known = exception.startswith("org.mockito.exceptions.verification.") or text.startswith(
        _MOCKITO_PHRASES) or bool(_MOCKITO_WANTED.search(text.splitlines()[0] if text else ""))
    if not known:
        return ""
    first_place = _MOCKITO_AT.search(text)
    if first_place is None or not f"{first_place.group(1)}.".startswith(owners):
        return ""
    return " ".join(text.splitlines()[0].split())


@dataclass(frozen=True)
class Grade:
    verdict: Verdict
    reason: str
    stock: list[Outcome] = field(default_factory=list)
    patched: list[Outcome] = field(default_factory=list)
    stock_failure: str = ""  # the rule stock's failure met: assertion, exception-in-changed-code
    kind: str = ""           # for error and inconclusive: the named class of what went wrong
    set_aside: list[str] = field(default_factory=list)  # tests failing either way


def broken_kind(outcome: Outcome) -> str:
    """The class of a run that neither passed nor showed the bug."""
    text = outcome.summary
    if "timed out" in text or "TestTimedOutException" in text:
        return "timeout"
    if text.startswith("set-up failed"):
        return "setup-crash"
    if text.startswith(("no result", "the reproducer ran no test")):
        return "no-result"
    if text.startswith(("java.lang.NoClassDefFoundError", "java.lang.ClassNotFoundException")):
        return "missing-jar"  # a class the test's classpath lacks (a test-scope dependency)
    return "exception-elsewhere"  # an exception from code the fix does not touch


def grade(stock: list[Outcome], patched: list[Outcome]) -> Grade:
    """The verdict for repeated runs: every stock run must fail on the reproducer's
    own assertion and every patched run must pass."""
    def first(runs: list[Outcome], kind: Kind) -> Outcome | None:
        return next((o for o in runs if o.kind is kind), None)

    if not stock or not patched:
        return Grade(Verdict.ERROR, "no runs", stock, patched, kind="no-result")
    for side, runs in (("stock", stock), ("patched", patched)):
        broken = first(runs, Kind.BROKEN)
        if broken:
            return Grade(Verdict.ERROR, f"{side}: {broken.summary}", stock, patched,
                         kind=broken_kind(broken))
    for side, runs in (("stock", stock), ("patched", patched)):
        skipped = first(runs, Kind.SKIPPED)
        if skipped:
            return Grade(Verdict.INCONCLUSIVE, f"{side}: {skipped.summary}", stock, patched,
                         kind="skipped")
    passed_stock = sum(o.kind is Kind.PASSED for o in stock)
    racy = _racy(stock, patched) if passed_stock else ""
    if racy:
        return Grade(Verdict.INCONCLUSIVE, racy, stock, patched, kind="racy")
    if passed_stock:
        return Grade(Verdict.NOT_REPRODUCED,
                     f"stock passed {passed_stock} of {len(stock)} run(s)", stock, patched)
    failed_patched = [o for o in patched if o.kind in (Kind.ASSERTION, Kind.CHANGED_CODE)]
    if failed_patched:
        return Grade(Verdict.NOT_FIXED, f"patched still fails {len(failed_patched)} of "
                     f"{len(patched)} run(s): {failed_patched[0].summary}", stock, patched)
    ways = {(o.kind, o.frame if o.kind is Kind.CHANGED_CODE else "") for o in stock}
    if len(ways) > 1:
        # An exception counts only when every stock repeat throws it through the same frame.
        return Grade(Verdict.INCONCLUSIVE, "stock fails differently from one repeat to the "
                     "next: " + "; ".join(o.summary for o in stock), stock, patched,
                     kind="unstable")
    return Grade(Verdict.VERIFIED, f"stock: {stock[0].summary}", stock, patched,
                 stock_failure=stock[0].kind.value)


def _racy(stock: list[Outcome], patched: list[Outcome]) -> str:
    """Said when stock failed in some runs, each the same way the rule counts, passed in
    the others, and patched passed every run: the test loses a race on stock only
    sometimes (YARN-3896's reconnect). That is no reproduction, nor a clean stock; the
    chance that a flake blind to the fix would put every failure on stock's side (the
    hypergeometric tail) says how much the split tells."""
    bug = (Kind.ASSERTION, Kind.CHANGED_CODE)
    failed = [o for o in stock if o.kind in bug]
    ways = {(o.kind, o.frame) for o in failed}
    if not failed or len(ways) != 1 or any(o.kind is not Kind.PASSED for o in patched):
        return ""
    n, f = len(stock), len(failed)
    chance = comb(n, f) / comb(n + len(patched), f)
    return (f"racy: stock failed {f} of {n} run(s) ({failed[0].summary}) and passed the "
            f"others; patched passed {len(patched)} of {len(patched)}. Were the fix no "
            f"different, all {f} failure(s) would fall on stock with probability "
            f"{chance:.2g}; verified needs every stock run to fail")


_COMPARED = re.compile(r"expected:\s*(.*?)\s+but was:\s*(.*)$", re.DOTALL)
EQUALITY = ("equals", "hashCode", "compareTo")


def prints_equal(summary: str) -> bool:
    """An assertEquals whose expected and actual values print the same: the two are
    unequal only by an equals() (JUnit then names both classes)."""
    found = _COMPARED.search(summary)
    return found is not None and found.group(1).strip() == found.group(2).strip()


def needs_fix_equality(grade: Grade, changed: Collection[str]) -> Grade:
    """A verification whose every stock failure compares values that print the same,
    where the fix changes how those values compare (HDFS-9654 adds StorageLocation's
    equals(): stock's lists of the same volumes are unequal): the test needs the fix's
    equality, and shows no bug of stock's. Inconclusive, naming it."""
    equality = sorted(m for m in changed if m.rsplit(".", 1)[-1] in EQUALITY)
    if grade.verdict is not Verdict.VERIFIED or grade.stock_failure != Kind.ASSERTION.value \
            or not equality or not all(prints_equal(o.summary) for o in grade.stock):
        return grade
    return Grade(Verdict.INCONCLUSIVE, "stock's assertion compares values that print the same, "
                 f"and the fix changes {', '.join(equality)}: the test needs the fix's "
                 "equality, and shows no bug of stock's", grade.stock, grade.patched,
                 kind="needs-fix-api")


def grade_logs(stock: Sequence[tuple[str, int | None]], patched: Sequence[tuple[str, int | None]],
               test_class: str, changed: Collection[str] = (),
               bases: Collection[str] = ()) -> Grade:
    """The verdict from each side's runs (log with its result block, exit code). Tests
    that fail the same way on both sides are set aside, but only when the others then
    verify the fix; a stock failure only the fix's equality makes verifies nothing."""
    def graded(skip: Collection[str]) -> Grade:
        return needs_fix_equality(grade(
            [parse_run(log, code, test_class, changed, bases, skip) for log, code in stock],
            [parse_run(log, code, test_class, changed, bases, skip) for log, code in patched]),
            changed)

    by_test = [[outcomes_by_test(log, test_class, changed, bases) for log, _ in runs]
               for runs in (stock, patched)]
    aside = fail_either_way(by_test[0], by_test[1])
    if aside and len(aside) < len({name for run in by_test[0] for name in run}):
        kept = graded(aside)
        if kept.verdict is Verdict.VERIFIED:
            return replace(kept, set_aside=aside, reason=f"{kept.reason} (set aside, failing "
                           f"the same way with and without the fix: {', '.join(aside)})")
    # No test turns without them: every test counts as it ended.
    return graded(())


def compile_failure(side: str, log: str) -> Grade:
    lines = log.splitlines()
    at = next((i for i, ln in enumerate(lines) if ": error:" in ln), None)
    first_error = lines[at] if at is not None else (log.strip().splitlines() or ["(no output)"])[0]
    reason = f"{side} does not compile: {first_error[-200:]}"
    symbol = _missing_symbol(lines[at + 1:at + 6]) if at is not None else ""
    if symbol:
        # An upstream test using API the release lacks: name what is missing.
        reason += f" ({symbol})"
    return Grade(Verdict.ERROR, reason, kind="compile")


# javac's words for code that is fine but needs API the classpath lacks (a syntax error,
# say from a bad merge of the test's hunks, is none of these and stays an error)
_API_ERRORS = ("cannot find symbol", "cannot be applied to", "no suitable method",
               "no suitable constructor", "does not override or implement",
               "is not public in", "has private access in", "has protected access in",
               "incompatible types", "is not abstract and does not override",
               "does not exist", "cannot be accessed from outside package")


def needs_earlier_api(log: str) -> Grade | None:
    """The reproducer compiles against neither side, and every error is API the release
    lacks (YARN-3697's test uses ContainerRescheduledEvent, which an earlier upstream
    change added): the test cannot show the bug here, and nothing broke. Inconclusive,
    naming the symbols; None when some error is of another kind."""
    errors = [ln.split(": error:", 1)[1] for ln in log.splitlines() if ": error:" in ln]
    if not errors or not all(any(w in e for w in _API_ERRORS) for e in errors):
        return None
    return Grade(Verdict.INCONCLUSIVE, "the test needs API that neither side has here (an "
                 "earlier upstream change, or a part of the fix the variant does not carry): "
                 f"{_symbols(log)}", kind="needs-earlier-api")


def needs_fix_api(log: str) -> Grade:
    """The reproducer compiles against patched, not stock: it needs API the fix adds or
    changes. The test cannot show the bug on stock as it is: inconclusive, never error."""
    return Grade(Verdict.INCONCLUSIVE, "the test needs API the fix adds or changes, beyond "
                 f"test hooks: {_symbols(log)}", kind="needs-fix-api")


def _symbols(log: str) -> str:
    """What javac's errors say is missing, each once: `method x(int)`, `class Y`."""
    lines = log.splitlines()
    symbols: list[str] = []
    for at, text in enumerate(lines):
        if ": error:" in text:
            found = _missing_symbol(lines[at + 1:at + 6])
            what = found.split(";")[0].replace("symbol:", "").strip() if found else \
                text.split(": error:", 1)[1].strip()
            if what not in symbols:
                symbols.append(what)
    return ", ".join(" ".join(s.split()) for s in symbols[:6]) or "(see compile-repro.log)"


def _missing_symbol(following: list[str]) -> str:
    """javac's `symbol: ...` (and `location: ...`) lines under a cannot-find-symbol error."""
    found = [ln.strip() for ln in following if ln.strip().startswith(("symbol:", "location:"))]
    return "; ".join(found[:2])
