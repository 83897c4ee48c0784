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


def test_only_the_changed_methods_go_onto_a_test_file_that_does_not_merge() -> None:
    """YARN-4354's tests do not merge onto 2.7.1's file (later commits rewrote other
    methods): the methods the commit changes are carried onto the release's own file,
    with the imports they need; the rest of the release's file stays as it is."""
    from hpatch.importer.port import splice_methods
    release = BEFORE.replace("check(first());", "check(first()); // the release's own")
    before = BEFORE.replace("check(unrelated);", "check(unrelated, 2); // later API")
    before = before.replace("  private static String first() {",
                            "  private static String helper() {\n    return \"h\" + dir;\n  }\n\n"
                            "  private static final String root = \"r\";\n"
                            "  private static final String dir =\n      root + \"d\";\n\n"
                            "  private static String first() {")
    after = before.replace("  private static String first() {",
                           "  @Test\n  public void testNew() {\n    final String local = \"l\";\n"
                           "    check(Util.x() + helper() + local);"
                           "\n  }\n\n  private static String first() {").replace(
        "import org.junit.Test;\n", "import org.junit.Test;\nimport q.Util;\n").replace(
        '"/a", "/b", };', '"/a", "/b", "/c", };')
    spliced = splice_methods(release, before, after)
    assert spliced is not None
    assert "public void testNew()" in spliced and "import q.Util;" in spliced
    assert "check(first()); // the release's own" in spliced
    assert "later API" not in spliced  # an unchanged method keeps the release's form
    # the helper an earlier change added, which the new test calls, comes along
    assert "private static String helper()" in spliced
    # and its field, and the field that one uses, in their order
    assert spliced.index('root = "r";') < spliced.index('dir =\n      root + "d";')
    assert spliced.count("final String local") == 1  # a local stays a local
    assert testmethods.changed_tests(release, spliced) == ["testNew"]


def test_a_merged_test_gets_the_imports_its_code_uses_from_the_commits_file() -> None:
    """HDFS-10178's test diff merged onto 2.7.1's file, whose imports lack
    DataNodeFaultInjector (an earlier change on the branch imported it): the commit's
    own file has the import, and the merged code uses the name."""
    from hpatch.importer.port import used_imports
    merged = ("package a;\n\nimport x.Y;\n\npublic class TestT {\n"
              "  DataNodeFaultInjector i = DataNodeFaultInjector.get();\n  Y y;\n}\n")
    after = ("package a;\n\nimport x.Y;\nimport org.h.DataNodeFaultInjector;\n"
             "import org.h.NotUsedHere;\nimport static org.junit.Assert.fail;\n\n"
             "public class TestT {\n}\n")
    text = used_imports(merged, after)
    assert "import org.h.DataNodeFaultInjector;" in text
    assert "NotUsedHere" not in text and "Assert.fail" not in text
    # nothing to add: the text is as it was, byte for byte
    assert used_imports(text, after) == text
