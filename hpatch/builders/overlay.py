"""The overlay: the Java files a fix touches, compiled for stock and for
patched and put ahead of the jars on the classpath, and the release's published
test classpath those jars come from."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

from hpatch import maven, patching
from hpatch.assess import Assessment, State
from hpatch.builders import Progress
from hpatch.checkout import Checkout
from hpatch.errors import HpatchError
from hpatch.paths import cache_dir, cache_lock
from hpatch.releases import Release

_LOCK = threading.Lock()
JUNIT = maven.Artifact("junit", "junit", "4.12")
MOCKITO = maven.Artifact("org.mockito", "mockito-all", "1.10.19")
EXCLUDE = ("jdk.tools:jdk.tools",)


def test_artifacts(release: Release) -> list[maven.Artifact]:
    """What every reproducer may use: the release's mini clusters, the RM, JUnit, Mockito."""
    version = str(release)
    return [
        maven.Artifact("org.apache.hadoop", "hadoop-minicluster", version),
        maven.Artifact("org.apache.hadoop", "hadoop-yarn-server-resourcemanager", version),
        JUNIT,
        MOCKITO,
    ]


def release_classpath(release: Release, progress: Progress,
                      test_jars: Sequence[str] = (), test_deps: Sequence[str] = ()
                      ) -> list[Path]:
    """Resolved once per release (and set of test jars) through mvn, then read from the
    cache. test_jars: Hadoop modules whose -tests jar an upstream test needs (the test
    utilities of its own module, such as MockRM or InlineDispatcher)."""
    artifacts = test_artifacts(release) + [
        maven.Artifact("org.apache.hadoop", name, str(release), "jar", "tests")
        for name in test_jars] + [
        maven.Artifact(*dep.split(":", 2)) for dep in test_deps if dep.count(":") == 2] + [
        maven.Artifact(group, artifact, version, "jar", classifier)
        for group, artifact, version, classifier in (
            dep.split(":") for dep in test_deps if dep.count(":") == 3)]
    key = hashlib.sha256(repr((artifacts, EXCLUDE)).encode()).hexdigest()[:10]
    cached = cache_dir() / "classpath" / f"{release}-{key}.txt"
    with _LOCK, cache_lock(f"classpath-{release}"):
        if cached.is_file():
            jars = [Path(p) for p in cached.read_text().split("\n") if p]
            if all(j.is_file() for j in jars):
                return jars
        progress(f"resolving the {release} test classpath through mvn")
        jars = maven.resolve_classpath(artifacts, exclude=EXCLUDE)
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".tmp")
        partial.write_text("\n".join(str(j) for j in jars) + "\n")
        partial.replace(cached)
        return jars


def write_sides(checkout: Checkout, assessment: Assessment,
                work: Path) -> tuple[list[str], list[str]]:
    """The fix's Java files before and after it, in work/src/{stock,patched}: their
    paths, and the other files the fix changes that compiling those on top does not
    carry (a .proto, a resource, a web page, native code, a pom)."""
    stock, patched = _sides(checkout, assessment)
    touched = sorted(p for p in set(stock) | set(patched) if p.endswith(".java"))
    if not touched:
        raise HpatchError(f"{assessment.fix.id}: the fix touches no Java file to build")
    for side, files in (("stock", stock), ("patched", patched)):
        for path in touched:
            text = files.get(path)
            if text is None:
                continue
            target = work / "src" / side / _source_relative(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", errors="surrogateescape")
    return touched, changed_beyond_java(stock, patched)


# What a change may touch besides the code compiled on top that no build needs: its
# tests, documentation, the change log.
_NOT_BUILT = ("/src/test/", "/src/site/", "CHANGES.txt", ".md", "/src/main/docs/")


def changed_beyond_java(stock: dict[str, str], patched: dict[str, str]) -> list[str]:
    return sorted(p for p in set(stock) | set(patched)
                  if not p.endswith(".java") and not any(m in p for m in _NOT_BUILT)
                  and stock.get(p) != patched.get(p))


def _source_relative(path: str) -> str:
    """The path below src/main/java (package layout), so javac sees packages."""
    marker = "/src/main/java/"
    return path.split(marker, 1)[1] if marker in path else path


def other_files(checkout: Checkout, assessment: Assessment,
                paths: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Files beside the fix's, as each side has them (below src/main/java): the
    checkout's own text, from git objects."""
    applied = assessment.state is State.APPLIED and assessment.commit
    revs = (f"{assessment.commit}^", assessment.commit) if applied else ("HEAD", "HEAD")
    sides: tuple[dict[str, str], dict[str, str]] = ({}, {})
    for found, rev in zip(sides, revs, strict=True):
        for path in paths:
            text = checkout.read_blob(str(rev), path)
            if text is not None:
                found[_source_relative(path)] = text
    return sides


def _sides(checkout: Checkout, assessment: Assessment) -> tuple[dict[str, str], dict[str, str]]:
    """The touched files before and after the fix, from git objects (not the work tree)."""
    fix = assessment.fix
    if assessment.state is State.APPLIED and assessment.commit:
        # The fix's own files: not another fix's squashed into the same commit.
        paths = list(assessment.change.paths) if assessment.change is not None \
            else checkout.touched_paths(assessment.commit)
        stock = {p: t for p in paths if (t := checkout.read_blob(f"{assessment.commit}^", p))}
        fixed = {p: t for p in paths if (t := checkout.read_blob(assessment.commit, p))}
        return stock, fixed
    if assessment.state is not State.APPLICABLE or assessment.variant is None:
        raise HpatchError(f"{fix.id} is {assessment.state.value} here: nothing to verify")
    parsed = patching.parse(assessment.variant.patch)
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for patched_file in parsed.patchset:
        source = patching.strip_prefix(patched_file.source_file)
        target = patching.strip_prefix(patched_file.target_file) or source
        content = checkout.read_blob("HEAD", source) if source else None
        placements = patching.locate(patched_file, content, max_fuzz=0)
        if not all(p.exact for p in placements):
            raise HpatchError(f"{fix.id}: variant {assessment.variant.name} does not apply "
                              "exactly to HEAD")
        if content is not None and source:
            before[source] = content
        new = patching.apply_placed(patched_file, content, placements)
        if new is not None:
            after[target] = new
    return before, after
