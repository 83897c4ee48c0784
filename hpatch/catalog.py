"""The catalog: fix metadata and the variants that carry each fix to a range of
releases. Entries are data (TOML) checked against the schema below by `lint`."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomllib

from hpatch import javasrc, records
from hpatch.errors import CatalogError, UsageError
from hpatch.releases import Release, ReleaseRange

ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
KINDS = ("bug", "build")


@dataclass(frozen=True)
class ListOf:
    """A schema type: a TOML array whose every item is of this type."""

    item: type

    @property
    def __name__(self) -> str:
        return f"a list of {self.item.__name__}"


FieldType = type | ListOf | tuple[type | ListOf, ...]
Schema = dict[str, tuple[FieldType, bool]]  # field -> (type, required)

STRINGS = ListOf(str)
FIX_SCHEMA: Schema = {
    "id": (str, True),
    "aliases": (STRINGS, False),
    "kind": (str, True),
    "title": (str, True),
    "component": (str, True),
    "upstream": (STRINGS, True),
    "upstream_alternative": (STRINGS, False),
    "fixed_in": (STRINGS, True),
    "affected": ((str, STRINGS), True),
    "symptom": (str, True),
    "root_cause": (str, True),
    "fix": (str, True),
    "detect": (dict, True),
    "reproducer": (dict, True),
    "signatures": (ListOf(dict), False),
    "counter_evidence": (ListOf(dict), False),
    "imported": (dict, False),
}
# [imported]: an entry `hpatch import` wrote from upstream commits. Its fields were
# derived by machine, not written from a post-mortem: `review` says what a person
# should check, `fields` which fields to check.
IMPORTED_SCHEMA: Schema = {
    "imported": (bool, True),
    "commits": (STRINGS, True),
    "reverted": (STRINGS, False),
    "fields": (STRINGS, True),
    "review": (str, True),
}
DETECT_SCHEMA: Schema = {
    "paths": (STRINGS, True),
    "bug": ((str, STRINGS), True),
    "fixed": ((str, STRINGS), True),
}
VARIANT_SCHEMA: Schema = {
    "name": (str, True),
    "releases": ((str, STRINGS), True),
    "patch": (str, True),
    "made_for": (str, False),
    "refreshed": (dict, False),
    "imported": (dict, False),
}


@dataclass(frozen=True)
class Variant:
    name: str
    releases: ReleaseRange
    patch: Path
    made_for: str = ""
    refreshed: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    imported: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def digest(self) -> str:
        import hashlib  # here only: loading the catalog needs no digest
        return hashlib.sha256(self.patch.read_bytes()).hexdigest()[:12]


@dataclass(frozen=True)
class Detect:
    """The code probes: regular expressions searched in each of paths.

    Java and C files are searched with comments and literals blanked
    (javasrc.strip), so a probe sees code only. Any one pattern matching is
    enough: a fix can be in the code in more than one form."""

    paths: tuple[str, ...]
    bug: tuple[re.Pattern[str], ...]
    fixed: tuple[re.Pattern[str], ...]

    def shows_bug(self, path: str, text: str) -> bool:
        return _any_match(self.bug, path, text)

    def shows_fix(self, path: str, text: str) -> bool:
        return _any_match(self.fixed, path, text)


def _any_match(patterns: tuple[re.Pattern[str], ...], path: str, text: str) -> bool:
    code = javasrc.strip(text) if javasrc.is_source(path) else text
    return any(p.search(code) for p in patterns)


@dataclass(frozen=True)
class Fix:
    id: str
    directory: Path
    kind: str
    title: str
    component: str
    upstream: tuple[str, ...]
    fixed_in: tuple[str, ...]
    affected: ReleaseRange
    symptom: str
    root_cause: str
    fix: str
    detect: Detect
    variants: tuple[Variant, ...]
    reproducer: dict[str, Any] = field(compare=False, hash=False, default_factory=dict)
    aliases: tuple[str, ...] = ()
    upstream_alternative: tuple[str, ...] = ()
    signatures: tuple[dict[str, Any], ...] = ()
    imported: dict[str, Any] = field(compare=False, hash=False, default_factory=dict)
    counter_evidence: tuple[dict[str, Any], ...] = ()

    @property
    def reproducer_missing(self) -> str:
        """Why the entry has no reproducer yet ("" when it has one)."""
        return str(self.reproducer.get("missing", ""))

    @property
    def reproducer_test_jars(self) -> list[str]:
        """Hadoop modules whose -tests jar the reproducer compiles and runs against."""
        return [str(m) for m in self.reproducer.get("test_jars", [])]

    @property
    def reproducer_test_deps(self) -> list[str]:
        """Third-party test-scope libraries (group:artifact:version) the test module uses."""
        return [str(d) for d in self.reproducer.get("test_deps", [])]

    def reproducer_missing_for(self, release: Release) -> str:
        """Why this release has no reproducer ("" when it has one): the entry's own
        `missing`, or that of the [[reproducer.ranges]] entry for the release."""
        for entry in self.reproducer.get("ranges", []):
            if ReleaseRange.parse(entry["releases"]).contains(release):
                return str(entry.get("missing", self.reproducer_missing))
        return self.reproducer_missing

    def reproducer_methods(self, release: Release) -> list[str]:
        """The test methods to run (empty: every test of the class)."""
        methods = list(self.reproducer.get("methods", []))
        for entry in self.reproducer.get("ranges", []):
            if ReleaseRange.parse(entry["releases"]).contains(release):
                methods = list(entry.get("methods", methods))
                break
        return [str(m) for m in methods]

    def upstream_test_module(self, release: Release) -> str:
        """The module path of an imported fix's test that runs at release (its class's
        file among the upstream test paths; else the first of them); "" if none."""
        paths = self.reproducer.get("upstream", [])
        tests = [str(p) for p in paths if "/src/test/" in str(p)] if isinstance(
            paths, list) else []
        if not tests:
            return ""
        test_class = self.reproducer_for(release)[0]
        suffix = "/" + test_class.replace(".", "/") + ".java"
        chosen = next((p for p in tests if p.endswith(suffix)), tests[0])
        return chosen.split("/src/test/", 1)[0]

    def reproducer_for(self, release: Release) -> tuple[str, Path]:
        """(JUnit class, sources dir) of the reproducer for this release.

        [reproducer] names the default; [[reproducer.ranges]] entries (releases,
        sources, optional class) take over where the test API differs."""
        test_class = str(self.reproducer.get("class", ""))
        sources = str(self.reproducer.get("sources", "reproducer"))
        for entry in self.reproducer.get("ranges", []):
            if ReleaseRange.parse(entry["releases"]).contains(release):
                test_class = str(entry.get("class", test_class))
                sources = str(entry.get("sources", sources))
                break
        return test_class, self.directory / sources

    def reproducer_sets(self) -> list[tuple[str, Path]]:
        """Every (class, sources dir) the entry declares, for lint."""
        base = (str(self.reproducer.get("class", "")),
                self.directory / str(self.reproducer.get("sources", "reproducer")))
        ranges = [(str(e.get("class", base[0])), self.directory / str(e["sources"]))
                  for e in self.reproducer.get("ranges", []) if e.get("sources")]
        return [base, *ranges]

    def variants_for(self, release: Release) -> list[Variant]:
        """Variants to try: those claiming release first, then the rest, nearest first."""
        claimed = [v for v in self.variants if v.releases.contains(release)]
        rest = [v for v in self.variants if v not in claimed]
        rest.sort(key=lambda v: _distance(v, release))
        return claimed + rest

    @property
    def first_fixed(self) -> str:
        return ", ".join(self.fixed_in) or "-"


def _distance(variant: Variant, release: Release) -> int:
    try:
        made = Release.parse(variant.made_for) if variant.made_for else None
    except Exception:
        made = None
    if made is None:
        return 1 << 30
    return abs((made.major * 100 + made.minor) * 100 + made.patch
               - ((release.major * 100 + release.minor) * 100 + release.patch))


@dataclass(frozen=True)
class Catalog:
    root: Path
    fixes: tuple[Fix, ...]

    def __iter__(self) -> Iterator[Fix]:
        return iter(self.fixes)

    def get(self, name: str) -> Fix:
        wanted = name.strip().upper()
        for fix in self.fixes:
            if fix.id == wanted or wanted in (a.upper() for a in fix.aliases):
                return fix
        raise UsageError(f"unknown fix: {name} (see `hpatch list`)")

    def select(self, names: tuple[str, ...] | list[str]) -> list[Fix]:
        chosen = [self.get(n) for n in names]
        seen: set[str] = set()
        ordered = []
        for fix in self.fixes:  # catalog order, once each
            if fix in chosen and fix.id not in seen:
                seen.add(fix.id)
                ordered.append(fix)
        return ordered


def default_root() -> Path:
    """HPATCH_CATALOG, else the catalog shipped with hpatch."""
    explicit = os.environ.get("HPATCH_CATALOG")
    if explicit:
        return Path(explicit).absolute()  # git runs in the checkout, not in this cwd
    here = Path(__file__).resolve().parent
    for candidate in (here / "_catalog", here.parent / "patches"):
        if candidate.is_dir():
            return candidate
    raise CatalogError("no catalog found: set HPATCH_CATALOG or pass --catalog")


def load(root: Path) -> Catalog:
    """Load every patches/<FIX>/fix.toml; a malformed entry is an error, never skipped."""
    # Variant paths are handed to git, which runs in the checkout: they must not be
    # relative to this process's working directory.
    root = root.absolute()
    if not root.is_dir():
        raise CatalogError(f"catalog directory not found: {root}")
    fixes = []
    for entry in entry_dirs(root):
        if fix_toml_problem(entry) is not None:
            raise CatalogError(f"{entry / 'fix.toml'}: {fix_toml_problem(entry)}")
        if (entry / "fix.toml").is_file():
            fixes.append(load_fix(entry))
    if not fixes:
        raise CatalogError(f"the catalog {root} holds no fixes (no */fix.toml): "
                           "check --catalog / HPATCH_CATALOG")
    order = _catalog_order(root)
    fixes.sort(key=lambda f: (order.get(f.id, len(order)), f.id))
    return Catalog(root, tuple(fixes))


def entry_dirs(root: Path) -> list[Path]:
    """The folders that may be fix entries: not `.git`, `.github` or other dot-folders
    of a catalog kept in version control."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def fix_toml_problem(entry: Path) -> str | None:
    """Why entry's fix.toml is there but cannot be read as one (a directory, a broken
    link); None when it is a file or absent."""
    path = entry / "fix.toml"
    if path.is_file() or not os.path.lexists(path):
        return None
    if path.is_dir():
        return "is a directory, not a file"
    if path.is_symlink():
        return f"is a link to {os.readlink(path)}, which is not there"
    return "is not a regular file"


def _catalog_order(root: Path) -> dict[str, int]:
    """catalog.toml's `order` lists fixes in the order --all applies them."""
    index = root / "catalog.toml"
    if not index.is_file():
        return {}
    data = _read_toml(index)
    order = data.get("order", [])
    if not _matches(order, STRINGS):
        raise CatalogError(f"{index}: `order` must be a list of fix ids")
    return {str(name): i for i, name in enumerate(order)}


def order_problems(root: Path, fix_ids: list[str]) -> list[str]:
    """catalog.toml's `order`: ids that name no entry, ids listed twice, entries left out."""
    index = root / "catalog.toml"
    if not index.is_file():
        return []
    order = _read_toml(index).get("order", [])
    if not _matches(order, STRINGS):
        return [f"{index.name}: `order` must be a list of fix ids"]
    found = [f"{index.name}: `order` lists {name}, which is no entry"
             for name in order if name not in fix_ids]
    found += [f"{index.name}: `order` lists {name} more than once"
              for name in sorted({n for n in order if order.count(n) > 1})]
    found += [f"{index.name}: `order` leaves out {name}" for name in fix_ids
              if name not in order]
    return found


_ORDER = re.compile(r"^order\s*=\s*\[[^\]]*\]", re.MULTILINE)


def add_to_order(root: Path, fix_ids: list[str]) -> list[str]:
    """Append fix_ids that catalog.toml's `order` leaves out (the rest of the file as it
    is), so that lint stays clean after an import; the ids added. No catalog.toml: none."""
    index = root / "catalog.toml"
    if not index.is_file():
        return []
    order = _read_toml(index).get("order", [])
    if not _matches(order, STRINGS):
        raise CatalogError(f"{index}: `order` must be a list of fix ids")
    added = [i for i in dict.fromkeys(fix_ids) if i not in order]
    if not added:
        return []
    text = index.read_text(encoding="utf-8")
    names = [toml_value(i) for i in [*order, *added]]
    listing = "order = [" + ",\n         ".join(
        ", ".join(names[n:n + 4]) for n in range(0, len(names), 4)) + "]"
    match = _ORDER.search(text)
    # Without an `order`, it goes first: after a [table] it would belong to the table.
    text = (text[:match.start()] + listing + text[match.end():] if match
            else listing + "\n" + text)
    records.write_text(index, text)
    return added


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text (byte {exc.start}); TOML must be UTF-8"
                           ) from exc
    except OSError as exc:
        raise CatalogError(f"cannot read {path}: {exc.strerror}") from exc


def _matches(value: Any, kind: FieldType) -> bool:
    if isinstance(kind, tuple):
        return any(_matches(value, k) for k in kind)
    if isinstance(kind, ListOf):
        return isinstance(value, list) and all(isinstance(v, kind.item) for v in value)
    return isinstance(value, kind)


def check_schema(data: dict[str, Any], schema: Schema, where: str) -> None:
    for key, (kind, required) in schema.items():
        if key not in data:
            if required:
                raise CatalogError(f"{where}: missing field `{key}`")
            continue
        if not _matches(data[key], kind):
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise CatalogError(f"{where}: field `{key}` must be {names}")
    unknown = sorted(set(data) - set(schema))
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {', '.join(unknown)}")


def load_fix(directory: Path) -> Fix:
    meta_path = directory / "fix.toml"
    data = _read_toml(meta_path)
    check_schema(data, FIX_SCHEMA, str(meta_path))
    fix_id = data["id"]
    if not ID_PATTERN.match(fix_id):
        raise CatalogError(f"{meta_path}: id {fix_id!r} is not like HDFS-1234")
    if directory.name != fix_id:
        raise CatalogError(f"{meta_path}: id {fix_id} differs from its directory {directory.name}")
    if data["kind"] not in KINDS:
        raise CatalogError(f"{meta_path}: kind must be one of {', '.join(KINDS)}")
    for key in ("aliases", "upstream", "upstream_alternative"):
        bad = [name for name in data.get(key, []) if not ID_PATTERN.match(name)]
        if bad:
            raise CatalogError(f"{meta_path}: `{key}` holds {bad[0]!r}, not an id like HDFS-1234")
    _check_releases(data["fixed_in"], f"{meta_path}: `fixed_in`")
    detect_data = data["detect"]
    check_schema(detect_data, DETECT_SCHEMA, f"{meta_path} [detect]")
    for path in detect_data["paths"]:
        _check_repo_path(path, f"{meta_path} [detect] paths")
    detect = Detect(
        tuple(detect_data["paths"]),
        _probe_patterns(detect_data["bug"], f"{meta_path} [detect] bug"),
        _probe_patterns(detect_data["fixed"], f"{meta_path} [detect] fixed"),
    )
    _check_reproducer(data["reproducer"], str(meta_path))
    _check_signatures(data.get("signatures", []), str(meta_path))
    _check_counter_evidence(data.get("counter_evidence", []), data.get("signatures", []),
                            str(meta_path))
    if "imported" in data:
        check_schema(data["imported"], IMPORTED_SCHEMA, f"{meta_path} [imported]")
    return Fix(
        id=fix_id,
        directory=directory,
        kind=data["kind"],
        title=data["title"],
        component=data["component"],
        upstream=tuple(data["upstream"]),
        fixed_in=tuple(data["fixed_in"]),
        affected=ReleaseRange.parse(data["affected"]),
        symptom=data["symptom"].strip(),
        root_cause=data["root_cause"].strip(),
        fix=data["fix"].strip(),
        detect=detect,
        variants=load_variants(directory),
        reproducer=data["reproducer"],
        aliases=tuple(data.get("aliases", ())),
        upstream_alternative=tuple(data.get("upstream_alternative", ())),
        signatures=tuple(data.get("signatures", ())),
        imported=data.get("imported", {}),
        counter_evidence=tuple(data.get("counter_evidence", ())),
    )


def _check_releases(values: list[str], where: str) -> None:
    for value in values:
        try:
            Release.parse(value)
        except Exception as exc:
            raise CatalogError(f"{where}: {value!r} is not a release") from exc


def _check_repo_path(path: str, where: str) -> None:
    """A path the probes read: relative, inside the checkout, in git's spelling."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or any(
            p in ("", ".", "..") for p in parts):
        raise CatalogError(f"{where}: {path!r} must be a path inside the repository, "
                           "relative, without `.`, `..` or empty parts")


def _probe_patterns(value: str | list[Any], where: str) -> tuple[re.Pattern[str], ...]:
    """A probe is one pattern or a non-empty list of them (any one matching counts)."""
    texts = [value] if isinstance(value, str) else value
    if not texts or not all(isinstance(t, str) and t for t in texts):
        raise CatalogError(f"{where}: must be a pattern or a non-empty list of patterns")
    try:
        return tuple(re.compile(t, re.MULTILINE) for t in texts)
    except re.error as exc:
        raise CatalogError(f"{where}: bad regular expression: {exc}") from exc


# An upstream test as reproducer: `class` is the upstream test class, `methods` the
# ones its fix added or changed (only those run), `upstream` the test files the
# sources dir holds as they are at each variant's release (with the module's test
# configuration files), `test_jars` the modules whose -tests jar it needs, `test_deps`
# the test-scope libraries its module's pom declares (group:artifact:version). `missing`
# says why an entry has no reproducer yet (verify is then inconclusive, never a pass).
REPRODUCER_SCHEMA: Schema = {
    "class": (str, True),
    "sources": (str, False),
    "ranges": (list, False),
    "needs_native": (bool, False),
    "methods": (list, False),
    "upstream": (list, False),
    "missing": (str, False),
    "test_jars": (list, False),
    "test_deps": (list, False),
}
REPRODUCER_RANGE_SCHEMA: Schema = {
    "releases": ((str, STRINGS), True),
    "sources": (str, False),
    "class": (str, False),
    "methods": (list, False),
    "missing": (str, False),  # no reproducer for these releases yet, and why
}


SIGNATURE_SCHEMA: Schema = {
    "id": (str, True),
    "pattern": (str, True),
    "strength": (str, True),
    "source": (str, True),
    "explains": (str, True),
    "see": (str, False),  # an upstream issue about this part of the bug, shown with `possible`
    "prose": (bool, False),  # words of a description; its groups are the phrases shown
}
STRENGTHS = ("strong", "weak", "context")
# [[counter_evidence]]: a benign cause that explains the same weak symptoms. When its
# pattern is seen, the weak signatures it `cancels` no longer make the fix possible;
# diagnose prints the cause and its answer instead.
COUNTER_EVIDENCE_SCHEMA: Schema = {
    "id": (str, True),
    "pattern": (str, True),
    "cancels": (STRINGS, True),
    "cause": (str, True),
    "answer": (str, True),
    "source": (str, True),
}


def _check_signatures(entries: list[Any], where: str) -> None:
    """[[signatures]]: how an operator recognises the bug in logs and jstacks.

    pattern is a Python regular expression searched in the whole text (MULTILINE),
    so a jstack frame followed by its lock line can be one pattern. A `strong`
    signature alone names the fix; `weak` ones (abnormal, but not this bug's alone)
    make it only possible; `context` ones (also seen on healthy clusters) only add
    evidence to a fix that something else pointed to."""
    seen = set()
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise CatalogError(f"{where} signature #{number} must be a table")
        check_schema(entry, SIGNATURE_SCHEMA, f"{where} signature #{number}")
        if entry["strength"] not in STRENGTHS:
            raise CatalogError(
                f"{where} signature {entry['id']}: strength must be strong/weak/context")
        if entry["id"] in seen:
            raise CatalogError(f"{where}: two signatures are called {entry['id']}")
        seen.add(entry["id"])
    # Patterns are compiled where they are used (diagnose) and by lint, not on
    # every load: 30-odd compiles are a tenth of what `hpatch status` takes.


def _check_counter_evidence(entries: list[Any], signatures: list[Any], where: str) -> None:
    weak = {s.get("id") for s in signatures if isinstance(s, dict) and s.get("strength") == "weak"}
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise CatalogError(f"{where} counter_evidence #{number} must be a table")
        check_schema(entry, COUNTER_EVIDENCE_SCHEMA, f"{where} counter_evidence #{number}")
        if entry["id"] in seen:
            raise CatalogError(f"{where}: two counter_evidence entries are called {entry['id']}")
        seen.add(entry["id"])
        unknown = [c for c in entry["cancels"] if c not in weak]
        if not entry["cancels"] or unknown:
            raise CatalogError(
                f"{where} counter_evidence {entry['id']}: `cancels` must name this fix's weak "
                f"signatures ({', '.join(unknown) or 'none given'} is not one)")


def signature_pattern(fix_id: str, entry: dict[str, Any]) -> re.Pattern[str]:
    """A [[signatures]] entry's compiled pattern; a bad one is a catalog error."""
    try:
        return re.compile(entry["pattern"], re.MULTILINE)
    except re.error as exc:
        raise CatalogError(f"{fix_id} signature {entry['id']}: bad pattern: {exc}") from exc


def _check_reproducer(data: dict[str, Any], where: str) -> None:
    check_schema(data, REPRODUCER_SCHEMA, f"{where} [reproducer]")
    _check_methods(data.get("methods", []), f"{where} [reproducer]")
    if not data["class"] and not data.get("missing"):
        raise CatalogError(f"{where} [reproducer]: `class` is empty; name the test class, or "
                           "say in `missing` why there is none yet")
    for number, entry in enumerate(data.get("ranges", []), 1):
        if not isinstance(entry, dict):
            raise CatalogError(f"{where} [reproducer] range #{number} must be a table")
        check_schema(entry, REPRODUCER_RANGE_SCHEMA, f"{where} [reproducer] range #{number}")
        if not entry.get("sources") and not entry.get("missing"):
            raise CatalogError(f"{where} [reproducer] range #{number}: name its `sources`, "
                               "or say in `missing` why these releases have none yet")
        _check_methods(entry.get("methods", []), f"{where} [reproducer] range #{number}")
        ReleaseRange.parse(entry["releases"])


def _check_methods(methods: list[Any], where: str) -> None:
    if not all(isinstance(m, str) and re.fullmatch(r"[A-Za-z_$][\w$]*", m) for m in methods):
        raise CatalogError(f"{where}: `methods` must be a list of Java method names")


def load_variants(directory: Path) -> tuple[Variant, ...]:
    path = directory / "variants.toml"
    if not path.is_file():
        raise CatalogError(f"{directory.name}: no variants.toml")
    entries = _read_toml(path).get("variant", [])
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{path}: needs at least one [[variant]]")
    variants = []
    for number, entry in enumerate(entries, 1):
        where = f"{path} variant #{number}"
        check_schema(entry, VARIANT_SCHEMA, where)
        variants.append(Variant(
            name=entry["name"],
            releases=ReleaseRange.parse(entry["releases"]),
            patch=_patch_path(directory, entry["patch"], where),
            made_for=entry.get("made_for", ""),
            refreshed=entry.get("refreshed", {}),
            imported=entry.get("imported", {}),
        ))
    return tuple(variants)


def _patch_path(directory: Path, name: str, where: str) -> Path:
    """A variant's patch: a file inside its own fix's folder, never another fix's."""
    parts = name.replace("\\", "/").split("/")
    path = directory / name
    inside = path.resolve().is_relative_to(directory.resolve())
    if not name or Path(name).is_absolute() or ".." in parts or not inside:
        raise CatalogError(f"{where}: patch {name!r} leaves the folder of {directory.name}; "
                           "a variant's patch lives in its own fix's folder")
    return path


def write_variants(directory: Path, variants: list[Variant]) -> None:
    """Write variants.toml with these variants, changing only the [[variant]] blocks
    that changed: a reviewer's comments and layout stay (refresh adds to the file)."""
    path = directory / "variants.toml"
    old = path.read_text(encoding="utf-8") if path.is_file() else _VARIANTS_HEADER
    text = _merged_variants(old, variants, directory)
    written = [(v["name"], ReleaseRange.parse(v["releases"]).as_list(), v["patch"])
               for v in tomllib.loads(text).get("variant", [])]
    wanted = [(v.name, v.releases.as_list(), v.patch.relative_to(directory).as_posix())
              for v in variants]
    if written != wanted:  # never write a file that says something else
        raise CatalogError(f"{path}: could not update it in place; edit it by hand")
    path.write_text(text, encoding="utf-8")


_VARIANTS_HEADER = (
    "# Which patch carries this fix to which releases. `hpatch refresh` and\n"
    "# `hpatch import` write entries here; each says how its patch was made\n"
    "# ([variant.refreshed]: offsets and fuzz; [variant.imported]: which upstream\n"
    "# commits went onto which tag, cleanly, with offsets or by a 3-way merge).\n")
_NAME_LINE = re.compile(r'^name\s*=\s*"((?:[^"\\]|\\.)*)"\s*(#.*)?$')


def _variant_blocks(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The lines before the first [[variant]], and each variant's lines by name (the
    comment lines right above a [[variant]] belong to it)."""
    lines = text.splitlines(keepends=True)
    heads = [i for i, line in enumerate(lines) if line.strip() == "[[variant]]"]
    starts: list[int] = []
    for head in heads:
        start = head
        # comments above the first [[variant]] are the file's own, not that variant's
        while starts and start > starts[-1] + 1 and lines[start - 1].startswith("#"):
            start -= 1
        starts.append(start)
    blocks: dict[str, list[str]] = {}
    for n, start in enumerate(starts):
        block = lines[start:starts[n + 1] if n + 1 < len(starts) else len(lines)]
        names = [m.group(1) for m in map(_NAME_LINE.match, (ln.strip() for ln in block)) if m]
        if names:
            blocks[names[0]] = block
    return lines[:starts[0]] if starts else lines, blocks


def _merged_variants(old: str, variants: list[Variant], directory: Path) -> str:
    preamble, blocks = _variant_blocks(old)
    known = {v.name: v for v in load_variants(directory)} if blocks else {}
    out = list(preamble)
    for variant in variants:
        block = blocks.get(variant.name)
        before = known.get(variant.name)
        if block is not None and before is not None and before == replace(
                variant, releases=before.releases):
            out += _with_releases(block, variant) if before.releases != variant.releases \
                else block
            continue
        if out and out[-1].strip():
            out.append("\n")
        out += [line + "\n" for line in _render_variant(variant, directory)]
    return "".join(out)


def _with_releases(block: list[str], variant: Variant) -> list[str]:
    """block with its `releases = ...` (one line or several) replaced."""
    out: list[str] = []
    skipping = False
    for line in block:
        if not skipping and line.strip().startswith("releases"):
            out.append(f"releases = {_releases_value(variant)}\n")
            skipping = "]" not in line.split("#", 1)[0]
            continue
        if skipping:
            skipping = "]" not in line.split("#", 1)[0]
            continue
        out.append(line)
    return out


def _releases_value(variant: Variant) -> str:
    return f"[{', '.join(_toml_str(r) for r in variant.releases.as_list())}]"


def _render_variant(variant: Variant, directory: Path) -> list[str]:
    lines = ["[[variant]]", f"name = {_toml_str(variant.name)}",
             f"releases = {_releases_value(variant)}",
             f"patch = {_toml_str(variant.patch.relative_to(directory).as_posix())}"]
    if variant.made_for:
        lines.append(f"made_for = {_toml_str(variant.made_for)}")
    for table, values in (("refreshed", variant.refreshed), ("imported", variant.imported)):
        if values:
            lines += ["", f"[variant.{table}]"]
            lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return lines


def _toml_str(text: str) -> str:
    # Basic strings: escape what TOML does not allow raw (imported text has newlines).
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped) + '"'


def toml_value(value: Any) -> str:
    """value as TOML (strings, numbers, booleans, lists, inline tables)."""
    return _toml_value(value)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise CatalogError(f"cannot write {value!r} to TOML")
