"""Code probes derived from a diff: `fixed` from the lines the fix adds, `bug`
from the lines it removes, each escaped and matched against comment-stripped
code with any spacing between tokens.

A line is a probe only if it tells the two sides apart: the fixed pattern must
match the file after the fix and not before it, the bug pattern before and not
after. Where a fix only adds lines, the bug is the code around the insertion
with nothing between it: adjacent before the fix, apart after it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from hpatch import javasrc

_TOKEN = re.compile(r"[A-Za-z0-9_$]+|\S")
# Lines too common to tell anything: braces, `return;`, `try {`, imports.
_TRIVIAL = re.compile(r"^(?:[{}();,\s]*|\s*(?:try|else|finally|return|break|continue)\b"
                      r"[\s{};]*|\s*import\s.*|\s*package\s.*|\s*@\w+\s*)$")
MAX_PER_FILE = 2


@dataclass(frozen=True)
class Probes:
    bug: list[str]
    fixed: list[str]


def line_pattern(line: str) -> str:
    """A regex for one line of code: its tokens escaped, any spacing between them."""
    tokens = _TOKEN.findall(line)
    out = ""
    for prev, token in zip([None, *tokens], tokens, strict=False):
        if prev is not None:
            word = prev[-1].isalnum() or prev[-1] in "_$"
            out += r"\s+" if word and (token[0].isalnum() or token[0] in "_$") else r"\s*"
        out += re.escape(token)
    return out


def _code(path: str, text: str) -> str:
    return javasrc.strip(text) if javasrc.is_source(path) else text


def _lines(path: str, text: str) -> list[str]:
    return [ln.strip() for ln in _code(path, text).splitlines()]


def _telling(pattern: str, yes: str, no: str) -> bool:
    regex = re.compile(pattern, re.MULTILINE)
    return regex.search(yes) is not None and regex.search(no) is None


def for_file(path: str, before: str | None, after: str | None) -> Probes:
    """Probes for one file the fix changes (before None: the fix adds it)."""
    old_code = _code(path, before or "")
    new_code = _code(path, after or "")
    old = _lines(path, before or "")
    new = _lines(path, after or "")
    added: list[str] = []
    removed: list[str] = []
    insertions: list[tuple[int, int]] = []
    replaced: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new,
                                                       autojunk=False).get_opcodes():
        removed.extend(old[i1:i2])
        added.extend(new[j1:j2])
        if tag == "insert":
            insertions.append((i1, j2 - j1))
        elif tag != "equal":
            replaced.append((i1, i2))
    fixed = _pick(added, new_code, old_code)
    bug = _pick(removed, old_code, new_code)
    if not bug:
        bug = _in_context(old, replaced, old_code, new_code)
    if not bug:
        bug = _adjacent(old, insertions, old_code, new_code)
    return Probes(bug, fixed)


def _in_context(old: list[str], replaced: list[tuple[int, int]], old_code: str,
                new_code: str) -> list[str]:
    """Removed lines that occur elsewhere too (`Resources.min(...,`): with the code
    lines just around them, they are the bug's alone."""
    for start, end in replaced:
        above = next((ln for ln in reversed(old[:start]) if ln), "")
        below = next((ln for ln in old[end:] if ln), "")
        lines = [ln for ln in [above, *old[start:end], below] if ln]
        pattern = r"\s*".join(line_pattern(ln) for ln in lines)
        if len(lines) > 1 and _telling(pattern, old_code, new_code):
            return [pattern]
    return []


def _pick(lines: list[str], yes: str, no: str) -> list[str]:
    """The longest lines (most specific) whose pattern tells yes from no."""
    candidates = sorted({ln for ln in lines if ln and not _TRIVIAL.match(ln)},
                        key=lambda ln: (-len(ln), ln))
    chosen: list[str] = []
    for line in candidates:
        pattern = line_pattern(line)
        if len(line) <= 200 and _telling(pattern, yes, no):
            chosen.append(pattern)
        if len(chosen) == MAX_PER_FILE:
            break
    return chosen


def _adjacent(old: list[str], insertions: list[tuple[int, int]], old_code: str,
              new_code: str) -> list[str]:
    """For a pure insertion: the code lines around it, with only spacing between."""
    for at, _count in insertions:
        above = next((ln for ln in reversed(old[:at]) if ln), "")
        below = next((ln for ln in old[at:] if ln), "")
        if not above or not below:
            continue
        pattern = line_pattern(above) + r"\s*" + line_pattern(below)
        if _telling(pattern, old_code, new_code):
            return [pattern]
    return []


def describe(pattern: str) -> str:
    """A probe as code again, for people reading the review notes."""
    text = pattern.replace(r"\s+", " ").replace(r"\s*", "")
    return re.sub(r"\\(.)", r"\1", text)
