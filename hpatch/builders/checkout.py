"""The default build: the checkout's own code, as fast as that allows.

Stock is the checkout's committed tree without the fix being verified (an
hpatch commit of that fix is taken off in a tree object; the checkout is never
changed). For every Hadoop jar on the reproducer's classpath, the checkout's
module is compared with the Apache release it derives from: where it is
byte-identical, the published jar stands in for it; where it is not, the
module is built from the checkout (`mvn package -pl … -am` in the build
container, cached by its inputs). libhadoop.so, when a reproducer needs it, is
always built from the checkout. The fix's own files are then compiled on top,
for stock and for patched, so the two sides differ only in the fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from hpatch import forks, maven, patching, staging, treebuild
from hpatch.assess import Assessment, State
from hpatch.builders import Options, Prepared, Progress
from hpatch.builders.overlay import release_classpath, write_sides
from hpatch.checkout import Checkout
from hpatch.errors import HpatchError, MavenError
from hpatch.releases import Release

COMMON = "hadoop-common"
_JAR = re.compile(r"/org/apache/hadoop/(?P<artifact>[\w.-]+)/(?P<version>[^/]+)/"
                  r"(?P=artifact)-(?P=version)(?:-(?P<classifier>tests))?\.jar$")
BUILD_TIMEOUT = 120 * 60.0


class CheckoutBuilder:
    name = "fast"

    def __init__(self, options: Options) -> None:
        self.options = options

    def prepare(self, checkout: Checkout, release: Release, assessment: Assessment,
                work: Path, progress: Progress) -> Prepared:
        touched, left = write_sides(checkout, assessment, work)
        tree = stock_tree(checkout, assessment)
        reactor = forks.read_reactor(checkout, tree)
        # An upstream test's own module goes on the classpath too (hadoop-kms, hadoop-azure:
        # no other module brings it), checked against the release like every other.
        test_module = _test_module(assessment, reactor, release)
        try:
            published, unpublished = _published_test_classpath(
                self.options.base.release, assessment.fix.reproducer_test_jars, progress,
                [*assessment.fix.reproducer_test_deps, *test_module])
        except MavenError:
            if not test_module:
                raise
            published, unpublished = _published_test_classpath(
                self.options.base.release, assessment.fix.reproducer_test_jars, progress,
                assessment.fix.reproducer_test_deps)
        hadoop = {j: m for j in published if (m := _JAR.search(str(j)))}
        artifacts = {m["artifact"] for m in hadoop.values()}
        checks = forks.compare_modules(checkout, tree, reactor, self.options.base, artifacts,
                                       progress)
        notes: list[str] = []
        if (any(not c.identical for c in checks.values()) or unpublished) and \
                shares_head_build(checkout, assessment):
            # Something is built anyway: build HEAD, which every such fix shares.
            tree = checkout.tree_of("HEAD")
            reactor = forks.read_reactor(checkout, tree)
            checks = forks.compare_modules(checkout, tree, reactor, self.options.base,
                                           artifacts, progress)
            notes.append("the modules come from one build of HEAD, shared by every applied "
                         "fix confined to the Java files compiled on top of it; this fix's "
                         "files are compiled on top for stock and for patched")
        differing = sorted(c.module for c in checks.values() if not c.identical)
        own_tests: dict[str, str] = {}  # artifact -> module, for -tests jars never published
        for artifact in unpublished:
            module = reactor.by_artifact(artifact)
            if module is None:
                raise HpatchError(f"{self.options.base.release} published no {artifact} -tests "
                                  "jar, and the checkout's root pom does not build that module")
            own_tests[artifact] = module.path
        differing = sorted({*differing, *own_tests.values()})
        for unbuilt in checks.values():
            if not unbuilt.identical and not unbuilt.in_reactor:
                raise HpatchError(
                    f"{unbuilt.artifact} ({unbuilt.module}) is not "
                    f"{self.options.base.release}'s code ({unbuilt.reason}), but the root pom "
                    "does not build it: add it to a <modules> list (or name its profile) so "
                    f"that `mvn -pl {unbuilt.module} -am` can build it")
        image = ""
        built: treebuild.Built | None = None
        if differing:
            listed = [c.artifact for c in checks.values() if not c.identical]
            names = ", ".join(listed[:6]) + (f" and {len(listed) - 6} more"
                                             if len(listed) > 6 else "")
            if listed:
                progress(f"{len(listed)} module(s) differ from {self.options.base.release} "
                         f"({names}): their jars come from the checkout's own build")
            if own_tests:
                progress(f"{self.options.base.release} published no -tests jar for "
                         f"{', '.join(own_tests)}: they come from the checkout's own build")
            image = _image(progress, self.options)
            built = build_tree(checkout, self.options, tree, reactor, modules=differing,
                               keep=[(m, reactor.modules[m].artifact) for m in differing],
                               native=False, args=maven.module_build_args(
                                   differing, native=False,
                                   profiles=[p for m in differing
                                             if (p := reactor.modules[m].profile)]),
                               image=image, progress=progress,
                               test_classes=tuple(sorted(own_tests)))
        native, native_source = self._native(checkout, tree, reactor, assessment, image,
                                             notes, progress)
        classpath: list[Path] = []
        provenance: list[dict[str, object]] = []
        for jar in published:
            match = hadoop.get(jar)
            if match is None:
                classpath.append(jar)
                provenance.append({"jar": jar.name, "from": "maven",
                                   "detail": "third-party, as mvn resolves it for "
                                             f"hadoop-minicluster {self.options.base.release}"})
                continue
            artifact, classifier = match["artifact"], match["classifier"] or ""
            check = checks.get(artifact)
            replacement = built.jar(artifact, classifier) if (
                built and check and not check.identical) else None
            if replacement is not None and built is not None:
                classpath.append(replacement)
                provenance.append(_built_entry(replacement, built, check))
            else:
                classpath.append(jar)
                provenance.append(_published_entry(jar, self.options.base, check))
        for artifact, module_path in own_tests.items():
            own = built.jar(artifact, "tests") if built else None
            if own is None:
                raise HpatchError(f"the checkout's build of {module_path} made no {artifact} "
                                  "-tests jar")
            classpath.append(own)
            provenance.append({"jar": own.name, "from": "checkout", "module": module_path,
                               "why": f"{self.options.base.release} published no -tests jar",
                               "build": built.key if built else ""})
            notes.append(f"{artifact}'s test classes come from the checkout's own build "
                         f"(the release published no -tests jar)")
        if native is not None:
            provenance.append({"native": "libhadoop.so", **native_source})
        if not checkout.is_clean():
            notes.append("uncommitted changes in the checkout are not part of what was "
                         "verified: that is the commit HEAD")
        built_modules = _modules_of(reactor, left)
        if built_modules and assessment.state is State.APPLICABLE:
            # A .proto, a resource, a web page: only the module's build carries it, so
            # the patched side gets one (stock keeps the shared jars).
            patched = patched_tree(checkout, assessment, tree)
            built_patched, artifacts = self._build_patched(
                checkout, patched, built_modules, image, left, progress)
            patched_cp, patched_prov = _with_built(classpath, provenance, built_patched,
                                                   artifacts, patched)
            notes.insert(0, f"the fix also changes {_names(left)}: the patched side runs on "
                         f"a build of {', '.join(built_modules)} with the fix (stock on the "
                         "checkout's jars), the fix's Java files compiled on top of each")
            return Prepared(classpath, touched, native, provenance=provenance, notes=notes,
                            classpath_patched=patched_cp, native_patched=native,
                            provenance_patched=patched_prov, patched_tree=patched)
        if left:
            notes.insert(0, f"the fix also changes {_names(left)}, which only a build of the "
                         "module carries: the patched side runs its Java change without them")
        return Prepared(classpath, touched, native, provenance=provenance, notes=notes)

    def _build_patched(self, checkout: Checkout, patched: str, modules: list[str],
                       image: str, changed: list[str], progress: Progress
                       ) -> tuple[treebuild.Built, set[str]]:
        """modules built from the patched tree; the build and their artifacts."""
        reactor = forks.read_reactor(checkout, patched)
        progress(f"the fix changes {_names(changed[:3])}: building {', '.join(modules)} "
                 "with it for the patched side")
        keep = [(m, reactor.modules[m].artifact) for m in modules]
        built = build_tree(
            checkout, self.options, patched, reactor, modules=modules, keep=keep,
            native=False, args=maven.module_build_args(
                modules, native=False,
                profiles=[p for m in modules if (p := reactor.modules[m].profile)],
                # the variant carries production code only: the module's tests are the
                # release's, and need not compile against the fix's API
                tests=False),
            image=image or _image(progress, self.options), progress=progress,
            subject="the checkout with the fix")
        return built, {artifact for _module, artifact in keep}

    def _native(self, checkout: Checkout, tree: str, reactor: forks.Reactor,
                assessment: Assessment, image: str, notes: list[str],
                progress: Progress) -> tuple[Path | None, dict[str, object]]:
        if not assessment.fix.reproducer.get("needs_native"):
            return None, {}
        if self.options.native_lib is not None:
            return self.options.native_lib, {"from": "given", "path": str(
                self.options.native_lib)}
        common = reactor.by_artifact(COMMON)
        if common is None or checkout.subtree(tree, f"{common.path}/src/main/native") is None:
            notes.append("no libhadoop.so: this checkout has no native sources (release "
                         "sources from -sources jars carry none); verify on a git checkout of "
                         "Hadoop, which hpatch builds with -Pnative, or give --native-lib DIR")
            return None, {}
        built = build_tree(checkout, self.options, tree, reactor, modules=[common.path],
                           keep=[(common.path, COMMON)], native=True,
                           args=maven.module_build_args([common.path], native=True),
                           image=image or _image(progress, self.options),
                           progress=progress)
        return built.native_dir, {"from": "checkout", "tree": tree,
                                  "module_tree": checkout.subtree(tree, common.path),
                                  "command": built.meta.get("command"), "build": built.key,
                                  "build_fixes": built.meta.get("build_fixes")}


def _names(paths: list[str]) -> str:
    return ", ".join(p.rsplit("/", 1)[-1] for p in paths[:5]) + (
        f" and {len(paths) - 5} more" if len(paths) > 5 else "")


# What a module's build turns into its jar besides the Java sources compiled on top.
_BUILT_FROM = ("/src/main/proto/", "/src/main/resources/", "/src/main/webapps/",
               "/src/main/avro/")


def _modules_of(reactor: forks.Reactor, paths: list[str]) -> list[str]:
    """The reactor modules whose jars change with paths (the nearest module holding
    each file its build packs); a pom or native change is not among them."""
    found: set[str] = set()
    for path in paths:
        marker = next((m for m in _BUILT_FROM if m in path), None)
        if marker is None:
            continue
        module = path.split(marker, 1)[0]
        if module in reactor.modules:
            found.add(module)
    return sorted(found)


def _with_built(classpath: list[Path], provenance: list[dict[str, object]],
                built: treebuild.Built, artifacts: set[str],
                tree: str) -> tuple[list[Path], list[dict[str, object]]]:
    """classpath with the jars of artifacts taken from built (the patched side's)."""
    jars: list[Path] = []
    origin: list[dict[str, object]] = []
    for jar, where in zip(classpath, provenance, strict=False):
        match = _JAR.search(str(jar))
        own = built.jar(match["artifact"], match["classifier"] or "") if (
            match and match["artifact"] in artifacts) else None
        if own is None:
            jars.append(jar)
            origin.append(where)
            continue
        jars.append(own)
        origin.append(_patched_entry(own, built, tree))
    origin.extend(provenance[len(classpath):])  # the native library's, unchanged
    for artifact in sorted(artifacts):
        own = built.jar(artifact)
        if own is not None and own not in jars:
            jars.insert(0, own)  # a module the classpath did not have
            origin.insert(0, _patched_entry(own, built, tree))
    return jars, origin


def _patched_entry(jar: Path, built: treebuild.Built, tree: str) -> dict[str, object]:
    return {"jar": jar.name, "from": "checkout", "tree": tree,
            "why": "the fix changes what the module's build packs", "build": built.key}


def _test_module(assessment: Assessment, reactor: forks.Reactor, release: Release) -> list[str]:
    """group:artifact:version of the module an upstream test belongs to, if it is a jar
    module of the reactor (at the version of the release the checkout derives from)."""
    path = assessment.fix.upstream_test_module(release)
    if not path:
        return []
    version = str(release)
    module = reactor.modules.get(path)
    if module is None or module.packaging == "pom":
        return []
    if module.packaging == "war":  # hadoop-kms, httpfs: their classes are the -classes jar
        return [f"org.apache.hadoop:{module.artifact}:{version}:classes"]
    return [f"org.apache.hadoop:{module.artifact}:{version}"]


def _published_test_classpath(release: Release, test_jars: Sequence[str], progress: Progress,
                              test_deps: Sequence[str] = ()) -> tuple[list[Path], list[str]]:
    """The release's test classpath with the -tests jars it published; the artifacts whose
    -tests jar it never published (most YARN server modules at 2.7.1), to build."""
    wanted = list(test_jars)
    unpublished: list[str] = []
    while True:
        try:
            return release_classpath(release, progress, wanted, test_deps), unpublished
        except MavenError as exc:
            gone = [j for j in wanted if f":{j}:jar:tests:" in str(exc)]
            if not gone:
                raise
            unpublished.extend(gone)
            wanted = [j for j in wanted if j not in gone]


def build_tree(checkout: Checkout, options: Options, tree: str, reactor: forks.Reactor, *,
               modules: list[str], keep: list[tuple[str, str]], native: bool,
               args: list[str], image: str, progress: Progress,
               test_classes: tuple[str, ...] = (),
               subject: str = "the checkout") -> treebuild.Built:
    """tree built in the build container (cached by its inputs), with the build fixes
    the release line needs applied to the copy when native code is built."""
    release = options.base.release
    fixes = staging.needed_build_fixes(checkout, options.catalog, release) if native else []
    spec = treebuild.BuildSpec(
        tree=tree, version=options.base.version, modules=tuple(modules), keep=tuple(keep),
        native=native, args=tuple(args), image=image,
        build_fixes=tuple(f"{f.id}:" + ",".join(v.digest() for v in f.variants)
                          for f in fixes),
        inputs=treebuild.build_inputs(checkout, tree, reactor, modules),
        test_classes=test_classes)

    def stage(directory: Path) -> list[str]:
        checkout.export_tree(tree, directory)
        applied = [staging.apply_to_stage(f, checkout, release, directory) for f in fixes]
        if applied:
            progress(f"applied build fixes to the copy: {', '.join(applied)}")
        return applied

    def run(directory: Path, out: Path, line: str) -> int:
        if options.on_host:
            from hpatch.runtime.local import run_build_on_host
            return run_build_on_host(directory, line.replace("/out/", f"{out}/"),
                                     timeout=BUILD_TIMEOUT, progress=progress)
        from hpatch.runtime import build as container
        container.prepare_dirs(directory, out)
        return container.run_build(image, directory, out, line, timeout=BUILD_TIMEOUT,
                                   progress=progress)

    built = treebuild.ensure(spec, stage, run, progress, subject)
    treebuild.prune(max_bytes=treebuild.max_bytes())
    return built


_CONSTANT = re.compile(r"^[-+].*\bstatic\s+final\b[^(]*=", re.MULTILINE)


def shares_head_build(checkout: Checkout, assessment: Assessment) -> bool:
    """Whether the fix's stock can run on jars built from HEAD itself, with the fix's
    files compiled on top for each side: its commit changes only Java sources under
    src/main/java, no later commit changed them, and no compile-time constant changes
    (javac copies those into other classes, which the overlay would not reach). Every
    applied fix that qualifies then shares one build of HEAD, instead of one build of
    HEAD-without-it each."""
    if assessment.state is not State.APPLIED or not assessment.commit:
        return False
    paths = checkout.touched_paths(assessment.commit)
    if not paths or not all(p.endswith(".java") and "/src/main/java/" in p for p in paths):
        return False
    if any(checkout.read_blob("HEAD", p) != checkout.read_blob(assessment.commit, p)
           for p in paths):
        return False
    return _CONSTANT.search(checkout.commit_diff(assessment.commit)) is None


def stock_tree(checkout: Checkout, assessment: Assessment) -> str:
    """The checkout's committed code without the fix being verified."""
    if assessment.state is State.APPLIED and assessment.change is not None:
        # Just the fix's own change: another fix squashed into its commit stays.
        return checkout.tree_without_patch(assessment.change.text)
    if assessment.state is State.APPLIED and assessment.commit:
        return checkout.tree_without(assessment.commit)
    if assessment.state is not State.APPLICABLE:
        raise HpatchError(f"{assessment.fix.id} is {assessment.state.value} here: "
                          "nothing to verify")
    return checkout.tree_of("HEAD")


def patched_tree(checkout: Checkout, assessment: Assessment, stock: str) -> str:
    """The tree the fix's patched side is: HEAD when the fix is applied, else stock with
    the variant on it."""
    if assessment.state is State.APPLIED:
        return checkout.tree_of("HEAD")
    if assessment.variant is None:
        raise HpatchError(f"{assessment.fix.id}: no variant to build")
    patching.parse(assessment.variant.patch)  # refuses what is not a whole diff
    return checkout.tree_with_patch(stock, assessment.variant.patch)


def _image(progress: Progress, options: Options | None = None) -> str:
    if options is not None and options.on_host:
        from hpatch.runtime.local import host_build_tools
        return host_build_tools(options.base.release)
    from hpatch.runtime import build as container
    return container.ensure_build_image(progress)


def _published_entry(jar: Path, base: forks.Base,
                     check: forks.ModuleCheck | None) -> dict[str, object]:
    entry: dict[str, object] = {"jar": jar.name, "from": "published",
                                "release": str(base.release)}
    if check is None:
        entry["detail"] = "the checkout has no such module"
    elif check.identical:
        entry.update(module=check.module, identical_to=check.reference)
        if check.reason:
            entry["detail"] = check.reason
    else:  # the module was built, but its build made no such jar
        entry.update(module=check.module, identical=False,
                     detail=f"{check.reason}; the checkout's build made no {jar.name}")
    return entry


def _built_entry(jar: Path, built: treebuild.Built,
                 check: forks.ModuleCheck | None) -> dict[str, object]:
    return {"jar": jar.name, "from": "checkout", "tree": built.meta.get("tree"),
            "module": check.module if check else "", "why": check.reason if check else "",
            "command": built.meta.get("command"), "build": built.key,
            "path": str(jar)}
