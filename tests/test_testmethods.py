"""Which test methods a change to an upstream test file selects."""

from __future__ import annotations

from hpatch import javasrc, testmethods

BEFORE = """package p;

import org.junit.Test;

public class TestPaths {
  private static final String[] TEST_PATHS = {
      "/a", "/b", };

  private static String unrelated = "x";

  @Test
  public void testEncoding() {
    for (String p : TEST_PATHS) {
      check(p);
    }
  }

  @Test
  public void testRedirect() {
    check(first());
  }

  @Test
  public void testOther() {
    check(unrelated);
  }

  private static String first() {
    return TEST_PATHS[0];
  }

  private static void check(String p) {
  }
}
"""


def test_a_changed_field_selects_the_tests_that_use_it() -> None:
    """HDFS-10474 adds a path to its test's data array and changes no method."""
    after = BEFORE.replace('"/a", "/b", };', '"/a", "/b", "/c@2X.png", };')
    assert testmethods.changed_tests(BEFORE, after) == ["testEncoding", "testRedirect"]
    assert javasrc.strip(after)  # the file still reads as code


def test_a_changed_method_selects_itself() -> None:
    after = BEFORE.replace("check(unrelated);", "check(unrelated + 1);")
    assert testmethods.changed_tests(BEFORE, after) == ["testOther"]
