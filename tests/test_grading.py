"""Grading is a pure function of saved logs: every verdict from synthetic logs."""

from __future__ import annotations

import pytest

from hpatch.grading import BEGIN, END, Kind, Verdict, grade, parse_run

CLS = "org.apache.hadoop.hpatch.repro.TestX"


def log(*tests: str) -> str:
    body = "\n".join(tests)
    return f"noise\n{BEGIN}\nclass={CLS}\tmillis=5\trun=1\n{body}\n{END}\n"


def failed(exception: str, message: str, frames: str) -> str:
    return (f"test=t\tstatus=failed\texception={exception}\tmessage={message}\t"
            f"frames={frames}")


OWN = f"org.junit.Assert.fail;org.junit.Assert.assertTrue;{CLS}.t;sun.reflect.X.invoke"
PASSED = log("test=t\tstatus=passed")
ASSERTED = log(failed("java.lang.AssertionError", "thread leaked", OWN))


@pytest.mark.parametrize("text,code,kind,summary", [
    (PASSED, 0, Kind.PASSED, "passed"),
    (ASSERTED, 1, Kind.ASSERTION, "thread leaked"),
    (log(failed("java.lang.AssertionError", "setup: cluster never came up", OWN)), 1,
     Kind.BROKEN, "set-up failed"),
    (log(failed("java.lang.NullPointerException", "null",
                f"org.apache.hadoop.X.y;{CLS}.t")), 1, Kind.BROKEN, "NullPointerException"),
    (log(failed("java.lang.Exception", "test timed out after 120000 milliseconds",
                "java.lang.Object.wait")), 1, Kind.BROKEN, "timed out"),
    (log(failed("java.lang.AssertionError", "inner assert",
                "org.apache.hadoop.hdfs.Other.check;" + CLS + ".t")), 1, Kind.BROKEN,
     "inner assert"),
    (log("test=t\tstatus=skipped\texception=org.junit.AssumptionViolatedException\t"
         "message=no libhadoop"), 0, Kind.SKIPPED, "no libhadoop"),
    ("Exception in thread main java.lang.NoClassDefFoundError: X\n", 1, Kind.BROKEN,
     "NoClassDefFoundError"),
    ("half a log", 124, Kind.BROKEN, "timed out"),
    (log(), 0, Kind.BROKEN, "no test"),
])
def test_parse_run(text: str, code: int, kind: Kind, summary: str) -> None:
    outcome = parse_run(text, code, CLS)
    assert outcome.kind is kind
    assert summary in outcome.summary


def test_verdicts() -> None:
    stock_fail = parse_run(ASSERTED, 1, CLS)
    ok = parse_run(PASSED, 0, CLS)
    broken = parse_run("x", 1, CLS)
    skipped = parse_run(log("test=t\tstatus=skipped\tmessage=no native"), 0, CLS)
    assert grade([stock_fail], [ok]).verdict is Verdict.VERIFIED
    assert grade([ok], [ok]).verdict is Verdict.NOT_REPRODUCED
    assert grade([stock_fail], [stock_fail]).verdict is Verdict.NOT_FIXED
    assert grade([broken], [ok]).verdict is Verdict.ERROR
    assert grade([stock_fail], [broken]).verdict is Verdict.ERROR
    assert grade([skipped], [skipped]).verdict is Verdict.INCONCLUSIVE
    # repeated runs: one stock pass out of three is not a reproduction, nor a clean stock
    racy = grade([stock_fail, ok, stock_fail], [ok, ok, ok])
    assert (racy.verdict, racy.kind) == (Verdict.INCONCLUSIVE, "racy")
    assert racy.reason.startswith("racy: stock failed 2 of 3 run(s) (thread leaked)")
    assert "probability 0.2;" in racy.reason  # C(3,2)/C(6,2): all 2 failures on stock
    # ... and a stock that fails sometimes beside a patched that fails too shows nothing
    assert grade([stock_fail, ok], [ok, stock_fail]).verdict is Verdict.NOT_REPRODUCED
    assert grade([stock_fail] * 3, [ok, stock_fail, ok]).verdict is Verdict.NOT_FIXED
    assert grade([], []).verdict is Verdict.ERROR


def test_compile_error_names_the_missing_symbol() -> None:
    """A side that does not compile is an error, naming what is missing (javac's own
    lines, as a 2.7.1 run of YARN-3857's test printed them)."""
    from hpatch.grading import compile_failure
    javac = ("src/repro/org/apache/hadoop/yarn/server/resourcemanager/rmapp/attempt/"
             "TestRMAppAttemptTransitions.java:1405: error: cannot find symbol\n"
             "        clientToAMTokenManager.hasMasterKey(attemptId));\n"
             "                              ^\n"
             "  symbol:   method hasMasterKey(ApplicationAttemptId)\n"
             "  location: variable clientToAMTokenManager of type ClientToAMTokenSecretManager\n"
             "1 error\n")
    result = compile_failure("the reproducer", javac)
    assert result.verdict is Verdict.ERROR
    assert "cannot find symbol" in result.reason
    assert "symbol:   method hasMasterKey(ApplicationAttemptId)" in result.reason
    assert "location: variable clientToAMTokenManager" in result.reason


def test_a_test_needing_api_neither_side_has_is_inconclusive_naming_it(
        tmp_path: object) -> None:
    """YARN-3697's test uses ContainerRescheduledEvent, which an earlier upstream change
    added: it compiles against neither side at 2.7.1. Nothing broke and the test cannot
    show the bug here: inconclusive, naming the class. A syntax error is still an error."""
    from pathlib import Path

    from hpatch.grading import needs_earlier_api
    from hpatch.verify import grade_work
    javac = ("src/repro/org/apache/hadoop/yarn/server/resourcemanager/scheduler/fair/"
             "TestFairScheduler.java:114: error: cannot find symbol\n"
             "import org.apache.hadoop.yarn.server.resourcemanager.scheduler.event."
             "ContainerRescheduledEvent;\n"
             "  symbol:   class ContainerRescheduledEvent\n"
             "  location: package org.apache.hadoop.yarn.server.resourcemanager.scheduler.event\n"
             "1 error\n")
    earlier = needs_earlier_api(javac)
    assert earlier is not None
    assert (earlier.verdict, earlier.kind) == (Verdict.INCONCLUSIVE, "needs-earlier-api")
    assert earlier.reason == ("the test needs API that neither side has here (an earlier "
                              "upstream change, or a part of the fix the variant does not "
                              "carry): class ContainerRescheduledEvent")
    assert needs_earlier_api("T.java:3: error: ';' expected\n" + javac) is None
    work = Path(str(tmp_path))
    for name, status in (("stock", 0), ("patched", 0), ("repro", 1), ("repro-patched", 1)):
        (work / f"status-compile-{name}.txt").write_text(f"{status}\n")
    (work / "compile-repro.log").write_text(javac)
    assert grade_work(work, CLS, 1).kind == "needs-earlier-api"
    (work / "compile-repro.log").write_text("T.java:3: error: ';' expected\n")
    assert (grade_work(work, CLS, 1).verdict, grade_work(work, CLS, 1).kind) == (
        Verdict.ERROR, "compile")


CHANGED = {"org.apache.hadoop.hdfs.server.namenode.FSNamesystem.getBlockLocations"}
REMOTE = ("org.apache.hadoop.ipc.RemoteException", "java.lang.NullPointerException\\n\\tat "
          "org.apache.hadoop.hdfs.server.namenode.FSNamesystem.getBlockLocations("
          "FSNamesystem.java:1)\\n\\tat org.apache.hadoop.ipc.Server$Handler.run(Server.java:2)",
          f"org.apache.hadoop.ipc.Client.call;{CLS}.t")


def test_an_exception_through_changed_code_counts_on_stock() -> None:
    through = log(failed("java.lang.NullPointerException", "null",
                         "org.apache.hadoop.hdfs.server.namenode.FSNamesystem$1.run;"
                         f"org.apache.hadoop.hdfs.server.namenode.FSNamesystem.getBlockLocations;"
                         f"{CLS}.t"))
    remote = log(failed(*REMOTE))
    ok = parse_run(PASSED, 0, CLS)
    for text in (through, remote):
        outcome = parse_run(text, 1, CLS, CHANGED)
        assert outcome.kind is Kind.CHANGED_CODE, outcome
        assert outcome.frame.endswith("getBlockLocations")
        graded = grade([outcome, outcome], [ok, ok])
        assert graded.verdict is Verdict.VERIFIED
        assert graded.stock_failure == "exception-in-changed-code"
        # without the fix's changed methods it is a crash: never verified
        assert parse_run(text, 1, CLS).kind is Kind.BROKEN
        assert grade([outcome], [outcome]).verdict is Verdict.NOT_FIXED
    asserted = parse_run(ASSERTED, 1, CLS, CHANGED)
    assert grade([asserted], [ok]).stock_failure == "assertion"


def test_stock_must_fail_the_same_way_on_every_repeat() -> None:
    ok = parse_run(PASSED, 0, CLS)
    remote = parse_run(log(failed(*REMOTE)), 1, CLS, CHANGED)
    asserted = parse_run(ASSERTED, 1, CLS, CHANGED)
    graded = grade([remote, asserted], [ok, ok])
    assert (graded.verdict, graded.kind) == (Verdict.INCONCLUSIVE, "unstable")


@pytest.mark.parametrize(("text", "kind"), [
    (log(failed("org.junit.runners.model.TestTimedOutException",
                "test timed out after 10000 milliseconds", "java.lang.Object.wait")), "timeout"),
    (log(failed("java.lang.AssertionError", "setup: no cluster", OWN)), "setup-crash"),
    (log(failed("java.lang.NullPointerException", "null",
                f"org.apache.hadoop.fs.FileSystemTestHelper.getAbsoluteTestRootPath;{CLS}.t")),
     "exception-elsewhere"),
    ("half a log", "timeout"),
    (log(failed("java.lang.NoClassDefFoundError", "org/bouncycastle/x509/X509V1Certificate",
                f"org.apache.hadoop.security.ssl.KeyStoreTestUtil.generateCertificate;{CLS}.t")),
     "missing-jar"),
])
def test_what_is_not_the_bug_is_named(text: str, kind: str) -> None:
    ok = parse_run(PASSED, 0, CLS)
    graded = grade([parse_run(text, 124 if text == "half a log" else 1, CLS, CHANGED)], [ok])
    assert (graded.verdict, graded.kind) == (Verdict.ERROR, kind)


def test_changed_methods_and_hooks_are_read_from_the_fix_files() -> None:
    from hpatch import testsupport
    before = ("package p;\nimport java.util.List;\nclass A {\n  A() {\n    x();\n  }\n"
              "  void x() {\n  }\n  class In {\n    void y() {\n      x();\n    }\n  }\n}\n")
    after = before.replace("    x();\n  }\n  void x", "    x(); x();\n  }\n  void x").replace(
        "      x();", "      x(); hook();").replace(
        "\n}\n", "\n  int hook() {\n    return 1;\n  }\n  @VisibleForTesting\n"
                 "  static int peek() {\n    return 2;\n  }\n}\n").replace(
        "import java.util.List;\n", "import java.util.List;\nimport x.VisibleForTesting;\n")
    changed = testsupport.changed_methods({"p/A.java": before}, {"p/A.java": after})
    assert changed == ["p.A.<init>", "p.A.hook", "p.A.peek", "p.A.y"]
    hooks = testsupport.find_hooks({"p/A.java": before}, {"p/A.java": after})
    assert (hooks.added, hooks.behaviour) == (["A.peek"], ["A.hook"])
    assert "static int peek()" in hooks.texts["p/A.java"]
    assert "import java.util.List;\nimport x.VisibleForTesting;" in hooks.texts["p/A.java"]
    assert "hook()" not in hooks.texts["p/A.java"]


def test_a_base_tests_assertion_is_the_tests_own(tmp_path: object) -> None:
    """A base test (ViewFileSystemBaseTest) runs through a concrete subclass: its
    assertions count, a helper's elsewhere do not."""
    from pathlib import Path

    from hpatch import testsupport
    work = Path(str(tmp_path))
    repro = work / "src" / "repro" / "p"
    repro.mkdir(parents=True)
    (repro / "FsBaseTest.java").write_text("package p;\npublic class FsBaseTest {\n}\n")
    (repro / "TestLocalFs.java").write_text(
        "package p;\n// class TestLocalFs extends Nothing\n"
        "public class TestLocalFs extends FsBaseTest {\n}\n")
    bases = testsupport.test_bases(work, "p.TestLocalFs")
    assert bases == ["p.FsBaseTest"]
    text = log(failed("java.lang.AssertionError", "listing differs",
                      "org.junit.Assert.fail;p.FsBaseTest.testList;sun.reflect.X.invoke"))
    assert parse_run(text, 1, "p.TestLocalFs", (), bases).kind is Kind.ASSERTION
    assert parse_run(text, 1, "p.TestLocalFs").kind is Kind.BROKEN


EXPECT = ("org.junit.internal.runners.statements.ExpectException.evaluate;"
          "org.junit.runners.ParentRunner.runLeaf;"
          "org.apache.maven.surefire.junit4.JUnit4Provider.execute")


def test_an_expected_exception_that_never_came_is_the_tests_assertion() -> None:
    """@Test(expected = StandbyException.class), and stock did not throw it (HDFS-9413)."""
    text = log(failed("java.lang.AssertionError",
                      "Expected exception: org.apache.hadoop.ipc.StandbyException", EXPECT))
    outcome = parse_run(text, 1, CLS)
    assert outcome.kind is Kind.ASSERTION
    assert outcome.summary == "Expected exception: org.apache.hadoop.ipc.StandbyException"
    # the same message from anywhere else is no assertion of the test
    elsewhere = log(failed("java.lang.AssertionError", "Expected exception: x",
                           "org.apache.hadoop.Other.check"))
    assert parse_run(elsewhere, 1, CLS).kind is Kind.BROKEN


MOCKITO = ("\\nArgument(s) are different! Wanted:\\ndeletionService.delete(\\n    \"user0\",\\n"
           f"    null\\n);\\n-> at {CLS}.t(TestX.java:1312)\\nActual invocation has different "
           f"arguments:\\ndeletionService.delete(\\n    \"user0\",\\n    /x\\n);\\n-> at {CLS}."
           "t(TestX.java:1286)\\n")


@pytest.mark.parametrize("exception", [
    "org.mockito.exceptions.verification.junit.ArgumentsAreDifferent",
    "",  # Surefire's report can name no class for it: the message tells
])
def test_a_failed_mockito_verify_in_the_test_is_its_assertion(exception: str) -> None:
    text = log(failed(exception, MOCKITO, "sun.reflect.NativeConstructorAccessorImpl.newInstance0"))
    outcome = parse_run(text, 1, CLS)
    assert outcome.kind is Kind.ASSERTION, outcome
    assert outcome.summary == "Argument(s) are different! Wanted:"
    # a verify in another class (a helper of the fix's code) is not the test's
    other = MOCKITO.replace(f"-> at {CLS}.", "-> at org.apache.hadoop.Other.")
    assert parse_run(log(failed(exception, other, "x.Y.z")), 1, CLS).kind is Kind.BROKEN
    # Mockito's misuse errors are no assertions
    misuse = log(failed("org.mockito.exceptions.misusing.NotAMockException", "x",
                        f"{CLS}.t"))
    assert parse_run(misuse, 1, CLS).kind is Kind.BROKEN


def test_an_assertion_in_the_tests_anonymous_class_is_the_tests() -> None:
    """TestKMS asserts inside a PrivilegedExceptionAction: frames TestKMS$4$1.run."""
    text = log(failed("java.lang.AssertionError", "User should be allowed",
                      f"org.junit.Assert.fail;{CLS}$4$1.run;{CLS}$4.call"))
    assert parse_run(text, 1, CLS).kind is Kind.ASSERTION
    other = log(failed("java.lang.AssertionError", "x",
                       f"org.junit.Assert.fail;{CLS}Helper$1.run"))
    assert parse_run(other, 1, CLS).kind is Kind.BROKEN


def test_an_exception_the_test_throws_itself_is_its_verdict() -> None:
    """HDFS-9178's test ends in `throw new IOException("The first datanode should have
    been replaced.")`: made in the test's own frame, wrapping nothing."""
    said = "The first datanode should have been replaced."
    own = parse_run(log(failed("java.io.IOException", said, f"{CLS}.t;sun.reflect.X.invoke")),
                    1, CLS)
    assert (own.kind, own.summary) == (Kind.ASSERTION, f"IOException: {said}")
    # a wrapper the test makes around what went wrong elsewhere is not its verdict
    wrapped = log(failed("java.lang.RuntimeException", "java.io.IOException: x",
                         f"{CLS}.t;x.Y.z") + "\tcaused=1")
    assert parse_run(wrapped, 1, CLS).kind is Kind.BROKEN
    # nor is what the JVM raises in the test's frame, nor an exception from elsewhere
    for exception, frames in (("java.lang.NullPointerException", f"{CLS}.t"),
                              ("java.lang.NoSuchMethodError", f"{CLS}.t"),
                              ("java.io.IOException", f"org.apache.hadoop.X.y;{CLS}.t")):
        assert parse_run(log(failed(exception, "x", frames)), 1, CLS).kind is Kind.BROKEN


INJECTOR = """package p;
public class NodeFaultInjector {
  private static NodeFaultInjector instance = new NodeFaultInjector();
  public static NodeFaultInjector get() {
    return instance;
  }
  public void old() {}
}
"""
RECEIVER = """package p;
class Receiver {
  int receive(int seqno, int len) {
    int got = len;
    send(got);
    return got;
  }
  void send(int n) {
    new java.util.concurrent.atomic.AtomicInteger().set(n);
  }
}
"""


def test_an_injection_point_goes_on_stock_with_its_calls() -> None:
    """A no-op the fix adds to a fault injector, and the lines that call it, go on stock
    (HDFS-9178's dropHeartbeatPacket): with the default injector stock runs as stock.
    The new static set() is a hook though production code calls another set()."""
    from hpatch import testsupport
    injector = INJECTOR.replace("  public void old() {}\n", """  public void old() {}
  public static void set(NodeFaultInjector i) {
    instance = i;
  }
  public boolean dropHeartbeat() {
    return false;
  }
  public void stall() throws java.io.IOException {}
  public boolean decide() {
    return true;
  }
""")
    receiver = RECEIVER.replace("    int got = len;\n", """    int got = len;
    // For testing.
    if (seqno < 0 && len == 0 &&
        NodeFaultInjector.get().dropHeartbeat()) {
      return 0;
    }
""").replace("    send(got);\n", """    NodeFaultInjector.get().stall();
    send(got);
    if (NodeFaultInjector.get().decide()) {
      got++;
    }
""")
    stock = {"p/NodeFaultInjector.java": INJECTOR, "p/Receiver.java": RECEIVER}
    patched = {"p/NodeFaultInjector.java": injector, "p/Receiver.java": receiver}
    hooks = testsupport.find_hooks(stock, patched)
    # decide() returns true by default: the fix's behaviour, never on stock
    assert hooks.behaviour == ["NodeFaultInjector.decide"]
    assert hooks.added == ["NodeFaultInjector.set", "NodeFaultInjector.dropHeartbeat",
                           "NodeFaultInjector.stall"]
    assert hooks.injections == ["NodeFaultInjector.dropHeartbeat (called at Receiver.java:7)",
                                "NodeFaultInjector.stall (called at Receiver.java:10)"]
    on_stock = hooks.texts["p/Receiver.java"]
    assert "NodeFaultInjector.get().dropHeartbeat()) {\n      return 0;\n    }\n" in on_stock
    assert "    NodeFaultInjector.get().stall();\n    send(got);\n" in on_stock
    assert "decide" not in on_stock and "got++" not in on_stock
    assert "public boolean dropHeartbeat()" in hooks.texts["p/NodeFaultInjector.java"]
    # a guard that does more than ask the injector keeps it off stock
    busy = receiver.replace("seqno < 0 && len == 0", "seqno < 0 && send2(len)")
    hooks = testsupport.find_hooks(stock, {**patched, "p/Receiver.java": busy})
    assert "NodeFaultInjector.dropHeartbeat" in hooks.behaviour
    # a call mixed into a changed line is behaviour too
    mixed = receiver.replace("    send(got);\n", "    send(got + 1);\n")
    hooks = testsupport.find_hooks(stock, {**patched, "p/Receiver.java": mixed.replace(
        "    NodeFaultInjector.get().stall();\n    send(got + 1);\n",
        "    NodeFaultInjector.get().stall(); send(got + 1);\n")})
    assert "NodeFaultInjector.stall" in hooks.behaviour
    # reached through anything but the injector's own instance: something else runs
    chained = receiver.replace("NodeFaultInjector.get().stall();",
                               "NodeFaultInjector.get().reload().stall();")
    hooks = testsupport.find_hooks(stock, {**patched, "p/Receiver.java": chained})
    assert "NodeFaultInjector.stall" in hooks.behaviour


def test_an_empty_override_of_a_new_member_compiles_on_stock(tmp_path: object) -> None:
    """YARN-3896 adds RMNode.resetLastNodeHeartBeatResponse(); the test helper MockNodes
    implements it with an empty body. Its @Override is left off (no class file keeps it)
    so the same test classes compile against stock; a method with a body keeps it."""
    from pathlib import Path

    from hpatch import testsupport
    work = Path(str(tmp_path))
    node = "package p;\npublic interface Node {\n  String name();\n}\n"
    files = {
        "stock/p/Node.java": node,
        "patched/p/Node.java": node.replace("  String name();\n",
                                            "  String name();\n  public void reset();\n"
                                            "  int count();\n"),
        "repro/p/MockNode.java": (
            "package p;\nclass MockNode implements Node {\n"
            "  @Override public String name() { return \"n\"; }\n"
            "  @Override\n  public void reset() {\n    // nothing\n  }\n"
            "  @Override\n  public int count() {\n    return 1;\n  }\n}\n"),
    }
    for relative, text in files.items():
        (work / "src" / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / "src" / relative).write_text(text)
    assert testsupport.loosen_overrides(work) == ["MockNode.reset"]
    text = (work / "src" / "repro" / "p" / "MockNode.java").read_text()
    assert "  \n  public void reset() {" in text
    assert "@Override\n  public int count()" in text and "@Override public String" in text


def test_a_test_that_fails_either_way_is_set_aside_only_to_verify(tmp_path: object) -> None:
    """HADOOP-12213 tidies testRTEDuringConnectionSetup, which fails here the same way
    with and without the fix, and adds testInterrupted, which shows the bug: the first
    is set aside, named, and the fix is verified by the second. A test failing either
    way never makes a verdict by itself; where all the fix changes is test support that
    stock gets too (HADOOP-12682), the sides run the same code: inconclusive."""
    from pathlib import Path

    from hpatch.verify import grade_work
    work = Path(str(tmp_path))
    same = failed("java.lang.AssertionError", "null", f"org.junit.Assert.fail;{CLS}.tidied")
    same = same.replace("test=t", "test=tidied")
    bug = failed("java.lang.AssertionError", "did not interrupt", f"{CLS}.shows")
    bug = bug.replace("test=t", "test=shows")

    def write(stock: str, patched: str) -> None:
        for name in ("stock", "patched", "repro"):
            (work / f"status-compile-{name}.txt").write_text("0\n")
        for side, text in (("stock", stock), ("patched", patched)):
            (work / f"{side}-1.log").write_text(text)
            (work / f"status-{side}-1.txt").write_text("1\n")

    write(log(same, bug), log(same, "test=shows\tstatus=passed"))
    graded = grade_work(work, CLS, 1)
    assert graded.verdict is Verdict.VERIFIED, graded.reason
    assert graded.set_aside == ["tidied"] and graded.reason.endswith(
        "(set aside, failing the same way with and without the fix: tidied)")
    write(log(same, "test=shows\tstatus=passed"), log(same, "test=shows\tstatus=passed"))
    assert grade_work(work, CLS, 1).verdict is Verdict.NOT_FIXED
    (work / "support-only.txt").write_text("Ugi.logoutUserFromKeytab\n")
    same_code = grade_work(work, CLS, 1)
    assert (same_code.verdict, same_code.kind) == (Verdict.INCONCLUSIVE, "test-support-only")
    assert "(Ugi.logoutUserFromKeytab)" in same_code.reason
    (work / "support-only.txt").unlink()
    # a different failure on the patched side is no "either way"
    other = same.replace("message=null", "message=other")
    write(log(same, bug), log(other, "test=shows\tstatus=passed"))
    assert grade_work(work, CLS, 1).verdict is Verdict.NOT_FIXED


def test_visibility_the_fix_widens_for_its_test_is_widened_on_stock() -> None:
    """YARN-4365 makes FileSystemNodeLabelsStore.setFileSystem package-private so that
    its test overrides it with a mock file system; MAPREDUCE-6273 opens a constructor
    and the method it fixes. Stock gets the wider declarations and keeps its bodies."""
    from hpatch import testsupport
    stock = ("package p;\nclass Store {\n  private Store(int x) {\n  }\n"
             "  void init() {\n    setFs();\n    fs.mkdirs();\n  }\n"
             "  private void setFs() {\n    fs = real();\n  }\n"
             "  private static\n  int other() {\n    return 1;\n  }\n"
             "  private int changed() {\n    return 1;\n  }\n"
             "  private int overloaded(int a) {\n    return a;\n  }\n}\n")
    patched = (stock.replace("    fs.mkdirs();\n", "    if (!fs.exists()) {\n      fs.mkdirs();\n"
                             "    }\n")
               .replace("  private Store(int x)", "  @VisibleForTesting\n  protected Store(int x)")
               .replace("  private void setFs()", "  @VisibleForTesting\n  void setFs()")
               .replace("  private static\n", "  public static\n")
               .replace("  private int changed() {\n    return 1;",
                        "  public int changed() {\n    return 2;")
               .replace("  private int overloaded(int a)", "  public int overloaded(long a)"))
    hooks = testsupport.find_hooks({"p/Store.java": stock}, {"p/Store.java": patched})
    assert hooks.widened == ["Store.Store (private -> protected)",
                             "Store.setFs (private -> package)",
                             "Store.changed (private -> public)"]
    text = hooks.texts["p/Store.java"]
    assert "\n  protected Store(int x) {" in text
    assert "\n  void setFs() {\n    fs = real();" in text
    assert "  public int changed() {\n    return 1;" in text  # stock's body
    assert "    fs.mkdirs();\n  }\n" in text and "exists" not in text  # stock behaviour
    # the modifier on another line, and a changed parameter list: left alone
    assert "private static\n" in text and "private int overloaded(int a)" in text


def test_a_constructor_only_tests_call_is_a_hook() -> None:
    """A constructor the fix adds for its test goes on stock when no production code
    makes, delegates to or inherits it and no existing `new` can bind to it (another
    arity than every stock constructor)."""
    from hpatch import testsupport
    stock = ("package p;\nclass Info {\n  private final int a;\n  Info(int a) {\n"
             "    this.a = a;\n  }\n  static Info make() {\n    return new Info(1);\n  }\n}\n")
    added = stock.replace("  static Info make()",
                          "  Info(int a, boolean done) {\n    this(a);\n  }\n  static Info make()")
    hooks = testsupport.find_hooks({"p/Info.java": stock}, {"p/Info.java": added})
    assert hooks.added == ["Info.<init>/2"]
    assert "Info(int a, boolean done) {\n    this(a);" in hooks.texts["p/Info.java"]
    # production code that now calls it: the fix's behaviour
    called = added.replace("return new Info(1);", "return new Info(1, true);")
    assert testsupport.find_hooks({"p/Info.java": stock}, {"p/Info.java": called}).added == []
    # an existing constructor delegating to it
    delegating = added.replace("  Info(int a) {\n    this.a = a;",
                               "  Info(int a) {\n    this(a, false);")
    assert testsupport.find_hooks({"p/Info.java": stock},
                                  {"p/Info.java": delegating}).added == []
    # the arity of an existing constructor: `new Info(x)` could bind to it
    same = stock.replace("  static Info make()", "  Info(long a) {\n    this.a = 0;\n  }\n"
                                                 "  static Info make()")
    assert testsupport.find_hooks({"p/Info.java": stock}, {"p/Info.java": same}).added == []


def test_what_compiling_on_top_does_not_carry_is_named() -> None:
    """HDFS-9654 changes hdfs.proto and a web page besides its Java files: the patched
    side runs without them, and the run says so; tests, docs and CHANGES.txt need no
    build."""
    from hpatch.builders.overlay import changed_beyond_java
    module = "hadoop-hdfs-project/hadoop-hdfs"
    stock = {f"{module}/src/main/proto/hdfs.proto": "a", f"{module}/CHANGES.txt": "a",
             f"{module}/src/main/java/A.java": "a", f"{module}/src/site/x.md": "a",
             f"{module}/src/main/resources/hdfs-default.xml": "same"}
    patched = {**{k: "b" for k in stock}, f"{module}/src/main/resources/hdfs-default.xml": "same",
               f"{module}/src/main/webapps/hdfs/dfshealth.html": "new"}
    assert changed_beyond_java(stock, patched) == [f"{module}/src/main/proto/hdfs.proto",
                                                   f"{module}/src/main/webapps/hdfs/dfshealth.html"]


def test_the_patched_side_takes_a_build_of_the_modules_whose_packing_the_fix_changes(
        tmp_path: object) -> None:
    """A .proto or a resource goes into a module's jar only through its build: those
    modules are built with the fix for the patched side and their jars replace the
    checkout's there; a pom, native code or a test changes no jar."""
    from pathlib import Path

    from hpatch import forks, treebuild
    from hpatch.builders.checkout import _modules_of, _with_built
    hdfs = "hadoop-hdfs-project/hadoop-hdfs"
    reactor = forks.Reactor({
        hdfs: forks.Module(hdfs, "hadoop-hdfs", "jar", None, ()),
        "hadoop-common-project/hadoop-common": forks.Module(
            "hadoop-common-project/hadoop-common", "hadoop-common", "jar", None, ())})
    changed = [f"{hdfs}/src/main/proto/hdfs.proto", f"{hdfs}/src/main/webapps/hdfs/x.html",
               f"{hdfs}/pom.xml", "hadoop-common-project/hadoop-common/src/main/native/a.c"]
    assert _modules_of(reactor, changed) == [hdfs]
    repo = Path(str(tmp_path))
    hadoop = repo / "org" / "apache" / "hadoop" / "hadoop-hdfs" / "2.7.1"
    published = [hadoop / "hadoop-hdfs-2.7.1.jar", hadoop / "hadoop-hdfs-2.7.1-tests.jar",
                 repo / "junit" / "junit" / "4.11" / "junit-4.11.jar"]
    origin: list[dict[str, object]] = [{"jar": j.name} for j in published]
    origin.append({"native": "libhadoop.so"})
    built = treebuild.Built("k", repo / "build", {"hadoop-hdfs": "hadoop-hdfs-2.7.1.jar"},
                            False, {})
    jars, where = _with_built(published, origin, built, {"hadoop-hdfs"}, "tree")
    assert jars == [repo / "build" / "jars" / "hadoop-hdfs-2.7.1.jar", *published[1:]]
    assert where[0]["build"] == "k" and where[1:] == origin[1:]


def test_a_stock_failure_that_only_the_fixs_equals_makes_is_no_bug() -> None:
    """HDFS-9654 adds StorageLocation.equals(); its test's assertEquals on lists of the
    same volumes fails on stock, the two printing the same: inconclusive, never
    verified. Values that differ, or a fix that leaves equality alone, verify."""
    from hpatch.grading import needs_fix_equality
    same = ("Effective volumes doesnt match expected expected: java.util.ArrayList<[[DISK]"
            "file:/d1/]> but was: java.util.ArrayList<[[DISK]file:/d1/]>")
    ok = parse_run(PASSED, 0, CLS)
    stock = parse_run(log(failed("java.lang.AssertionError", same, OWN)), 1, CLS)
    changed = ["p.StorageLocation.equals", "p.StorageLocation.hashCode", "p.DataNode.x"]
    graded = needs_fix_equality(grade([stock], [ok]), changed)
    assert (graded.verdict, graded.kind) == (Verdict.INCONCLUSIVE, "needs-fix-api")
    assert "p.StorageLocation.equals" in graded.reason
    assert needs_fix_equality(grade([stock], [ok]), ["p.DataNode.x"]).verdict is \
        Verdict.VERIFIED
    differ = parse_run(log(failed("java.lang.AssertionError", "expected:<2> but was:<0>", OWN)),
                       1, CLS)
    assert needs_fix_equality(grade([differ], [ok]), changed).verdict is Verdict.VERIFIED


def test_a_thread_dump_in_a_message_is_no_stack_of_the_failure() -> None:
    """GenericTestUtils.waitFor's TimeoutException lists every thread's frames in its
    message; a changed method among them is not where the failure went."""
    dump = ("Timed out waiting for condition. Thread diagnostics:\\n\"DataNode\" daemon\\n"
            "\\tat org.apache.hadoop.hdfs.server.namenode.FSNamesystem.getBlockLocations("
            "FSNamesystem.java:1)")
    elsewhere = ("org.apache.hadoop.test.GenericTestUtils.waitFor;"
                 f"org.apache.hadoop.hdfs.DFSTestUtil.waitForReplication;{CLS}.t")
    text = log(failed("java.util.concurrent.TimeoutException", dump, elsewhere))
    assert parse_run(text, 1, CLS, CHANGED).kind is Kind.BROKEN
    # a RemoteException's message is the server's stack: it counts (REMOTE above)
    assert parse_run(log(failed(*REMOTE)), 1, CLS, CHANGED).kind is Kind.CHANGED_CODE


def test_a_wait_of_the_tests_own_that_never_came_true_is_its_assertion() -> None:
    """HDFS-9917's test ends in `GenericTestUtils.waitFor(() -> getStandbyIBRSize(bpos)
    == 0, 100, 1000)`: on stock the re-registered standby keeps its reports, and the
    wait times out. Called by the test (or a helper of its class), the time-out is the
    test's verdict on its condition; called by a utility on its behalf, it is not."""
    dump = "Timed out waiting for condition. Thread diagnostics:\\n\"main\" prio=5"
    wait = "org.apache.hadoop.test.GenericTestUtils.waitFor"
    for caller in (f"{CLS}.t", f"{CLS}.checkReservedSpace;{CLS}.t"):
        own = parse_run(log(failed("java.util.concurrent.TimeoutException", dump,
                                   f"{wait};{caller};sun.reflect.X.invoke")), 1, CLS)
        assert (own.kind, own.summary) == (
            Kind.ASSERTION, "the test's wait never came true: Timed out waiting for condition.")
    for frames in (f"{wait};org.apache.hadoop.hdfs.MiniDFSCluster.waitActive;{CLS}.t",
                   f"org.apache.hadoop.hdfs.Other.poll;{CLS}.t"):
        other = parse_run(log(failed("java.util.concurrent.TimeoutException", dump, frames)),
                          1, CLS)
        assert other.kind is Kind.BROKEN
    # a time-out the test's own JUnit timeout raises is still a time-out
    timed = log(failed("org.junit.runners.model.TestTimedOutException",
                       "test timed out after 1000 milliseconds", f"{wait};{CLS}.t"))
    assert parse_run(timed, 1, CLS).kind is Kind.BROKEN


def test_access_an_earlier_change_widened_is_opened_on_both_sides(tmp_path: object) -> None:
    """HDFS-9958's test calls getStorageID() and getStorageInfos() from another package;
    HDFS-9198 had made them public. Both sides get the checkout's files with only those
    declarations opened; a file of the fix's own is opened where it already is."""
    from pathlib import Path

    from hpatch import testsupport
    work = Path(str(tmp_path))
    info = ("package b;\npublic class Info {\n  String getStorageID() {\n    return id;\n  }\n"
            "  public String getName() {\n    return name;\n  }\n}\n")
    assert testsupport.widened_upstream(info, info.replace(
        "  String getStorageID", "  public String getStorageID")) == [
        ("getStorageID", ")", "package", "public")]
    desc_stock = "package b;\nclass Desc {\n  Info[] getStorageInfos() {\n    return a;\n  }\n}\n"
    desc_fixed = desc_stock.replace("return a;", "return b;")
    for side, text in (("stock", desc_stock), ("patched", desc_fixed)):
        (work / "src" / side / "b").mkdir(parents=True)
        (work / "src" / side / "b" / "Desc.java").write_text(text)
    path = "m/src/main/java/b/{}.java"
    accesses = [
        {"path": path.format("Info"), "method": "getStorageID", "params": ")",
         "from": "package", "to": "public", "commit": "HDFS-9198 (9fa300ad1f4)"},
        {"path": path.format("Desc"), "method": "getStorageInfos", "params": ")",
         "from": "package", "to": "public", "commit": "HDFS-9198 (9fa300ad1f4)"},
        {"path": path.format("Info"), "method": "getName", "params": ")",  # public already
         "from": "package", "to": "public", "commit": ""},
        {"path": path.format("Gone"), "method": "x", "params": ")", "from": "private",
         "to": "public", "commit": ""}]
    opened = testsupport.open_access(work, accesses, ({"b/Info.java": info},
                                                      {"b/Info.java": info}))
    assert opened == ["Info.getStorageID (package -> public, as HDFS-9198 (9fa300ad1f4) has it)",
                      "Desc.getStorageInfos (package -> public, as HDFS-9198 (9fa300ad1f4) "
                      "has it)"]
    for side in ("stock", "patched"):
        assert (work / "src" / side / "b" / "Info.java").read_text() == info.replace(
            "  String getStorageID", "  public String getStorageID")
    assert (work / "src" / "stock" / "b" / "Desc.java").read_text() == desc_stock.replace(
        "  Info[]", "  public Info[]")
    assert (work / "src" / "patched" / "b" / "Desc.java").read_text() == desc_fixed.replace(
        "  Info[]", "  public Info[]")  # the fix's own body stays
    assert not (work / "src" / "stock" / "b" / "Gone.java").exists()


def test_a_fix_whose_production_change_is_only_test_support_shows_nothing() -> None:
    """HADOOP-12682 fixes TestKMS and adds UserGroupInformation.logoutUserFromKeytab for
    it, which no production code calls: with the hook on stock both sides run the same
    code, and the test that fails on both (for its own reasons) is no not-fixed."""
    from hpatch import testsupport
    stock = ('package p;\nimport a.B;\nclass Ugi {\n  void login() {\n    log("in");\n  }\n'
             '}\n')
    hook = ("  /** Log out. */\n  @Public\n  public void logout() {\n"
            '    log("out");\n  }\n\n')
    patched = stock.replace("  void login()", hook + "  void login()").replace(
        "import a.B;\n", "import a.B;\nimport a.C;\n")
    only = testsupport.find_hooks({"p/Ugi.java": stock}, {"p/Ugi.java": patched})
    assert only.added == ["Ugi.logout"] and only.support_only
    for other in (patched.replace('log("in")', 'log("in!")'),   # a literal is code
                  patched.replace("class Ugi {\n", "class Ugi {\n  int n;\n")):
        more = testsupport.find_hooks({"p/Ugi.java": stock}, {"p/Ugi.java": other})
        assert more.added == ["Ugi.logout"] and not more.support_only
    # a comment-only change adds no hook: it is graded as it runs (a sabotage is not-fixed)
    comment = testsupport.find_hooks({"p/Ugi.java": stock}, {"p/Ugi.java": stock.replace(
        "  void login()", "  // fixed\n  void login()")})
    assert not comment.added and not comment.support_only
