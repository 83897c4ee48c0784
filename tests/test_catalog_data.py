"""The catalog as data, offline: lint catches what would break a command later,
and refresh writes variants.toml without losing what people wrote in it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CATALOG, TINY_FILE, Tiny, git, run_hpatch

from hpatch import catalog
from hpatch.releases import Release

Mangle = Callable[[str], str]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("old,new,problem", [
    ('upstream = ["TINY-1"]', "upstream = [9812]", "`upstream` must be a list of str"),
    ('fixed_in = ["2.7.3"]', 'fixed_in = ["soon"]', "'soon' is not a release"),
    ('upstream = ["TINY-1"]', 'upstream = ["tiny one"]', "not an id like HDFS-1234"),
    (f'paths = ["{TINY_FILE}"]', 'paths = ["../../../../etc/passwd"]',
     "must be a path inside the repository"),
    (f'paths = ["{TINY_FILE}"]', 'paths = ["/etc/passwd"]', "must be a path inside"),
    (f'paths = ["{TINY_FILE}"]', 'paths = [3]', "`paths` must be a list of str"),
    ('affected = [">=2.2.0,<2.7.3"]', "affected = [2]", "`affected` must be str or a list"),
])
def test_lint_refuses_what_a_later_command_would_trip_on(tiny: Tiny, old: str, new: str,
                                                         problem: str) -> None:
    _edit(tiny.catalog / "TINY-1" / "fix.toml", old, new)
    lint = tiny.hpatch("lint")
    assert lint.code == 1 and problem in lint.out, lint.out + lint.err
    listing = tiny.hpatch("list")  # one clear error, never an internal one (exit 3)
    assert listing.code == 1 and len(listing.error_lines) == 1, listing.err


def test_a_probe_path_outside_the_repository_is_never_read(tiny: Tiny, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("public void close() {\n    flush();\n  }\n")
    _edit(tiny.catalog / "TINY-1" / "fix.toml", f'paths = ["{TINY_FILE}"]',
          'paths = ["../secret.txt"]')
    result = tiny.hpatch("status", "--repo", str(tiny.repo))
    assert result.code == 1 and "must be a path inside the repository" in result.err


@pytest.mark.parametrize("order,problem", [
    ('["TINY-1", "TINY-2"]', "`order` lists TINY-2, which is no entry"),
    ('["TINY-1", "TINY-1"]', "`order` lists TINY-1 more than once"),
    ("[]", "`order` leaves out TINY-1"),
    ("[1]", "`order` must be a list of fix ids"),
])
def test_lint_checks_the_catalog_order(tiny: Tiny, order: str, problem: str) -> None:
    (tiny.catalog / "catalog.toml").write_text(f"order = {order}\n")
    lint = tiny.hpatch("lint")
    assert lint.code == 1 and problem in lint.out, lint.out


def test_a_bug_probe_outside_the_source_modules_is_a_warning(tiny: Tiny) -> None:
    other = "hadoop-tools/hadoop-distcp/src/main/java/Tiny.java"
    _edit(tiny.catalog / "TINY-1" / "fix.toml", f'paths = ["{TINY_FILE}"]',
          f'paths = ["{TINY_FILE}", "{other}"]')
    lint = tiny.hpatch("lint")
    assert lint.code == 0, lint.out + lint.err
    assert f"warning: TINY-1: [detect] path {other} is in none of the modules" in lint.err


def test_the_bundled_catalog_has_no_warnings() -> None:
    lint = run_hpatch("lint")
    assert lint.code == 0 and "warning" not in lint.err, lint.err


def test_list_json_has_no_unread_fields() -> None:
    # every field of an entry is either shown or used; `seed` was neither
    [entry] = [f for f in json.loads(run_hpatch("list", "--json").out) if f["id"] == "HDFS-9812"]
    assert "seed" not in entry
    assert "seed" not in catalog.FIX_SCHEMA


def test_rewriting_unchanged_variants_changes_no_byte(tmp_path: Path) -> None:
    fix_dir = tmp_path / "HDFS-9812"
    shutil.copytree(CATALOG / "HDFS-9812", fix_dir)
    before = (fix_dir / "variants.toml").read_text()
    catalog.write_variants(fix_dir, list(catalog.load_fix(fix_dir).variants))
    assert (fix_dir / "variants.toml").read_text() == before


def test_dropping_a_variant_keeps_the_files_own_comments(tmp_path: Path) -> None:
    fix_dir = tmp_path / "HDFS-9812"
    shutil.copytree(CATALOG / "HDFS-9812", fix_dir)
    header = (fix_dir / "variants.toml").read_text().split("[[variant]]")[0]
    assert header.startswith("#")
    catalog.write_variants(fix_dir, list(catalog.load_fix(fix_dir).variants[1:]))
    text = (fix_dir / "variants.toml").read_text()
    assert text.startswith(header) and 'name = "2.2"' not in text
    assert [v.name for v in catalog.load_variants(fix_dir)] == ["2.3", "2.6.5", "2.7"]


def test_refresh_keeps_comments_and_changes_only_what_it_must(tiny: Tiny) -> None:
    # The code moved under the variant (a context line changed): git apply refuses it.
    _edit(tiny.repo / TINY_FILE, "public class Tiny {", "public final class Tiny {")
    git(tiny.repo, "commit", "-qam", "a fork's own change next to the bug")
    variants = tiny.catalog / "TINY-1" / "variants.toml"
    before = variants.read_text()
    result = tiny.hpatch("refresh", "TINY-1", "--repo", str(tiny.repo))
    assert result.code == 0, result.err
    after = variants.read_text()
    for line in before.splitlines():  # every line kept, but the narrowed range
        if not line.startswith("releases"):
            assert line in after.splitlines(), line
    assert 'releases = [">=2.2.0,<2.4.1", ">2.4.1,<2.7.3"]' in after
    fix = catalog.load_fix(tiny.catalog / "TINY-1")
    [new] = [v for v in fix.variants if v.name == "2.4.1"]
    assert new.releases.contains(Release.parse("2.4.1")) and new.refreshed["fuzzed_hunks"] == 1
    assert tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo)).code == 0


# Every release a catalog entry is read on, from 2.2.0 to 3.3.6.
_RELEASES = [f"2.{minor}.{patch}" for minor in range(2, 11) for patch in range(8)] + [
    "3.0.0", "3.1.0", "3.1.4", "3.2.0", "3.3.0", "3.3.6"]


def test_a_release_a_variant_is_for_is_an_affected_one() -> None:
    """`status` calls a fix applicable wherever the bug's code is and a variant
    applies; `list` and `diagnose` show `affected`. A variant for a release that
    `affected` leaves out makes the two disagree about that release."""
    outside = [(fix.id, variant.name, release)
               for fix in catalog.load(CATALOG) for variant in fix.variants
               for release in _RELEASES
               if variant.releases.contains(Release.parse(release))
               and not fix.affected.contains(Release.parse(release))]
    assert outside == []


def test_a_release_line_without_a_reproducer_says_why() -> None:
    """LOCAL-PIPELINE-SRC's reproducer runs on 2.x only: 3.x verification is
    inconclusive with the reason, never a compile error called a result."""
    fix = catalog.load(CATALOG).get("LOCAL-PIPELINE-SRC")
    assert fix.reproducer_missing_for(Release.parse("2.10.2")) == ""
    assert fix.reproducer_missing_for(Release.parse("2.6.5")) == ""
    assert "3.0 renamed" in fix.reproducer_missing_for(Release.parse("3.3.6"))
    assert fix.reproducer_for(Release.parse("3.3.6"))[1].name == "reproducer"


def test_a_reproducer_range_needs_sources_or_a_reason(tiny: Tiny) -> None:
    fix_toml = tiny.catalog / "TINY-1" / "fix.toml"
    fix_toml.write_text(fix_toml.read_text() + '\n[[reproducer.ranges]]\nreleases = ">=3.0.0"\n')
    lint = tiny.hpatch("lint")
    assert lint.code == 1 and "or say in `missing` why" in lint.out, lint.out + lint.err
