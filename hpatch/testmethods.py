"""Which test methods a change to a JUnit test file added or modified.

The method declarations are read from the file's code (comments and literals
blanked, so braces in them do not count) at class-body depth: a method is its
annotations, header and body, from the end of the member before it to its
closing brace. A changed line inside a test method selects it; a changed line
inside a helper selects the test methods that call the helper.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from hpatch import javasrc

# name(params) [throws ...] {  -- params hold no braces, and parentheses one deep at most
# (an annotation's arguments), so that `@Test(timeout = 1)` is never taken for a header.
_DECL = re.compile(r"(?<![@\w$.])(?P<name>[A-Za-z_$][\w$]*)\s*"
                   r"\((?:[^;{}()]|\([^;{}()]*\))*\)\s*(?:throws\s+[\w$.,\s]+)?\{")
_NOT_METHODS = {"if", "for", "while", "switch", "catch", "synchronized", "return", "new",
                "try", "do", "else", "super", "this"}


@dataclass(frozen=True)
class Method:
    name: str
    first_line: int  # 1-based, inclusive; the annotations above the header count
    last_line: int
    is_test: bool
    body: str


def methods(source: str) -> list[Method]:
    """The methods declared directly in the file's top-level class body."""
    code = javasrc.strip(source)
    depth = _depths(code)
    found = []
    for match in _DECL.finditer(code):
        name = match.group("name")
        if name in _NOT_METHODS or depth[match.start()] != 1:
            continue
        start = _member_start(code, match.start())
        header = code[start:match.start()]
        if re.search(r"\bnew\s*$", header):
            continue  # an anonymous class in a field's initializer
        end = _closing(code, match.end() - 1)
        first = code.count("\n", 0, start + len(header) - len(header.lstrip())) + 1
        found.append(Method(name, first, code.count("\n", 0, end) + 1,
                            _is_test(name, header, match.group(0)), code[match.end():end]))
    if _annotated(code):
        # JUnit 4: only @Test methods run, whatever they are called.
        found = [Method(m.name, m.first_line, m.last_line,
                        m.is_test and _has_test_annotation(code, m), m.body) for m in found]
    return found


def _is_test(name: str, header: str, declaration: str) -> bool:
    if re.search(r"@(?:org\.junit\.)?Test\b", header):
        return True
    # JUnit 3: a public, argument-less testX() in a TestCase.
    return name.startswith("test") and re.search(r"\bpublic\b", header) is not None and \
        re.search(r"\(\s*\)", declaration) is not None


def _annotated(code: str) -> bool:
    return re.search(r"@(?:org\.junit\.)?Test\b", code) is not None


def _has_test_annotation(code: str, method: Method) -> bool:
    lines = code.splitlines()[method.first_line - 1:method.last_line]
    head = "\n".join(lines).split("{", 1)[0]
    return re.search(r"@(?:org\.junit\.)?Test\b", head) is not None


def _depths(code: str) -> list[int]:
    """Brace depth before each character."""
    out = []
    level = 0
    for char in code:
        out.append(level)
        if char == "{":
            level += 1
        elif char == "}":
            level -= 1
    return out


def _member_start(code: str, at: int) -> int:
    """Just after the `;`, `{` or `}` that ends whatever comes before this member."""
    return max(code.rfind(c, 0, at) for c in ";{}") + 1


def _closing(code: str, opening: int) -> int:
    level = 0
    for i in range(opening, len(code)):
        if code[i] == "{":
            level += 1
        elif code[i] == "}":
            level -= 1
            if level == 0:
                return i
    return len(code) - 1


def changed_lines(before: str | None, after: str) -> set[int]:
    """1-based lines of after that differ from before (a deletion marks the line after it)."""
    old = (before or "").splitlines()
    new = after.splitlines()
    lines: set[int] = set()
    for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, old, new,
                                                           autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        lines.update(range(j1 + 1, max(j2, j1 + 1) + 1))
    return lines


_SHIFTABLE = re.compile(r"^\s*(?:[{}]|\}\)?;|@[\w.]+(?:\([^()]*\))?)?\s*$")


def changed_tests(before: str | None, after: str) -> list[str]:
    """The test methods of after that the change from before added or modified, in file
    order; a modified helper brings in the test methods that call it."""
    found = methods(after)
    text = after.splitlines()
    # A method inserted next to another often diffs as starting at the other's closing
    # brace or its `@Test`: braces, blanks and annotations alone say nothing about which
    # method changed.
    lines = {n for n in changed_lines(before, after) if not _SHIFTABLE.match(text[n - 1])}
    touched = [m for m in found if any(m.first_line <= n <= m.last_line for n in lines)]
    tests = [m.name for m in touched if m.is_test]
    helpers = {m.name for m in touched if not m.is_test}
    outside = [n for n in lines if not any(m.first_line <= n <= m.last_line for m in found)]
    fields = _fields_at(after, outside)
    for method in found:
        # A changed field (test data, a constant) brings in the methods that use it.
        if any(re.search(rf"(?<![\w$]){re.escape(f)}(?![\w$])", method.body) for f in fields):
            if method.is_test:
                tests.append(method.name)
            else:
                helpers.add(method.name)
    for method in found:
        if method.is_test and method.name not in tests and any(
                re.search(rf"\b{re.escape(h)}\s*\(", method.body) for h in helpers):
            tests.append(method.name)
    order = [m.name for m in found]
    return sorted(dict.fromkeys(tests), key=order.index)


_FIELD = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s*)*(?:(?:private|public|protected|static|final|"
                    r"transient|volatile)\s+)+[\w$.<>\[\], ?]+?\s+([A-Za-z_$][\w$]*)\s*(?:=|;)")


def line_depths(code: str) -> list[int]:
    """The brace depth at the start of each line of code (1: a class body's members)."""
    depth = _depths(code)
    starts = [0] + [i + 1 for i, c in enumerate(code) if c == "\n"]
    return [depth[s] if s < len(depth) else 0 for s in starts[:len(code.splitlines())]]


def field_declaration(line: str) -> str | None:
    """The field a (comment-stripped) line declares, if it starts a field declaration."""
    match = _FIELD.match(line)
    return match.group(1) if match else None


def _fields_at(source: str, lines: list[int]) -> set[str]:
    """The fields whose declarations hold these 1-based lines (the declaration is the
    nearest line above that declares one; an initializer may span lines)."""
    text = javasrc.strip(source).splitlines()
    names: set[str] = set()
    for number in lines:
        for at in range(min(number, len(text)) - 1, max(number - 40, 0) - 1, -1):
            match = _FIELD.match(text[at])
            if match:
                names.add(match.group(1))
                break
            if at < number - 1 and text[at].rstrip().endswith((";", "}")):
                break  # the line above ends another member: this one declares nothing
    return names


def is_test_class(source: str) -> bool:
    """A JUnit test class: a @Test method, or a JUnit 3 TestCase's public testX()."""
    return any(m.is_test for m in methods(source))


def all_methods(source: str) -> list[Method]:
    """Every method and constructor in the file, at any depth (inner and anonymous
    classes too); is_test is not decided here (False)."""
    code = javasrc.strip(source)
    depth = _depths(code)
    found = []
    for match in _DECL.finditer(code):
        name = match.group("name")
        if name in _NOT_METHODS or depth[match.start()] < 1:
            continue
        start = _member_start(code, match.start())
        header = code[start:match.start()]
        if re.search(r"\bnew\s*$", header) or re.search(r"[=(,]\s*$", header):
            continue  # `new X(...) {` or a call's argument list, not a declaration
        end = _closing(code, match.end() - 1)
        first = code.count("\n", 0, start + len(header) - len(header.lstrip())) + 1
        found.append(Method(name, first, code.count("\n", 0, end) + 1, False,
                            code[match.end():end]))
    return found


def changed_methods(before: str | None, after: str | None) -> set[str]:
    """The names of the methods a change touches, on either side: the innermost method
    holding each changed line of after, and of before (the code stock runs)."""
    names: set[str] = set()
    for old, new in ((before, after), (after, before)):
        if new is None:
            continue
        found = all_methods(new)
        for line in changed_lines(old, new):
            holding = [m for m in found if m.first_line <= line <= m.last_line]
            if holding:
                names.add(min(holding, key=lambda m: m.last_line - m.first_line).name)
    return names
