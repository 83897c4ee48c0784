"""Fixes applied to one checkout share one module build when each fix's change is
confined to the Java files compiled on top of it (stock and patched overlays)."""

from __future__ import annotations

from pathlib import Path

from conftest import TINY_FILE, TINY_FIXED, Tiny, git

from hpatch import catalog as catalog_mod
from hpatch.assess import Assessment, State
from hpatch.builders.checkout import shares_head_build
from hpatch.checkout import Checkout


def _applied(tiny: Tiny) -> tuple[Checkout, Assessment]:
    assert tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo)).code == 0
    checkout = Checkout.open(tiny.repo)
    fix = catalog_mod.load(tiny.catalog).get("TINY-1")
    commit = git(tiny.repo, "rev-parse", "HEAD")
    return checkout, Assessment(fix, State.APPLIED, "", commit=commit)


def test_a_java_only_fix_shares_the_head_build(tiny: Tiny) -> None:
    checkout, assessment = _applied(tiny)
    assert shares_head_build(checkout, assessment)
    # another team commit elsewhere changes nothing about it
    (tiny.repo / "README.txt").write_text("ours, again\n")
    git(tiny.repo, "commit", "-qam", "Team change")
    assert shares_head_build(checkout, assessment)


def test_what_the_overlay_cannot_reach_gets_a_build_of_its_own(tiny: Tiny) -> None:
    checkout, assessment = _applied(tiny)
    # a later commit changed the fix's file: HEAD's version is not the fix's
    (tiny.repo / TINY_FILE).write_text(TINY_FIXED.replace("stop();", "stop(); // later"))
    git(tiny.repo, "commit", "-qam", "Later change to Tiny")
    assert not shares_head_build(checkout, assessment)
    # not applied (applicable): its stock is HEAD already
    stock = Assessment(assessment.fix, State.APPLICABLE, "")
    assert not shares_head_build(checkout, stock)


def test_test_classes_become_a_tests_jar_where_the_module_makes_none(tmp_path: Path) -> None:
    """hadoop-mapreduce-client-core makes no -tests jar (2.7.1 never published one): its
    compiled test classes are kept as one, and the build's key says so."""
    import zipfile

    from hpatch import treebuild
    module = tmp_path / "stage" / "mr" / "target"
    (module / "test-classes" / "p").mkdir(parents=True)
    (module / "test-classes" / "p" / "Util.class").write_bytes(b"\xca\xfe")
    (module / "mr-core-2.7.1.jar").write_bytes(b"jar")
    spec = treebuild.BuildSpec("t", "2.7.1", ("mr",), (("mr", "mr-core"),), False, (), "i",
                               test_classes=("mr-core",))
    jars = treebuild._collect(spec, tmp_path / "stage", tmp_path / "entry")
    assert jars == {"mr-core": "mr-core-2.7.1.jar", "mr-core:tests": "mr-core-2.7.1-tests.jar"}
    with zipfile.ZipFile(tmp_path / "entry" / "jars" / "mr-core-2.7.1-tests.jar") as archive:
        assert archive.namelist() == ["p/", "p/Util.class"]
    plain = treebuild.BuildSpec("t", "2.7.1", ("mr",), (("mr", "mr-core"),), False, (), "i")
    assert plain.key() != spec.key()
