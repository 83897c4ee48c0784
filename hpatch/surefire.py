"""The module's own Surefire configuration, as upstream's tests run under it: the
system properties (`test.build.data`, `hadoop.tmp.dir`, `test.cache.data`, ...)
its pom and hadoop-project's set, with Maven's properties resolved.

The runner puts them on the test JVM's command line; paths under the build
directory point into the run's own data directory (`@DATA@`), and the test
classes directory is the reproducer's (`@TESTCLASSES@`)."""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

FILE = "surefire-properties.txt"
_NS = re.compile(r"^\{[^}]*\}")
_REF = re.compile(r"\$\{([\w.-]+)\}")
# Where the build directory's paths go in a run: the run's data directory.
BUILTINS = {"project.build.directory": "@DATA@/target", "basedir": "@DATA@",
            "project.basedir": "@DATA@",
            "project.build.testOutputDirectory": "@TESTCLASSES@", "surefire.forkNumber": "1"}


def _local(tag: str) -> str:
    return _NS.sub("", tag)


def _children(node: ET.Element | None, name: str) -> list[ET.Element]:
    return [c for c in (node if node is not None else []) if _local(c.tag) == name]


def _plugins(root: ET.Element) -> list[ET.Element]:
    """Surefire's <plugin> entries under build/plugins and build/pluginManagement."""
    found = []
    for build in _children(root, "build"):
        holders = _children(build, "plugins") + [
            p for m in _children(build, "pluginManagement") for p in _children(m, "plugins")]
        for holder in holders:
            for plugin in _children(holder, "plugin"):
                ids = [c.text for c in _children(plugin, "artifactId")]
                if ids == ["maven-surefire-plugin"]:
                    found.append(plugin)
    return found


def read(poms: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(Maven properties, Surefire system properties) of poms, parent first."""
    properties: dict[str, str] = {}
    system: dict[str, str] = {}
    for text in poms:
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            continue
        for holder in _children(root, "properties"):
            for prop in holder:
                properties[_local(prop.tag)] = (prop.text or "").strip()
        for plugin in _plugins(root):
            for config in _children(plugin, "configuration"):
                for holder in _children(config, "systemPropertyVariables"):
                    for prop in holder:
                        if isinstance(prop.tag, str):
                            system[_local(prop.tag)] = (prop.text or "").strip()
    return properties, system


def resolve(value: str, properties: dict[str, str]) -> str | None:
    """value with ${...} replaced; None when something stays unresolved."""
    known = {**properties, **BUILTINS}
    for _ in range(10):
        new = _REF.sub(lambda m: known.get(m.group(1), m.group(0)), value)
        if new == value:
            break
        value = new
    return None if "${" in value else value


def system_properties(poms: list[str]) -> dict[str, str]:
    """The test JVM's -D properties Surefire would set, those that resolve."""
    properties, system = read(poms)
    found = {}
    for key, value in system.items():
        resolved = resolve(value, properties)
        if resolved:
            # The module's test resources (krb5.conf) are the reproducer's: its classes dir.
            resolved = resolved.replace("@DATA@/src/test/resources/", "@TESTCLASSES@/")
        # Any other file of the module's source tree is not in the run.
        if resolved and "@DATA@/src/" not in resolved:
            found[key] = resolved
    return found


ROOT_CONFIG = "hadoop-project/pom.xml"  # where Hadoop's Surefire configuration lives


def pom_files(module: str, read_file: Callable[[str], str | None]
              ) -> tuple[list[tuple[str, str]], str]:
    """The module's pom and its parents' (by <relativePath>, default ../pom.xml) as (path,
    text), parent first; and the first parent pom the tree lacks ("" if none). Release
    sources from -sources jars lack hadoop-project-dist: hadoop-project's pom then stands
    in for it."""
    chain: list[tuple[str, str]] = []
    missing = ""
    path = posixpath.join(module, "pom.xml") if module else "pom.xml"
    seen: set[str] = set()
    while path not in seen:
        seen.add(path)
        text = read_file(path)
        if text is None:
            if len(chain) > 0 and not missing and ROOT_CONFIG not in seen:
                missing, path = path, ROOT_CONFIG
                continue
            break
        chain.insert(0, (path, text))
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            break
        parents = _children(root, "parent")
        if not parents:
            break
        relative = next((c.text for c in _children(parents[0], "relativePath")), None)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path),
                                                   (relative or "../pom.xml").strip()))
        path = target if target.endswith(".xml") else posixpath.join(target, "pom.xml")
    return chain, missing


def pom_chain(module: str, read_file: Callable[[str], str | None]) -> tuple[list[str], str]:
    """pom_files' texts alone."""
    files, missing = pom_files(module, read_file)
    return [text for _, text in files], missing


def file_text(properties: dict[str, str]) -> str:
    """The properties as the runner reads them: key=value lines."""
    return "".join(f"{k}={v}\n" for k, v in sorted(properties.items()) if "\n" not in v)
