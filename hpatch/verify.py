"""Verification: for each (fix, release), build stock and patched, run the
reproducer on both in the same runtime, grade the logs, and keep the record in
runs/<run-id>/<fix>/<release>/."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpatch import builders, grading, records, surefire, surefirepom, testsupport, workers
from hpatch.assess import Assessment
from hpatch.builders import overlay
from hpatch.checkout import Checkout
from hpatch.errors import HpatchError
from hpatch.forks import Base
from hpatch.grading import Grade, Verdict
from hpatch.paths import harness_dir
from hpatch.releases import Release
from hpatch.runtime import Job, Runtime
from hpatch.treebuild import BuildError

Progress = Callable[[str], None]
RESULT = "result.json"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


@dataclass(frozen=True)
class CellSpec:
    """One (fix, release) verification: everything that decides its outcome."""

    assessment: Assessment
    release: Release
    run_dir: Path
    repeat: int = 1
    timeout: float = 300.0
    native_lib: Path | None = None
    base: Base | None = None

    @property
    def fix_id(self) -> str:
        return self.assessment.fix.id

    @property
    def work(self) -> Path:
        return self.run_dir / "work"


SCHEMA = 2


class InfraError(HpatchError):
    """The container engine or the OS failed under a run: kept apart from verdicts."""


@dataclass
class CellResult:
    fix: str
    release: str
    verdict: Verdict
    reason: str
    seconds: float
    run_dir: str
    variant: str = ""
    variant_sha: str = ""
    stock: list[dict[str, str]] = field(default_factory=list)
    patched: list[dict[str, str]] = field(default_factory=list)
    runtime: str = ""
    jvm: str = ""
    builder: str = ""
    date: str = ""
    run_id: str = ""
    peak_mib: float = 0.0
    native_lib: str = ""
    schema: int = SCHEMA
    version: str = ""          # the checkout's own version (a fork's, as it is)
    base: str = ""             # the Apache release whose variants and jars applied
    base_from: str = ""
    repeat: int = 1
    timeout: float = 300.0
    error_kind: str = ""       # for `error` and `inconclusive`: build, setup, timeout, ...
    stock_failure: str = ""    # the rule stock's failure met: assertion, exception-in-changed-code
    stock_hooks: list[str] = field(default_factory=list)  # test hooks the fix adds, on stock
    runner: str = ""           # surefire: the module's own Surefire; junit: hpatch's runner
    set_aside: list[str] = field(default_factory=list)  # tests failing the same either way
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["verdict"] = self.verdict.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellResult:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["verdict"] = Verdict(values["verdict"])
        values.setdefault("schema", 1)
        return cls(**values)


def run_cell(spec: CellSpec, checkout: Checkout, builder: builders.Builder, runtime: Runtime,
             runtime_name: str, run_id: str, progress: Progress) -> CellResult:
    fix = spec.assessment.fix
    label = f"{fix.id} @ {spec.release}"

    def say(text: str) -> None:
        progress(f"{label}: {text}")

    start = time.monotonic()
    if spec.run_dir.exists():
        shutil.rmtree(spec.run_dir)
    spec.work.mkdir(parents=True)
    variant = spec.assessment.variant
    base = CellResult(fix.id, str(spec.release), Verdict.ERROR, "", 0.0, str(spec.run_dir),
                      variant=variant.name if variant else "",
                      variant_sha=variant.digest() if variant else "",
                      runtime=runtime_name, builder=builder.name,
                      native_lib=str(spec.native_lib or ""),
                      date=time.strftime("%Y-%m-%dT%H:%M:%S%z"), run_id=run_id,
                      repeat=spec.repeat, timeout=spec.timeout,
                      version=spec.base.version if spec.base else str(spec.release),
                      base=str(spec.base.release if spec.base else spec.release),
                      base_from=spec.base.source if spec.base else "")
    try:
        none_yet = fix.reproducer_missing_for(spec.release)
        if none_yet:
            # Nothing to run is never a pass: the entry waits for a reproducer.
            raise _NoReproducer(f"no reproducer yet: {none_yet}")
        prepared = builder.prepare(checkout, spec.release, spec.assessment, spec.work, say)
        base.provenance = {"stock": prepared.provenance,
                           "patched": prepared.provenance_patched or prepared.provenance}
        base.notes = list(prepared.notes)
        test_class, repro_sources = fix.reproducer_for(spec.release)
        if not repro_sources.is_dir():
            raise HpatchError(f"reproducer sources missing: {repro_sources}")
        shutil.copytree(repro_sources, spec.work / "src" / "repro")
        _write_sides(spec.work, prepared)
        hooks = testsupport.prepare_work(spec.work)
        base.stock_hooks = hooks.added
        if hooks.added:
            base.notes.append("test support on stock (members the fix adds that no "
                              f"production code calls): {', '.join(hooks.added)}")
        if hooks.widened:
            base.notes.append("visibility the fix widens for its test, widened on stock too "
                              f"(the bodies are stock's): {', '.join(hooks.widened)}")
        accesses = list(variant.imported.get("test_access", [])) if variant else []
        if accesses:
            others = overlay.other_files(checkout, spec.assessment,
                                         [a["path"] for a in accesses])
            opened = testsupport.open_access(spec.work, accesses, others)
            if opened:
                base.notes.append("access an earlier upstream change widened, opened on both "
                                  f"sides for the test (bodies as they are): {', '.join(opened)}")
        loosened = testsupport.loosen_overrides(spec.work)
        if loosened:
            base.notes.append("@Override left off empty test methods that implement a member "
                              f"the fix adds, on both sides: {', '.join(loosened)}")
        if hooks.injections:
            base.notes.append("injection points on stock with the lines that call them "
                              "(no-ops unless a test installs an injector): "
                              f"{', '.join(hooks.injections)}")
        (spec.work / "test-class.txt").write_text(test_class)
        runner, notes = _write_surefire(spec, checkout, fix.upstream_test_module(spec.release),
                                        prepared, say)
        base.runner = runner
        base.notes.extend(notes)
        methods = fix.reproducer_methods(spec.release)
        if methods:
            (spec.work / "test-methods.txt").write_text(",".join(methods))
        harness = harness_dir()
        argv = ["bash", str(harness / "verify.sh"), str(spec.work), str(harness),
                str(spec.repeat), str(int(spec.timeout))]
        jars = [*prepared.classpath, *(prepared.classpath_patched or [])]
        roots = sorted({_jar_root(j) for j in jars})
        repo = spec.work / surefirepom.REPO_FILE
        if repo.is_file():
            roots.append(Path(repo.read_text().strip()))
        native = spec.native_lib or prepared.native_lib
        if native is not None:
            if not (native / "libhadoop.so").exists():
                raise HpatchError(f"no libhadoop.so in {native}")
            argv.append(str(native.resolve()))
            roots.append(native.resolve())
            base.native_lib = str(native)
        if prepared.native_patched is not None:
            roots.append(prepared.native_patched.resolve())
        roots.extend(sorted({j.parent for j in jars
                             if not str(j).startswith(tuple(map(str, roots)))}))
        (spec.run_dir / "commands.txt").write_text(" ".join(argv) + "\n")
        job = Job(spec.work, argv, [harness, *roots],
                  timeout=spec.repeat * 2 * (spec.timeout + 30) + 600)
        try:
            code = runtime.run(job, say)
            if workers.STOP.is_set():
                # The run was interrupted: no verdict, and no record that looks like one.
                raise KeyboardInterrupt
        except HpatchError:
            raise
        except Exception as exc:  # the engine or the OS broke, not the reproducer
            raise InfraError(f"the runtime failed: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
        if code != 0 and not _all_runs_recorded(spec.work, spec.repeat):
            base.reason = f"the verification script exited {code}; see {spec.work}"
        else:
            grade = grade_work(spec.work, test_class, spec.repeat)
            base.verdict, base.reason = grade.verdict, grade.reason
            base.stock_failure, base.error_kind = grade.stock_failure, grade.kind
            base.set_aside = grade.set_aside
            if (spec.work / "repro-used-only.txt").is_file():
                base.notes.append("other test files the commits change do not compile here "
                                  "(compile-repro-all.log): the test class and the sources it "
                                  "uses were compiled")
            if (spec.work / "stock-hooks-dropped.txt").is_file():
                base.stock_hooks = []
                base.notes.append("the fix's test hooks need more of the fix to compile on "
                                  "stock: stock ran without them")
            if code != 0:
                # every run left its result: grade them, and say the runtime misbehaved
                base.reason += f" (the runtime exited {code} after the runs)"
            base.stock = [o.as_dict() for o in grade.stock]
            base.patched = [o.as_dict() for o in grade.patched]
            carried = (variant.imported.get("prerequisite_subjects")
                       or variant.imported.get("prerequisites")) if variant else None
            if base.verdict is Verdict.NOT_REPRODUCED and carried and all(
                    o.kind is grading.Kind.PASSED for o in grade.stock):
                # YARN-4354 fixes what YARN-2902 brought; 2.7.1 has neither. (A stock
                # that failed in some runs has the bug: its test is racy, said as it is.)
                base.reason += ("; the variant carries earlier upstream changes first ("
                                f"{'; '.join(str(c) for c in carried)}), which the bug may "
                                "have come with: stock has none of them")
            if base.verdict is Verdict.INCONCLUSIVE and base.notes:
                base.reason += f" ({base.notes[0]})"
        base.jvm = _read(spec.work / "jvm.txt").splitlines()[0] if (
            spec.work / "jvm.txt").is_file() else ""
        peak = _read(spec.work / "peak-memory-bytes.txt").strip()
        base.peak_mib = round(int(peak) / 2**20, 1) if peak.isdigit() else 0.0
    except _NoReproducer as exc:
        base.verdict, base.reason = Verdict.INCONCLUSIVE, str(exc)
        base.error_kind = "no-reproducer"
    except BuildError as exc:
        base.reason, base.error_kind = str(exc), "build"
    except InfraError as exc:
        base.reason, base.error_kind = str(exc), "infra"
    except HpatchError as exc:
        missing = "not in the Maven repository" in str(exc)
        base.reason, base.error_kind = str(exc), "missing-jar" if missing else "setup"
    base.seconds = round(time.monotonic() - start, 1)
    _publish_logs(spec.work, spec.run_dir)
    records.write_json(spec.run_dir / RESULT, base.as_dict())
    say(f"{base.verdict.value} ({base.seconds:.0f} s)")
    return base


def _write_surefire(spec: CellSpec, checkout: Checkout, module: str,
                    prepared: builders.Prepared, say: Progress) -> tuple[str, list[str]]:
    """An upstream test runs through its module's own Maven Surefire where the checkout
    has the module's poms (a git checkout); else through hpatch's JUnit runner with the
    system properties that Surefire would set, and a note saying why.
    The runner's name and the notes."""
    if not module:
        return "junit", []
    work = spec.work

    def read(path: str) -> str | None:
        return checkout.read_blob("HEAD", path)

    module_dir, missing = surefirepom.write_project(work, module, read)
    repo = _maven_repository(prepared.classpath)
    junit = ("upstream's test runs through hpatch's JUnit runner with the module's "
             "Surefire system properties")
    if module_dir is None:
        why = (f"{missing} is not in this checkout (release sources carry no such pom); a "
               f"git checkout at the release's tag has the poms: {junit}")
    elif repo is None:
        why = f"the test classpath is not in a local Maven repository: {junit}"
    elif os.environ.get("HPATCH_RUNNER", "surefire") == "junit":
        why = f"HPATCH_RUNNER=junit: {junit}"
    else:
        say(f"setting up {module}'s Surefire (its effective pom, its test classpath)")
        try:
            return "surefire", _setup_surefire(spec, checkout, module, module_dir, repo,
                                               prepared)
        except surefirepom.BuildStepError as exc:
            # A step before `test` needs what the build generates (2.6.0's hadoop-hdfs
            # reads jspc's output): the module's Surefire cannot run here.
            why = f"{exc}: {junit}"
    poms, _ = surefire.pom_chain(module, read)
    (work / surefire.FILE).write_text(surefire.file_text(surefire.system_properties(poms)))
    return "junit", [why]


def _setup_surefire(spec: CellSpec, checkout: Checkout, module: str, module_dir: Path,
                    repo: Path, prepared: builders.Prepared) -> list[str]:
    """The Surefire runner's files in the work directory; the notes."""
    work = spec.work
    effective = surefirepom.effective_pom(module_dir)
    _export_module(checkout, module, module_dir)
    test_class = _read(work / "test-class.txt").strip()
    notes, compile_paths = surefirepom.write_sides(
        work, module_dir, effective,
        {"stock": prepared.classpath,
         "patched": prepared.classpath_patched or prepared.classpath},
        version=spec.base.version if spec.base else str(spec.release),
        base_version=str(spec.base.release) if spec.base else str(spec.release),
        timeout=int(spec.timeout), repository=repo,
        test_source=_read(work / "src" / "repro" / (test_class.replace(".", "/") + ".java")))
    if prepared.patched_tree:
        # The patched side's build steps read the module's files with the fix (its
        # resources, web apps): they are exported beside the stock ones.
        _export_module(checkout, module, module_dir / PATCHED_FILES, prepared.patched_tree)
        pom = module_dir / "pom-hpatch-patched.xml"
        pom.write_text(pom.read_text().replace(f"{module_dir}/src/main/",
                                               f"{module_dir}/{PATCHED_FILES}/src/main/"))
    # The fix and the test compile against what the module's build compiles them
    # against: its own test classpath (hadoop-azure's, curator-test, ...).
    names = {"stock": "classpath.txt"} if prepared.classpath_patched is None else {
        side: f"classpath-{side}.txt" for side in ("stock", "patched")}
    for side, name in names.items():
        (work / name).write_text(os.pathsep.join(map(str, compile_paths[side])))
    return notes


PATCHED_FILES = "hpatch-patched"


def _export_module(checkout: Checkout, module: str, module_dir: Path,
                   tree_ish: str = "HEAD") -> None:
    """The module's files at HEAD (or tree_ish) but its .java files (its classes are the
    jar's and the fix's): resources, web apps, test data and whatever else its build
    steps before `test` read."""
    tree = checkout.subtree(tree_ish, module)
    if not tree:
        return
    scratch = module_dir.parent / f".{module_dir.name}.export"
    checkout.export_tree(tree, scratch)
    for java in ("src/main/java", "src/test/java"):
        for source in (scratch / java).rglob("*.java"):
            source.unlink()  # the rest stays: test data some modules copy from there
    shutil.copytree(scratch, module_dir, dirs_exist_ok=True)
    shutil.rmtree(scratch)


def _maven_repository(classpath: list[Path]) -> Path | None:
    """The local Maven repository the classpath's published jars come from: the root of
    a Hadoop jar in Maven's layout (ROOT/org/apache/hadoop/A/V/A-V*.jar), whatever the
    directory is called (-Dmaven.repo.local=/x/m2)."""
    for jar in classpath:
        parts = jar.parts
        if len(parts) > 6 and parts[-6:-3] == ("org", "apache", "hadoop") and \
                jar.name.startswith(f"{parts[-3]}-{parts[-2]}"):
            return Path(*parts[:-6])
    return None


class _NoReproducer(Exception):
    """The entry has no reproducer yet (an imported fix whose commit carries no test)."""


def _write_sides(work: Path, prepared: builders.Prepared) -> None:
    """The classpath (and libhadoop.so) each side runs with, for the runtime's script."""
    (work / "classpath.txt").write_text(os.pathsep.join(map(str, prepared.classpath)))
    if prepared.classpath_patched is not None:
        for side, jars, native in (("stock", prepared.classpath, prepared.native_lib),
                                   ("patched", prepared.classpath_patched,
                                    prepared.native_patched)):
            (work / f"classpath-{side}.txt").write_text(os.pathsep.join(map(str, jars)))
            if native is not None:
                (work / f"native-{side}.txt").write_text(str(native.resolve()))


def _all_runs_recorded(work: Path, repeat: int) -> bool:
    return all((work / f"status-{side}-{n}.txt").is_file()
               for side in ("stock", "patched") for n in range(1, repeat + 1))


def _jar_root(jar: Path) -> Path:
    """The local Maven repository a jar lives in (mounted read-only)."""
    parts = jar.parts
    if "repository" in parts:
        return Path(*parts[: len(parts) - parts[::-1].index("repository")])
    return jar.parent


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def _status(path: Path) -> int | None:
    text = _read(path).strip()
    return int(text) if text.lstrip("-").isdigit() else None


def grade_work(work: Path, test_class: str, repeat: int) -> Grade:
    """Pure: the verdict from the files a run left (compile statuses, logs)."""
    for side in ("stock", "patched", "repro"):
        status = _status(work / f"status-compile-{side}.txt")
        if status != 0:
            if side == "repro" and _status(work / "status-compile-repro-patched.txt") == 0:
                return grading.needs_fix_api(_read(work / "compile-repro.log"))
            if side == "repro":
                earlier = grading.needs_earlier_api(_read(work / "compile-repro.log"))
                if earlier is not None:
                    return earlier
            name = "the reproducer" if side == "repro" else side
            return grading.compile_failure(name, _read(work / f"compile-{side}.log"))
    if repeat == 0:
        touched = len(_read(work / "sources-stock.txt").splitlines())
        return Grade(Verdict.COMPILED, f"stock, patched ({touched} file(s)) and the "
                     "reproducer compile against the release's jars")
    only = _read(work / testsupport.SUPPORT_ONLY).split()
    if only:
        return Grade(Verdict.INCONCLUSIVE, "all the fix changes in production code is test "
                     f"support, which stock gets too ({', '.join(only)}): both sides run the "
                     "same code, so no test can show the fix", kind="test-support-only")
    changed = set(testsupport.read_changed(work))
    bases = testsupport.test_bases(work, test_class)
    chosen = [m for m in _read(work / "test-methods.txt").strip().split(",") if m] if (
        work / surefirepom.WHOLE_CLASS).is_file() else []
    logs: dict[str, list[tuple[str, int | None]]] = {"stock": [], "patched": []}
    for side, found in logs.items():
        for n in range(1, repeat + 1):
            log = _read(work / f"{side}-{n}.log")
            status = _status(work / f"status-{side}-{n}.txt")
            reports = work / f"reports-{side}-{n}"
            if reports.is_dir():  # a Surefire run: its XML reports say how each test ended
                block = surefirepom.report_block(reports, test_class, chosen)
                if not block and surefirepom.TIMED_OUT in log:
                    status = grading.TIMEOUT_EXIT[0]
                log += block
            found.append((log, status))
    return grading.grade_logs(logs["stock"], logs["patched"], test_class, changed, bases)


def _publish_logs(work: Path, run_dir: Path) -> None:
    """Keep the logs next to result.json (the work tree keeps classes and data)."""
    for log in sorted(work.glob("*.log")) + sorted(work.glob("*.txt")):
        if log.name.startswith(("stock-", "patched-", "compile-")) or log.name in (
                "jvm.txt", "classpath.txt", "container.log"):
            shutil.copyfile(log, run_dir / log.name)
    data = work / "data"
    if data.is_dir():
        shutil.rmtree(data, ignore_errors=True)


def load_run(run_dir: Path) -> list[CellResult]:
    results = []
    for path in sorted(run_dir.glob(f"*/*/{RESULT}")):
        results.append(read_result(path))
    if not results:
        raise HpatchError(f"no verification results under {run_dir}")
    return results


def read_result(path: Path) -> CellResult:
    """A run record; DamagedRecordError in one line when it cannot be read back."""
    data = records.read_json_object(path, "run record")
    try:
        return CellResult.from_dict(data)
    except (KeyError, ValueError, TypeError) as exc:
        raise records.DamagedRecordError(
            f"the run record {path} is damaged: {type(exc).__name__}: {exc}") from exc


def regrade(result: CellResult, test_class: str) -> CellResult:
    """A result re-graded from its saved work files (no JVM is started)."""
    work = Path(result.run_dir) / "work"
    if not work.is_dir() or not (work / "status-compile-stock.txt").is_file():
        return result
    repeat = result.repeat if result.schema >= 2 else max(1, len(result.stock))
    grade = grade_work(work, test_class, repeat)
    result.verdict, result.reason = grade.verdict, grade.reason
    result.stock_failure, result.error_kind = grade.stock_failure, grade.kind
    result.set_aside = grade.set_aside
    result.stock = [o.as_dict() for o in grade.stock]
    result.patched = [o.as_dict() for o in grade.patched]
    return result


def junit_xml(results: list[CellResult]) -> str:
    """One testcase per cell: `error` (the environment broke) apart from failures."""
    from xml.sax.saxutils import escape, quoteattr
    passed = (Verdict.VERIFIED, Verdict.COMPILED)
    skipped = sum(r.verdict is Verdict.INCONCLUSIVE for r in results)
    errors = sum(r.verdict is Verdict.ERROR for r in results)
    failures = sum(r.verdict not in passed for r in results) - skipped - errors
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuite name="hpatch verify" tests="{len(results)}" failures="{failures}" '
             f'errors="{errors}" skipped="{skipped}" '
             f'time="{sum(r.seconds for r in results):.1f}">']
    for r in results:
        lines.append(f'  <testcase classname={quoteattr("hpatch." + r.release)} '
                     f'name={quoteattr(r.fix)} time="{r.seconds:.1f}">')
        if r.verdict is Verdict.INCONCLUSIVE:
            lines.append(f"    <skipped message={quoteattr(r.reason)}/>")
        elif r.verdict is Verdict.ERROR:
            lines.append(f"    <error type={quoteattr(r.error_kind or 'error')} "
                         f"message={quoteattr(r.reason)}>{escape(r.run_dir)}</error>")
        elif r.verdict not in passed:
            lines.append(f"    <failure type={quoteattr(r.verdict.value)} "
                         f"message={quoteattr(r.reason)}>{escape(r.run_dir)}</failure>")
        lines.append(f"    <system-out>{escape(r.verdict.value + ': ' + r.reason)}</system-out>")
        lines.append("  </testcase>")
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"
