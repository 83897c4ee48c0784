"""The whole catalog on real release sources: every variant applies on every
release it claims, and the patched files compile against that release's jars
(the verification's own fast build, in its container)."""

from __future__ import annotations

import json

import pytest
from conftest import run_hpatch

from hpatch import catalog
from hpatch.releases import Release

# The releases whose -sources jars Maven Central has (2.8.5 and 2.9.2 have none:
# those two are checked against real release-tag clones by hand; see the README).
SOURCE_RELEASES = ("2.2.0", "2.3.0", "2.4.1", "2.5.2", "2.6.0", "2.6.5", "2.7.1", "2.7.2",
                   "2.7.3", "2.10.2", "3.1.4", "3.3.6")
pytestmark = pytest.mark.network


def _states(release: str) -> dict[str, dict[str, object]]:
    result = run_hpatch("status", "--release", release, "--json", timeout=600)
    assert result.code == 0, result.err
    return {f["fix"]: f for f in json.loads(result.out)["fixes"]}


@pytest.mark.parametrize("release", SOURCE_RELEASES)
def test_every_variant_applies_where_it_claims(release: str) -> None:
    states = _states(release)
    rel = Release.parse(release)
    for fix in catalog.load(catalog.default_root()):
        if fix.kind != "bug":
            continue
        state = states[fix.id]
        assert state["state"] != "conflict", state
        claimed = [v.name for v in fix.variants if v.releases.contains(rel)]
        if claimed:
            assert state["state"] == "applicable" and state["variant"] == claimed[0], (
                fix.id, release, state)
        elif fix.affected.contains(rel):
            # affected but no variant claims it: only allowed where the code is gone
            assert state["state"] in ("not-affected", "fixed-upstream"), (fix.id, state)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("release", SOURCE_RELEASES[:9])
def test_patched_files_compile_against_the_release_jars(docker_ready: None,
                                                        release: str) -> None:
    result = run_hpatch("verify", "--release", release, "--compile-only", "--jobs", "2",
                        "--json", timeout=1800)
    data = json.loads(result.out)
    assert data["results"], f"nothing applicable at {release}?"
    failed = [(r["fix"], r["reason"]) for r in data["results"] if r["verdict"] != "compiled"]
    assert not failed, failed
    assert result.code == 0
