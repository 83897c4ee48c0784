"""Pure logic: release numbers and ranges, hunk placement, catalog schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from unidiff.patch import PatchedFile, PatchSet

from hpatch import catalog, patching
from hpatch.errors import CatalogError, HpatchError
from hpatch.releases import Release, ReleaseRange


def test_release_order_and_qualifiers() -> None:
    assert Release.parse("2.4.1") < Release.parse("2.10.0")
    assert Release.parse("2.7.4-SNAPSHOT") < Release.parse("2.7.4")
    assert Release.parse("2.7.4-SNAPSHOT") > Release.parse("2.7.3")
    assert Release.parse("3.0.0-alpha1") < Release.parse("3.0.0")
    assert Release.parse("2.6.0-cdh5.16.2") == Release.parse("2.6.0")
    with pytest.raises(HpatchError):
        Release.parse("banana")


def test_range_contains_overlaps_and_without() -> None:
    rng = ReleaseRange.parse([">=2.2.0,<2.8.0"])
    assert rng.contains(Release.parse("2.2.0"))
    assert not rng.contains(Release.parse("2.8.0"))
    assert rng.overlaps(ReleaseRange.parse("==2.7.3"))
    assert not rng.overlaps(ReleaseRange.parse(">=2.8.0"))
    assert not ReleaseRange.parse("<2.6.0").overlaps(ReleaseRange.parse(">=2.6.0"))
    assert ReleaseRange.parse("<=2.6.0").overlaps(ReleaseRange.parse(">=2.6.0"))
    rest = rng.without(Release.parse("2.6.0"))
    assert rest is not None
    assert not rest.contains(Release.parse("2.6.0"))
    assert rest.contains(Release.parse("2.5.2")) and rest.contains(Release.parse("2.6.5"))
    assert not rest.overlaps(ReleaseRange.parse("==2.6.0"))
    assert ReleaseRange.parse("==2.6.0").without(Release.parse("2.6.0")) is None
    with pytest.raises(CatalogError):
        ReleaseRange.parse("~2.6")


DIFF = """\
--- a/f.txt
+++ b/f.txt
@@ -3,5 +3,5 @@
 c
 d
-e
+E
 f
 g
"""


def _patched() -> PatchedFile:
    return PatchSet(DIFF)[0]


def test_locate_exact_offset_and_fuzz() -> None:
    base = "a\nb\nc\nd\ne\nf\ng\nh\n"
    [exact] = patching.locate(_patched(), base)
    assert (exact.found, exact.offset, exact.fuzz) == (3, 0, 0)
    [shifted] = patching.locate(_patched(), "x\ny\n" + base)
    assert (shifted.found, shifted.offset, shifted.fuzz) == (5, 2, 0)
    fuzzy_text = base.replace("c\n", "C changed\n")
    [fuzzy] = patching.locate(_patched(), fuzzy_text)
    assert fuzzy.fuzz == 1 and fuzzy.found == 3
    new = patching.apply_placed(_patched(), fuzzy_text, [fuzzy])
    assert new == "a\nb\nC changed\nd\nE\nf\ng\nh\n"
    [missing] = patching.locate(_patched(), base.replace("e\n", "z\n"))
    assert missing.found is None and "'e'" in missing.reason
    [absent] = patching.locate(_patched(), None)
    assert absent.reason == "file does not exist"


@pytest.mark.parametrize("text,message", [
    ("just some words\n", "not a diff"),
    (DIFF[:-8], "truncated"),
    (DIFF.replace("a/f.txt", "a/../f.txt").replace("b/f.txt", "b/../f.txt"), "escapes"),
    (DIFF.replace("--- a/f.txt", "--- /etc/f.txt").replace("+++ b/f.txt", "+++ /etc/f.txt"),
     "absolute"),
])
def test_parse_refuses_bad_variants(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "v.patch"
    path.write_text(text)
    with pytest.raises(CatalogError, match=message):
        patching.parse(path)


def test_symlinked_directory_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hadoop-evil").symlink_to(outside)
    with pytest.raises(HpatchError, match="symlink"):
        patching.check_paths_inside(repo, ["hadoop-evil/x.java"])


def test_schema_rejects_unknown_and_missing_fields(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="missing field `title`"):
        catalog.check_schema({"id": "X-1"}, {"id": (str, True), "title": (str, True)}, "f")
    with pytest.raises(CatalogError, match="unknown field"):
        catalog.check_schema({"id": "X-1", "colour": "red"}, {"id": (str, True)}, "f")
    with pytest.raises(CatalogError, match="must be str"):
        catalog.check_schema({"id": 3}, {"id": (str, True)}, "f")


def test_bundled_catalog_loads_in_order() -> None:
    cat = catalog.load(catalog.default_root())
    ids = [f.id for f in cat]
    assert "HDFS-9812" in ids and "YARN-4398" in ids
    assert ids.index("HDFS-9812") < ids.index("YARN-4398")
    assert cat.get("hdfs-9812").id == "HDFS-9812"


def test_git_lock_wait_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from hpatch import checkout
    monkeypatch.delenv("HPATCH_GIT_LOCK_WAIT", raising=False)
    assert checkout.lock_wait() == checkout.LOCK_WAIT
    monkeypatch.setenv("HPATCH_GIT_LOCK_WAIT", "2.5")
    assert checkout.lock_wait() == 2.5
    for bad in ("soon", "-1", "1e9"):
        monkeypatch.setenv("HPATCH_GIT_LOCK_WAIT", bad)
        with pytest.raises(HpatchError, match="HPATCH_GIT_LOCK_WAIT"):
            checkout.lock_wait()


def test_a_missing_artifact_is_named_in_each_of_mvns_wordings() -> None:
    from hpatch import maven
    art = "org.apache.hadoop:hadoop-yarn-api:jar:test-sources:2.4.1"
    first = ("[ERROR] Failed to execute goal on project fetch: Could not resolve dependencies "
             f"for project hpatch.request:fetch:pom:0: Could not find artifact {art} in central "
             "(https://repo.example/maven2) -> [Help 1]")
    cached = ("[ERROR] Failed to execute goal on project fetch: Could not resolve dependencies "
              f"for project hpatch.request:fetch:pom:0: {art} was not found in "
              "https://repo.example/maven2 during a previous attempt.")
    other = "org.apache.hadoop:hadoop-annotations:jar:test-sources:2.4.1"
    several = (f"The following artifacts could not be resolved: {other}, {art}: Could not find "
               f"artifact {other} in central")
    assert maven._unresolved(first) == [art]
    assert maven._unresolved(cached) == [art]
    assert maven._unresolved(several) == [other, art]


def test_an_entry_whose_variants_change_no_code_says_no_test_can_show_it() -> None:
    """YARN-4183 at 2.7.1 is a change, its revert and then documentation and defaults:
    the entry says that no test can show it, not that one is to be written."""
    from hpatch.importer import entry
    from hpatch.importer.port import Port
    from hpatch.releases import Release
    port = Port(Release.parse("2.7.1"), "release-2.7.1")
    port.patch = ("diff --git a/y/src/main/resources/yarn-default.xml "
                  "b/y/src/main/resources/yarn-default.xml\n")
    assert entry._code_paths([port]) == []
    lines = entry._reproducer_toml([], {}, entry._code_paths([port]))
    assert "changes no Java code" in lines[-1] and "write one" not in lines[-1]
    port.patch += "diff --git a/y/src/main/java/p/A.java b/y/src/main/java/p/A.java\n"
    assert entry._code_paths([port]) == ["y/src/main/java/p/A.java"]
    lines = entry._reproducer_toml([], {}, entry._code_paths([port]))
    assert "carries no test; write one" in lines[-1]
