"""Which modules of a fork are the published release's code: the poms are compared
element by element, and the fork's version string counts as the release's only
where a pom names the project's own version.

The selection runs on a real git repository with a release tag: a small Hadoop-like
reactor (hadoop-main, hadoop-project with a dependencyManagement, hadoop-common,
hadoop-hdfs), re-versioned as a fork.
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import git

from hpatch import forks
from hpatch.checkout import Checkout
from hpatch.releases import Release

RELEASE = "2.6.0"
FORK = "2.6.0-acme1"
BASE = forks.Base(FORK, Release.parse(RELEASE), "the version")
NS = 'xmlns="http://maven.apache.org/POM/4.0.0"'


def _pom(artifact: str, body: str, *, parent: str | None = "hadoop-project",
         relative: str = "../hadoop-project") -> str:
    parent_xml = (f"<parent><groupId>org.apache.hadoop</groupId><artifactId>{parent}"
                  f"</artifactId><version>{RELEASE}</version>"
                  f"<relativePath>{relative}</relativePath></parent>" if parent else "")
    return (f'<?xml version="1.0"?>\n<project {NS}>\n  <modelVersion>4.0.0</modelVersion>\n'
            f"  {parent_xml}\n  <groupId>org.apache.hadoop</groupId>\n"
            f"  <artifactId>{artifact}</artifactId>\n  <version>{RELEASE}</version>\n"
            f"{body}\n</project>\n")


def _dependency(group: str, artifact: str, version: str) -> str:
    return (f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version></dependency>")


PROJECT = _pom("hadoop-project", (
    "  <packaging>pom</packaging>\n"
    "  <properties><hadoop.assemblies.version>${project.version}</hadoop.assemblies.version>"
    "</properties>\n  <dependencyManagement><dependencies>\n    "
    + _dependency("org.apache.hadoop", "hadoop-annotations", "${project.version}")
    + "\n    " + _dependency("org.apache.hadoop", "hadoop-common", RELEASE)
    + "\n    " + _dependency("org.apache.curator", "curator-framework", RELEASE)
    + "\n    " + _dependency("com.google.guava", "guava", "11.0.2")
    + "\n  </dependencies></dependencyManagement>"),
    parent="hadoop-main", relative="..")
MAIN = _pom("hadoop-main", "  <packaging>pom</packaging>\n  <modules><module>hadoop-project"
            "</module><module>hadoop-common</module><module>hadoop-hdfs</module></modules>",
            parent=None)
COMMON = _pom("hadoop-common", "  <dependencies><dependency><groupId>org.apache.curator</groupId>"
              "<artifactId>curator-framework</artifactId></dependency></dependencies>")
HDFS = _pom("hadoop-hdfs", "  <dependencies>"
            + _dependency("org.apache.hadoop", "hadoop-common", "${project.version}")
            + "</dependencies>")
FILES = {"pom.xml": MAIN, "hadoop-project/pom.xml": PROJECT,
         "hadoop-common/pom.xml": COMMON, "hadoop-hdfs/pom.xml": HDFS,
         "hadoop-common/src/main/java/org/apache/hadoop/A.java": "class A {}\n",
         "hadoop-hdfs/src/main/java/org/apache/hadoop/B.java": "class B {}\n"}


def _reversioned(text: str) -> str:
    """What `mvn versions:set` does to a pom: the project's and its parent's version."""
    text = re.sub(r"(<parent>.*?<version>)" + re.escape(RELEASE), rf"\g<1>{FORK}", text,
                  count=1, flags=re.DOTALL)
    return re.sub(r"(</artifactId>\s*<version>)" + re.escape(RELEASE) + r"(</version>\n)",
                  rf"\g<1>{FORK}\2", text, count=1)


def test_a_reversioned_pom_is_the_release_pom() -> None:
    for text in FILES.values():
        if text.startswith("<?xml"):
            assert forks.pom_differences(_reversioned(text).encode(), text.encode(),
                                         BASE) == []


def test_a_hadoop_dependency_and_project_version_may_carry_the_forks_version() -> None:
    fork = (_reversioned(PROJECT)
            .replace(f"<artifactId>hadoop-common</artifactId><version>{RELEASE}",
                     f"<artifactId>hadoop-common</artifactId><version>{FORK}")
            .replace("${project.version}</hadoop.assemblies", f"{FORK}</hadoop.assemblies")
            .replace("<modelVersion>4.0.0</modelVersion>",
                     "<!-- ACME build --><modelVersion>4.0.0</modelVersion>"))
    assert fork != PROJECT
    assert forks.pom_differences(fork.encode(), PROJECT.encode(), BASE) == []


def test_a_third_party_version_moved_to_the_forks_string_is_a_difference() -> None:
    everywhere = PROJECT.replace(RELEASE, FORK)  # the string replaced everywhere
    found = forks.pom_differences(everywhere.encode(), PROJECT.encode(), BASE)
    assert found == ["dependencyManagement > dependencies > dependency curator-framework > "
                     f"version: {RELEASE} -> {FORK}"]
    # the same value outside a version-naming place, and other changes, are differences too
    moved = _reversioned(PROJECT).replace("11.0.2", "${project.version}")
    assert forks.pom_differences(moved.encode(), PROJECT.encode(), BASE) == [
        "dependencyManagement > dependencies > dependency guava > version: "
        "11.0.2 -> ${project.version}"]
    extra = _reversioned(PROJECT).replace(
        "</dependencies></dependencyManagement>",
        _dependency("org.acme", "acme-metrics", "1.0") + "</dependencies></dependencyManagement>")
    assert forks.pom_differences(extra.encode(), PROJECT.encode(), BASE) == [
        "dependencyManagement > dependencies: with dependency acme-metrics"]
    # a release's own pom against itself, with nothing re-versioned, has no difference
    assert forks.pom_differences(PROJECT.encode(), PROJECT.encode(), BASE) == []


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "fork"
    for path, text in FILES.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"Hadoop {RELEASE}")
    git(repo, "tag", f"release-{RELEASE}")
    for path, text in FILES.items():
        if path.endswith("pom.xml"):
            (repo / path).write_text(_reversioned(text))
    git(repo, "commit", "-qam", f"Version {FORK}")
    return repo


def _checks(repo: Path) -> dict[str, forks.ModuleCheck]:
    checkout = Checkout.open(repo)
    tree = checkout.tree_of("HEAD")
    base = forks.base_of(checkout)
    assert base == BASE
    return forks.compare_modules(checkout, tree, forks.read_reactor(checkout, tree), base,
                                 ["hadoop-common", "hadoop-hdfs"], lambda _: None)


def _built_from_checkout(repo: Path) -> list[str]:
    """The modules verify builds from the checkout instead of taking published jars."""
    return sorted(c.module for c in _checks(repo).values() if not c.identical)


def test_a_reversioned_fork_uses_the_published_jars(tmp_path: Path) -> None:
    assert _built_from_checkout(_repo(tmp_path)) == []


def test_a_fork_that_moves_a_third_party_version_builds_the_modules_it_reaches(
        tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    pom = repo / "hadoop-project" / "pom.xml"
    pom.write_text(pom.read_text().replace(
        f"<artifactId>curator-framework</artifactId><version>{RELEASE}",
        f"<artifactId>curator-framework</artifactId><version>{FORK}"))
    git(repo, "commit", "-qam", "Curator from our own build")
    # every module under hadoop-project takes its dependency versions from it
    assert _built_from_checkout(repo) == ["hadoop-common", "hadoop-hdfs"]
    reason = _checks(repo)["hadoop-common"].reason
    assert "pom.xml (dependencyManagement > dependencies > dependency curator-framework > " \
        f"version: {RELEASE} -> {FORK})" in reason, reason


def test_a_pom_with_javac_style_element_names_is_read_as_maven_reads_it() -> None:
    """3.x's hadoop-project pom passes <Xlint:-unchecked/> to javac: not XML, but Maven
    reads it, so the comparison must too (and still see real differences)."""
    pom = (b'<project xmlns="http://maven.apache.org/POM/4.0.0"><artifactId>hadoop-project'
           b'</artifactId><version>3.1.4</version><build><plugins><plugin><configuration>'
           b'<compilerArguments><Xlint/><Xlint:-unchecked/></compilerArguments>'
           b'</configuration></plugin></plugins></build></project>')
    assert forks.parse_pom(pom).tag.endswith("project")
    assert forks.pom_differences(pom, pom) == []
    moved = pom.replace(b"<Xlint/>", b"<Xlint/><Xdoclint/>")
    assert forks.pom_differences(moved, pom) != []
