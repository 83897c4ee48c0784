"""A variant that only changes a comment must come out `not-fixed`, for every bug fix.

This is what keeps a reproducer honest: if a comment-only change to the file the
fix touches made the patched run pass, the reproducer would be passing on
something other than the fix (a flaky wait, a rigged set-up). For each bug fix
the catalog is copied, the variant verify picks for one release is replaced by a
diff that adds one comment line inside the first hunk of its first file (a valid
`git format-patch` of the same file that changes no code), and `verify` runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import CATALOG, git, run_hpatch

from hpatch import catalog as catalog_mod
from hpatch.releases import Release

pytestmark = [pytest.mark.network, pytest.mark.docker, pytest.mark.slow]

# One release per bug fix where it is applicable and has published -sources jars.
# HADOOP-11802 needs libhadoop.so, which -sources jars cannot give (and Maven
# Central does not publish): it is tested on a git checkout, below.
RELEASES = {
    "HDFS-5341": "2.2.0",
    "HDFS-6364": "2.4.1",
    "HDFS-9812": "2.4.1",
    "LOCAL-PIPELINE-SRC": "2.4.1",
    "YARN-4398": "2.4.1",
    "YARN-4493": "2.4.1",
}
COMMENT = "// hpatch sabotage: this comment changes no code"
HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@", re.MULTILINE)


@pytest.fixture(scope="module")
def docker_ready() -> None:
    result = run_hpatch("image", timeout=1800)
    if result.code != 0:
        if os.environ.get("HPATCH_REQUIRE_DOCKER") == "1":
            pytest.fail(f"Docker is required here: {result.err.strip()}")
        pytest.skip(f"no Docker engine: {result.err.strip()}")


def test_every_bug_fix_is_covered() -> None:
    bugs = {f.id for f in catalog_mod.load(CATALOG) if f.kind == "bug"}
    assert bugs == set(RELEASES) | {"HADOOP-11802"}


def sabotage(fix_id: str, release: str, checkout: Path, catalog_copy: Path) -> str:
    """Replace the variant verify uses at release by a comment-only diff made on
    checkout (a git repository at that release); returns the variant's name."""
    fix = catalog_copy_fix(fix_id)
    variant = fix.variants_for(Release.parse(release))[0]
    text = variant.patch.read_text()
    path = re.search(r"^diff --git a/(\S+) b/", text, re.MULTILINE)
    hunk = HUNK.search(text, path.end()) if path else None
    assert path and hunk, f"{variant.patch}: no file or hunk"
    target = checkout / path.group(1)
    lines = target.read_text().splitlines(keepends=True)
    at = hunk_start(lines, text[hunk.end():], int(hunk.group(1)) - 1)
    code = next((ln for ln in lines[at:] if ln.strip()), "")
    indent = code[:len(code) - len(code.lstrip(" \t"))]
    lines.insert(at, f"{indent}{COMMENT}\n")
    target.write_text("".join(lines))
    git(checkout, "commit", "-qam", f"{fix_id}: comment only")
    # format-patch's own bytes: a diff's trailing blank context lines are part of it
    patch = subprocess.run(["git", "-C", str(checkout), "format-patch", "-1", "--stdout",
                            "--no-signature", "HEAD"], check=True, capture_output=True).stdout
    git(checkout, "reset", "-q", "--hard", "HEAD^")
    (catalog_copy / fix_id / variant.patch.relative_to(fix.directory)).write_bytes(patch)
    return variant.name


def hunk_start(lines: list[str], body: str, stated: int) -> int:
    """Where the hunk's old lines are in the file (a variant may apply at an
    offset): the match nearest the line its header states."""
    old = []
    for line in body.split("\n")[1:]:
        if not line or line[0] not in " -":
            if line.startswith("+"):
                continue
            break
        old.append(line[1:])
    plain = [ln.rstrip("\n") for ln in lines]
    found = [i for i in range(len(plain) - len(old) + 1) if plain[i:i + len(old)] == old]
    assert found, "the variant's first hunk is not in the file"
    return min(found, key=lambda i: abs(i - stated))


def catalog_copy_fix(fix_id: str) -> catalog_mod.Fix:
    return catalog_mod.load(CATALOG).get(fix_id)


def assert_not_fixed(fix_id: str, variant: str, state: dict[str, object],
                     cell: dict[str, Any]) -> None:
    # a comment is blanked before the probes match, so the fix is still missing,
    # and the sabotaged variant is the one that applies
    assert (state["state"], state["variant"]) == ("applicable", variant), state
    assert cell["verdict"] == "not-fixed", cell
    assert cell["stock"][0]["kind"] == "assertion" and cell["patched"][0]["kind"] == "assertion"
    # the patched run failed on the same assertion as stock: the same bug
    assert cell["patched"][0]["test"] == cell["stock"][0]["test"]


def verify_sabotaged(fix_ids: list[str], where: tuple[str, ...], catalog_copy: Path,
                     tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any], int]:
    """status and one `verify --jobs 2` of fix_ids with the sabotaged catalog:
    (fix -> status entry, fix -> verify result, verify's exit code)."""
    env = {"HPATCH_CATALOG": str(catalog_copy), "HPATCH_RUNS": str(tmp_path / "runs")}
    status = run_hpatch("status", *where, "--json", env=env, timeout=600)
    states = {c["fix"]: c for c in json.loads(status.out)["fixes"]}
    result = run_hpatch("verify", *fix_ids, *where, "--jobs", "2", "--json", env=env,
                        timeout=1800)
    cells = {c["fix"]: c for c in json.loads(result.out)["results"]}
    assert set(cells) == set(fix_ids), result.err
    return states, cells, result.code


@pytest.mark.parametrize("release", sorted(set(RELEASES.values())))
def test_comment_only_variants_are_not_fixed(docker_ready: None, release: str,
                                             tmp_path: Path) -> None:
    """Every bug fix of RELEASES at release, its variant sabotaged, in one catalog
    copy and one verify run (their stock and patched runs share the release's
    sources and go two at a time)."""
    fix_ids = sorted(f for f, r in RELEASES.items() if r == release)
    checkout = tmp_path / "hadoop"
    made = run_hpatch("source", release, str(checkout), timeout=1800)
    assert made.code == 0, made.err
    git(checkout, "config", "user.name", "t")
    git(checkout, "config", "user.email", "t@t")
    catalog_copy = tmp_path / "catalog"
    shutil.copytree(CATALOG, catalog_copy)
    variants = {f: sabotage(f, release, checkout, catalog_copy) for f in fix_ids}
    shutil.rmtree(checkout)
    states, cells, code = verify_sabotaged(fix_ids, ("--version", release), catalog_copy,
                                           tmp_path)
    wrong = {}
    for fix_id in fix_ids:
        try:
            assert_not_fixed(fix_id, variants[fix_id], states[fix_id], cells[fix_id])
        except AssertionError as exc:
            wrong[fix_id] = str(exc)
    assert not wrong, wrong
    assert code == 1


@pytest.mark.build
@pytest.mark.skipif(not os.environ.get("HPATCH_BUILD_CHECKOUT"),
                    reason="HPATCH_BUILD_CHECKOUT names no Hadoop checkout to build")
def test_comment_only_native_variant_is_not_fixed(docker_ready: None, tmp_path: Path) -> None:
    """HADOOP-11802 on a git checkout of 2.4.x-2.6.0, where hpatch builds libhadoop.so."""
    repo = Path(os.environ["HPATCH_BUILD_CHECKOUT"])
    version = git(repo, "describe", "--tags", "--abbrev=0").split("release-")[-1]
    release = Release.parse(version)
    if not catalog_copy_fix("HADOOP-11802").affected.contains(release):
        pytest.skip(f"HADOOP-11802 is not applicable to {version}")
    scratch = tmp_path / "hadoop"
    git(tmp_path, "clone", "-q", "--shared", str(repo), str(scratch))
    catalog_copy = tmp_path / "catalog"
    shutil.copytree(CATALOG, catalog_copy)
    variant = sabotage("HADOOP-11802", version, scratch, catalog_copy)
    shutil.rmtree(scratch)
    states, cells, code = verify_sabotaged(["HADOOP-11802"], ("--repo", str(repo)),
                                           catalog_copy, tmp_path)
    assert_not_fixed("HADOOP-11802", variant, states["HADOOP-11802"], cells["HADOOP-11802"])
    assert code == 1
