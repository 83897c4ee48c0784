"""Verification against what ships: stock and patched each built whole, by
`mvn package -Pdist,native` of the tree in the build container, and the
reproducer run on the jars and libhadoop.so of each build. Stock is the
checkout's committed tree without the fix; patched is that tree with the fix.
Both builds are cached by their inputs like any other tree build."""

from __future__ import annotations

from pathlib import Path

from hpatch import forks, maven
from hpatch.assess import Assessment
from hpatch.builders import Options, Prepared, Progress
from hpatch.builders.checkout import _JAR, _image, build_tree, patched_tree, stock_tree
from hpatch.builders.overlay import release_classpath
from hpatch.checkout import Checkout
from hpatch.releases import Release
from hpatch.treebuild import Built


class FullBuilder:
    name = "full"

    def __init__(self, options: Options) -> None:
        self.options = options

    def prepare(self, checkout: Checkout, release: Release, assessment: Assessment,
                work: Path, progress: Progress) -> Prepared:
        stock = stock_tree(checkout, assessment)
        patched = patched_tree(checkout, assessment, stock)
        published = release_classpath(self.options.base.release, progress,
                                      assessment.fix.reproducer_test_jars,
                                      assessment.fix.reproducer_test_deps)
        image = _image(progress, self.options)
        sides = {}
        for side, tree in (("stock", stock), ("patched", patched)):
            reactor = forks.read_reactor(checkout, tree)
            keep = sorted({(module.path, module.artifact) for jar in published
                           if (m := _JAR.search(str(jar)))
                           and (module := reactor.by_artifact(m["artifact"])) is not None})
            progress(f"{side}: the whole tree {tree[:12]}, as it ships")
            built = build_tree(checkout, self.options, tree, reactor, modules=[], keep=keep,
                               native=True, args=maven.dist_build_args(native=True),
                               image=image, progress=progress)
            sides[side] = _classpath(published, built, tree)
        (stock_cp, stock_native, stock_prov), (patched_cp, patched_native, patched_prov) = \
            sides["stock"], sides["patched"]
        return Prepared(stock_cp, [], stock_native, provenance=stock_prov,
                        classpath_patched=patched_cp, native_patched=patched_native,
                        provenance_patched=patched_prov)


def _classpath(published: list[Path], built: Built, tree: str) -> tuple[
        list[Path], Path | None, list[dict[str, object]]]:
    classpath: list[Path] = []
    provenance: list[dict[str, object]] = []
    for jar in published:
        match = _JAR.search(str(jar))
        own = built.jar(match["artifact"], match["classifier"] or "") if match else None
        if own is not None:
            classpath.append(own)
            provenance.append({"jar": own.name, "from": "checkout", "tree": tree,
                               "command": built.meta.get("command"), "build": built.key})
        else:
            classpath.append(jar)
            provenance.append({"jar": jar.name, "from": "maven" if match is None else
                               "published", "detail": "not built by the tree's dist build"
                               if match else "third-party, as mvn resolves it"})
    native = built.native_dir
    if native is not None:
        provenance.append({"native": "libhadoop.so", "from": "checkout", "tree": tree,
                           "build": built.key})
    return classpath, native, provenance
