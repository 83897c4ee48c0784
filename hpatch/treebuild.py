"""Builds of a checkout's own code, cached by their inputs.

A build takes a git tree (the checkout's code, without the fix being
verified), the modules to build, the build fixes applied to the copy, the
build image and the mvn arguments; its key hashes all of them, with the tree
ids of every module `mvn -am` builds and of the poms above them, so a change
to one module rebuilds only the builds that contain it. An entry becomes
visible only when complete (a directory renamed into place), so a build that
was interrupted leaves nothing a later run trusts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hpatch import maven, records
from hpatch.checkout import Checkout
from hpatch.errors import HpatchError
from hpatch.forks import Reactor
from hpatch.guard import pid_alive
from hpatch.paths import cache_dir, cache_lock

Progress = Callable[[str], None]
ENTRY = "entry.json"
FORMAT = 1
DEFAULT_MAX_BYTES = 8 << 30
NATIVE_DIR = "hadoop-common-project/hadoop-common/target/native/target/usr/local/lib"


class BuildError(HpatchError):
    """The checkout's code did not build: the module and its first error."""


@dataclass(frozen=True)
class BuildSpec:
    tree: str                       # the git tree built
    version: str                    # the checkout's version (names the jars)
    modules: tuple[str, ...]        # module paths given to -pl (none: the whole tree)
    keep: tuple[tuple[str, str], ...]   # (module path, artifact) whose jars are kept
    native: bool
    args: tuple[str, ...]           # mvn's arguments
    image: str
    build_fixes: tuple[str, ...] = ()
    inputs: tuple[tuple[str, str], ...] = field(default=())   # (path, tree or blob id)
    # Artifacts whose test classes are kept as a -tests jar even where the module makes
    # none (its pom has no test-jar goal, so the release never published one).
    test_classes: tuple[str, ...] = ()

    def key(self) -> str:
        digest = hashlib.sha256(f"format {FORMAT}\0".encode())
        for part in (self.version, *self.modules, str(self.native), *self.args, self.image,
                     *self.build_fixes):
            digest.update(part.encode() + b"\0")
        if self.test_classes:  # only then: the keys of every other build stay as they were
            digest.update(("test-classes " + ",".join(self.test_classes)).encode() + b"\0")
        for path, oid in self.inputs:
            digest.update(f"{path} {oid}\0".encode())
        return digest.hexdigest()[:24]

    def command(self) -> str:
        return "mvn -B " + " ".join(self.args)

    def what(self) -> str:
        names = ", ".join(a for _, a in self.keep) if self.modules else "the whole tree"
        return names + (" with libhadoop.so" if self.native else "")


def build_inputs(checkout: Checkout, tree: str, reactor: Reactor,
                 modules: list[str]) -> tuple[tuple[str, str], ...]:
    """The ids that decide a build: each module -am builds (its tree, or only the pom of
    an aggregator); for the whole tree, the tree itself."""
    if not modules:
        return (("", tree),)
    found: list[tuple[str, str]] = []
    for module in reactor.closure(modules):
        if module.packaging == "pom":
            path = f"{module.path}/pom.xml" if module.path else "pom.xml"
        else:
            path = module.path
        found.append((path, checkout.subtree(tree, path) or "-"))
    return tuple(sorted(found))


@dataclass(frozen=True)
class Built:
    key: str
    root: Path
    jars: dict[str, str]            # "artifact" / "artifact:tests" -> file name in jars/
    native: bool
    meta: dict[str, object]

    def jar(self, artifact: str, classifier: str = "") -> Path | None:
        name = self.jars.get(f"{artifact}:{classifier}" if classifier else artifact)
        return self.root / "jars" / name if name else None

    @property
    def native_dir(self) -> Path | None:
        path = self.root / "native"
        return path if (path / "libhadoop.so").exists() else None


def root() -> Path:
    return cache_dir() / "builds"


def lookup(spec: BuildSpec) -> Built | None:
    entry = root() / spec.key()
    if not (entry / ENTRY).is_file():
        return None
    try:
        meta = records.read_json_object(entry / ENTRY, "build cache entry")
        built = Built(spec.key(), entry, dict(meta["jars"]), bool(meta["native"]), meta)
    except (records.DamagedRecordError, KeyError, TypeError, ValueError):
        return None  # damaged: built again, and the new entry replaces it
    os.utime(entry / ENTRY)  # recently used: kept longest by prune
    return built


Stager = Callable[[Path], list[str]]  # fills a stage; returns the build fixes applied
Runner = Callable[[Path, Path, str], int]  # stage, out, shell line -> exit code


_FAILED: dict[str, BuildError] = {}  # this process's failed builds, not tried again


def ensure(spec: BuildSpec, stager: Stager, runner: Runner, progress: Progress,
           subject: str = "the checkout") -> Built:
    """The cached build for spec, building it when there is none; subject: what a
    failure says did not build (the checkout, or the checkout with a fix)."""
    if spec.key() in _FAILED:
        raise _FAILED[spec.key()]
    found = lookup(spec)
    if found is not None:
        progress(f"reusing the build of {spec.what()} ({spec.key()[:12]})")
        return found
    with cache_lock(f"build-{spec.key()}"):
        found = lookup(spec)
        if found is not None:
            return found
        if spec.key() in _FAILED:
            raise _FAILED[spec.key()]
        try:
            return _build(spec, stager, runner, progress, subject)
        except BuildError as exc:
            _FAILED[spec.key()] = exc
            raise


def _build(spec: BuildSpec, stager: Stager, runner: Runner, progress: Progress,
           subject: str) -> Built:
    key = spec.key()
    tmp = root() / f".tmp-{key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    stage, out = tmp / "stage", tmp / "out"
    try:
        out.mkdir(parents=True)
        progress(f"copying tree {spec.tree[:12]} of the checkout to build {spec.what()}")
        applied = stager(stage)
        started = time.monotonic()
        progress(f"{spec.command()} (in the build container)")
        code = runner(stage, out, maven.shell_line(list(spec.args), log="/out/build.log"))
        log = out / "build.log"
        if code != 0:
            kept = root() / "failed" / f"{key}.log"
            kept.parent.mkdir(parents=True, exist_ok=True)
            if log.is_file():
                shutil.copyfile(log, kept)
            text = log.read_text(errors="replace") if log.is_file() else ""
            raise BuildError(f"{subject} does not build ({maven.explain_build_log(text)}); "
                             f"full log: {kept}")
        entry = tmp / "entry"
        jars = _collect(spec, stage, entry)
        meta = {"format": FORMAT, "key": key, "tree": spec.tree, "version": spec.version,
                "modules": list(spec.modules), "native": spec.native,
                "command": spec.command(), "image": spec.image,
                "build_fixes": applied, "inputs": [list(i) for i in spec.inputs],
                "jars": jars, "minutes": round((time.monotonic() - started) / 60, 1),
                "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        shutil.copyfile(log, entry / "build.log")
        records.write_json(entry / ENTRY, meta)
        final = root() / key
        shutil.rmtree(final, ignore_errors=True)
        entry.rename(final)
        return Built(key, final, jars, spec.native, meta)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _collect(spec: BuildSpec, stage: Path, entry: Path) -> dict[str, str]:
    (entry / "jars").mkdir(parents=True)
    jars: dict[str, str] = {}
    for path, artifact in spec.keep:
        target = stage / path / "target"
        for classifier in ("", "tests"):
            name = f"{artifact}-{spec.version}{'-' + classifier if classifier else ''}.jar"
            if (target / name).is_file():
                shutil.copyfile(target / name, entry / "jars" / name)
                jars[f"{artifact}:{classifier}" if classifier else artifact] = name
        classes = target / "test-classes"
        if artifact in spec.test_classes and f"{artifact}:tests" not in jars and \
                classes.is_dir():
            name = f"{artifact}-{spec.version}-tests.jar"
            shutil.make_archive(str(entry / "jars" / name), "zip", classes)
            (entry / "jars" / f"{name}.zip").rename(entry / "jars" / name)
            jars[f"{artifact}:tests"] = name
        if artifact not in jars and spec.modules:
            raise BuildError(f"mvn succeeded but left no {artifact}-{spec.version}.jar in "
                             f"{path}/target")
    if spec.native:
        libs = stage / NATIVE_DIR
        dist = stage / "hadoop-dist" / "target" / f"hadoop-{spec.version}" / "lib" / "native"
        libs = dist if (dist / "libhadoop.so").exists() else libs
        if not (libs / "libhadoop.so").exists():
            raise BuildError("mvn -Pnative succeeded but built no libhadoop.so")
        shutil.copytree(libs, entry / "native", symlinks=True)
    return jars


# -- the cache as a whole ----------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    key: str
    path: Path
    bytes: int
    used: float
    meta: dict[str, object]
    damage: str = ""  # why its entry.json cannot be read; such an entry is never used


def entries() -> Iterator[Entry]:
    base = root()
    if not base.is_dir():
        return
    for path in sorted(base.iterdir()):
        marker = path / ENTRY
        if not marker.is_file():
            continue
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        used = marker.stat().st_mtime
        try:
            meta = records.read_json_object(marker, "build cache entry")
        except records.DamagedRecordError as exc:
            yield Entry(path.name, path, size, used, {}, damage=str(exc))
            continue
        yield Entry(path.name, path, size, used, meta)


def prune(*, max_bytes: int, older_than_days: float | None = None) -> list[Entry]:
    """Remove entries unused longest until the rest fit in max_bytes (and those unused
    for older_than_days), damaged ones, and what interrupted builds left; the removed
    entries."""
    if max_bytes < 0 or (older_than_days is not None and not older_than_days >= 0):
        raise ValueError("prune's bounds are never negative")  # callers check user input
    removed = _remove_abandoned()
    now = time.time()
    kept = sorted(entries(), key=lambda e: e.used, reverse=True)
    total = 0
    for entry in kept:
        stale = older_than_days is not None and now - entry.used > older_than_days * 86400
        if entry.damage:
            stale = True  # never used again, so only in the way
        total += entry.bytes
        if stale or total > max_bytes:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry)
            total -= entry.bytes
    return removed


def _remove_abandoned() -> list[Entry]:
    """Half-made builds whose process is gone: never trusted, so removed."""
    removed: list[Entry] = []
    base = root()
    for path in base.glob(".tmp-*") if base.is_dir() else []:
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and pid_alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(Entry(path.name, path, 0, 0.0, {}))
    return removed



def max_bytes() -> int:
    """HPATCH_BUILD_CACHE_MAX (GiB), else 8 GiB."""
    text = os.environ.get("HPATCH_BUILD_CACHE_MAX", "")
    if not text:
        return DEFAULT_MAX_BYTES
    return gib_bytes(text, "HPATCH_BUILD_CACHE_MAX")


# A bound beyond any disk (1 EiB): larger numbers, and inf, are refused, not overflowed.
MAX_GIB = float(1 << 30)


def gib_bytes(value: str | float, what: str,
              error: type[HpatchError] = HpatchError) -> int:
    """A size given in GiB as bytes: a finite number from 0 up to MAX_GIB."""
    try:
        gib = float(value)
    except ValueError as exc:
        raise error(f"{what} must be a number of GiB, not {value!r}") from exc
    if not 0 <= gib <= MAX_GIB:  # also false for nan
        raise error(f"{what} must be a number of GiB from 0 to {MAX_GIB:.0f}, "
                          f"not {value!r}")
    return int(gib * (1 << 30))
