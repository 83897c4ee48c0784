"""Upstream tests graded by the rule the README states, on a real javac and JVM:
stock counts when it fails on the test's assertion or with an exception through a
method the fix changes; a crash elsewhere never verifies; test hooks the fix adds go
on stock; a test that needs the fix's behaviour API is inconclusive, naming it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hpatch import maven, surefire, testsupport
from hpatch.builders.overlay import JUNIT
from hpatch.grading import Verdict
from hpatch.paths import harness_dir
from hpatch.testsupport import Hooks
from hpatch.verify import grade_work

pytestmark = [pytest.mark.network]

STOCK = """package demo;
public class Greeter {
  public static String greet(String name) {
    return "hello " + name.trim();
  }
}
"""
PATCHED = """package demo;
public class Greeter {
  private static int calls;

  public static String greet(String name) {
    calls++;
    return name == null ? "hello" : "hello " + name.trim();
  }

  /** For tests only. */
  static int callsForTesting() {
    return 42;
  }

  public static String greetPolitely(String name) {
    return "dear " + greet(name);
  }

  static String polite(String name) {
    return greetPolitely(name);
  }
}
"""
HELPER = """package demo;
public class Helper {
  public static void setUp() {
    Object nothing = null;
    nothing.hashCode();
  }
}
"""


def _test(body: str, before: str = "") -> str:
    return ("package demo;\nimport org.junit.Assert;\nimport org.junit.Before;\n"
            "import org.junit.Test;\npublic class TestGreeter {\n" + before +
            "  @Test public void greetsNobody() {\n" + body + "  }\n}\n")


def _run(tmp_path: Path, test: str, *, helper: bool = False,
         seed: Path | None = None) -> tuple[Path, Hooks]:
    junit = maven.resolve_classpath([JUNIT])
    work = tmp_path / "work"
    if seed is not None:
        shutil.copytree(seed, work)
    for side, text in (("stock", STOCK), ("patched", PATCHED)):
        (work / "src" / side / "demo").mkdir(parents=True, exist_ok=True)
        (work / "src" / side / "demo" / "Greeter.java").write_text(text)
    (work / "src" / "repro" / "demo").mkdir(parents=True, exist_ok=True)
    (work / "src" / "repro" / "demo" / "TestGreeter.java").write_text(test)
    if helper:
        (work / "src" / "repro" / "demo" / "Helper.java").write_text(HELPER)
    (work / "test-class.txt").write_text("demo.TestGreeter")
    (work / "classpath.txt").write_text(os.pathsep.join(map(str, junit)))
    hooks = testsupport.prepare_work(work)
    subprocess.run(["bash", str(harness_dir() / "verify.sh"), str(work), str(harness_dir()),
                    "2", "60"], check=True, capture_output=True, cwd=work)
    return work, hooks


def test_an_exception_through_a_changed_method_shows_the_bug(tmp_path: Path) -> None:
    work, _ = _run(tmp_path, _test('    Assert.assertEquals("hello", Greeter.greet(null));\n'))
    grade = grade_work(work, "demo.TestGreeter", 2)
    assert grade.verdict is Verdict.VERIFIED, grade.reason
    assert grade.stock_failure == "exception-in-changed-code"
    assert grade.stock[0].frame == "demo.Greeter.greet"
    assert "demo.Greeter.greet" in testsupport.read_changed(work)


def test_a_set_up_crash_elsewhere_never_verifies(tmp_path: Path) -> None:
    before = "  @Before public void setUp() { Helper.setUp(); }\n"
    work, _ = _run(tmp_path, _test('    Assert.assertEquals("hello", Greeter.greet(null));\n',
                                   before), helper=True)
    grade = grade_work(work, "demo.TestGreeter", 2)
    assert grade.verdict is Verdict.ERROR and grade.kind == "exception-elsewhere", grade
    assert "Helper.setUp" in grade.reason


def test_a_hook_the_fix_adds_goes_on_stock(tmp_path: Path) -> None:
    work, hooks = _run(tmp_path, _test(
        '    Assert.assertEquals(42, Greeter.callsForTesting());\n'
        '    Assert.assertEquals("hello", Greeter.greet(null));\n'))
    # polite() is called by nothing, but needs greetPolitely(), which the fix's own code
    # calls: neither goes on stock
    assert hooks.added == ["Greeter.callsForTesting"]
    assert hooks.behaviour == ["Greeter.greetPolitely"]
    assert (work / "stock-hooks.txt").read_text().splitlines()[0] == "Greeter.callsForTesting"
    grade = grade_work(work, "demo.TestGreeter", 2)
    assert grade.verdict is Verdict.VERIFIED, grade.reason
    # stock behaviour stayed stock: greet(null) still throws there
    assert grade.stock_failure == "exception-in-changed-code"


def test_a_test_needing_the_fixs_behaviour_api_is_inconclusive(tmp_path: Path) -> None:
    work, _ = _run(tmp_path, _test(
        '    Assert.assertEquals("dear hello", Greeter.greetPolitely(null));\n'))
    grade = grade_work(work, "demo.TestGreeter", 2)
    assert grade.verdict is Verdict.INCONCLUSIVE and grade.kind == "needs-fix-api", grade
    assert "greetPolitely" in grade.reason


def test_the_modules_surefire_properties_reach_the_test(tmp_path: Path) -> None:
    """test.cache.data (the test classes directory, where upstream tests find their
    resources) and test.build.data as the module's Surefire configuration sets them."""
    work = tmp_path / "work"
    (work / "src" / "repro").mkdir(parents=True)
    (work / "src" / "repro" / "demo.txt").write_text("resource\n")
    (work / surefire.FILE).write_text(
        "test.cache.data=@TESTCLASSES@\ntest.build.dir=@DATA@/target/test-dir\n")
    body = ('    java.io.File res = new java.io.File(System.getProperty("test.cache.data"), '
            '"demo.txt");\n    Assert.assertTrue(res.getPath(), res.isFile());\n'
            '    Assert.assertTrue(System.getProperty("test.build.dir").endsWith('
            '"/target/test-dir"));\n'
            '    Assert.assertEquals("hello", Greeter.greet(null));\n')
    shutil.copytree(work, tmp_path / "seed")
    shutil.rmtree(work)
    work, _ = _run(tmp_path, _test(body), seed=tmp_path / "seed")
    grade = grade_work(work, "demo.TestGreeter", 2)
    assert grade.verdict is Verdict.VERIFIED, (grade.reason, (work / "stock-1.log").read_text())
    assert grade.stock_failure == "exception-in-changed-code"


def test_surefire_properties_from_the_release_poms(hadoop: Path) -> None:
    """Read from the real 2.4.1 poms (module, hadoop-project-dist, hadoop-project, root)."""
    def read(path: str) -> str | None:
        target = hadoop / path
        return target.read_text() if target.is_file() else None

    poms, missing = surefire.pom_chain("hadoop-hdfs-project/hadoop-hdfs", read)
    # hadoop-project-dist's pom comes from Maven Central with the release's sources
    assert missing == "" and len(poms) == 4
    found = surefire.system_properties(poms)
    assert found["test.build.data"].startswith("@DATA@/target/")
    assert found["java.net.preferIPv4Stack"] == "true"
    # krb5.conf is a test resource of the module: the reproducer carries it
    assert found["java.security.krb5.conf"] == "@TESTCLASSES@/krb5.conf"


INJECTOR = """package demo;
public class Injector {
  private static Injector instance = new Injector();
  public static Injector get() {
    return instance;
  }
}
"""
RELAY = """package demo;
public class Relay {
  public static String blame(String packet) {
    String forwarded = packet;
    return forwarded.isEmpty() ? "downstream" : "";
  }
}
"""
RELAY_FIXED = RELAY.replace("""    return forwarded.isEmpty() ? "downstream" : "";""",
                            """    // For testing. Normally no-op.
    if (packet != null &&
        Injector.get().dropPacket()) {
      forwarded = "";
    }
    boolean lostHere = forwarded.length() < packet.length();
    return forwarded.isEmpty() ? (lostHere ? "this node" : "downstream") : "";""")
INJECTOR_FIXED = INJECTOR.replace("\n}\n", """
  public static void set(Injector injector) {
    instance = injector;
  }
  public boolean dropPacket() {
    return false;
  }
}
""")
STALL_TEST = """package demo;
import org.junit.Test;
public class TestGreeter {
  @Test public void greetsNobody() throws Exception {
    Injector.set(new Injector() {
      @Override
      public boolean dropPacket() {
        return true;
      }
    });
    if (!"this node".equals(Relay.blame("data"))) {
      throw new java.io.IOException("the node that dropped the packet should be blamed");
    }
  }
}
"""


def test_an_injection_point_reaches_stocks_real_code(tmp_path: Path) -> None:
    """The fix adds a no-op injection point and its call (HDFS-9178's shape): both go on
    stock, the test's injector drops the packet there, and stock blames the wrong node
    in the test's own `throw`."""
    junit = maven.resolve_classpath([JUNIT])
    work = tmp_path / "work"
    sides = {"stock": {"Injector": INJECTOR, "Relay": RELAY},
             "patched": {"Injector": INJECTOR_FIXED, "Relay": RELAY_FIXED}}
    for side, files in sides.items():
        (work / "src" / side / "demo").mkdir(parents=True)
        for name, text in files.items():
            (work / "src" / side / "demo" / f"{name}.java").write_text(text)
    (work / "src" / "repro" / "demo").mkdir(parents=True)
    (work / "src" / "repro" / "demo" / "TestGreeter.java").write_text(STALL_TEST)
    (work / "test-class.txt").write_text("demo.TestGreeter")
    (work / "classpath.txt").write_text(os.pathsep.join(map(str, junit)))
    hooks = testsupport.prepare_work(work)
    assert hooks.added == ["Injector.set", "Injector.dropPacket"]
    assert hooks.injections == ["Injector.dropPacket (called at Relay.java:7)"]
    stock_relay = (work / "src" / "stock" / "demo" / "Relay.java").read_text()
    assert "Injector.get().dropPacket()" in stock_relay and "lostHere" not in stock_relay
    subprocess.run(["bash", str(harness_dir() / "verify.sh"), str(work), str(harness_dir()),
                    "2", "60"], check=True, capture_output=True, cwd=work)
    grade = grade_work(work, "demo.TestGreeter", 2)
    assert grade.verdict is Verdict.VERIFIED, grade.reason
    assert grade.stock_failure == "assertion"
    assert grade.stock[0].summary == (
        "IOException: the node that dropped the packet should be blamed")


def test_another_changed_test_file_that_does_not_compile_is_left_out(tmp_path: Path) -> None:
    """YARN-3769 changes two test classes; the one not run imports what an earlier
    change brought. The test class and the sources it uses compile alone, and run."""
    seed = tmp_path / "seed"
    (seed / "src" / "repro" / "demo").mkdir(parents=True)
    (seed / "src" / "repro" / "demo" / "TestOther.java").write_text(
        "package demo;\nimport static demo.Missing.CONSTANT;\npublic class TestOther {\n}\n")
    (seed / "src" / "repro" / "demo" / "Names.java").write_text(
        'package demo;\npublic class Names {\n  static final String NOBODY = null;\n}\n')
    work, _ = _run(tmp_path, _test('    Assert.assertEquals("hello", '
                                   'Greeter.greet(Names.NOBODY));\n'), seed=seed)
    grade = grade_work(work, "demo.TestGreeter", 2)
    assert grade.verdict is Verdict.VERIFIED, grade.reason
    assert (work / "repro-used-only.txt").read_text().split() == ["repro"]
    assert "Missing" in (work / "compile-repro-all.log").read_text()
