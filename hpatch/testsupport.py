"""What the verification of a fix reads from the fix's own Java files: the methods it
changes (an exception through one of them shows the bug) and the test hooks it adds
(members no production code calls, which upstream's test may need on stock too).

A new method can only be called from code the fix changed, so whether production
code calls it is read from the fix's patched files alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hpatch import javasrc, testmethods

CHANGED = "changed-methods.txt"
HOOKS = "stock-hooks.txt"
PLAIN = "stock-plain"


def _read_tree(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8", errors="surrogateescape")
            for p in sorted(root.rglob("*.java"))}


def _class_name(relative: str) -> str:
    return relative[:-len(".java")].replace("/", ".")


def changed_methods(stock: dict[str, str], patched: dict[str, str]) -> list[str]:
    """`package.TopLevelClass.method` for every method the fix changes (`<init>` for a
    constructor), on either side."""
    keys: set[str] = set()
    for relative in sorted(set(stock) | set(patched)):
        owner = _class_name(relative)
        for name in testmethods.changed_methods(stock.get(relative), patched.get(relative)):
            keys.add(f"{owner}.{'<init>' if name[:1].isupper() else name}")
    return sorted(keys)


@dataclass(frozen=True)
class Hooks:
    added: list[str]        # Class.method put on the stock side
    behaviour: list[str]    # new members production code calls: never on stock
    texts: dict[str, str]   # relative path -> stock text with the hooks


def _calls(name: str, text: str) -> int:
    return len(re.findall(rf"(?<![\w$.]){re.escape(name)}\s*\(|\.{re.escape(name)}\s*\(", text))


def find_hooks(stock: dict[str, str], patched: dict[str, str]) -> Hooks:
    code = {p: javasrc.strip(t) for p, t in patched.items()}
    candidates: list[tuple[str, str, testmethods.Method]] = []  # (path, label, method)
    behaviour: list[str] = []
    for relative in sorted(set(stock) & set(patched)):
        owner = _class_name(relative).rsplit(".", 1)[-1]
        known = {m.name for m in testmethods.all_methods(stock[relative])}
        for method in testmethods.methods(patched[relative]):
            if method.name in known or method.name[:1].isupper():
                continue  # not new, or a constructor (its callers cannot be told by name)
            calls = sum(_calls(method.name, text) for text in code.values())
            own = 1 + _calls(method.name, method.body)  # its declaration, and recursion
            label = f"{owner}.{method.name}"
            if calls > own:
                behaviour.append(label)
            else:
                candidates.append((relative, label, method))
    # A hook that calls a new member which is no hook would need the fix on stock.
    blocked = {b.rsplit(".", 1)[1] for b in behaviour}
    changed = True
    while changed:
        changed = False
        for entry in list(candidates):
            if any(_calls(name, entry[2].body) for name in blocked):
                candidates.remove(entry)
                blocked.add(entry[2].name)
                changed = True
    texts: dict[str, str] = {}
    for relative in sorted({c[0] for c in candidates}):
        lines = patched[relative].splitlines(keepends=True)
        inserted = ["".join(lines[m.first_line - 1:m.last_line])
                    for path, _label, m in candidates if path == relative]
        before = with_new_imports(stock[relative], patched[relative])
        end = before.rstrip().rfind("}")
        texts[relative] = (before[:end] + "\n  // test support the fix adds (hpatch)\n"
                           + "\n".join(inserted) + before[end:])
    return Hooks([c[1] for c in candidates], behaviour, texts)


_IMPORT = re.compile(r"^import\s+[\w.*\s]+;[ \t]*$", re.MULTILINE)


def with_new_imports(before: str, after: str) -> str:
    """before with the imports after adds (a hook's annotation, its types): an import
    changes no behaviour."""
    have = set(_IMPORT.findall(before))
    new = [i for i in _IMPORT.findall(after) if i not in have]
    if not new:
        return before
    last = list(_IMPORT.finditer(before))
    if last:
        at = last[-1].end()
    else:
        package = re.search(r"^package\s+[\w.]+;[ \t]*$", before, re.MULTILINE)
        at = package.end() if package else 0
    return before[:at] + "\n" + "\n".join(new) + before[at:]


def prepare_work(work: Path) -> Hooks:
    """In a verification's work directory: write the changed methods, and put the fix's
    test hooks on the stock side (the plain stock sources kept in stock-plain/, which
    the script falls back to when stock does not compile with them)."""
    stock = _read_tree(work / "src" / "stock")
    patched = _read_tree(work / "src" / "patched")
    (work / CHANGED).write_text("".join(f"{k}\n" for k in changed_methods(stock, patched)))
    hooks = find_hooks(stock, patched)
    if hooks.texts:
        plain = work / "src" / PLAIN
        for relative, text in hooks.texts.items():
            original = work / "src" / "stock" / relative
            (plain / relative).parent.mkdir(parents=True, exist_ok=True)
            (plain / relative).write_text(stock[relative], encoding="utf-8",
                                          errors="surrogateescape")
            original.write_text(text, encoding="utf-8", errors="surrogateescape")
        (work / HOOKS).write_text("".join(f"{h}\n" for h in hooks.added))
    return hooks


def read_changed(work: Path) -> list[str]:
    path = work / CHANGED
    return [ln for ln in path.read_text().splitlines() if ln] if path.is_file() else []


def test_bases(work: Path, test_class: str) -> list[str]:
    """The test class's superclasses among the reproducer's sources (a base test that
    runs through a subclass), nearest first."""
    sources = _read_tree(work / "src" / "repro")
    by_simple = {_class_name(r).rsplit(".", 1)[-1]: _class_name(r) for r in sources}
    found: list[str] = []
    current = test_class
    while True:
        text = sources.get(current.replace(".", "/") + ".java", "")
        simple = current.rsplit(".", 1)[-1]
        match = re.search(rf"class\s+{re.escape(simple)}\b[^{{]*?\bextends\s+([\w.]+)",
                          javasrc.strip(text))
        parent = by_simple.get(match.group(1).rsplit(".", 1)[-1]) if match else None
        if parent is None or parent in found or parent == test_class:
            return found
        found.append(parent)
        current = parent
