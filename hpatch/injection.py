"""Injection points: a no-op method a fix adds to a fault injector
(`DataNodeFaultInjector.dropHeartbeatPacket()`), and the lines it adds to call it,
each a bare call through the injector's own instance or an `if` that only the
injector can open. Production code runs the default injector, which does nothing,
so these lines change nothing stock does; a test that installs its own injector
sets up the incident's state (a stalled node) through the release's real code
path. Read from the fix's own Java files, as testsupport reads its hooks."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from hpatch import testmethods


def calls(name: str, text: str) -> int:
    """How often text calls a method of that name (a declaration counts too)."""
    return len(re.findall(rf"(?<![\w$.]){re.escape(name)}\s*\(|\.{re.escape(name)}\s*\(", text))


def owner_of(relative: str) -> str:
    """`p/q/DataNodeFaultInjector.java` -> `DataNodeFaultInjector`."""
    return relative[:-len(".java")].rsplit("/", 1)[-1]


def where(site: Site) -> str:
    return f"{site.path.rsplit('/', 1)[-1]}:{site.line}"


@dataclass(frozen=True)
class Site:
    path: str         # the file the fix adds the call to
    at: int           # the stock line (0-based) the added lines go before
    lines: list[str]  # the added lines, as the fix has them
    line: int         # the call's line in the patched file (1-based), for the record


_NO_OP = re.compile(r"^\s*(?:return\s+false\s*;)?\s*$")
_ARGS = r"[\w$.,\s\"']*"


def sites_of(home: str, method: testmethods.Method, stock: dict[str, str],
             patched: dict[str, str], code: dict[str, str]) -> list[Site] | None:
    """Where the fix adds calls of method, when method is an injection point: a new
    no-op member of a fault injector (`void m() {}`, `boolean m() { return false; }`),
    each call added on lines of their own through the injector's instance
    (`Owner.get().m(x)`, its arguments names and literals), as a bare call statement or
    as an `if` whose other conditions call nothing (with the default injector it is
    never entered). None when it is not one."""
    owner = owner_of(home)
    if not owner.endswith("Injector") or not _NO_OP.match(method.body):
        return None
    boolean = "return" in method.body
    name = re.escape(method.name)
    # through the injector's own instance: Owner.get().m(...) or Owner.INSTANCE.m(...),
    # nothing else evaluated on the way
    call = rf"(?:[\w$]+\.)*{re.escape(owner)}\.[\w$]+(?:\(\))?\.{name}\({_ARGS}\)"
    bare = re.compile(rf"^{call};$")
    found: list[Site] = []
    for relative, text in code.items():
        if not calls(method.name, text) or relative not in stock:
            continue
        before = stock[relative].splitlines(keepends=True)
        after = patched[relative].splitlines(keepends=True)
        after_code = text.splitlines(keepends=True)
        if relative == home:  # its own declaration is no call
            for at in range(method.first_line - 1, method.last_line):
                after_code[at] = "\n"
        matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            block_code = "".join(after_code[j1:j2])
            if tag not in ("insert", "replace") or not calls(method.name, block_code):
                continue
            placed = _statements_calling((i1, i2), j1, j2, after, after_code, method.name,
                                         bare, call if boolean else None)
            if placed is None:
                return None
            found.extend(Site(relative, at, after[first:end], line)
                         for at, first, end, line in placed)
    return found


def _statements_calling(stock_range: tuple[int, int], j1: int, j2: int, after: list[str],
                        after_code: list[str], name: str, bare: re.Pattern[str],
                        call: str | None) -> list[tuple[int, int, int, int]] | None:
    """The statements of an added or replacing block that call name, each on lines of
    its own and an injection statement, as (stock line, first, end, call's line). An
    added block is slid within the diff's equal alternatives until it splits into whole
    statements; in a block that replaces stock lines such a statement must come first
    (it goes before them) or last (after them). None when a call of name is anything
    else."""
    at, end_at = stock_range
    replacing = end_at > at
    if not replacing:
        while j1 > 0 and after[j1 - 1] == after[j2 - 1]:
            at, j1, j2 = at - 1, j1 - 1, j2 - 1
    while True:
        statements = _split_statements(after_code, j1, j2)
        if statements is not None:
            placed = []
            for index, (first, end) in enumerate(statements):
                text = "".join(after_code[first:end])
                if not calls(name, text):
                    continue
                joined = "".join(text.split())
                following = statements[index + 1][0] if index + 1 < len(statements) else None
                if following is not None and re.match(r"\s*else\b", after_code[following]):
                    return None  # the branch the injector skips: the fix's behaviour
                if not (bare.match(joined) or (call and _guarded(joined, call))):
                    return None
                if replacing and 0 < index < len(statements) - 1:
                    return None  # among the fix's changed lines: no place on stock
                where = end_at if replacing and index > 0 else at
                line = next(j for j in range(first, end) if calls(name, after_code[j])) + 1
                placed.append((where, first, end, line))
            return placed
        if replacing or j2 >= len(after) or after[j1] != after[j2]:
            return None
        at, j1, j2 = at + 1, j1 + 1, j2 + 1


def _split_statements(code: list[str], j1: int, j2: int) -> list[tuple[int, int]] | None:
    """Lines j1..j2 as whole statements (line ranges; the comments and blank lines
    before one belong to it), or None when a statement starts or ends mid-line or the
    block is no run of whole statements."""
    found: list[tuple[int, int]] = []
    depth, start, pending = 0, j1, ""
    for j in range(j1, j2):
        line = code[j]
        for char in line:
            depth += {"(": 1, "{": 1, ")": -1, "}": -1}.get(char, 0)
            if depth < 0:
                return None
        pending += line.strip()
        if depth == 0 and pending:
            if not pending.endswith((";", "}")):
                return None
            found.append((start, j + 1))
            start, pending = j + 1, ""
    return found if depth == 0 and not pending else None


def _guarded(joined: str, call: str) -> bool:
    """`if(a&&b&&X.get().m()){...}` where only m's call calls anything: with m's
    default (false), the block is never entered."""
    match = re.match(r"^if\((.*)\)\{(.*)\}$", joined)
    if not match or match.group(2).count("{") != match.group(2).count("}"):
        return False
    parts = match.group(1).split("&&")
    hooks = [p for p in parts if re.fullmatch(call, p)]
    others = [p for p in parts if p not in hooks]
    return len(hooks) == 1 and all(
        "(" not in p and "++" not in p and "--" not in p
        and not re.search(r"(?<![=!<>])=(?!=)", p) for p in others)


def with_sites(text: str, sites: list[Site]) -> str:
    lines = text.splitlines(keepends=True)
    for site in sorted(sites, key=lambda s: (s.at, s.line), reverse=True):
        lines[site.at:site.at] = site.lines
    return "".join(lines)
