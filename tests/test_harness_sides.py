"""The runtime's script (harness/verify.sh) runs each side on its own classpath when
stock and patched are two builds (--builder full): a real javac, two real jars,
a real JUnit run on the host's JDK, graded as verify grades it."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from hpatch import maven
from hpatch.builders.overlay import JUNIT
from hpatch.grading import Verdict
from hpatch.paths import harness_dir
from hpatch.verify import grade_work

pytestmark = [pytest.mark.network]

GREETER = """package demo;
public class Greeter { public static String greet() { return "%s"; } }
"""
REPRO = """package demo;
import org.junit.Assert;
import org.junit.Test;
public class TestGreeter {
  @Test public void greetsTheNewWay() {
    Assert.assertEquals("the fixed greeting", "new", Greeter.greet());
  }
}
"""


def _jar(tmp: Path, name: str, greeting: str) -> Path:
    src = tmp / name / "demo" / "Greeter.java"
    src.parent.mkdir(parents=True)
    src.write_text(GREETER % greeting)
    classes = tmp / name / "classes"
    subprocess.run(["javac", "-nowarn", "-d", str(classes), str(src)], check=True,
                   capture_output=True)
    jar = tmp / f"{name}.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.write(classes / "demo" / "Greeter.class", "demo/Greeter.class")
    return jar


def test_each_side_runs_on_its_own_classpath(tmp_path: Path) -> None:
    junit = maven.resolve_classpath([JUNIT])
    work = tmp_path / "work"
    (work / "src" / "repro" / "demo").mkdir(parents=True)
    (work / "src" / "repro" / "demo" / "TestGreeter.java").write_text(REPRO)
    (work / "test-class.txt").write_text("demo.TestGreeter")
    shared = os.pathsep.join(map(str, junit))
    (work / "classpath.txt").write_text(shared)
    for side, greeting in (("stock", "old"), ("patched", "new")):
        jar = _jar(tmp_path, side, greeting)
        (work / f"classpath-{side}.txt").write_text(f"{jar}{os.pathsep}{shared}")
    subprocess.run(["bash", str(harness_dir() / "verify.sh"), str(work), str(harness_dir()),
                    "2", "60"], check=True, capture_output=True, cwd=work)
    grade = grade_work(work, "demo.TestGreeter", 2)
    assert grade.verdict is Verdict.VERIFIED, (grade.reason, (work / "stock-1.log").read_text())
    assert "expected:<[new]> but was:<[old]>" in grade.stock[0].summary
