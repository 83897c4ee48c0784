from __future__ import annotations

import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # re's own parser
from pathlib import Path
from typing import Any

from hpatch import catalog as catalog_mod
from hpatch import output, patching
from hpatch.catalog import Fix
from hpatch.errors import HpatchError
from hpatch.sources import MODULES


def lint(root: Path) -> int:
    """Check every entry against the schema and the rules; report all problems."""
    problems: list[tuple[str, str]] = []
    fixes: list[Fix] = []
    entries = catalog_mod.entry_dirs(root) if root.is_dir() else []
    if not entries:
        problems.append((str(root), "no catalog entries"))
    for entry in entries:
        damaged = catalog_mod.fix_toml_problem(entry)
        if damaged is not None:
            problems.append((entry.name, f"fix.toml {damaged}"))
            continue
        if not (entry / "fix.toml").is_file():
            problems.append((entry.name, "no fix.toml"))
            continue
        try:
            fix = catalog_mod.load_fix(entry)
        except HpatchError as exc:
            problems.append((entry.name, str(exc)))
            continue
        fixes.append(fix)
        problems.extend((fix.id, text) for text in check_fix(fix))
    problems.extend(("catalog", text) for text in _check_unique(fixes))
    if root.is_dir():
        names = [e.name for e in entries if (e / "fix.toml").is_file()]
        problems.extend(("catalog", text) for text in catalog_mod.order_problems(root, names))
    try:
        catalog_mod.load(root)
    except HpatchError as exc:
        problems.append(("catalog", str(exc)))
    for fix in fixes:
        for text in warnings_for(fix):
            output.note(f"warning: {fix.id}: {text}")
    if problems:
        output.table(problems, ["entry", "problem"])
        output.error(f"{len(problems)} problem(s) in {root}")
        return 1
    variants = sum(len(f.variants) for f in fixes)
    output.line(f"catalog OK: {len(fixes)} fixes, {variants} variants ({root})")
    return 0


def check_fix(fix: Fix) -> list[str]:
    found = []
    for i, a in enumerate(fix.variants):
        for b in fix.variants[i + 1:]:
            if a.releases.overlaps(b.releases):
                found.append(f"variants {a.name} ({a.releases}) and {b.name} ({b.releases}) "
                             "overlap")
    names = [v.name for v in fix.variants]
    if len(set(names)) != len(names):
        found.append("two variants share a name")
    for variant in fix.variants:
        try:
            parsed = patching.parse(variant.patch)
        except HpatchError as exc:
            found.append(str(exc))
            continue
        text = variant.patch.read_text(encoding="utf-8")
        if not text.startswith("From ") or "\nSubject: " not in text:
            found.append(f"{variant.patch.name} is not in `git format-patch` form")
        outside = [p for p in parsed.paths if not _known_prefix(p)]
        if outside:
            found.append(f"{variant.patch.name} touches paths outside Hadoop's modules: "
                         f"{', '.join(outside)}")
    for sig in fix.signatures:
        try:
            catalog_mod.signature_pattern(fix.id, sig)
        except HpatchError as exc:
            found.append(str(exc))
            continue
        if unbounded_repeats(str(sig["pattern"])):
            found.append(f"signature {sig['id']}: a repeat without an upper bound (`*`, `+`, "
                         "`{n,}`); bound it, e.g. `{0,400}`, so that diagnose stays linear "
                         "on long lines")
    for entry in fix.counter_evidence:
        try:
            catalog_mod.signature_pattern(fix.id, entry)
        except HpatchError as exc:
            found.append(str(exc).replace(" signature ", " counter_evidence ", 1))
            continue
        if unbounded_repeats(str(entry["pattern"])):
            found.append(f"counter_evidence {entry['id']}: a repeat without an upper bound "
                         "(`*`, `+`, `{n,}`); bound it, e.g. `{0,400}`")
    if fix.reproducer_missing:
        return found  # said so in the entry: verify is inconclusive until one is written
    for test_class, repro_dir in fix.reproducer_sets():
        java = list(repro_dir.rglob("*.java")) if repro_dir.is_dir() else []
        where = repro_dir.relative_to(fix.directory) if repro_dir.is_relative_to(
            fix.directory) else repro_dir
        if not java:
            found.append(f"no reproducer: {where}/ has no .java file")
        elif not any(p.stem == test_class.rsplit(".", 1)[-1] for p in java):
            found.append(f"reproducer class {test_class} has no source file in {where}/")
    return found


_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT}


def unbounded_repeats(pattern: str) -> int:
    """How many repeats in pattern have no upper bound. Such a repeat, tried at every
    position of a long line, makes matching quadratic in the line's length."""
    return _count_unbounded(sre_parse.parse(pattern, re.MULTILINE))


def _count_unbounded(node: Any) -> int:
    if isinstance(node, sre_parse.SubPattern):
        return sum(_count_unbounded(item) for item in node)
    if isinstance(node, (list, tuple)):
        if len(node) == 2 and node[0] in _REPEATS:
            _low, high, inner = node[1]
            return int(high == sre_parse.MAXREPEAT) + _count_unbounded(inner)
        return sum(_count_unbounded(item) for item in node)
    return 0


def warnings_for(fix: Fix) -> list[str]:
    """What is allowed but likely a mistake: a bug fix probing code that release
    sources (`--release`) never carry, so there its state would read not-affected."""
    if fix.kind != "bug":
        return []  # build fixes probe native code, which no -sources jar has
    return [f"[detect] path {path} is in none of the modules release sources carry "
            f"(hpatch/sources.py MODULES)" for path in fix.detect.paths
            if not any(path.startswith(m.path + "/") for m in MODULES)]


def _known_prefix(path: str) -> bool:
    return path.split("/", 1)[0].startswith("hadoop-") or path in ("pom.xml", "BUILDING.txt")


def _check_unique(fixes: list[Fix]) -> list[str]:
    seen: dict[str, str] = {}
    found = []
    for fix in fixes:
        for name in (fix.id, *fix.aliases):
            key = name.upper()
            if key in seen and seen[key] != fix.id:
                found.append(f"{name} names both {seen[key]} and {fix.id}")
            seen[key] = fix.id
    return found
