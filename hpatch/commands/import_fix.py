"""`hpatch import`: an upstream fix, as a catalog entry in the team's catalog.

Each release the user names gets the branch backport nearest to it, applied to
that release's tree on a private index: exactly (offsets allowed), else by a
3-way merge with the backport's preimage; never with fuzz. The test the commit
adds or changes becomes the reproducer, as it is at that release after the fix,
run for the methods the commit touched. The entry is made in a temporary folder
and moved into the catalog only once it is whole and loads.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hpatch import catalog as catalog_mod
from hpatch import checkout as git_ops
from hpatch import output, patching, probegen, testmethods, upstream
from hpatch.catalog import Variant
from hpatch.checkout import Author, Checkout
from hpatch.commands.lint import check_fix
from hpatch.errors import CatalogError, ConflictError, HpatchError, UsageError
from hpatch.releases import Release, ReleaseRange
from hpatch.upstream import Commit, History

TEST_ROOT = "/src/test/java/"
REVIEW_FIELDS = ["title", "component", "symptom", "root_cause", "fix", "affected", "fixed_in",
                 "detect", "reproducer"]
_METHOD_ORDER = {"clean": 0, "offsets": 1, "3way": 2}


@dataclass(frozen=True)
class Target:
    release: Release
    repo: Checkout | None = None


@dataclass
class Port:
    """The fix carried to one release (or why not)."""

    release: Release
    tag: str
    commits: list[Commit] = field(default_factory=list)
    method: str = ""
    tree: str | None = None
    offsets: list[str] = field(default_factory=list)
    conflict: list[str] = field(default_factory=list)
    tests: dict[str, str] = field(default_factory=dict)   # repo path -> text after the fix
    tests_before: dict[str, str | None] = field(default_factory=dict)  # ... and before it
    resources: dict[str, str] = field(default_factory=dict)  # name -> the module's test config
    notes: list[str] = field(default_factory=list)
    patch: str = ""

    @property
    def ok(self) -> bool:
        return self.tree is not None and not self.conflict


def import_fix(fix_id: str, *, upstream_dir: Path, releases: str | None,
               repos: tuple[Path, ...], catalog_root: Path, force: bool, list_only: bool,
               dry_run: bool) -> int:
    """Write catalog_root/FIX from upstream's commits (with --list or --dry-run, only
    show them); 0 when every release named takes the fix, 1 when some do not."""
    fix_id = fix_id.strip().upper()
    if not catalog_mod.ID_PATTERN.match(fix_id):
        raise UsageError(f"{fix_id!r} is not a JIRA id like HDFS-9220")
    if not (list_only or dry_run):  # only writing needs the team's catalog
        _refuse_bundled(catalog_root)
    existing = catalog_root / fix_id
    if (existing / "fix.toml").is_file() and not (force or list_only or dry_run):
        raise UsageError(f"{fix_id} is already in {catalog_root}; give --force to import it "
                         "again (its curated text is kept)")
    source = Checkout.open(upstream_dir)
    tags = upstream.check_upstream(source)
    history = upstream.find(source, fix_id)
    targets = _targets(releases, repos)
    for note in history.notes:
        output.note(f"{fix_id}: {note}")
    ports = [_port(source, history, t, tags) for t in targets]
    _show(history, ports)
    if list_only or dry_run:
        if dry_run and any(p.ok for p in ports):
            _show_files(fix_id, catalog_root, ports, history, source)
        return 0 if all(p.ok for p in ports) else 1
    if not targets:
        raise UsageError("name the releases to carry it to: --releases 2.6.0,2.7.1 or --repo DIR")
    good = [p for p in ports if p.ok]
    if not good:
        raise ConflictError(f"{fix_id} conflicts on every release named "
                            f"({', '.join(str(p.release) for p in ports)}): nothing written")
    written = _write(fix_id, catalog_root, good, history, source, existing, ports)
    output.line(f"wrote {written}: {len(good)} variant(s); every field is marked imported: "
                f"review it, then `hpatch --catalog {catalog_root} lint`")
    return 0 if len(good) == len(ports) else 1


def _refuse_bundled(root: Path) -> None:
    package = Path(catalog_mod.__file__).resolve().parent
    bundled = {(package / "_catalog").resolve(), (package.parent / "patches").resolve()}
    if root.resolve() in bundled:
        raise UsageError(f"{root} is hpatch's bundled catalog: import into your team's "
                         "catalog with --catalog DIR")


def _targets(releases: str | None, repos: tuple[Path, ...]) -> list[Target]:
    found = [Target(Release.parse(r)) for r in (releases or "").split(",") if r.strip()]
    for repo in repos:
        checkout = Checkout.open(repo)
        found.append(Target(checkout.hadoop_release(), checkout))
    seen: set[Release] = set()
    unique = []
    for target in sorted(found, key=lambda t: t.release):
        if target.release in seen:
            raise UsageError(f"release {target.release} is named twice")
        seen.add(target.release)
        unique.append(target)
    return unique


# -- carrying the fix to one release ---------------------------------------------


def _port(source: Checkout, history: History, target: Target,
          tags: dict[str, Release]) -> Port:
    tag = upstream.release_tree_tag(tags, target.release)
    port = Port(target.release, tag)
    tree = source.tree_of(tag)
    for group in history.nearest(target.release):
        carried = _carry_change(source, group, tree, port)
        if carried is None:
            return port
        tree = carried
    port.tree = tree
    port.tests = _test_files(source, port)
    port.resources = _test_config(source, port)
    if not port.commits or not _production_changed(source, tag, tree, port.commits):
        port.conflict.append(f"{target.release} already has the change: nothing to carry")
        port.method, port.tree = "fixed-upstream", None
        return port
    port.patch = _variant_patch(source, history, port)
    if target.repo is not None:
        _check_repo(target.repo, port)
    return port


def _carry_change(source: Checkout, group: list[Commit], tree: str, port: Port) -> str | None:
    """tree with one change (the commit of group nearest the release that goes on)."""
    first_failure = ""
    nearest = group[0]
    if nearest.production_paths and git_ops.already_in_tree(source, tree, git_ops.commit_diff_paths(
            source, nearest.sha, nearest.production_paths)):
        # Another branch's form of a change already carried, or the release has it.
        port.notes.append(f"{nearest.short}: its change is already there, skipped")
        return tree
    for commit in group:
        if not commit.production_paths:
            port.notes.append(f"{commit.short} changes tests only: its tests are taken")
            port.commits.append(commit)
            return tree
        diff = git_ops.commit_diff_paths(source, commit.sha, commit.production_paths)
        applied = git_ops.apply_to_tree(source, tree, diff)
        if applied.tree is not None:
            port.commits.append(commit)
            port.method = max(port.method or "clean", applied.method,
                              key=lambda m: _METHOD_ORDER[m])
            port.offsets.extend(f"{commit.short}: {o}" for o in applied.offsets)
            return applied.tree
        if not first_failure:
            first_failure = commit.sha
    port.method = "conflict"
    port.conflict = _failed_hunks(source, first_failure, tree, group[0])
    return None


def _failed_hunks(source: Checkout, sha: str, tree: str, commit: Commit) -> list[str]:
    """The hunks of the nearest backport that do not land on the release's code."""
    diff = git_ops.commit_diff_paths(source, sha, commit.production_paths)
    with tempfile.NamedTemporaryFile("w", suffix=".patch", encoding="utf-8",
                                     errors="surrogateescape") as handle:
        handle.write(diff)
        handle.flush()
        parsed = patching.parse(Path(handle.name))
    failed: list[str] = []
    for patched in parsed.patchset:
        name = patching.strip_prefix(patched.source_file) or patching.strip_prefix(
            patched.target_file)
        placements = patching.locate(patched, source.read_blob(tree, name), max_fuzz=0)
        failed.extend(f"{sha[:11]} {p.describe()}" for p in placements if not p.exact)
    return failed or [f"{sha[:11]}: the 3-way merge conflicts"]


def _production_changed(source: Checkout, tag: str, tree: str, commits: list[Commit]) -> bool:
    paths = sorted({p for c in commits for p in c.production_paths})
    return bool(paths) and bool(git_ops.tree_diff_paths(source, tag, tree, paths).strip())


def _test_files(source: Checkout, port: Port) -> dict[str, str]:
    """The test files the commits change, as they are at the release after the fix: the
    commits' test changes merged onto it, or else the backport's own version."""
    assert port.tree is not None
    tree = port.tree
    files: dict[str, str] = {}
    for commit in port.commits:
        paths = [p for p in commit.test_paths if p.endswith(".java")]
        skipped = [p for p in commit.test_paths if not p.endswith(".java")]
        if skipped:
            port.notes.append(f"test resources not carried: {', '.join(skipped)}")
        if not paths:
            continue
        applied = git_ops.apply_to_tree(source, tree, git_ops.commit_diff_paths(
            source, commit.sha, paths))
        if applied.tree is not None:
            for path in paths:
                port.tests_before.setdefault(path, source.read_blob(tree, path))
            tree = applied.tree
            files.update({p: t for p in paths if (t := source.read_blob(tree, p)) is not None})
            continue
        port.notes.append(f"the tests of {commit.short} do not merge onto {port.tag}: taken "
                          "as they are in that commit")
        for path in paths:
            port.tests_before.setdefault(path, source.read_blob(f"{commit.sha}^", path))
        files.update({p: t for p in paths if (t := source.read_blob(commit.sha, p)) is not None})
    return files


_CONFIG = re.compile(r"^(?:[\w-]+-site\.xml|log4j\.properties)$")


def _test_config(source: Checkout, port: Port) -> dict[str, str]:
    """The test modules' configuration at the release (hdfs-site.xml lowers the minimum
    block size MiniDFSCluster tests use): tests find it on their classpath."""
    found: dict[str, str] = {}
    for module in sorted({_module(p) for p in port.tests}):
        prefix = f"{module}/src/test/resources/"
        for path in source.tree_entries(source.tree_of(port.tag), prefix):
            name = path[len(prefix):]
            if "/" not in name and _CONFIG.match(name) and name not in found:
                text = source.read_blob(port.tag, path)
                if text is not None:
                    found[name] = text
    return found


def _module(path: str) -> str:
    return path.split("/src/test/", 1)[0]


def _test_jars(paths: list[str]) -> list[str]:
    """The -tests jars of the test files' modules (their test utilities), and YARN's
    common one that every YARN module's tests use (MockApps, InlineDispatcher)."""
    jars = {_module(p).rsplit("/", 1)[-1] for p in paths if "/src/test/" in p}
    if any(j.startswith("hadoop-yarn-") for j in jars):
        jars.add("hadoop-yarn-common")
    return sorted(jars)


def _variant_patch(source: Checkout, history: History, port: Port) -> str:
    """The production change (port.tree holds no test change) as one commit on the
    release's tag, in format-patch form, by the upstream author."""
    assert port.tree is not None
    main = port.commits[0]
    shas = ", ".join(c.short for c in port.commits)
    message = (f"{_subject(main)}\n\nUpstream {history.fix_id}: {shas}, carried to "
               f"{port.release} ({port.method}).\n")
    author = main.entry.author
    sha = source.commit_tree(port.tree, parent=source.rev(port.tag) or port.tag,
                             message=message,
                             author=Author(author.name, author.email, author.date))
    return source.format_patch(sha)


def _check_repo(repo: Checkout, port: Port) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".patch", encoding="utf-8",
                                     errors="surrogateescape") as handle:
        handle.write(port.patch)
        handle.flush()
        ok, err = repo.apply_check(Path(handle.name))
    if not ok:
        port.conflict.append(f"the variant does not apply to {repo.root}: {err[:200]}")


# -- what to show -------------------------------------------------------------------


def _show(history: History, ports: list[Port]) -> None:
    rows = [(c.short, ", ".join(str(r) for r in c.releases) or "(unreleased)",
             ", ".join(p[:11] for p in c.picked_from) or "-", _subject(c)[:60])
            for c in history.commits]
    output.table(rows, ["commit", "first releases", "cherry-picked from", "subject"])
    if not ports:
        return
    output.line()
    rows = []
    for port in ports:
        used = ", ".join(c.short for c in port.commits) or "-"
        if port.ok:
            detail = "; ".join(port.offsets[:3]) or "-"
            rows.append((str(port.release), used, port.method, detail))
        else:
            rows.append((str(port.release), used, port.method or "conflict",
                         "; ".join(port.conflict[:2])))
    output.table(rows, ["release", "commits", "applies", "detail"])


def _show_files(fix_id: str, root: Path, ports: list[Port], history: History,
                source: Checkout) -> None:
    with tempfile.TemporaryDirectory(prefix=f".import-{fix_id}-") as tmp:
        entry = _build_entry(fix_id, Path(tmp), [p for p in ports if p.ok], history,
                             source, None, ports)
        output.line()
        output.line(f"would write {root / fix_id}:")
        for path in sorted(entry.rglob("*")):
            if path.is_file():
                output.line(f"  {path.relative_to(entry)}")
        output.line()
        output.line((entry / "fix.toml").read_text(encoding="utf-8"))


def _subject(commit: Commit) -> str:
    return re.sub(r"\s*\(cherry picked from commit [0-9a-f]+\)", "", commit.entry.subject)


# -- the entry --------------------------------------------------------------------------


def _write(fix_id: str, root: Path, good: list[Port], history: History, source: Checkout,
           existing: Path, ports: list[Port]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    old = existing if (existing / "fix.toml").is_file() else None
    with tempfile.TemporaryDirectory(prefix=f".import-{fix_id}-", dir=root) as tmp:
        entry = _build_entry(fix_id, Path(tmp), good, history, source, old, ports)
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


def _build_entry(fix_id: str, tmp: Path, good: list[Port], history: History,
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
        variants.append(Variant(name, ranges[name], patch, made_for=name, imported={
            "commits": [c.sha for c in port.commits], "release": name, "tag": port.tag,
            "method": port.method, "offsets": port.offsets}))
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


def _write_reproducer(entry: Path, port: Port) -> ReproSet:
    """The port's test files in package layout, and which class and methods to run."""
    sources = f"reproducer/{port.release}"
    candidates: list[tuple[int, str, list[str]]] = []
    for path, text in sorted(port.tests.items()):
        relative = path.split(TEST_ROOT, 1)[1] if TEST_ROOT in path else path.rsplit("/", 1)[-1]
        target = entry / sources / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", errors="surrogateescape")
        if testmethods.is_test_class(text):
            before = port.tests_before.get(path)
            names = testmethods.changed_tests(before, text)
            class_name = relative[:-len(".java")].replace("/", ".")
            candidates.append((len(names), class_name, names))
    for name, text in port.resources.items():
        (entry / sources / name).parent.mkdir(parents=True, exist_ok=True)
        (entry / sources / name).write_text(text, encoding="utf-8", errors="surrogateescape")
    candidates.sort(key=lambda c: -c[0])
    if not candidates or not candidates[0][0]:
        return ReproSet(port.release, sources, "", [], sorted(port.tests), [])
    _count, test_class, methods = candidates[0]
    others = [f"{c} ({', '.join(m)})" for n, c, m in candidates[1:] if n]
    return ReproSet(port.release, sources, test_class, methods, sorted(port.tests), others)


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
    subject = _subject(history.commits[0])
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
        *_reproducer_toml(repro_sets, ranges),
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


def _reproducer_toml(sets: list[ReproSet], ranges: dict[str, ReleaseRange]) -> list[str]:
    main = next((s for s in sets if s.test_class), None)
    if main is None:
        files = sorted({p for s in sets for p in s.upstream_paths})
        why = ("the upstream commit carries no test" if not files else
               "the upstream commit changes no test method (" + ", ".join(
                   p.rsplit("/", 1)[-1] for p in files) + ")")
        return ["[reproducer]", 'class = ""', f"missing = {_q(why + '; write one')}"]
    lines = ["[reproducer]", f"class = {_q(main.test_class)}", f"sources = {_q(main.sources)}",
             f"methods = {catalog_mod.toml_value(main.methods)}",
             f"upstream = {catalog_mod.toml_value(main.upstream_paths)}",
             f"test_jars = {catalog_mod.toml_value(_test_jars(main.upstream_paths))}"]
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
