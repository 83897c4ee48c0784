"""An imported fix as a catalog entry: variants, the upstream test as reproducer,
fix.toml with every derived field marked for review. The entry is made in a
temporary folder and moved into the catalog only once it is whole and loads."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hpatch import catalog as catalog_mod
from hpatch import probegen, testmethods
from hpatch.catalog import Variant
from hpatch.checkout import Checkout
from hpatch.commands.lint import check_fix
from hpatch.errors import CatalogError, HpatchError
from hpatch.importer.port import Port, clean_subject, is_abstract, test_jars
from hpatch.releases import Release, ReleaseRange
from hpatch.upstream import Commit, History

TEST_ROOT = "/src/test/java/"
REVIEW_FIELDS = ["title", "component", "symptom", "root_cause", "fix", "affected", "fixed_in",
                 "detect", "reproducer"]


def write_entry(fix_id: str, root: Path, good: list[Port], history: History, source: Checkout,
           existing: Path, ports: list[Port]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    old = existing if (existing / "fix.toml").is_file() else None
    with tempfile.TemporaryDirectory(prefix=f".import-{fix_id}-", dir=root) as tmp:
        entry = build_entry(fix_id, Path(tmp), good, history, source, old, ports)
        if old is not None:
            aside = Path(tmp) / "previous"  # removed with tmp once the new one is in
            existing.rename(aside)
            try:
                entry.rename(existing)
            except OSError:
                aside.rename(existing)
                raise
        else:
            entry.rename(existing)
    return existing


def build_entry(fix_id: str, tmp: Path, good: list[Port], history: History,
                 source: Checkout, old: Path | None, ports: list[Port]) -> Path:
    entry = tmp / fix_id
    (entry / "variants").mkdir(parents=True)
    ranges = _variant_ranges(good, history)
    variants = []
    repro_sets = []
    for port in good:
        name = str(port.release)
        patch = entry / "variants" / f"{name}.patch"
        patch.write_text(port.patch, encoding="utf-8", errors="surrogateescape")
        imported: dict[str, object] = {
            "commits": [c.sha for c in port.commits], "release": name, "tag": port.tag,
            "prerequisites": [c.sha for c in port.prerequisites],
            "prerequisite_subjects": [clean_subject(c)[:80] for c in port.prerequisites],
            "method": port.method, "offsets": port.offsets}
        if port.test_access:
            imported["test_access"] = port.test_access
        variants.append(Variant(name, ranges[name], patch, made_for=name, imported=imported))
        repro_sets.append(_write_reproducer(entry, port))
    catalog_mod.write_variants(entry, variants)
    text = _fix_toml(fix_id, good, history, source, repro_sets, ranges, old, ports)
    (entry / "fix.toml").write_text(text, encoding="utf-8")
    try:
        fix = catalog_mod.load_fix(entry)
    except CatalogError as exc:
        raise HpatchError(f"the imported entry does not load (nothing written): {exc}"
                          ) from exc
    problems = check_fix(fix)
    if problems:
        raise HpatchError(f"the imported entry fails lint (nothing written): {problems[0]}")
    return entry


@dataclass(frozen=True)
class ReproSet:
    release: Release
    sources: str
    test_class: str
    methods: list[str]
    upstream_paths: list[str]
    others: list[str]
    declared_jars: tuple[str, ...] = ()
    declared_deps: tuple[str, ...] = ()


def _write_reproducer(entry: Path, port: Port) -> ReproSet:
    """The port's test files in package layout, and which class and methods to run."""
    sources = f"reproducer/{port.release}"
    candidates: list[tuple[int, str, list[str]]] = []
    for path, text in sorted({**port.extra_tests, **port.tests}.items()):
        target = entry / sources / _relative(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", errors="surrogateescape")
        if path in port.tests and testmethods.is_test_class(text):
            before = port.tests_before.get(path)
            names = testmethods.changed_tests(before, text)
            runs_as = port.subclasses.get(path, path)
            if is_abstract(text) and runs_as == path:
                continue  # JUnit cannot run it, and no concrete subclass was found
            class_name = _relative(runs_as)[:-len(".java")].replace("/", ".")
            candidates.append((len(names), class_name, names))
    for name, text in port.resources.items():
        (entry / sources / name).parent.mkdir(parents=True, exist_ok=True)
        (entry / sources / name).write_text(text, encoding="utf-8", errors="surrogateescape")
    for name, data in port.resource_files.items():
        (entry / sources / name).parent.mkdir(parents=True, exist_ok=True)
        (entry / sources / name).write_bytes(data)
    candidates.sort(key=lambda c: -c[0])
    if not candidates or not candidates[0][0]:
        return ReproSet(port.release, sources, "", [], sorted(port.tests), [])
    _count, test_class, methods = candidates[0]
    others = [f"{c} ({', '.join(m)})" for n, c, m in candidates[1:] if n]
    return ReproSet(port.release, sources, test_class, methods, sorted(port.tests), others,
                    tuple(port.declared_jars), tuple(port.declared_deps))


def _relative(path: str) -> str:
    return path.split(TEST_ROOT, 1)[1] if TEST_ROOT in path else path.rsplit("/", 1)[-1]


def _variant_ranges(good: list[Port], history: History) -> dict[str, ReleaseRange]:
    """Each variant claims its release up to the next named one on its line, the line's
    first fixed release, or the next line, whichever comes first."""
    named = sorted(p.release for p in good)
    fixed = history.first_releases
    out = {}
    for release in named:
        line_next = Release(release.major, release.minor + 1, 0)
        ends = [r for r in [*named, *fixed] if r > release and r <= line_next] + [line_next]
        out[str(release)] = ReleaseRange.parse(f">={release},<{min(ends)}")
    return out


def _affected(history: History) -> list[str]:
    firsts = history.first_releases
    if not firsts:
        return [">=0.0.0"]
    ranges = [f"<{firsts[0]}"]
    for release in firsts[1:]:
        if release.patch and not release.qualifier:  # x.y.0 and pre-releases start a line
            ranges.append(f">={release.major}.{release.minor}.0,<{release}")
    return ranges


def _title(history: History) -> str:
    subject = clean_subject(history.commits[0])
    subject = re.sub(rf"^\s*{re.escape(history.fix_id)}\s*[.:]?\s*", "", subject)
    subject = re.sub(r"\s*\(?\s*Contributed by .*$", "", subject, flags=re.IGNORECASE)
    subject = re.sub(r"\s*\([\w .,-]+ via [\w .,-]+\)\s*$", "", subject)
    return subject.rstrip(" .") or history.fix_id


_COMPONENTS = (("/server/datanode/", "HDFS DataNode"), ("/server/namenode/", "HDFS NameNode"),
               ("/scheduler/", "YARN scheduler"),
               ("hadoop-yarn-server-resourcemanager", "YARN ResourceManager"),
               ("hadoop-yarn-server-nodemanager", "YARN NodeManager"),
               ("hadoop-hdfs", "HDFS client"), ("hadoop-yarn", "YARN"),
               ("hadoop-mapreduce", "MapReduce"), ("hadoop-common", "Hadoop Common"))


def _component(paths: list[str]) -> str:
    for needle, name in _COMPONENTS:
        if any(needle in p for p in paths):
            return name
    return paths[0].split("/", 1)[0] if paths else "Hadoop"


def _probes(source: Checkout, good: list[Port]) -> tuple[list[str], list[str], list[str],
                                                         list[str]]:
    """(paths, bug, fixed, review notes) from each port's before and after."""
    paths: list[str] = []
    bug: list[str] = []
    fixed: list[str] = []
    for port in good:
        assert port.tree is not None
        for path in sorted({p for c in port.commits for p in c.production_paths}):
            before = source.read_blob(port.tag, path)
            after = source.read_blob(port.tree, path)
            if after is None or before == after:
                continue
            if path not in paths:
                paths.append(path)
            found = probegen.for_file(path, before, after)
            bug.extend(p for p in found.bug if p not in bug)
            fixed.extend(p for p in found.fixed if p not in fixed)
    notes = []
    # A fixed probe that some named release already matches would call it fixed-upstream.
    for port in good:
        code = {p: source.read_blob(port.tag, p) for p in paths}
        for pattern in list(fixed):
            if any(t is not None and _matches(pattern, p, t) for p, t in code.items()):
                fixed.remove(pattern)
                notes.append(f"dropped fixed probe {probegen.describe(pattern)!r}: "
                             f"{port.release} matches it before the fix")
    if not fixed:
        fixed = [r"(?!)"]
        notes.append("no added line tells the fix apart: the fixed probe never matches; "
                     "write one")
    if not bug:
        bug = [r"(?!)"]
        notes.append("no removed line tells the bug apart: the bug probe never matches "
                     "(a release where no variant applies reads not-affected); write one")
    return paths, bug, fixed, notes


def _matches(pattern: str, path: str, text: str) -> bool:
    from hpatch import javasrc
    code = javasrc.strip(text) if javasrc.is_source(path) else text
    return re.search(pattern, code, re.MULTILINE) is not None


def _fix_toml(fix_id: str, good: list[Port], history: History, source: Checkout,
              repro_sets: list[ReproSet], ranges: dict[str, ReleaseRange], old: Path | None,
              ports: list[Port]) -> str:
    paths, bug, fixed, probe_notes = _probes(source, good)
    production = sorted({p for port in good for c in port.commits for p in c.production_paths})
    curated = _curated(old)
    title = curated.get("title") or _title(history)
    shas = [c.sha for c in history.commits]
    body = _commit_body(history.commits[0])
    text: dict[str, object] = {
        "title": title,
        "component": curated.get("component") or _component(production),
        "symptom": curated.get("symptom") or (
            f"{title}.\n\n(Imported from the upstream commit's subject: say what operators "
            "see: log lines, stack traces, the failing operation.)"),
        "root_cause": curated.get("root_cause") or (
            f"(Imported: read {fix_id} and write the cause.)" + (f"\n\n{body}" if body else "")),
        "fix": curated.get("fix") or (
            f"Upstream {fix_id} changes {', '.join(p.rsplit('/', 1)[-1] for p in production)}."),
    }
    lines = [
        "# Imported by `hpatch import` from upstream commits: every field below was derived",
        "# by machine; [imported] says what to review before relying on it.",
        f"id = {_q(fix_id)}",
        'kind = "bug"',
        f"title = {_q(str(text['title']))}",
        f"component = {_q(str(text['component']))}",
    ]
    for key in ("aliases",):
        if key in curated:
            lines.append(f"{key} = {catalog_mod.toml_value(curated[key])}")
    lines += [
        f"upstream = {catalog_mod.toml_value([fix_id])}",
        f"fixed_in = {catalog_mod.toml_value([str(r) for r in history.first_releases])}",
        f"affected = {catalog_mod.toml_value(_affected(history))}",
        "",
        f"symptom = {_multiline(str(text['symptom']))}",
        f"root_cause = {_multiline(str(text['root_cause']))}",
        f"fix = {_multiline(str(text['fix']))}",
        "",
        "[detect]",
        f"paths = {catalog_mod.toml_value(paths or production)}",
        "# From the diff: bug = lines the fix removes, fixed = lines it adds (code only).",
        f"bug = {_patterns(bug)}",
        f"fixed = {_patterns(fixed)}",
        "",
        *_reproducer_toml(repro_sets, ranges, _code_paths(good)),
        "",
        "[imported]",
        "imported = true",
        f"commits = {catalog_mod.toml_value(shas)}",
    ]
    if history.reverted:
        undone = [f"{a} by {b}" for a, b in history.reverted]
        lines.append(f"reverted = {catalog_mod.toml_value(undone)}")
    to_review = [f for f in REVIEW_FIELDS if f not in curated]
    lines.append(f"fields = {catalog_mod.toml_value(to_review)}")
    review = _review(history, good, repro_sets, probe_notes, ports)
    lines.append(f"review = {_multiline(review)}")
    signatures = curated.get("signatures", [])
    for signature in signatures if isinstance(signatures, list) else []:
        lines += ["", "[[signatures]]"]
        lines += [f"{k} = {catalog_mod.toml_value(v)}" for k, v in signature.items()]
    return "\n".join(lines) + "\n"


def _code_paths(ports: list[Port]) -> list[str]:
    """The Java production files the variants change."""
    return sorted({m.group(1) for port in ports for m in re.finditer(
        r"^diff --git a/\S+ b/(\S+/src/main/java/\S+\.java)$", port.patch, re.MULTILINE)})


def _reproducer_toml(sets: list[ReproSet], ranges: dict[str, ReleaseRange],
                     code: list[str]) -> list[str]:
    main = next((s for s in sets if s.test_class), None)
    if main is None:
        files = sorted({p for s in sets for p in s.upstream_paths})
        why = ("the upstream commit carries no test" if not files else
               "the upstream commit changes no test method (" + ", ".join(
                   p.rsplit("/", 1)[-1] for p in files) + ")") + "; write one"
        if not code:
            # YARN-4183 at 2.7.1: a change, its revert, then documentation and defaults
            why = ("what the variants carry changes no Java code (configuration and "
                   "documentation only): no test can show it")
        return ["[reproducer]", 'class = ""', f"missing = {_q(why)}"]
    jars = sorted({*test_jars(main.upstream_paths), *main.declared_jars})
    lines = ["[reproducer]", f"class = {_q(main.test_class)}", f"sources = {_q(main.sources)}",
             f"methods = {catalog_mod.toml_value(main.methods)}",
             f"upstream = {catalog_mod.toml_value(main.upstream_paths)}",
             f"test_jars = {catalog_mod.toml_value(jars)}"]
    if main.declared_deps:
        lines.append(f"test_deps = {catalog_mod.toml_value(list(main.declared_deps))}")
    for repro in sets:
        if not repro.test_class:
            continue  # that release's tests change no method: the default set serves
        lines += ["", "[[reproducer.ranges]]",
                  f"releases = {catalog_mod.toml_value(ranges[str(repro.release)].as_list())}",
                  f"sources = {_q(repro.sources)}", f"class = {_q(repro.test_class)}",
                  f"methods = {catalog_mod.toml_value(repro.methods)}"]
    return lines


def _review(history: History, good: list[Port], sets: list[ReproSet], probe_notes: list[str],
            ports: list[Port]) -> str:
    notes = [f"Imported from {', '.join(c.short for c in history.commits)}; check every field "
             "listed in `fields`, then remove it from the list."]
    notes += history.notes
    for port in ports:
        used = ", ".join(c.short for c in port.commits)
        if port.ok:
            extra = f" ({'; '.join(port.offsets)})" if port.offsets else ""
            notes.append(f"{port.release}: {used} onto {port.tag}, {port.method}{extra}")
        else:
            notes.append(f"{port.release}: no variant, conflict: {'; '.join(port.conflict)}")
        notes += [f"{port.release}: {n}" for n in port.notes]
    for repro in sets:
        if repro.test_class:
            notes.append(f"{repro.release}: reproducer {repro.test_class}, methods "
                         f"{', '.join(repro.methods)} (the ones the commit adds or changes)")
        for other in repro.others:
            notes.append(f"{repro.release}: also changed, not run: {other}")
    notes += probe_notes
    return "\n".join(notes)


def _curated(old: Path | None) -> dict[str, object]:
    """The text a person wrote in the entry being re-imported (--force keeps it)."""
    if old is None:
        return {}
    data = catalog_mod.load_fix(old)
    kept: dict[str, object] = {"title": data.title, "component": data.component,
                               "symptom": data.symptom, "root_cause": data.root_cause,
                               "fix": data.fix}
    if data.aliases:
        kept["aliases"] = list(data.aliases)
    if data.signatures:
        kept["signatures"] = [dict(s) for s in data.signatures]
    return kept


def _commit_body(commit: Commit) -> str:
    """The upstream message below its subject, without git's trailers."""
    body = commit.entry.body.split("\n", 1)[1] if "\n" in commit.entry.body else ""
    body = re.sub(r"\(cherry picked from commit [0-9a-f]+\)", "", body)
    body = re.sub(r"^(Conflicts:|\s+\S+\.\w+$)", "", body, flags=re.MULTILINE)
    return body.strip()[:2000]


def _q(text: str) -> str:
    return catalog_mod.toml_value(text)


def _multiline(text: str) -> str:
    if "'''" in text or re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text):
        return catalog_mod.toml_value(text)
    return "'''\n" + text.strip("\n") + "\n'''"


def _patterns(patterns: list[str]) -> str:
    def one(p: str) -> str:
        return f"'{p}'" if "'" not in p and "\n" not in p else catalog_mod.toml_value(p)
    if len(patterns) == 1:
        return one(patterns[0])
    return "[\n" + "".join(f"  {one(p)},\n" for p in patterns) + "]"
