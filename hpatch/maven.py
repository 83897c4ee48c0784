"""The only module that runs mvn. All artifact access goes through it, so a
user's settings.xml (mirrors, proxies, credentials) applies as it would to mvn."""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hpatch import proc
from hpatch.errors import MavenError, ProcessError


def escape(text: str) -> str:
    """Text for an XML element (xml.sax.saxutils would import urllib and http at start-up)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Pinned, so every machine resolves the same plugin and no prefix lookup is needed.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"


@dataclass(frozen=True)
class Artifact:
    group: str
    artifact: str
    version: str
    type: str = "jar"
    classifier: str = ""

    @property
    def filename(self) -> str:
        classifier = f"-{self.classifier}" if self.classifier else ""
        return f"{self.artifact}-{self.version}{classifier}.{self.type}"

    def __str__(self) -> str:
        parts = [self.group, self.artifact, self.type]
        if self.classifier:
            parts.append(self.classifier)
        parts.append(self.version)
        return ":".join(parts)


# The build image carries Tomcat for the httpfs/kms webapps (Dockerfile.build).
TOMCAT = ["-Dtomcat.version=7.0.55",
          "-Dtomcat.download.url=file:///opt/hadoop-build/tomcat-7.0.55.tar.gz"]


def dist_build_args(*, native: bool, modules: Sequence[str] = ()) -> list[str]:
    """What ships: `package -Pdist,native` of the whole tree, or of some modules."""
    if modules:
        return ["package", *(["-Pnative"] if native else []), "-DskipTests", "-pl",
                ",".join(modules), "-am"]
    return ["package", "-Pdist,native" if native else "-Pdist", "-DskipTests", "-Dtar",
            "-Dmaven.javadoc.skip=true", *TOMCAT]


def module_build_args(modules: Sequence[str], *, native: bool,
                      profiles: Sequence[str] = (), tests: bool = True) -> list[str]:
    """The modules a reproducer loads, and the reactor modules they need, as jars;
    profiles: those that put a module in the reactor at all; tests: whether the test
    sources compile too (not for a tree whose tests were not changed with its code)."""
    wanted = [*(["native"] if native else []), *sorted(set(profiles))]
    return ["package", *([f"-P{','.join(wanted)}"] if wanted else []),
            "-DskipTests" if tests else "-Dmaven.test.skip=true",
            "-Dmaven.javadoc.skip=true", "-Dmaven.source.skip=true", "-pl",
            ",".join(modules), "-am"]


def command(args: Sequence[str]) -> list[str]:
    """The argv of a batch-mode mvn run of args, as a record shows it."""
    return ["mvn", "-B", *args]


def version_argv() -> list[str]:
    """What asks the host's Maven for its version."""
    return ["mvn", "-v"]


def shell_line(args: Sequence[str], *, log: str) -> str:
    """A `mvn -B ARGS` shell line (quoted) that keeps the full log and shows progress."""
    return ("set -o pipefail; " + shlex.join(command(args)) + " 2>&1 | tee " + shlex.quote(log)
            + " | grep --line-buffered -E "
            "'^\\[INFO\\] (Building .*\\[[0-9]+/[0-9]+\\]|BUILD|Total time)|ERROR'")


_FAILED_GOAL = re.compile(r"\[ERROR\] Failed to execute goal .*? on project ([\w.-]+): (.*)")
_COMPILER = re.compile(r"^\[ERROR\] (/\S+\.java):\[(\d+),\d+\] (.*)$", re.MULTILINE)


_PARENT = re.compile(r"Non-resolvable parent POM for ([\w.-]+:[\w.-]+):\S+: .*?could not be "
                     r"resolved: (\S+)")
_DEPENDENCY = re.compile(r"Could not resolve dependencies for project ([\w.-]+:[\w.-]+):\S+: "
                         r".*?could not be resolved: (\S+)")


def explain_build_log(text: str) -> str:
    """The module that failed and its first compiler or Maven error, in one line."""
    for pattern, what in ((_PARENT, "its parent pom"), (_DEPENDENCY, "a dependency")):
        found = pattern.search(text)
        if found:
            project = found.group(1).split(":")[1]
            return (f"{project}: cannot resolve {what} {found.group(2)} (is its repository "
                    "reachable? mirrors go in ~/.m2/settings.xml, which the build uses)")
    goal = _FAILED_GOAL.search(text)
    compiler = _COMPILER.search(text)
    module = goal.group(1) if goal else "the build"
    if compiler:
        path = compiler.group(1).split("/src/", 1)[-1]
        return f"{module}: {path}:{compiler.group(2)}: {compiler.group(3).strip()[:200]}"
    if goal:
        return f"{module}: {goal.group(2).strip()[:300]}"
    return f"mvn failed: {_first_error_line(text)}"


def extra_args() -> list[str]:
    """HPATCH_MAVEN_ARGS: extra mvn arguments, e.g. '-s my-settings.xml -o'."""
    return shlex.split(os.environ.get("HPATCH_MAVEN_ARGS", ""))


def _dependency_xml(art: Artifact) -> str:
    classifier = f"<classifier>{escape(art.classifier)}</classifier>" if art.classifier else ""
    return (
        "<dependency>"
        f"<groupId>{escape(art.group)}</groupId><artifactId>{escape(art.artifact)}</artifactId>"
        f"<version>{escape(art.version)}</version><type>{escape(art.type)}</type>{classifier}"
        "<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion>"
        "</exclusions></dependency>"
    )


def _request_pom(artifacts: Sequence[Artifact]) -> str:
    deps = "".join(_dependency_xml(a) for a in artifacts)
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        "<modelVersion>4.0.0</modelVersion>"
        "<groupId>hpatch.request</groupId><artifactId>fetch</artifactId>"
        "<version>0</version><packaging>pom</packaging>"
        f"<dependencies>{deps}</dependencies></project>\n"
    )


def fetch(artifacts: Sequence[Artifact], dest: Path) -> dict[Artifact, Path]:
    """Copy exactly these artifacts (no transitive ones) into dest, in one mvn run."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hpatch-mvn-") as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_request_pom(artifacts), encoding="utf-8")
        argv = [
            "mvn", "-B", "-q", "-f", str(pom), *extra_args(),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={dest}",
            "-Dmdep.copyPom=false",
        ]
        try:
            proc.run(argv, cwd=Path(tmp))
        except ProcessError as exc:
            error = explain_failure(exc)
            error.unresolved = tuple(_unresolved(exc.stdout + "\n" + exc.stderr))
            raise error from exc
    found: dict[Artifact, Path] = {}
    for art in artifacts:
        path = dest / art.filename
        if not path.is_file():
            raise MavenError(f"mvn reported success but {art.filename} is not in {dest}")
        found[art] = path
    return found


def fetch_available(artifacts: Sequence[Artifact], dest: Path) -> dict[Artifact, Path]:
    """Like fetch, but artifacts the repository does not have are left out (a
    release may publish no -test-sources for a module); at most a few mvn runs."""
    wanted = list(dict.fromkeys(artifacts))
    for _ in range(len(wanted) + 1):
        if not wanted:
            return {}
        try:
            return fetch(wanted, dest)
        except MavenError as exc:
            missing = set(exc.unresolved)
            if not missing:
                raise
            kept = [a for a in wanted if str(a) not in missing]
            if len(kept) == len(wanted):
                raise
            wanted = kept
    return fetch(wanted, dest)


def resolve_classpath(artifacts: Sequence[Artifact], *, exclude: Sequence[str] = ()) -> list[Path]:
    """The jars of artifacts and all their runtime dependencies, as mvn resolves them.

    exclude: 'group:artifact' pairs cut from the whole tree (e.g. jdk.tools, a
    system-scoped jar that only exists inside old JDKs)."""
    with tempfile.TemporaryDirectory(prefix="hpatch-mvn-") as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_classpath_pom(artifacts, exclude), encoding="utf-8")
        out = Path(tmp) / "classpath.txt"
        argv = ["mvn", "-B", "-q", "-f", str(pom), *extra_args(),
                f"{DEPENDENCY_PLUGIN}:build-classpath", f"-Dmdep.outputFile={out}",
                "-Dmdep.includeScope=runtime"]
        try:
            proc.run(argv, cwd=Path(tmp))
        except ProcessError as exc:
            raise explain_failure(exc) from exc
        text = out.read_text(encoding="utf-8").strip()
    jars = [Path(p) for p in text.split(os.pathsep) if p]
    if not jars:
        raise MavenError("mvn resolved an empty classpath")
    return jars


def run_goals(pom: Path, args: Sequence[str], *, timeout: float) -> None:
    """`mvn -B -q -f POM ARGS` with the user's extra arguments; MavenError (one line)
    when it fails."""
    argv = ["mvn", "-B", "-q", "-f", str(pom), *extra_args(), *args]
    try:
        proc.run(argv, cwd=pom.parent, timeout=timeout)
    except ProcessError as exc:
        raise explain_failure(exc) from exc


def _classpath_pom(artifacts: Sequence[Artifact], exclude: Sequence[str]) -> str:
    exclusions = "".join(
        f"<exclusion><groupId>{escape(g)}</groupId><artifactId>{escape(a)}</artifactId>"
        "</exclusion>" for g, _, a in (e.partition(":") for e in exclude))
    deps = []
    for art in artifacts:
        classifier = f"<classifier>{escape(art.classifier)}</classifier>" if art.classifier else ""
        deps.append(
            f"<dependency><groupId>{escape(art.group)}</groupId>"
            f"<artifactId>{escape(art.artifact)}</artifactId><version>{escape(art.version)}"
            f"</version><type>{escape(art.type)}</type>{classifier}"
            f"<exclusions>{exclusions}</exclusions></dependency>")
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        "<modelVersion>4.0.0</modelVersion>"
        "<groupId>hpatch.request</groupId><artifactId>classpath</artifactId>"
        "<version>0</version><packaging>pom</packaging>"
        f"<dependencies>{''.join(deps)}</dependencies></project>\n"
    )


_MISSING = re.compile(
    r"(?:Could not find artifact|The following artifacts could not be resolved:)\s+([^\s,]+)"
)
_NETWORK = re.compile(
    r"(Could not transfer artifact|Connection refused|UnknownHost|Unknown host|"
    r"Network is unreachable|connect timed out|No route to host|offline mode|"
    r"No plugin found for prefix)",
    re.IGNORECASE,
)


def explain_failure(exc: ProcessError) -> MavenError:
    """Turn mvn's output into one line a user can act on."""
    if exc.returncode == 127:
        return MavenError("mvn is not installed or not on PATH (hpatch fetches through mvn)")
    text = exc.stdout + "\n" + exc.stderr
    network = _NETWORK.search(text)
    missing = _MISSING.search(text)
    if network and "was not found in" not in text:
        return MavenError(
            "cannot reach the Maven repository: "
            f"{_first_error_line(text)} (check the network, or the mirrors in settings.xml)"
        )
    unresolved = _unresolved(text)
    if unresolved and all(":sources:" in a for a in unresolved) and len(unresolved) > 1:
        version = unresolved[0].rsplit(":", 1)[-1]
        return MavenError(
            f"the Maven repository has no -sources jars for {version} (that release did not "
            "publish them): use a git checkout of it with --repo")
    if missing:
        return MavenError(
            f"not in the Maven repository: {missing.group(1).rstrip(':')} "
            "(is that a published Hadoop release?)"
        )
    return MavenError(f"mvn failed (exit {exc.returncode}): {_first_error_line(text)}")


def _unresolved(text: str) -> list[str]:
    match = re.search(r"could not be resolved: (.+?): ", text)
    if match:
        return [a.strip().split(" ")[0] for a in match.group(1).split(",")]
    # one artifact missing, asked for the first time: "Could not find artifact X in central"
    # (a list of several reads "could not be resolved: X, Y: ..." instead)
    first_time = re.findall(r"Could not find artifact (\S+:\S+:\S+(?::\S+)?:\S+) in ", text)
    # what an earlier run found missing, as mvn 3.8 reports it: one artifact at a time
    cached = re.findall(r"(\S+:\S+:\S+(?::\S+)?:\S+) was not found in ", text)
    return list(dict.fromkeys(first_time + cached))


def _first_error_line(text: str) -> str:
    for line in text.splitlines():
        clean = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
        if clean.startswith("[ERROR]") and len(clean) > 8:
            return clean[8:].strip()[:300]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"
