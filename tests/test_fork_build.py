"""verify on a fork: the checkout's own code is built with real Maven in the build
container, and the verdict follows that code, not the published jars.

Hadoop's repository cannot be fetched here, so the fork is made from what can:
Hadoop 2.4.1's published sources and poms laid out as a checkout (`hpatch
source`), its reactor trimmed to the ResourceManager and the poms above it
(the layout has no other module's build files), and a local commit that cures
the YARN-4398 stall its own way, in FileSystemRMStateStore (a file the
variant does not touch). The published jars would say `verified`; the fork's
code says `not-reproduced`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import CATALOG, git, run_hpatch, snapshot

pytestmark = [pytest.mark.network, pytest.mark.docker, pytest.mark.build, pytest.mark.slow]

YARN = "hadoop-yarn-project/hadoop-yarn"
RM = f"{YARN}/hadoop-yarn-server/hadoop-yarn-server-resourcemanager"
STORE = (f"{RM}/src/main/java/org/apache/hadoop/yarn/server/resourcemanager/recovery/"
         "FileSystemRMStateStore.java")


def _modules(pom: Path, modules: list[str]) -> None:
    """Make the pom's own <modules> list name only these."""
    text = pom.read_text()
    listed = "".join(f"<module>{m}</module>" for m in modules)
    new, count = re.subn(r"<modules>.*?</modules>", f"<modules>{listed}</modules>", text,
                         count=1, flags=re.DOTALL)
    assert count == 1, pom
    pom.write_text(new)


@pytest.fixture
def fork(hadoop: Path) -> Path:
    _modules(hadoop / "pom.xml", ["hadoop-project", YARN])
    _modules(hadoop / YARN / "pom.xml", ["hadoop-yarn-server"])
    _modules(hadoop / YARN / "hadoop-yarn-server" / "pom.xml",
             ["hadoop-yarn-server-resourcemanager"])
    git(hadoop, "commit", "-qam", "Build only the ResourceManager from this tree")
    git(hadoop, "tag", "-d", "rel/release-2.4.1")  # compared with the -sources jars, then
    return hadoop


def _cure_in_store(repo: Path) -> None:
    """The fork's own fix: the store writes without holding its monitor."""
    store = repo / STORE
    text = store.read_text()
    new = re.sub(r"public synchronized void (storeApplicationStateInternal|"
                 r"updateApplicationStateInternal)\(", r"public void \1(", text)
    assert new != text
    store.write_text(new)
    git(repo, "commit", "-qam", "ACME-113: write application state without the store's lock")


def _verify(repo: Path, tmp: Path, env: dict[str, str] | None = None
            ) -> tuple[dict[str, Any], str, int]:
    result = run_hpatch("verify", "YARN-4398", "--repo", str(repo), "--json",
                        env={"HPATCH_RUNS": str(tmp / "runs"), **(env or {})}, timeout=2400)
    assert result.out.strip(), result.err[-3000:]
    [cell] = json.loads(result.out)["results"]
    return cell, result.err, result.code


def test_verdict_follows_the_forks_code(fork: Path, tmp_path: Path) -> None:
    _cure_in_store(fork)
    before = snapshot(fork)
    cell, err, code = _verify(fork, tmp_path)
    assert cell["verdict"] == "not-reproduced", (cell["reason"], err[-3000:])
    assert code == 1
    stock = cell["provenance"]["stock"]
    [rm] = [p for p in stock if p.get("jar") == "hadoop-yarn-server-resourcemanager-2.4.1.jar"]
    assert rm["from"] == "checkout" and "FileSystemRMStateStore.java" in rm["why"]
    assert rm["command"].startswith("mvn -B package") and f"-pl {RM} -am" in rm["command"]
    assert Path(rm["path"]).is_file()
    # every Hadoop jar on the classpath says where it came from
    hadoop_jars = [p for p in stock if str(p.get("jar", "")).startswith("hadoop-")]
    assert hadoop_jars and all(p["from"] in ("checkout", "published") for p in hadoop_jars)
    assert snapshot(fork) == before  # the checkout was only read

    # unchanged fork: the build is reused, not run again
    again, err, _ = _verify(fork, tmp_path)
    assert again["verdict"] == "not-reproduced"
    assert "reusing the build" in err and "mvn -B package" not in err

    # the fork without its own cure: the bug is back, and the variant fixes it
    git(fork, "revert", "--no-edit", "HEAD")
    third, err, code = _verify(fork, tmp_path)
    assert third["verdict"] == "verified", (third["reason"], err[-3000:])
    assert code == 0


def test_a_checkout_that_does_not_build_is_an_error(fork: Path, tmp_path: Path) -> None:
    store = fork / STORE
    store.write_text(store.read_text().replace("public class FileSystemRMStateStore",
                                               "public class FileSystemRMStateStore {{", 1))
    git(fork, "commit", "-qam", "A broken local change")
    before = snapshot(fork)
    cell, _, code = _verify(fork, tmp_path)
    assert cell["verdict"] == "error" and cell["error_kind"] == "build", cell
    assert "hadoop-yarn-server-resourcemanager" in cell["reason"]
    assert "FileSystemRMStateStore.java" in cell["reason"] and "full log:" in cell["reason"]
    assert code == 1
    assert snapshot(fork) == before


def _wait_for_build_container(pid: int, within: float = 60.0) -> None:
    """Until a build container labelled with pid is running (and 1 s more: mvn
    cannot load a reactor and finish in that time)."""
    from hpatch.runtime.build import PID_LABEL
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = subprocess.run(["docker", "ps", "-q", "--filter", f"label={PID_LABEL}={pid}"],
                               capture_output=True, text=True, check=False).stdout.strip()
        if found:
            time.sleep(1)
            return
        time.sleep(0.1)
    pytest.fail(f"no build container of pid {pid} ran within {within:.0f} s")


def test_an_interrupted_build_is_never_trusted(fork: Path, tmp_path: Path) -> None:
    _cure_in_store(fork)
    cache = tmp_path / "cache"
    env = {"HPATCH_CACHE": str(cache)}
    child = subprocess.Popen(
        [sys.executable, "-m", "hpatch", "verify", "YARN-4398", "--repo", str(fork)],
        env={**os.environ, **env, "HPATCH_CATALOG": str(CATALOG),
             "HPATCH_RUNS": str(tmp_path / "runs")},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    seen = []
    for line in child.stderr:
        seen.append(line)
        if "(in the build container)" in line:
            break
    assert child.poll() is None, "".join(seen)[-3000:]
    # Kill it while its build container runs: a build of one module with a warm
    # Maven volume can finish in under 5 s, so a fixed wait could kill it too late.
    _wait_for_build_container(child.pid)
    child.kill()
    child.wait()
    child.stderr.close()
    builds = cache / "builds"
    assert not [p for p in builds.iterdir() if (p / "entry.json").exists()]
    # the next run stops the abandoned build, builds anew, and is right
    cell, err, _ = _verify(fork, tmp_path, env)
    assert cell["verdict"] == "not-reproduced", (cell["reason"], err[-3000:])
    assert "(in the build container)" in err
    assert not list(builds.glob(".tmp-*"))
    listed = run_hpatch("cache", "ls", "--json", env=env)
    [entry] = json.loads(listed.out)
    assert entry["modules"] == [RM] and Path(entry["path"], "entry.json").is_file()


FORK_VERSION = "2.4.1-acme1"


def _reversion(repo: Path) -> None:
    """What `mvn versions:set -DnewVersion=2.4.1-acme1` does: each pom's own version
    and its parent's, nothing else."""
    for pom in sorted(repo.rglob("pom.xml")):
        text = pom.read_text()
        new = re.sub(r"(<parent>(?:(?!</parent>).)*?<version>)2\.4\.1(</version>)",
                     rf"\g<1>{FORK_VERSION}\2", text, count=1, flags=re.DOTALL)
        start = new.find("</parent>") + 1  # 0 for the root pom, which has no parent
        head = re.sub(r"(<artifactId>[^<]*</artifactId>\s*<version>)2\.4\.1(</version>)",
                      rf"\g<1>{FORK_VERSION}\2", new[start:], count=1)
        pom.write_text(new[:start] + head)
    git(repo, "commit", "-qam", f"Version {FORK_VERSION}")


def test_a_reversioned_fork_keeps_the_published_jars(fork: Path, tmp_path: Path) -> None:
    _reversion(fork)
    cell, err, code = _verify(fork, tmp_path)
    assert cell["verdict"] == "verified", (cell["reason"], err[-3000:])
    assert cell["version"] == FORK_VERSION and cell["base"] == "2.4.1"
    assert "module(s) differ" not in err and code == 0


def test_a_third_party_version_moved_to_the_forks_string_is_not_the_release(
        fork: Path, tmp_path: Path) -> None:
    """Hadoop 2.4.1 manages maven-clean-plugin at 2.4.1: a fork that moves it to
    its own version string has a build of its own. Every module under
    hadoop-project differs, and the ones this tree does not build cannot stand
    in for published jars."""
    _reversion(fork)
    pom = fork / "hadoop-project" / "pom.xml"
    text = pom.read_text()
    moved = re.sub(r"(<artifactId>maven-clean-plugin</artifactId>\s*<version>)2\.4\.1<",
                   rf"\g<1>{FORK_VERSION}<", text, count=1)
    assert moved != text
    pom.write_text(moved)
    git(fork, "commit", "-qam", "maven-clean-plugin from our own build")
    cell, err, code = _verify(fork, tmp_path)
    assert cell["verdict"] == "error", (cell["reason"], err[-3000:])
    assert "is not 2.4.1's code" in cell["reason"], cell["reason"]
    assert (f"maven-clean-plugin > version: 2.4.1 -> {FORK_VERSION}") in cell["reason"]
    assert code == 1


RESOURCE = "hpatch-90060.properties"
RESOURCE_TEST = """package org.apache.hadoop.yarn.server.resourcemanager;

import org.junit.Assert;
import org.junit.Test;

public class TestPackedResource {
  @Test
  public void testTheFixsResourceIsPacked() {
    Assert.assertNotNull("the fix's resource is not on the classpath",
        getClass().getClassLoader().getResource("RESOURCE"));
  }
}
""".replace("RESOURCE", RESOURCE)


def test_a_fix_that_changes_a_resource_gets_a_build_of_its_module_for_patched(
        fork: Path, tmp_path: Path) -> None:
    """A fix whose change reaches a jar only through the module's build (a resource,
    as a .proto would): the patched side runs on the module built with the fix, stock
    on the checkout's jars, and the test reads the resource only on the patched side."""
    upstream = tmp_path / "upstream"
    git(tmp_path, "clone", "-q", str(fork), str(upstream))
    git(upstream, "tag", "rel/release-2.4.1", "HEAD~1")  # the sources, before the trim
    git(upstream, "checkout", "-q", "-b", "line-90060", "rel/release-2.4.1")
    (upstream / RM / "src/main/resources").mkdir(parents=True, exist_ok=True)
    (upstream / RM / "src/main/resources" / RESOURCE).write_text("fixed=true\n")
    store = upstream / STORE
    store.write_text(store.read_text().replace(
        "public class FileSystemRMStateStore extends RMStateStore {",
        "public class FileSystemRMStateStore extends RMStateStore {\n"
        "  private static final String FIXED_BY = \"YARN-90060\";\n", 1))
    test = upstream / RM / "src/test/java/org/apache/hadoop/yarn/server/resourcemanager"
    test.mkdir(parents=True, exist_ok=True)
    (test / "TestPackedResource.java").write_text(RESOURCE_TEST)
    git(upstream, "add", "-A")
    git(upstream, "commit", "-qm", "YARN-90060. Pack the store's settings. Contributed by T.")
    git(upstream, "tag", "rel/release-2.4.9")
    team = tmp_path / "team"
    team.mkdir()
    (team / "catalog.toml").write_text("order = []\n")
    imported = run_hpatch("import", "YARN-90060", "--upstream", str(upstream), "--releases",
                          "2.4.1", "--catalog", str(team))
    assert imported.code == 0, imported.err
    before = snapshot(fork)
    result = run_hpatch("--catalog", str(team), "verify", "YARN-90060", "--repo", str(fork),
                        "--json", env={"HPATCH_RUNS": str(tmp_path / "runs")}, timeout=2400)
    [cell] = json.loads(result.out)["results"]
    assert cell["verdict"] == "verified", (cell["reason"], result.err[-3000:])
    assert cell["stock"][0]["summary"].startswith("the fix's resource is not on the classpath")
    assert cell["notes"][0].startswith(f"the fix also changes {RESOURCE}: the patched side "
                                       f"runs on a build of {RM} with the fix")
    [built] = [p for p in cell["provenance"]["patched"]
               if p.get("jar") == "hadoop-yarn-server-resourcemanager-2.4.1.jar"]
    assert built["from"] == "checkout" and built["why"].startswith("the fix changes")
    [stock] = [p for p in cell["provenance"]["stock"]
               if p.get("jar") == "hadoop-yarn-server-resourcemanager-2.4.1.jar"]
    assert stock["from"] == "published"
    assert "-Dmaven.test.skip=true" in result.err and f"-pl {RM} -am" in result.err
    assert snapshot(fork) == before
