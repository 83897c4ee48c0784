"""What the verification of a fix reads from the fix's own Java files: the methods it
changes (an exception through one of them shows the bug) and the test support it adds,
which upstream's test may need on stock too:

- test hooks: members no production code calls;
- injection points (injection.py): a no-op method of a fault injector and
  the lines the fix adds to call it, each a bare call or an `if` that only the
  injector can open. Production code runs the default injector, which does nothing,
  so stock behaviour stays stock; a test that installs its own injector sets up the
  incident's state (a stalled node) through the release's real code path.

A new method can only be called from code the fix changed, so whether production
code calls it is read from the fix's patched files alone."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from hpatch import injection, javasrc, testmethods

CHANGED = "changed-methods.txt"
HOOKS = "stock-hooks.txt"
SUPPORT_ONLY = "support-only.txt"  # the fix's production change is its hooks alone
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
    # injection points among added: "Class.method (called at File.java:line, ...)"
    injections: list[str] = field(default_factory=list)
    # declarations whose visibility the fix widens, widened on stock with stock's bodies:
    # "Class.method (private -> package)"; a test overrides or calls them
    widened: list[str] = field(default_factory=list)
    # all the fix changes in production code is the members in added: stock with them
    # is the fix's code (HADOOP-12682 adds UserGroupInformation.logoutUserFromKeytab for
    # its tests, and changes nothing else), so no test can tell the sides apart
    support_only: bool = False


_calls = injection.calls


def find_hooks(stock: dict[str, str], patched: dict[str, str]) -> Hooks:
    code = {p: javasrc.strip(t) for p, t in patched.items()}
    candidates: list[tuple[str, str, testmethods.Method]] = []  # (path, label, method)
    behaviour: list[str] = []
    sites: dict[str, list[injection.Site]] = {}  # label -> where the fix calls it
    for relative in sorted(set(stock) & set(patched)):
        owner = injection.owner_of(relative)
        known = {m.name for m in testmethods.all_methods(stock[relative])}
        for method in testmethods.methods(patched[relative]):
            if method.name == owner:
                arity = _new_constructor(owner, method, relative, stock, code)
                if arity is not None:
                    candidates.append((relative, f"{owner}.<init>/{arity}", method))
                continue
            if method.name in known or method.name[:1].isupper():
                continue  # not new, or a constructor (its callers cannot be told by name)
            if _is_static(code[relative], method):
                # Called from elsewhere as Owner.name(...) (or through a static import):
                # a `conf.set(...)` elsewhere is no call of a new static set().
                calls = sum(_calls(method.name, text) if path == relative
                            else _static_calls(owner, method.name, text)
                            for path, text in code.items())
            else:
                calls = sum(_calls(method.name, text) for text in code.values())
            own = 1 + _calls(method.name, method.body)  # its declaration, and recursion
            label = f"{owner}.{method.name}"
            if calls <= own:
                candidates.append((relative, label, method))
                continue
            found = injection.sites_of(relative, method, stock, patched, code)
            if found is not None and len(found) == calls - own:
                sites[label] = found
                candidates.append((relative, label, method))
            else:
                behaviour.append(label)
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
    kept = {c[1] for c in candidates}
    calling: dict[str, list[injection.Site]] = {}
    for label in sorted(kept & set(sites)):
        for site in sites[label]:
            calling.setdefault(site.path, []).append(site)
    widened: dict[str, list[tuple[int, str]]] = {}  # path -> (stock line, new line)
    widened_labels: list[str] = []
    for relative in sorted(set(stock) & set(patched)):
        for at, line, label in _widened(stock[relative], patched[relative]):
            widened.setdefault(relative, []).append((at, line))
            widened_labels.append(f"{injection.owner_of(relative)}.{label}")
    texts: dict[str, str] = {}
    for relative in sorted({c[0] for c in candidates} | set(calling) | set(widened)):
        lines = stock[relative].splitlines(keepends=True)
        for at, line in widened.get(relative, []):
            lines[at] = line
        before = injection.with_sites("".join(lines), calling.get(relative, []))
        inserted = ["".join(patched[relative].splitlines(keepends=True)
                            [m.first_line - 1:m.last_line])
                    for path, _label, m in candidates if path == relative]
        before = with_new_imports(before, patched[relative])
        if inserted:
            end = before.rstrip().rfind("}")
            before = (before[:end] + "\n  // test support the fix adds (hpatch)\n"
                      + "\n".join(inserted) + before[end:])
        texts[relative] = before
    injections = [f"{label} (called at {', '.join(injection.where(s) for s in sites[label])})"
                  for label in sorted(kept & set(sites))]
    only = (bool(candidates) and not injections and not widened and set(stock) == set(patched)
            and all(_same_code(stock[r], _without(patched[r], [c[2] for c in candidates
                                                                if c[0] == r]))
                    for r in patched))
    return Hooks([c[1] for c in candidates], behaviour, texts, injections, widened_labels,
                 only)


def _without(text: str, members: list[testmethods.Method]) -> str:
    lines = text.splitlines(keepends=True)
    for m in sorted(members, key=lambda m: m.first_line, reverse=True):
        del lines[m.first_line - 1:m.last_line]
    return "".join(lines)


_IMPORTS = re.compile(r"^\s*import\s[^;]*;", re.MULTILINE)


def _same_code(one: str, other: str) -> bool:
    """The same code but for comments, imports and layout (literals count)."""
    def code(text: str) -> str:
        return re.sub(r"\s+", "", _IMPORTS.sub("", javasrc.without_comments(text)))
    return code(one) == code(other)


_VISIBILITY = {"private": 0, "": 1, "protected": 2, "public": 3}
_MODIFIER = re.compile(r"\b(public|protected|private)\b")


def _header(code: str, method: testmethods.Method) -> tuple[int, str]:
    """The line (0-based) of a method's name in its declaration, and the declaration up
    to its body, in code (comments and literals blanked)."""
    lines = code.splitlines(keepends=True)
    header = "".join(lines[method.first_line - 1:method.last_line]).split("{", 1)[0]
    name_at = re.search(rf"(?<![\w$.]){re.escape(method.name)}\s*\(", header)
    offset = header.count("\n", 0, name_at.start()) if name_at else 0
    return method.first_line - 1 + offset, header


def _declarations(text: str, code: str) -> dict[tuple[str, str], tuple[int, str]]:
    """Methods and constructors by (name, parameters as written): the line (0-based) of
    the name and the declaration up to its body; overloads written alike are left out."""
    found: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for m in testmethods.all_methods(text):
        at, header = _header(code, m)
        params = " ".join(header.split("(", 1)[-1].split())
        found.setdefault((m.name, params), []).append((at, header))
    return {key: places[0] for key, places in found.items() if len(places) == 1}


def _modifier(header: str) -> str:
    found = _MODIFIER.search(header)
    return found.group(1) if found else ""


def _widen_line(text: str, code: str, at: int, was: str, now: str) -> str | None:
    """Line `at` of text with its access modifier `was` made `now`; None when the
    modifier sits on another line than the name, or an annotation opens the line."""
    line = text.splitlines(keepends=True)[at]
    if was:
        keyword = _MODIFIER.search(code.splitlines(keepends=True)[at])
        if keyword is None:
            return None  # the modifier sits on another line than the name: left alone
        return (line[:keyword.start()] + now + line[keyword.end():] if now
                else line[:keyword.start()] + line[keyword.end():].lstrip(" "))
    if line.lstrip().startswith("@"):
        return None
    indent = len(line) - len(line.lstrip())
    return line[:indent] + f"{now} " + line[indent:]


def _widened(stock: str, patched: str) -> list[tuple[int, str, str]]:
    """The methods and constructors whose visibility the fix widens (private -> package,
    as YARN-4365 does for FileSystemNodeLabelsStore.setFileSystem so that its test can
    override it): (stock line, that line widened, `name (from -> to)`). A declaration
    is paired by its name and parameters; stock keeps its own body."""
    stock_code = javasrc.strip(stock)
    before = _declarations(stock, stock_code)
    found: list[tuple[int, str, str]] = []
    for key, (_at, new_header) in _declarations(patched, javasrc.strip(patched)).items():
        if key not in before:
            continue
        at, old_header = before[key]
        was, now = _modifier(old_header), _modifier(new_header)
        if _VISIBILITY[now] <= _VISIBILITY[was]:
            continue
        line = _widen_line(stock, stock_code, at, was, now)
        if line is not None:
            found.append((at, line, f"{key[0]} ({was or 'package'} -> {now or 'package'})"))
    return sorted(found)


def widened_upstream(release: str, later: str) -> list[tuple[str, str, str, str]]:
    """What an earlier upstream change widened between a release's file and a later
    one: (name, parameters, from, to) for each method or constructor whose access the
    later file widens (HDFS-9198 made DatanodeStorageInfo.getStorageID() public; the
    2.7 test of HDFS-9958 calls it from another package)."""
    before = _declarations(release, javasrc.strip(release))
    found = []
    for key, (_at, header) in _declarations(later, javasrc.strip(later)).items():
        if key in before:
            was, now = _modifier(before[key][1]), _modifier(header)
            if _VISIBILITY[now] > _VISIBILITY[was]:
                found.append((key[0], key[1], was or "package", now or "package"))
    return sorted(found)


def open_to(text: str, name: str, params: str, now: str) -> str | None:
    """text with the declaration name(params) widened to `now` (public, protected,
    package); None when the file has no such declaration or it is as wide already, or
    its modifier cannot be told on the name's line. The body is the file's own."""
    code = javasrc.strip(text)
    place = _declarations(text, code).get((name, params))
    wanted = "" if now == "package" else now
    if place is None or _VISIBILITY[wanted] <= _VISIBILITY[_modifier(place[1])]:
        return None
    line = _widen_line(text, code, place[0], _modifier(place[1]), wanted)
    if line is None:
        return None
    lines = text.splitlines(keepends=True)
    lines[place[0]] = line
    return "".join(lines)


def _arity(header: str) -> int | None:
    """The number of parameters in a declaration's header, None for varargs."""
    inside = header.split("(", 1)[-1].rsplit(")", 1)[0]
    if "..." in inside:
        return None
    depth, count = 0, 0
    for char in inside:
        depth += {"<": 1, ">": -1}.get(char, 0)
        count += char == "," and depth == 0
    return count + 1 if inside.strip() else 0


_NEW = r"(?<![\w$.])new\s+{}\s*(?:<[^>]*>)?\s*\("


def _new_constructor(owner: str, method: testmethods.Method, relative: str,
                     stock: dict[str, str], code: dict[str, str]) -> int | None:
    """The arity of a constructor the fix adds that no production code calls, else None.
    Its arity must be one no constructor at stock has (so no existing `new` can bind to
    it), and the fix's files must make, delegate and inherit as stock does: the same
    `new Owner(` lines, and the same `this(`/`super(` lines."""
    _at, header = _header(code[relative], method)
    arity = _arity(header)
    stock_code = {p: javasrc.strip(t) for p, t in stock.items()}
    before = [_arity(_header(stock_code[relative], m)[1])
              for m in testmethods.methods(stock[relative]) if m.name == owner]
    if arity is None or arity in before or None in before:
        return None
    calls = re.compile(_NEW.format(re.escape(owner)) + r"|(?<![\w$.])(?:this|super)\s*\(")

    def lines(text: str) -> list[str]:
        return sorted("".join(ln.split()) for ln in text.splitlines() if calls.search(ln))

    for path, text in code.items():
        found = lines(text)
        if path == relative:
            for line in lines(method.body):  # what the new constructor itself does
                found.remove(line)
        if found != lines(stock_code.get(path, "")):
            return None
    return arity


def _is_static(code: str, method: testmethods.Method) -> bool:
    lines = code.splitlines()[method.first_line - 1:method.last_line]
    header = "\n".join(lines).split("{", 1)[0]
    return bool(re.search(r"\bstatic\b", header))


def _static_calls(owner: str, name: str, text: str) -> int:
    qualified = len(re.findall(rf"(?<![\w$]){re.escape(owner)}\s*\.\s*{re.escape(name)}\s*\(",
                               text))
    imported = re.search(rf"^import\s+static\s+[\w.]*\b{re.escape(owner)}\.(?:\*|"
                         rf"{re.escape(name)})\s*;", text, re.MULTILINE)
    return _calls(name, text) if imported else qualified


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
    if hooks.support_only:
        (work / SUPPORT_ONLY).write_text("".join(f"{h}\n" for h in hooks.added))
    return hooks


def open_access(work: Path, accesses: list[dict[str, str]],
                others: tuple[dict[str, str], dict[str, str]]) -> list[str]:
    """Open on both sides the methods an earlier upstream change widened that the test
    calls (the entry's `test_access`): each side's file as it is in the work directory
    (the fix's own) or else as the checkout has it (others: stock's, patched's), with
    only the declaration's access changed. Returns what was opened, with its commit."""
    opened: list[str] = []
    for access in accesses:
        relative = _below_java(access["path"])
        label = (f"{injection.owner_of(relative)}.{access['method']} ({access['from']} -> "
                 f"{access['to']}, as {access.get('commit') or 'upstream'} has it)")
        texts: dict[str, str] = {}
        for side, other in zip(("stock", "patched"), others, strict=True):
            target = work / "src" / side / relative
            text = target.read_text(encoding="utf-8", errors="surrogateescape") if (
                target.is_file()) else other.get(relative)
            if text is None:
                break
            wider = open_to(text, access["method"], access["params"], access["to"])
            if wider is None:
                break
            texts[side] = wider
        if len(texts) != 2:
            continue  # a side lacks the declaration, or has it as wide: left as it is
        plain = work / "src" / PLAIN / relative  # stock without the fix's hooks
        if plain.is_file():
            text = plain.read_text(encoding="utf-8", errors="surrogateescape")
            texts[PLAIN] = open_to(text, access["method"], access["params"],
                                   access["to"]) or text
        for side, text in texts.items():
            target = work / "src" / side / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", errors="surrogateescape")
        opened.append(label)
    return opened


def _below_java(path: str) -> str:
    marker = "/src/main/java/"
    return path.split(marker, 1)[1] if marker in path else path


_ABSTRACT = re.compile(r"(?<![\w$.])(?!(?:return|new|throw|else)\b)[\w$<>\[\],.?]+\s+"
                       r"(?P<name>[a-z_$][\w$]*)\s*\([^;{}()]*\)\s*(?:throws\s+[\w$.,\s]+)?;")
_OVERRIDE = re.compile(r"@(?:java\.lang\.)?Override\b")


def _declared(text: str) -> set[str]:
    """The names of the methods a file declares, with a body or without (an interface's)."""
    return ({m.name for m in testmethods.all_methods(text)}
            | {m.group("name") for m in _ABSTRACT.finditer(javasrc.strip(text))})


def loosen_overrides(work: Path) -> list[str]:
    """Leave `@Override` off the empty methods of the reproducer's sources that implement
    a method the fix adds (MockNodes's `resetLastNodeHeartBeatResponse() {}` for
    YARN-3896's new RMNode member), so that the test compiles against stock. The
    annotation is checked by javac and kept in no class file, and an empty method does
    nothing whether it is called or not: both sides run the same test classes.
    Returns `Class.method` for each."""
    stock = _read_tree(work / "src" / "stock")
    patched = _read_tree(work / "src" / "patched")
    added: set[str] = set()
    for relative, text in patched.items():
        added |= _declared(text) - _declared(stock.get(relative, ""))
    if not added:
        return []
    loosened: list[str] = []
    for path in sorted((work / "src" / "repro").rglob("*.java")):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        lines = text.splitlines(keepends=True)
        touched = False
        for method in testmethods.all_methods(text):
            if method.name not in added or method.body.strip():
                continue
            for at in range(method.first_line - 1, method.last_line):
                code = javasrc.strip(lines[at])
                found = _OVERRIDE.search(code)
                if found:
                    lines[at] = lines[at][:found.start()] + lines[at][found.end():]
                    loosened.append(f"{path.stem}.{method.name}")
                    touched = True
                    break
        if touched:
            path.write_text("".join(lines), encoding="utf-8", errors="surrogateescape")
    return loosened


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
