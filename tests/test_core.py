"""apply / status / revert / refresh on real 2.4.1 sources in real git repos."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import HDFS_9812_FILE, YARN_4398_FILE, git, run_hpatch, snapshot

pytestmark = pytest.mark.network


def states(repo: Path, *extra: str) -> dict[str, str]:
    import json
    result = run_hpatch("status", "--repo", str(repo), "--json", *extra)
    assert result.code == 0, result.err
    return {f["fix"]: f["state"] for f in json.loads(result.out)["fixes"]}


def test_source_layout(hadoop: Path) -> None:
    assert git(hadoop, "rev-parse", "--abbrev-ref", "HEAD") == "hadoop-2.4.1"
    assert git(hadoop, "rev-list", "--count", "HEAD") == "1"
    assert git(hadoop, "tag") == "rel/release-2.4.1"
    pom = (hadoop / "pom.xml").read_text()
    assert "<artifactId>hadoop-main</artifactId>" in pom and "<version>2.4.1</version>" in pom
    for path in (HDFS_9812_FILE, YARN_4398_FILE,
                 "hadoop-common-project/hadoop-common/src/main/java/org/apache/hadoop/"
                 "net/unix/DomainSocketWatcher.java",
                 "hadoop-yarn-project/hadoop-yarn/hadoop-yarn-common/pom.xml"):
        assert (hadoop / path).is_file(), path
    # 2.4.1 predates the hdfs-client module
    assert not (hadoop / "hadoop-hdfs-project/hadoop-hdfs-client").exists()


def test_source_second_call_comes_from_the_cache(cached_release: str, tmp_path: Path) -> None:
    # A broken Maven set-up cannot matter: the cached release must not need mvn.
    broken = {"HPATCH_MAVEN_ARGS": f"-s {tmp_path}/no-such-settings.xml"}
    result = run_hpatch("source", cached_release, str(tmp_path / "again"), env=broken)
    assert result.code == 0, result.err
    assert (tmp_path / "again" / YARN_4398_FILE).is_file()


def test_apply_status_revert_round_trip(hadoop: Path) -> None:
    before = states(hadoop)
    assert before["HDFS-9812"] == before["YARN-4398"] == "applicable"
    applicable = sorted(f for f, s in before.items() if s == "applicable")
    result = run_hpatch("apply", "--all", "--repo", str(hadoop))
    assert result.code == 0, result.err
    after = states(hadoop)
    assert {f: after[f] for f in applicable} == {f: "applied" for f in applicable}
    assert {f: s for f, s in after.items() if f not in applicable} == {
        f: s for f, s in before.items() if f not in applicable}
    log = git(hadoop, "log", "--format=%an|%s|%(trailers:only,unfold)",
              f"-{len(applicable)}")
    assert "hpatch maintainers|YARN-4398: RMStateStore" in log
    assert "Hpatch-Fix: HDFS-9812" in log and re.search(r"Hpatch-Variant: 2\.3 sha256:\w+", log)
    assert "closeThreads(true)" in (hadoop / HDFS_9812_FILE).read_text()
    assert git(hadoop, "status", "--porcelain") == ""

    result = run_hpatch("revert", *applicable, "--repo", str(hadoop))
    assert result.code == 0, result.err
    assert states(hadoop) == before
    assert git(hadoop, "diff", "rel/release-2.4.1", "HEAD") == ""
    assert git(hadoop, "status", "--porcelain") == ""
    # history kept, not rewritten: the release, one commit per fix, one revert per fix
    assert git(hadoop, "rev-list", "--count", "HEAD") == str(1 + 2 * len(applicable))


def test_apply_again_is_a_no_op(hadoop: Path) -> None:
    assert run_hpatch("apply", "YARN-4398", "--repo", str(hadoop)).code == 0
    before = snapshot(hadoop)
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop))
    assert result.code == 0
    assert "applied: nothing to do" in result.out
    assert snapshot(hadoop) == before


def test_dry_run_changes_nothing(hadoop: Path) -> None:
    before = snapshot(hadoop)
    result = run_hpatch("apply", "--all", "--dry-run", "--repo", str(hadoop))
    assert result.code == 0 and "would apply" in result.out
    assert snapshot(hadoop) == before


def test_hand_backport_is_seen_as_fixed_upstream(hadoop: Path) -> None:
    path = hadoop / YARN_4398_FILE
    path.write_text(path.read_text().replace(
        "public synchronized void storeNewApplication(RMApp app)",
        "public void storeNewApplication(RMApp app)"))
    git(hadoop, "commit", "-qam", "backport YARN-4398 by hand")
    assert states(hadoop)["YARN-4398"] == "fixed-upstream"
    before = snapshot(hadoop)
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop))
    assert result.code == 0 and "fixed-upstream: nothing to do" in result.out
    assert snapshot(hadoop) == before


def test_missing_code_is_not_affected(hadoop: Path) -> None:
    git(hadoop, "rm", "-q", YARN_4398_FILE)
    git(hadoop, "commit", "-qm", "a fork without the state store")
    assert states(hadoop)["YARN-4398"] == "not-affected"


def _break_context(hadoop: Path) -> None:
    """The bug stays, but the lines around it differ: the variant cannot apply."""
    path = hadoop / YARN_4398_FILE
    text = path.read_text()
    text = text.replace("  public synchronized void updateApplicationState(",
                        "  // local change near the fix\n"
                        "  public synchronized void updateApplicationState(")
    text = text.replace("  @SuppressWarnings(\"unchecked\")\n  public synchronized void "
                        "storeNewApplication(",
                        "  @SuppressWarnings({\"unchecked\", \"rawtypes\"})\n  public synchronized "
                        "void storeNewApplication(")
    path.write_text(text)
    git(hadoop, "commit", "-qam", "local edits around RMStateStore")


def test_conflict_is_reported_and_changes_nothing(hadoop: Path) -> None:
    _break_context(hadoop)
    import json
    result = run_hpatch("status", "--repo", str(hadoop), "--json")
    entry = next(f for f in json.loads(result.out)["fixes"] if f["fix"] == "YARN-4398")
    assert entry["state"] == "conflict"
    assert entry["failed_hunks"], entry
    before = snapshot(hadoop)
    result = run_hpatch("apply", "--all", "--repo", str(hadoop))
    assert result.code == 4
    assert len(result.error_lines) == 1
    assert "YARN-4398 does not apply to 2.4.1" in result.err
    assert re.search(r"Committed before it and intact: [A-Z0-9, -]*HDFS-9812", result.err)
    assert states(hadoop)["HDFS-9812"] == "applied"
    after = snapshot(hadoop)
    assert after["status"] == before["status"] == ""


def test_refresh_writes_a_recorded_variant(hadoop: Path, catalog_copy: Path) -> None:
    _break_context(hadoop)
    env = {"HPATCH_CATALOG": str(catalog_copy)}
    result = run_hpatch("refresh", "YARN-4398", "--repo", str(hadoop), env=env)
    assert result.code == 0, result.err
    variants = (catalog_copy / "YARN-4398" / "variants.toml").read_text()
    assert 'name = "2.4.1"' in variants and 'releases = ["==2.4.1"]' in variants
    assert "[variant.refreshed]" in variants and "fuzzed_hunks = 2" in variants
    # the old variant no longer claims 2.4.1 (its range is split around it); lint-clean
    from hpatch.catalog import load_variants
    from hpatch.releases import Release
    old = next(v for v in load_variants(catalog_copy / "YARN-4398") if v.name == "2.4")
    assert not old.releases.contains(Release.parse("2.4.1"))
    assert old.releases.contains(Release.parse("2.5.2"))
    assert run_hpatch("lint", env=env).code == 0
    assert git(hadoop, "status", "--porcelain") == ""
    result = run_hpatch("apply", "YARN-4398", "--repo", str(hadoop), env=env)
    assert result.code == 0, result.err
    assert "variant 2.4.1" in result.out
    assert "public void storeNewApplication(" in (hadoop / YARN_4398_FILE).read_text()
