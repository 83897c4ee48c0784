"""Carrying an upstream fix to one release: the branch backport nearest to it,
applied to that release's tree on a private index, exactly (offsets allowed), else
by a 3-way merge with the backport's preimage; never with fuzz. The test the commit
adds or changes is taken as it is at that release after the fix."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hpatch import checkout as git_ops
from hpatch import forks, javasrc, patching, testmethods, upstream
from hpatch.checkout import Author, Checkout
from hpatch.errors import UsageError
from hpatch.releases import Release
from hpatch.upstream import Commit, History

_METHOD_ORDER = {"clean": 0, "offsets": 1, "3way": 2, "with-prerequisites": 3}


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
    # Test resources the commits add or change (a compressed input file), by their path
    # under src/test/resources: they go beside the test, onto its classpath.
    resource_files: dict[str, bytes] = field(default_factory=dict)
    prerequisites: list[Commit] = field(default_factory=list)  # earlier changes carried first
    subclasses: dict[str, str] = field(default_factory=dict)  # abstract test -> concrete one
    extra_tests: dict[str, str] = field(default_factory=dict)  # those, as at the release
    declared_jars: list[str] = field(default_factory=list)  # test-jars the module's pom uses
    declared_deps: list[str] = field(default_factory=list)  # its test-scope libraries
    notes: list[str] = field(default_factory=list)
    patch: str = ""
    # access an earlier upstream change widened and the tests use, opened on both sides
    test_access: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.tree is not None and not self.conflict



def resolve_targets(releases: str | None, repos: tuple[Path, ...]) -> list[Target]:
    found = [Target(Release.parse(r)) for r in (releases or "").split(",") if r.strip()]
    for repo in repos:
        checkout = Checkout.open(repo)
        # A fork (2.6.0-cdh5.4.3, 2.7.1-acme3) takes the variant of its Apache base.
        found.append(Target(forks.base_of(checkout).release, checkout))
    seen: set[Release] = set()
    unique = []
    for target in sorted(found, key=lambda t: t.release):
        if target.release in seen:
            raise UsageError(f"release {target.release} is named twice")
        seen.add(target.release)
        unique.append(target)
    return unique



def carry(source: Checkout, history: History, target: Target,
          tags: dict[str, Release], *, with_prerequisites: bool = False) -> Port:
    tag = upstream.release_tree_tag(tags, target.release)
    port = Port(target.release, tag)
    tree = source.tree_of(tag)
    for group in history.nearest(target.release):
        carried = _carry_change(source, group, tree, port)
        if carried is None:
            carried = _with_prerequisites(source, group, tree, port, carry=with_prerequisites)
        elif port.commits and port.commits[-1].production_paths and carried != tree:
            # It applies, but may use what an earlier change on its branch brought.
            carried = _symbol_prerequisites(source, port.commits[-1], tree, port,
                                            carry=with_prerequisites) or carried
        if carried is None:
            return port
        tree = carried
    port.tree = tree
    port.tests = _test_files(source, port)
    port.resources = _test_config(source, port)
    _concrete_subclasses(source, port)
    port.declared_jars = _declared_test_jars(source, port)
    port.declared_deps = _declared_test_deps(source, port)
    if not port.commits or not _production_changed(source, tag, tree, port.commits):
        port.conflict.append(f"{target.release} already has the change: nothing to carry")
        port.method, port.tree = "fixed-upstream", None
        return port
    port.patch = _variant_patch(source, history, port)
    _note_hooks(source, port)
    port.test_access = _test_access(source, port)
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


MAX_CANDIDATES = 25
MAX_DEPTH = 1  # prerequisites of a prerequisite; no deeper


def _with_prerequisites(source: Checkout, group: list[Commit], tree: str, port: Port, *,
                        carry: bool) -> str | None:
    """When a change conflicts only because of earlier upstream changes on its branch
    (a symbol, an import, a helper), name them; with carry, put them on first. None
    when no such set is found, or when they are only named."""
    for commit in group:
        found = _prerequisites_of(source, commit, tree, port.tag, port.release)
        if found is None:
            continue
        prerequisites, after = found
        named = "; ".join(f"{c.short} {clean_subject(c)[:70]}" for c in prerequisites)
        if not carry:
            port.conflict.insert(0, f"{commit.short} needs earlier upstream change(s) first: "
                                 f"{named} (--with-prerequisites carries them)")
            return None
        port.prerequisites.extend(prerequisites)
        port.commits.append(commit)
        port.method = "with-prerequisites"
        port.conflict = []
        port.notes.append(f"{commit.short} carried on top of its prerequisites: {named}")
        return after
    return None


_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{3,}\b")


def _symbol_prerequisites(source: Checkout, commit: Commit, tree: str, port: Port, *,
                          carry: bool) -> str | None:
    """A backport that applies but uses names its release lacks (a field, a helper an
    earlier change on its branch added): the commits between the release's fork point
    and it that add them are named; with carry, put on first. The tree, or None."""
    from hpatch import javasrc
    diff = git_ops.commit_diff_paths(source, commit.sha, commit.production_paths)
    added = {m for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")
             for m in _IDENT.findall(javasrc.strip(ln[1:]))}
    release = "\n".join(javasrc.strip(t) for p in commit.production_paths
                        if (t := source.read_blob(tree, p)) is not None)
    preimage = "\n".join(javasrc.strip(t) for p in commit.production_paths
                         if (t := source.read_blob(f"{commit.sha}^", p)) is not None)
    missing = sorted(n for n in added if not re.search(rf"\b{n}\b", release)
                     and re.search(rf"\b{n}\b", preimage))
    # A method it overrides that no file of the module declares at the release: a
    # superclass's method an earlier change added (MAPREDUCE-6558 on 6549's).
    module = commit.production_paths[0].split("/src/main/", 1)[0] if (
        commit.production_paths) else ""
    supers = [n for n in _overridden(diff) if n not in missing and module
              and not git_ops.mentions(source, tree, n, module)]
    base = git_ops.merge_base(source, port.tag, commit.sha)
    if not (missing or supers) or base is None:
        return None
    entries = git_ops.log_range(source, f"{base}..{commit.sha}^", commit.production_paths)
    if len(entries) > MAX_CANDIDATES:
        return None
    bringing: list[Commit] = []
    for entry in entries:
        earlier = Commit(entry, source.touched_paths(entry.sha))
        text = git_ops.commit_diff_paths(source, earlier.sha, earlier.production_paths)
        plus = "\n".join(ln for ln in text.splitlines() if ln.startswith("+"))
        if any(re.search(rf"\b{n}\b", plus) for n in missing):
            bringing.append(earlier)
    for name in supers:
        declares = re.compile(rf"^\+(?!\+).*\b[\w<>\[\]]+\s+{name}\s*\(", re.MULTILINE)
        for entry in git_ops.log_range(source, f"{base}..{commit.sha}^", [module],
                                       adding=name):
            earlier = Commit(entry, source.touched_paths(entry.sha),
                             first_release=commit.first_release)
            text = git_ops.commit_diff_paths(source, earlier.sha, earlier.production_paths)
            if declares.search(text) and all(c.sha != entry.sha for c in bringing):
                bringing.append(earlier)  # it declares the method, not only calls it
    missing = sorted({*missing, *supers})
    if not bringing:
        return None
    bringing.sort(key=lambda c: c.entry.committed)
    named = "; ".join(f"{c.short} {clean_subject(c)[:70]}" for c in bringing)
    if not carry:
        port.notes.append(f"{commit.short} uses {', '.join(missing[:5])}, which the release "
                          f"lacks; earlier upstream change(s) bring them: {named} "
                          "(--with-prerequisites carries them)")
        return None
    current = tree  # the tree before this change: its prerequisites go first, then it
    carried: list[Commit] = []
    for earlier in bringing:
        applied = git_ops.apply_to_tree(source, current, git_ops.commit_diff_paths(
            source, earlier.sha, earlier.production_paths))
        if applied.tree is not None:
            carried.append(earlier)
            current = applied.tree
            continue
        # It needs earlier changes of its own (found as for a change that conflicts).
        found = _prerequisites_of(source, earlier, current, port.tag, port.release)
        if found is None:
            port.notes.append(f"{commit.short} uses {', '.join(missing[:5])}; {named} would "
                              "bring them but does not apply")
            return None
        carried.extend([*found[0], earlier])
        current = found[1]
    bringing = carried
    named = "; ".join(f"{c.short} {clean_subject(c)[:70]}" for c in bringing)
    again = git_ops.apply_to_tree(source, current, diff)
    if again.tree is None:
        return None
    port.prerequisites.extend(bringing)
    port.method = "with-prerequisites"
    port.notes.append(f"{commit.short} uses {', '.join(missing[:5])}, which the release "
                      f"lacks: carried on top of {named}")
    return again.tree


_OVERRIDE = re.compile(r"@Override\s+(?:(?:public|protected|private|static|final|synchronized)"
                       r"\s+)*[\w<>\[\],.? ]+?\s+(\w+)\s*\(")


def _overridden(diff: str) -> list[str]:
    """The names of the methods a diff adds with @Override."""
    added = "\n".join(ln[1:] for ln in diff.splitlines()
                      if ln.startswith("+") and not ln.startswith("+++"))
    return sorted(set(_OVERRIDE.findall(added)))


def _prerequisites_of(source: Checkout, commit: Commit, tree: str, tag: str,
                      port_release: Release, depth: int = 0
                      ) -> tuple[list[Commit], str] | None:
    """The fewest commits between tag and commit (on its branch, touching its files)
    after which commit applies, and the tree with them and commit; None if none do. A
    candidate that does not apply itself gets its own prerequisites, one level down
    (HDFS-9314 needs HDFS-8647, whose backport needs earlier BlockManager changes)."""
    if commit.first_release is None or (commit.first_release.major, commit.first_release.minor
                                        ) != (port_release.major, port_release.minor):
        return None  # another line's commit: what lies between is that line's history
    # The release's tag sits on a release branch: start where it left the line's branch.
    base = git_ops.merge_base(source, tag, commit.sha)
    if base is None:
        return None
    entries = git_ops.log_range(source, f"{base}..{commit.sha}^", commit.production_paths)
    if not entries or len(entries) > MAX_CANDIDATES:
        return None
    candidates = [Commit(e, source.touched_paths(e.sha)) for e in entries]
    candidates = [c for c in candidates if c.production_paths]
    fix_diff = git_ops.commit_diff_paths(source, commit.sha, commit.production_paths)

    def attempt(chosen: list[Commit]) -> str | None:
        current = tree
        for earlier in chosen:
            applied = git_ops.apply_to_tree(source, current, git_ops.commit_diff_paths(
                source, earlier.sha, earlier.production_paths))
            if applied.tree is None:
                return None
            current = applied.tree
        return git_ops.apply_to_tree(source, current, fix_diff).tree

    chosen: list[Commit] = []
    current = tree
    for earlier in candidates:  # what applies in order (a revert pair, a failing one skipped)
        if any(c.sha == earlier.sha for c in chosen):
            continue  # carried already, as a prerequisite of an earlier candidate
        applied = git_ops.apply_to_tree(source, current, git_ops.commit_diff_paths(
            source, earlier.sha, earlier.production_paths))
        if applied.tree is not None:
            chosen.append(earlier)
            current = applied.tree
        elif depth < MAX_DEPTH:
            found = _prerequisites_of(
                source, Commit(earlier.entry, earlier.paths, first_release=commit.first_release),
                current, tag, port_release, depth + 1)
            if found is not None:
                chosen.extend(c for c in found[0] if all(c.sha != d.sha for d in chosen))
                chosen.append(earlier)
                current = found[1]
    if not chosen or attempt(chosen) is None:
        return None
    candidates = list(chosen)
    for earlier in list(candidates):  # the oldest first: drop what the fix does not need
        trial = [c for c in chosen if c is not earlier]
        if attempt(trial) is not None:
            chosen = trial
    after = attempt(chosen)
    return (chosen, after) if chosen and after is not None else None


def _note_hooks(source: Checkout, port: Port) -> None:
    """Say in the entry which members the variant adds that no production code calls
    (verify puts them on stock as test support) and which new members its code does call
    (never on stock: a test needing one is inconclusive)."""
    from hpatch import testsupport
    assert port.tree is not None
    marker = "/src/main/java/"
    paths = sorted({p for c in [*port.prerequisites, *port.commits] for p in c.production_paths
                    if p.endswith(".java") and marker in p})
    stock: dict[str, str] = {}
    patched: dict[str, str] = {}
    for path in paths:
        relative = path.split(marker, 1)[1]
        if (before := source.read_blob(port.tag, path)) is not None:
            stock[relative] = before
        if (after := source.read_blob(port.tree, path)) is not None:
            patched[relative] = after
    hooks = testsupport.find_hooks(stock, patched)
    if hooks.support_only:
        port.notes.append("all the change adds to production code is test support "
                          f"({', '.join(hooks.added)}), which verify puts on stock too: both "
                          "sides run the same code, and no test can show the change "
                          "(verify says inconclusive, test-support-only)")
    elif hooks.added:
        port.notes.append("test hooks the change adds (no production code calls them), which "
                          f"verify puts on stock as test support: {', '.join(hooks.added)}")
    if hooks.widened:
        port.notes.append("visibility the change widens, which verify widens on stock too "
                          f"(stock keeps its bodies): {', '.join(hooks.widened)}")
    if hooks.injections:
        port.notes.append("injection points the change adds (no-ops of a fault injector), "
                          "which verify puts on stock with the lines that call them: "
                          f"{', '.join(hooks.injections)}")
    if hooks.behaviour:
        port.notes.append("new members the change's own code calls, never put on stock (a "
                          f"test that needs one is inconclusive): {', '.join(hooks.behaviour)}")


def _test_access(source: Checkout, port: Port) -> list[dict[str, str]]:
    """The methods whose access an earlier upstream change widened and the tests call
    from where the release's access does not reach: HDFS-9958's test, written after
    HDFS-9198 made DatanodeStorageInfo.getStorageID() public, calls it from another
    package. Verify opens them on both sides (bodies as the checkout has them): the
    test compiles, and neither side's behaviour changes. Each names its commit."""
    from hpatch import testsupport
    if not port.commits:
        return []
    later = f"{port.commits[0].sha}^"  # what the tests were written against
    tests = {_package_of(p): "" for p in {**port.tests, **port.extra_tests}}
    for path, text in {**port.tests, **port.extra_tests}.items():
        tests[_package_of(path)] += javasrc.strip(text) + "\n"  # the code, by package
    code = "".join(tests.values())
    found: list[dict[str, str]] = []
    for path in git_ops.changed_paths(source, port.tag, later, "*/src/main/java/*.java"):
        simple = path.rsplit("/", 1)[-1][:-len(".java")]
        if not re.search(rf"(?<![\w$]){re.escape(simple)}(?![\w$])", code):
            continue
        release, after = source.read_blob(port.tag, path), source.read_blob(later, path)
        if release is None or after is None:
            continue
        for name, params, was, now in testsupport.widened_upstream(release, after):
            call = re.compile(rf"(?<![\w$]){re.escape(name)}\s*\(")
            # called where the release's access does not reach: from another package,
            # or at all when it was private
            if not any(call.search(text) for package, text in tests.items()
                       if was == "private" or package != _package_of(path)):
                continue
            found.append({"path": path, "method": name, "params": params, "from": was,
                          "to": now, "commit": _widening_commit(source, port.tag, later,
                                                                path, name, was, now)})
    if found:
        port.notes.append("access an earlier upstream change widened, which the tests use "
                          "and verify opens on both sides: " + ", ".join(
                              f"{a['path'].rsplit('/', 1)[-1][:-5]}.{a['method']} "
                              f"({a['from']} -> {a['to']}, {a['commit']})" for a in found))
    return found


def _package_of(path: str) -> str:
    for marker in ("/src/main/java/", "/src/test/java/"):
        if marker in path:
            return path.split(marker, 1)[1].rsplit("/", 1)[0]
    return path.rsplit("/", 1)[0]


def _widening_commit(source: Checkout, tag: str, later: str, path: str, name: str,
                     was: str, now: str) -> str:
    """The upstream commit between the release and the tests' own that widened a
    method: the newest one there whose diff takes a declaration of it from `was` access
    to `now` ("-  String getStorageID() {" / "+  public String getStorageID() {")."""
    def declared(sign: str, access: str) -> re.Pattern[str]:
        keyword = rf"\b{access}\b.*" if access != "package" else ""
        return re.compile(rf"^\{sign}\s.*{keyword}(?<![\w$.]){re.escape(name)}\s*\(",
                          re.MULTILINE)
    for entry in reversed(git_ops.log_range(source, f"{tag}..{later}", [path])):
        diff = git_ops.show_paths(source, entry.sha, [path])
        if declared("+", now).search(diff) and declared("-", was).search(diff):
            found = re.match(r"\s*([A-Z][A-Z0-9]+-\d+)", entry.subject)
            return f"{found.group(1)} ({entry.sha[:11]})" if found else entry.sha[:11]
    return ""


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
        for path in commit.test_paths:
            if "/src/test/resources/" in path:
                data = source.read_blob_bytes(commit.sha, path)
                if data is not None:
                    port.resource_files[path.split("/src/test/resources/", 1)[1]] = data
        skipped = [p for p in commit.test_paths if not p.endswith(".java")
                   and "/src/test/resources/" not in p]
        if skipped:
            port.notes.append(f"test files not carried: {', '.join(skipped)}")
        if not paths:
            continue
        applied = git_ops.apply_to_tree(source, tree, git_ops.commit_diff_paths(
            source, commit.sha, paths))
        if applied.tree is not None:
            for path in paths:
                port.tests_before.setdefault(path, source.read_blob(tree, path))
            tree = applied.tree
            for path in paths:
                merged = source.read_blob(tree, path)
                after = source.read_blob(commit.sha, path)
                if merged is not None:
                    files[path] = used_imports(merged, after) if after else merged
            continue
        for path in paths:
            before = source.read_blob(f"{commit.sha}^", path)
            after = source.read_blob(commit.sha, path)
            here = source.read_blob(tree, path)
            if after is None:
                continue
            spliced = splice_methods(here, before, after) if here is not None else None
            if spliced is not None:
                # Only the methods the commit changes, onto the release's own test file.
                port.notes.append(f"the tests of {commit.short} do not merge onto {port.tag}: "
                                  f"the methods it changes in {path.rsplit('/', 1)[-1]} are "
                                  "carried onto the release's file")
                port.tests_before.setdefault(path, here)
                files[path] = spliced
            else:
                port.notes.append(f"the tests of {commit.short} do not merge onto {port.tag}: "
                                  f"{path.rsplit('/', 1)[-1]} is taken as it is in that commit")
                port.tests_before.setdefault(path, before)
                files[path] = after
    return files


_IMPORT_LINE = re.compile(r"^import\s+(static\s+)?([\w.]+)\s*;[ \t]*$", re.MULTILINE)


def used_imports(merged: str, after: str) -> str:
    """merged (a test file the commit's change merged onto) with the imports the commit's
    own file has and merged lacks, for the names its code uses: an earlier change on the
    commit's branch added them (HDFS-10178's test uses DataNodeFaultInjector, imported
    there by another change). An import a name does not use is not added."""
    from hpatch import javasrc, testsupport
    have = {m.group(2) for m in _IMPORT_LINE.finditer(merged)}
    body = _IMPORT_LINE.sub("", javasrc.strip(merged))
    wanted = []
    for match in _IMPORT_LINE.finditer(after):
        name = match.group(2)
        simple = name.rsplit(".", 1)[-1]
        if name in have or simple == "*" or not re.search(rf"\b{re.escape(simple)}\b", body):
            continue
        wanted.append(match.group(0))
    if not wanted:
        return merged
    return testsupport.with_new_imports(merged, "\n".join(wanted))


def _missing_fields(release: str, after: str, bodies: list[str]) -> list[str]:
    """The field declarations of after that the carried bodies use (directly, or through
    another such field) and the release's file lacks (`inputDir`, which an earlier
    change added), in after's order, as after has them."""
    from hpatch import javasrc
    stripped = javasrc.strip(after)
    code = stripped.splitlines()
    depth = testmethods.line_depths(stripped)
    text = after.splitlines(keepends=True)
    have = javasrc.strip(release)
    fields: list[tuple[str, str, str]] = []  # (name, its declaration as code, as text)
    at = 0
    while at < len(code):
        name = testmethods.field_declaration(code[at]) if depth[at] == 1 else None
        if name is None:
            at += 1
            continue
        end = at
        while end < len(code) - 1 and not code[end].rstrip().endswith(";"):
            end += 1
        if not re.search(rf"\b{re.escape(name)}\s*[=;]", have):
            fields.append((name, "\n".join(code[at:end + 1]), "".join(text[at:end + 1])))
        at = end + 1
    wanted: set[str] = set()
    sources = list(bodies)
    while sources:
        body = sources.pop()
        for name, declaration, _ in fields:
            if name not in wanted and re.search(rf"(?<![\w$.]){re.escape(name)}(?![\w$])",
                                                body):
                wanted.add(name)
                sources.append(declaration.split("=", 1)[1] if "=" in declaration else "")
    return [declared for name, _, declared in fields if name in wanted]


def splice_methods(release: str, before: str | None, after: str) -> str | None:
    """release's test file with the methods the commit (before -> after) adds or changes
    put in, as after has them, and the imports after adds; None when a changed method
    cannot be placed (it sits in an inner class) or nothing changes."""
    from hpatch import testsupport
    changed = testmethods.changed_methods(before, after)
    ours = {m.name: m for m in testmethods.methods(after)}
    if not changed or any(name not in ours for name in changed):
        return None
    lines = release.splitlines(keepends=True)
    theirs = {m.name: m for m in testmethods.methods(release)}
    # ... and the helpers they call that the release's file lacks (an earlier change's).
    todo = list(changed)
    while todo:
        body = ours[todo.pop()].body
        for name in ours:
            if name not in theirs and name not in changed and re.search(
                    rf"(?<![\w$.]){re.escape(name)}\s*\(", body):
                changed.add(name)
                todo.append(name)
    new_lines = after.splitlines(keepends=True)
    added: list[str] = []
    replaced: list[tuple[int, int, str]] = []
    for name in sorted(changed, key=lambda n: ours[n].first_line):
        method = ours[name]
        text = "".join(new_lines[method.first_line - 1:method.last_line])
        if name in theirs:
            old = theirs[name]
            replaced.append((old.first_line - 1, old.last_line, text))
        else:
            added.append(text)
    added.extend(_missing_fields(release, after, [ours[n].body for n in changed]))
    for start, end, text in sorted(replaced, reverse=True):
        lines[start:end] = [text]
    result = "".join(lines)
    if added:
        close = result.rstrip().rfind("}")
        result = result[:close] + "\n" + "\n".join(added) + result[close:]
    return testsupport.with_new_imports(result, after)


_ABSTRACT = re.compile(r"^\s*(?:public\s+)?abstract\s+(?:public\s+)?class\s+(\w+)", re.MULTILINE)


def is_abstract(text: str) -> bool:
    return _ABSTRACT.search(text) is not None


def _concrete_subclasses(source: Checkout, port: Port) -> None:
    """A base test class the fix changes (abstract, or not named Test*, whose fixture its
    subclasses set up) runs through a concrete subclass, as upstream's Surefire runs it:
    the first one in its module's tests at the release."""
    for path, text in list(port.tests.items()):
        name = path.rsplit("/", 1)[-1].removesuffix(".java")
        if not is_abstract(text) and name.startswith("Test"):
            continue  # a test class of its own; a base (ViewFileSystemBaseTest) is not
        found = git_ops.files_matching(source, port.tag, rf"extends\s+{name}\b",
                                       f"{_module(path)}/src/test/java")
        for candidate in sorted(found, key=len):
            body = source.read_blob(port.tag, candidate)
            if body is not None and not is_abstract(body) and candidate not in port.tests:
                port.subclasses[path] = candidate
                port.extra_tests[candidate] = body
                port.notes.append(f"{path.rsplit('/', 1)[-1]} is abstract: it runs through "
                                  f"{candidate.rsplit('/', 1)[-1]}")
                break


# Hadoop's own modules come as test_jars; JUnit and Mockito are the harness's own.
_HARNESS_GROUPS = ("org.apache.hadoop", "junit", "org.mockito", "org.hamcrest")


def _declared_test_deps(source: Checkout, port: Port) -> list[str]:
    """The third-party test-scope libraries (group:artifact:version) the test modules'
    poms declare, versions from their own pom or hadoop-project's dependencyManagement,
    as Maven puts them on Surefire's classpath (bouncycastle for HDFS's SSL tests)."""
    import xml.etree.ElementTree as ET

    def deps(text: str | None) -> list[dict[str, str]]:
        if text is None:
            return []
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            return []
        return [{c.tag.rsplit("}", 1)[-1]: (c.text or "").strip() for c in d}
                for d in root.iter() if d.tag.rsplit("}", 1)[-1] == "dependency"]

    managed = {(d.get("groupId"), d.get("artifactId")): d.get("version", "")
               for d in deps(source.read_blob(port.tag, "hadoop-project/pom.xml"))}
    found: set[str] = set()
    for module in sorted({_module(p) for p in port.tests}):
        for dep in deps(source.read_blob(port.tag, f"{module}/pom.xml")):
            group, artifact = dep.get("groupId", ""), dep.get("artifactId", "")
            if dep.get("scope") != "test" or group.startswith(_HARNESS_GROUPS) or \
                    dep.get("type") not in (None, "jar") or dep.get("classifier"):
                continue
            version = dep.get("version") or managed.get((group, artifact), "")
            if group and artifact and version and "${" not in version:
                found.add(f"{group}:{artifact}:{version}")
    return sorted(found)


def _declared_test_jars(source: Checkout, port: Port) -> list[str]:
    """The Hadoop test-jars the test modules' poms declare (MockRM for a MapReduce
    test, DrainDispatcher from hadoop-yarn-common), as Maven gives them to Surefire."""
    import xml.etree.ElementTree as ET
    found: set[str] = set()
    for module in sorted({_module(p) for p in port.tests}):
        text = source.read_blob(port.tag, f"{module}/pom.xml")
        if text is None:
            continue
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            continue
        for dep in root.iter():
            if not dep.tag.endswith("}dependency") and dep.tag != "dependency":
                continue
            fields = {c.tag.rsplit("}", 1)[-1]: (c.text or "").strip() for c in dep}
            if fields.get("groupId") == "org.apache.hadoop" and (
                    fields.get("type") == "test-jar" or fields.get("classifier") == "tests"):
                found.add(fields.get("artifactId", ""))
    return sorted(f for f in found if f)


_CONFIG = re.compile(r"^(?:[\w-]+-site\.xml|log4j\.properties|krb5\.conf)$")


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


def test_jars(paths: list[str]) -> list[str]:
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
    message = (f"{clean_subject(main)}\n\nUpstream {history.fix_id}: {shas}, carried to "
               f"{port.release} ({port.method}).\n")
    if port.prerequisites:
        message += "\nWith the earlier upstream changes it needs:\n" + "".join(
            f"Upstream-Prerequisite: {c.sha} {clean_subject(c)[:70]}\n"
            for c in port.prerequisites)
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



def jira_of(commit: Commit) -> str:
    """A commit as a reader knows it: the JIRA id its subject starts with, else its
    short sha."""
    found = re.match(r"\s*([A-Z][A-Z0-9]+-\d+)", clean_subject(commit))
    return found.group(1) if found else commit.short


def carried_ids(port: Port) -> list[str]:
    """The prerequisites as a reader knows them, once each (YARN-4105 and its addendum
    are two commits, one id)."""
    return list(dict.fromkeys(jira_of(c) for c in port.prerequisites))


def clean_subject(commit: Commit) -> str:
    return re.sub(r"\s*\(cherry picked from commit [0-9a-f]+\)", "", commit.entry.subject)

