"""An upstream test run as its module runs it: through Maven Surefire, with the
module's own test configuration.

The module's pom and its parents' are copied from the checkout to their paths
under the run's work directory, and Maven computes the module's effective pom
there (profiles, properties and inheritance resolved as in a real build). From
it comes the pom each side runs with: the module's coordinates, its
dependencies (every scope, versions as Maven resolved them), its build
directories and its Surefire plugin, version, plugin dependencies and
configuration (argLine, systemPropertyVariables, environmentVariables,
forkCount, reuseForks, additionalClasspathElements, ...) verbatim. Changed, and
recorded as changed:

- a Hadoop artifact the checkout's own build made (a module that differs from
  the release, or a -tests jar the release never published) leaves the
  dependency list and its built jar joins additionalClasspathElements;
- in a fork whose version Maven Central does not know, the Hadoop artifacts it
  shares with its base release resolve at the release's version;
- forkedProcessTimeoutInSeconds is the verification's timeout, and an explicit
  skip is dropped (the chosen methods are named with -Dtest).

The module's own classes are its jar (published, or from the checkout's build)
with the side's compiled fix on top, in target/classes; its test classes are
its -tests jar with the upstream test on top, in target/test-classes, with the
module's src/test/resources: the layout `mvn test` leaves. The runner script
(harness/verify.sh) then runs `mvn -o surefire:test -Dtest=Class#m1+m2` for each
side, and the verdict is graded from Surefire's XML reports."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hpatch import maven, records, surefire
from hpatch.errors import HpatchError, MavenError

PROJECT = "surefire"            # WORK/surefire: the poms, as the checkout lays them out
RUN_FILE = "surefire-run.txt"   # the module's directory; verify.sh then runs Surefire
REPO_FILE = "surefire-repo.txt"  # the local Maven repository the offline run reads
OWN_FILE = "surefire-own-{side}.txt"   # "classes JAR" / "test-classes JAR" lines
POM_FILE = "pom-hpatch-{side}.xml"     # in the module's directory
HELP_PLUGIN = "org.apache.maven.plugins:maven-help-plugin:3.5.1"
PLUGIN = "maven-surefire-plugin"
POM_NS = "http://maven.apache.org/POM/4.0.0"
HADOOP_GROUP = "org.apache.hadoop"
# A jar's name in the checkout's build: artifact-version[-tests].jar.
_BUILT = re.compile(r"^(?P<artifact>[A-Za-z][\w.-]*?)-(?P<version>\d[\w.-]*?)"
                    r"(?:-(?P<classifier>tests|classes))?\.jar$")
_DROPPED = ("skip", "skipTests", "skipExec", "test", "testFailureIgnore")


class SurefireSetupError(HpatchError):
    """The module's Surefire run could not be set up (its poms, its effective pom)."""


class BuildStepError(SurefireSetupError):
    """A step the module runs before `test` failed here (it needs what the build's
    code generation makes, which is not run)."""


_STEP = re.compile(r"Failed to execute goal org\.apache\.maven\.plugins:maven-antrun-plugin:"
                   r"[\w.-]+:run \(([\w.-]+)\)[^:]*: An Ant BuildException has occured: "
                   r"(\S+)")


def _q(name: str) -> str:
    return f"{{{POM_NS}}}{name}"


def _child(node: ET.Element | None, name: str) -> ET.Element | None:
    return None if node is None else node.find(_q(name))


def _text(node: ET.Element | None, name: str) -> str:
    found = _child(node, name)
    return (found.text or "").strip() if found is not None else ""


def write_project(work: Path, module: str, read_file: Callable[[str], str | None]
                  ) -> tuple[Path | None, str]:
    """The module's pom chain copied under work/surefire; (the module's directory, "")
    or (None, the first pom of the chain the checkout lacks)."""
    files, missing = surefire.pom_files(module, read_file)
    if missing or not files:
        return None, missing or f"{module}/pom.xml"
    root = work / PROJECT
    for path, text in files:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    module_dir = root / module
    module_dir.mkdir(parents=True, exist_ok=True)
    return module_dir, ""


def effective_pom(module_dir: Path, timeout: float = 600.0) -> str:
    """The module's effective pom, as the user's Maven computes it (its settings and
    mirrors apply; parents outside the tree, such as org.apache:apache, resolve there)."""
    out = module_dir / "effective-pom.xml"
    try:
        maven.run_goals(module_dir / "pom.xml", [f"{HELP_PLUGIN}:effective-pom",
                                                 f"-Doutput={out}"], timeout=timeout)
    except MavenError as exc:
        raise SurefireSetupError(f"the effective pom of {module_dir.name}: {exc}") from exc
    return out.read_text(encoding="utf-8")


@dataclass
class RunPom:
    text: str
    artifact: str
    plugin_version: str
    own: list[tuple[str, Path]]                 # (classes | test-classes, jar)
    changes: list[str] = field(default_factory=list)   # what differs from the module's pom


def _in_repository(jar: Path, repository: Path | None) -> bool:
    if repository is not None:
        return jar.is_relative_to(repository)
    return "repository" in jar.parts


def _built_jars(classpath: Sequence[Path], repository: Path | None = None
                ) -> dict[tuple[str, str], Path]:
    """(artifact, classifier) of the jars that are not from the local Maven repository:
    the checkout's own build made them."""
    found: dict[tuple[str, str], Path] = {}
    for jar in classpath:
        if _in_repository(jar, repository):
            continue
        match = _BUILT.match(jar.name)
        if match and match["classifier"] != "classes":
            found[(match["artifact"], match["classifier"] or "")] = jar
    return found


def _own_jars(classpath: Sequence[Path], artifact: str) -> list[tuple[str, Path]]:
    own: list[tuple[str, Path]] = []
    for jar in classpath:
        match = _BUILT.match(jar.name)
        if match and match["artifact"] == artifact:
            # a war module's classes are its -classes jar
            own.append(("test-classes" if match["classifier"] == "tests" else "classes", jar))
    return own


def _surefire_plugin(project: ET.Element) -> ET.Element | None:
    plugins = _child(_child(project, "build"), "plugins")
    for plugin in plugins if plugins is not None else []:
        if _text(plugin, "artifactId") == PLUGIN:
            return plugin
    return None


def run_pom(effective: str, classpath: Sequence[Path], *, version: str, base_version: str,
            timeout: int, module_dir: Path | None = None,
            repository: Path | None = None) -> RunPom:
    """The pom a side runs the module's tests with (see the module's docstring)."""
    ET.register_namespace("", POM_NS)
    try:
        project = ET.fromstring(effective)
    except ET.ParseError as exc:
        raise SurefireSetupError(f"the effective pom does not parse: {exc}") from exc
    if project.tag == "projects":  # an aggregator's output: the first project is ours
        project = next(iter(project))
    group, artifact = _text(project, "groupId"), _text(project, "artifactId")
    plugin = _surefire_plugin(project)
    if plugin is None:
        raise SurefireSetupError(f"{artifact}'s effective pom has no {PLUGIN}")
    built = _built_jars(classpath, repository)
    changes: list[str] = []
    additional: list[Path] = []
    deps = ET.Element(_q("dependencies"))
    for dep in list(_child(project, "dependencies") or []):
        d_group, d_artifact = _text(dep, "groupId"), _text(dep, "artifactId")
        classifier = _text(dep, "classifier") or (
            "tests" if _text(dep, "type") == "test-jar" else "")
        if d_group == HADOOP_GROUP and (d_artifact, classifier) in built:
            jar = built[(d_artifact, classifier)]
            additional.append(jar)
            changes.append(f"{d_artifact}{':' + classifier if classifier else ''} from the "
                           f"checkout's build ({jar.name})")
            continue
        if _text(dep, "scope") == "system":
            changes.append(f"system-scoped {d_artifact} left to the test JVM's JDK")
            continue
        if _rebase(dep, version, base_version):
            changes.append(f"{d_artifact} at {base_version} (the code it shares with the "
                           "release)")
        _exclude(dep, "jdk.tools", "jdk.tools")
        deps.append(dep)
    managed = _child(project, "dependencyManagement")
    if managed is not None:
        # What fixes the versions of transitive dependencies (jackson 1.9.13 throughout,
        # not the 1.8.3 jersey-json asks for): as the module's build has it.
        for dep in managed.iter(_q("dependency")):
            _rebase(dep, version, base_version)
    gone = sorted(a for (a, classifier) in built if not classifier)
    if gone:
        for dep in deps:
            for artifact_id in gone:
                _exclude(dep, HADOOP_GROUP, artifact_id)
        changes.append(f"{', '.join(gone)} excluded where a dependency brings it (the "
                       "checkout's build replaces it)")
    if len(deps):
        changes.append("jdk.tools excluded throughout (a system-scoped jar of old JDKs that "
                       "hadoop-annotations asks for; the test JVM's JDK provides its classes)")
    own = _own_jars(classpath, artifact)
    config = _configuration(plugin)
    for name in _DROPPED:
        node = _child(config, name)
        if node is not None:
            config.remove(node)
            changes.append(f"<{name}> dropped (the chosen methods are named with -Dtest)")
    _set(config, "forkedProcessTimeoutInSeconds", str(timeout))
    _set(config, "failIfNoSpecifiedTests", "false")
    if additional:
        holder = _child(config, "additionalClasspathElements")
        if holder is None:
            holder = ET.SubElement(config, _q("additionalClasspathElements"))
        for jar in additional:
            ET.SubElement(holder, _q("additionalClasspathElement")).text = str(jar)
    new_plugin = ET.Element(_q("plugin"))
    for name, value in (("groupId", _text(plugin, "groupId") or "org.apache.maven.plugins"),
                        ("artifactId", PLUGIN), ("version", _text(plugin, "version"))):
        ET.SubElement(new_plugin, _q(name)).text = value
    new_plugin.append(config)
    plugin_deps = _child(plugin, "dependencies")
    if plugin_deps is not None:
        new_plugin.append(plugin_deps)
    out = ET.Element(_q("project"))
    for name, value in (("modelVersion", "4.0.0"), ("groupId", group),
                        ("artifactId", artifact), ("version", base_version if (
                            version != base_version) else _text(project, "version")),
                        ("packaging", "jar")):
        ET.SubElement(out, _q(name)).text = value
    properties = _child(project, "properties")
    if properties is not None:  # project.build.sourceEncoding and the like, as resolved
        out.append(properties)
    if managed is not None:
        out.append(managed)
    out.append(deps)
    build = ET.SubElement(out, _q("build"))
    source_build = _child(project, "build")
    for name in ("directory", "outputDirectory", "testOutputDirectory"):
        value = _text(source_build, name)
        if value:
            ET.SubElement(build, _q(name)).text = value
    # No sources: the module's classes are its jar and the fix's, compiled already, so
    # the compile phases find nothing to do.
    target = _text(source_build, "directory") or "target"
    for name in ("sourceDirectory", "testSourceDirectory"):
        ET.SubElement(build, _q(name)).text = f"{target}/hpatch-no-sources"
    for name in ("resources", "testResources"):
        found = _child(source_build, name)
        if found is not None:
            build.append(found)
    plugins = ET.SubElement(build, _q("plugins"))
    plugins.append(new_plugin)
    for other in list(_child(source_build, "plugins") or []):
        kept = _kept_plugin(other, module_dir, changes)
        if kept is not None:
            plugins.append(kept)
    ET.indent(out)
    text = ET.tostring(out, encoding="unicode") + "\n"
    return RunPom(text, artifact, _text(plugin, "version"), own, changes)


# The phases `mvn test` runs before Surefire whose work a test may rely on (the
# directories and web apps hadoop-hdfs's antrun makes); code generation is not run.
PHASES = ("validate", "initialize", "generate-test-sources", "process-test-sources",
          "generate-test-resources", "process-test-resources", "test-compile",
          "process-test-classes", "generate-resources", "process-resources", "compile",
          "process-classes")
LIFECYCLE = ("maven-resources-plugin", "maven-compiler-plugin")


def _kept_plugin(plugin: ET.Element, module_dir: Path | None,
                 changes: list[str]) -> ET.Element | None:
    """What of another plugin the run keeps: a build extension (maven-bundle-plugin's
    `bundle` packaging, which some test dependencies have), the lifecycle's resources and
    compiler plugins at the module's versions, and antrun's executions in the phases
    before `test` (not those in generate-sources: no code is generated)."""
    artifact = _text(plugin, "artifactId")
    extension = _text(plugin, "extensions") == "true"
    if not extension and artifact not in LIFECYCLE and artifact != "maven-antrun-plugin":
        return None
    kept = ET.Element(_q("plugin"))
    for name in ("groupId", "artifactId", "version", "extensions"):
        value = _text(plugin, name)
        if value:
            ET.SubElement(kept, _q(name)).text = value
    if artifact in LIFECYCLE:
        config = _child(plugin, "configuration")
        if config is not None and artifact == "maven-resources-plugin":
            kept.append(config)
    if artifact == "maven-antrun-plugin":
        executions = ET.SubElement(kept, _q("executions"))
        for execution in list(_child(plugin, "executions") or []):
            if _text(execution, "phase") not in PHASES:
                continue
            absent = _absent_inputs(execution, module_dir)
            if absent:
                # Release sources (-sources jars) lack src/main/conf and the like; the
                # module's -tests jar, unpacked in target/test-classes, has their copies.
                changes.append(f"antrun step {_text(execution, 'id') or '?'} left out: it "
                               f"reads {absent}, which this checkout lacks")
                continue
            executions.append(execution)
        deps = _child(plugin, "dependencies")
        if deps is not None:
            kept.append(deps)
    return kept


def _absent_inputs(execution: ET.Element, module_dir: Path | None) -> str:
    """The first file or directory under the module's src/ that an antrun step reads and
    the checkout lacks ("" when it has them all)."""
    if module_dir is None:
        return ""
    source = str(module_dir / "src")
    for node in execution.iter():
        for name in ("dir", "file", "src"):
            value = node.get(name, "")
            if value.startswith(source) and not Path(value).exists():
                return str(Path(value).relative_to(module_dir))
    return ""


def _rebase(dep: ET.Element, version: str, base_version: str) -> bool:
    """A Hadoop artifact at a fork's own version (which no repository has) asked for at
    the release the fork derives from, whose code it shares; whether it was."""
    node = _child(dep, "version")
    if (version == base_version or _text(dep, "groupId") != HADOOP_GROUP or node is None
            or (node.text or "").strip() != version):
        return False
    node.text = base_version
    return True


def _exclude(dep: ET.Element, group: str, artifact: str) -> None:
    exclusions = _child(dep, "exclusions")
    if exclusions is None:
        exclusions = ET.SubElement(dep, _q("exclusions"))
    exclusion = ET.SubElement(exclusions, _q("exclusion"))
    ET.SubElement(exclusion, _q("groupId")).text = group
    ET.SubElement(exclusion, _q("artifactId")).text = artifact


def _configuration(plugin: ET.Element) -> ET.Element:
    """What `mvn test` runs with: the default-test execution's configuration where there
    is one (it carries the plugin-level configuration merged in), else the plugin's."""
    executions = _child(plugin, "executions")
    for execution in executions if executions is not None else []:
        if _text(execution, "id") == "default-test":
            found = _child(execution, "configuration")
            if found is not None:
                return found
    found = _child(plugin, "configuration")
    return found if found is not None else ET.Element(_q("configuration"))


def _set(config: ET.Element, name: str, value: str) -> None:
    node = _child(config, name)
    if node is None:
        node = ET.SubElement(config, _q(name))
    node.text = value


PROVIDERS = ("surefire-junit4", "surefire-junit47")  # what a JUnit 4 test may need


def prime(pom_path: Path, pom: RunPom, repository: Path | None = None,
          timeout: float = 1200.0) -> list[Path]:
    """Resolve, with the user's Maven and its settings, what the offline run in the
    container needs: the dependencies, the plugin and its providers (those the local
    repository lacks). The module's test classpath, as Maven resolved it."""
    listed = pom_path.with_suffix(".classpath")
    try:
        # The run itself, tests skipped: every plugin it runs and the test classpath.
        maven.run_goals(pom_path, ["test", "-DskipTests",
                                   f"{maven.DEPENDENCY_PLUGIN}:build-classpath",
                                   f"-Dmdep.outputFile={listed}", "-Dmdep.includeScope=test"],
                        timeout=timeout)
        for provider in PROVIDERS:
            version = pom.plugin_version
            jar = f"org/apache/maven/surefire/{provider}/{version}/{provider}-{version}.jar"
            if repository is not None and (repository / jar).is_file():
                continue
            maven.run_goals(pom_path, [
                f"{maven.DEPENDENCY_PLUGIN}:get",
                f"-Dartifact=org.apache.maven.surefire:{provider}:{version}"], timeout=timeout)
    except MavenError as exc:
        step = _STEP.search(str(exc))
        if step:
            missing = step.group(2).rsplit("/", 1)[-1]
            raise BuildStepError(f"{pom.artifact}'s build step {step.group(1)} needs "
                                 f"{missing}, which only the module's build makes") from exc
        raise SurefireSetupError(f"{pom.artifact}'s test classpath: {exc}") from exc
    text = listed.read_text(encoding="utf-8").strip() if listed.is_file() else ""
    return [Path(p) for p in text.split(os.pathsep) if p]


def write_sides(work: Path, module_dir: Path, effective: str,
                sides: dict[str, Sequence[Path]], *, version: str, base_version: str,
                timeout: int, repository: Path, test_source: str = ""
                ) -> tuple[list[str], dict[str, list[Path]]]:
    """The run poms (one per side) and what verify.sh needs to lay out target/; the
    notes saying what differs from the module's own pom, and each side's compile
    classpath: the module's own jars, the checkout's builds, then its test classpath as
    Maven resolves it (what `mvn test` compiles the test against), then the side's
    classpath for the fix's files in other modules."""
    notes: list[str] = []
    primed: dict[str, list[Path]] = {}
    compile_paths: dict[str, list[Path]] = {}
    for side, classpath in sides.items():
        pom = run_pom(effective, classpath, version=version, base_version=base_version,
                      timeout=timeout, module_dir=module_dir, repository=repository)
        path = module_dir / POM_FILE.format(side=side)
        records.write_text(path, pom.text)
        lines = "".join(f"{kind} {jar}\n" for kind, jar in pom.own)
        records.write_text(work / OWN_FILE.format(side=side), lines)
        if pom.text not in primed:  # the sides' poms differ only where two builds differ
            primed[pom.text] = prime(path, pom, repository)
        resolved = primed[pom.text]
        built = [j for j in classpath if not _in_repository(j, repository)]
        # then the side's own classpath: a fix that also changes another module (YARN-4009
        # touches the ResourceManager, its test is hadoop-common's) compiles those files
        # against what they need; the module's own come first and win
        compile_paths[side] = list(dict.fromkeys(
            [jar for _, jar in pom.own] + built + resolved + list(classpath)))
        if side == "stock":
            notes.append(f"upstream's test runs through Maven Surefire {pom.plugin_version} "
                         f"with {pom.artifact}'s own test configuration")
            if pom.changes:
                notes.append("its pom differs in: " + "; ".join(pom.changes[:8]))
            if not any(kind == "classes" for kind, _ in pom.own):
                notes.append(f"no {pom.artifact} jar on the classpath: its classes are the "
                             "fix's alone")
    if is_parameterized(test_source):
        records.write_text(work / WHOLE_CLASS, "parameterized\n")
        notes.append("a parameterized test: Surefire runs the whole class, and only the "
                     "chosen methods' runs are graded")
    records.write_text(work / REPO_FILE, f"{repository}\n")
    records.write_text(work / RUN_FILE, f"{module_dir}\n")
    return notes, compile_paths


WHOLE_CLASS = "surefire-whole-class.txt"
_PARAMETERIZED = re.compile(r"@RunWith\s*\(\s*(?:value\s*=\s*)?Parameterized\.class")


def is_parameterized(source: str) -> bool:
    return bool(_PARAMETERIZED.search(source))


def report_block(reports: Path, test_class: str, methods: Sequence[str] = ()) -> str:
    """Surefire's XML report of a run as the runner's result block (grading reads one
    format); "" when Surefire wrote no report (the fork crashed or timed out). methods:
    only these tests count (`name` or a parameterized `name[i]`) when the whole class
    ran."""
    from hpatch.grading import BEGIN, END
    files = sorted(reports.glob("TEST-*.xml")) if reports.is_dir() else []
    lines: list[str] = []
    for path in files:
        try:
            suite = ET.parse(path).getroot()
        except ET.ParseError:
            continue
        for case in suite.iter("testcase"):
            name = case.get("name", "")
            if methods and not any(name == m or name.startswith(f"{m}[") for m in methods):
                continue
            lines.append(_case_line(case))
    if not files:
        return ""
    return (f"\n{BEGIN}\nclass={_esc(test_class)}\tmillis=0\trun={len(lines)}\n"
            + "".join(line + "\n" for line in lines) + f"{END}\n")


# a class name, or RemoteException's `org.apache.hadoop.ipc.RemoteException(java.io.X)`
_CLASS = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\([\w$.]+\))?$")
_FRAME = re.compile(r"^\s*at ([\w$.<>]+)\.([\w$<>]+)\(", re.MULTILINE)
_HEAD = re.compile(r"^(?:Caused by: )?([\w$.]+(?:Exception|Error|Failure|Throwable)[\w$]*)"
                   r"(?::|$)", re.MULTILINE)


def _case_line(case: ET.Element) -> str:
    name = case.get("name", "?")
    for tag in ("failure", "error"):
        node = case.find(tag)
        if node is not None:
            stack = node.text or ""
            declared = node.get("type", "")
            # Surefire takes the type from the trace's first line: a Mockito failure,
            # whose toString is its message, leaves no class name there.
            exception = declared if _CLASS.match(declared) else (
                (_HEAD.findall(stack) or [""])[0])
            message = node.get("message") or "null"  # as Throwable.getMessage() prints
            # The trace opens with the message, which may hold frames of its own (a
            # wait's thread dump, a server's stack): the failure's frames follow it.
            said = stack.find(message) if message != "null" else -1
            trace = stack[said + len(message):] if said >= 0 else stack
            frames = [f"{owner}.{method}" for owner, method in _FRAME.findall(trace)]
            caused = "\tcaused=1" if "\nCaused by: " in trace else ""
            return (f"test={_esc(name)}\tstatus=failed\texception={_esc(exception)}"
                    f"\tmessage={_esc(message)}\tframes={_esc(';'.join(frames[:400]))}"
                    f"{caused}")
    skipped = case.find("skipped")
    if skipped is not None:
        return (f"test={_esc(name)}\tstatus=skipped\texception="
                f"{_esc(skipped.get('type', '') or '@Ignore')}\tmessage="
                f"{_esc(skipped.get('message', '') or '')}")
    return f"test={_esc(name)}\tstatus=passed"


def _esc(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", ""))


# What Surefire says when its forked JVM passed forkedProcessTimeoutInSeconds.
TIMED_OUT = "There was a timeout or other error in the fork"
