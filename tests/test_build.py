"""The build container, and the full native build of a real Hadoop checkout.

The full build needs a clone of the Hadoop repository at a release tag (none of
its code lives here): HPATCH_BUILD_CHECKOUT names it. Without it the test is
reported as skipped, never passed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import git, run_hpatch, snapshot

# The build image and builds from a checkout: the `build` tier, with its own budget.
pytestmark = [pytest.mark.docker, pytest.mark.build, pytest.mark.slow]


def test_build_image_has_the_toolchain(docker_ready: None) -> None:
    from hpatch.runtime import build, docker
    tag = build.ensure_build_image(lambda _: None)  # an engine is there: failing is failing
    engine = docker.client()
    out = engine.containers.run(
        tag, ["bash", "-c", "protoc --version; javah -version 2>&1 | head -1; "
                            "cmake --version | head -1; $CC --version | head -1; id -un"],
        remove=True).decode()
    assert "libprotoc 2.5.0" in out
    assert "javah" in out or "1.8" in out
    assert "cmake version" in out and "gcc" in out
    assert out.strip().endswith("builder")  # builds run unprivileged


@pytest.mark.skipif(not os.environ.get("HPATCH_BUILD_CHECKOUT"),
                    reason="HPATCH_BUILD_CHECKOUT names no Hadoop checkout to build")
def test_full_native_build_and_the_native_reproducer(docker_ready: None, tmp_path: Path) -> None:
    repo = Path(os.environ["HPATCH_BUILD_CHECKOUT"])
    before = snapshot(repo)
    out = tmp_path / "build"
    result = run_hpatch("build", "--repo", str(repo), "--out", str(out), "--with-build-fixes",
                        timeout=3 * 3600)
    assert result.code == 0, result.out[-3000:] + result.err[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    release = manifest["release"]
    assert (out / f"hadoop-{release}.tar.gz").is_file()
    assert (out / "native" / "libhadoop.so").exists()
    assert manifest["exit_code"] == 0 and manifest["head"] == git(repo, "rev-parse", "HEAD")
    assert snapshot(repo) == before  # the checkout was only read
    if release.startswith(("2.4.", "2.5.", "2.6.0")):
        # verify builds its own libhadoop.so from the checkout (-Pnative)
        result = run_hpatch("verify", "HADOOP-11802", "--repo", str(repo), "--json",
                            env={"HPATCH_RUNS": str(tmp_path / "runs")}, timeout=3600)
        [cell] = json.loads(result.out)["results"]
        assert cell["verdict"] == "verified", cell
        native = [p for p in cell["provenance"]["stock"] if p.get("native")]
        assert native and native[0]["from"] == "checkout"
