"""A release's sources, from its published -sources jars, as a git repository.

The jars are laid out at the real repository paths so that every other command
treats the result like a clone of Hadoop at that release's tag.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hpatch import maven
from hpatch.checkout import clone_local, init_release_repo
from hpatch.errors import HpatchError
from hpatch.paths import cache_dir, cache_lock
from hpatch.releases import Release

GROUP = "org.apache.hadoop"
YARN = "hadoop-yarn-project/hadoop-yarn"


@dataclass(frozen=True)
class Module:
    artifact: str
    path: str
    since: str = "0.0.0"


# The modules the catalog's fixes touch, and those their code needs beside it.
MODULES = (
    Module("hadoop-common", "hadoop-common-project/hadoop-common"),
    Module("hadoop-hdfs", "hadoop-hdfs-project/hadoop-hdfs"),
    Module("hadoop-hdfs-client", "hadoop-hdfs-project/hadoop-hdfs-client", since="2.8.0"),
    Module("hadoop-yarn-api", f"{YARN}/hadoop-yarn-api"),
    Module("hadoop-yarn-common", f"{YARN}/hadoop-yarn-common"),
    Module("hadoop-yarn-server-common", f"{YARN}/hadoop-yarn-server/hadoop-yarn-server-common"),
    Module("hadoop-yarn-server-resourcemanager",
           f"{YARN}/hadoop-yarn-server/hadoop-yarn-server-resourcemanager"),
)
# Aggregator poms that Maven Central carries, at their repository paths.
POMS = (
    Module("hadoop-main", ""),
    Module("hadoop-project", "hadoop-project"),
    # The parent of hadoop-common and hadoop-hdfs: its pom carries their Surefire set-up.
    Module("hadoop-project-dist", "hadoop-project-dist"),
    Module("hadoop-yarn", YARN),
    Module("hadoop-yarn-server", f"{YARN}/hadoop-yarn-server"),
)
# Releases that published no -sources jars: `--release` cannot serve them (use a clone).
NO_SOURCES = ("2.8.5", "2.9.2")
SOURCE_FORMAT = 2  # bump when the layout changes, so caches rebuild


def release_tag(release: Release) -> str:
    return f"rel/release-{release}"


def modules_for(release: Release) -> list[Module]:
    return [m for m in MODULES if release >= Release.parse(m.since)]


def artifacts_for(release: Release) -> dict[maven.Artifact, tuple[Module, str]]:
    wanted: dict[maven.Artifact, tuple[Module, str]] = {}
    for module in modules_for(release):
        wanted[maven.Artifact(GROUP, module.artifact, str(release), "jar", "sources")] = (
            module, "sources")
        wanted[maven.Artifact(GROUP, module.artifact, str(release), "pom")] = (module, "pom")
    for module in POMS:
        wanted[maven.Artifact(GROUP, module.artifact, str(release), "pom")] = (module, "pom")
    return wanted


def cached_repo(release: Release) -> Path:
    return cache_dir() / "sources" / f"v{SOURCE_FORMAT}" / str(release)


def ensure_cached(release: Release, *, progress: Callable[[str], None]) -> Path:
    """The cached repository for release, building it on first use."""
    repo = cached_repo(release)
    if (repo / ".git" / "hpatch-complete").is_file():
        return repo
    with cache_lock(f"sources-{release}"):
        return _build_cached(release, repo, progress)


def _build_cached(release: Release, repo: Path, progress: Callable[[str], None]) -> Path:
    if (repo / ".git" / "hpatch-complete").is_file():
        return repo  # another process made it while we waited
    repo.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{release}-", dir=repo.parent) as tmp:
        work = Path(tmp) / "repo"
        jars = Path(tmp) / "jars"
        wanted = artifacts_for(release)
        progress(f"fetching {len(wanted)} artifacts of Hadoop {release} through mvn")
        fetched = maven.fetch(list(wanted), jars)
        progress(f"laying out sources of {release}")
        for art, path in fetched.items():
            module, kind = wanted[art]
            target = work / module.path if module.path else work
            if kind == "pom":
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / "pom.xml")
            else:
                _unpack_sources(path, target)
        progress(f"committing {release} as {release_tag(release)}")
        init_release_repo(
            work, message=f"Apache Hadoop {release}\n\nFrom the release's -sources jars.\n",
            tag=release_tag(release), date="2000-01-01T00:00:00Z")
        (work / ".git" / "hpatch-complete").write_text(f"{release}\n", encoding="utf-8")
        if repo.exists():
            shutil.rmtree(repo)
        work.rename(repo)
    return repo


def _unpack_sources(jar: Path, module_dir: Path) -> None:
    java_root = module_dir / "src" / "main" / "java"
    resources = module_dir / "src" / "main" / "resources"
    with zipfile.ZipFile(jar) as archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir() or name.startswith("META-INF/MANIFEST") or name.startswith("/"):
                continue
            if ".." in Path(name).parts:
                raise HpatchError(f"{jar.name} holds an unsafe path: {name}")
            target = (java_root if name.endswith(".java") else resources) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)


def materialize(release: Release, dest: Path, *, progress: Callable[[str], None]) -> Path:
    """A fresh checkout of release's sources at dest, on branch hadoop-<release>."""
    if dest.exists() and any(dest.iterdir()):
        raise HpatchError(f"{dest} exists and is not empty; give a new directory")
    repo = ensure_cached(release, progress=progress)
    if dest.exists():
        dest.rmdir()
    clone_local(repo, dest, branch=f"hadoop-{release}", tag=release_tag(release))
    return dest
