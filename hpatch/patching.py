"""Patch analysis at the unidiff level: is it a sound diff, which paths it
touches, and where each hunk lands (or why it does not) in a file."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk, PatchedFile, PatchSet

from hpatch.errors import CatalogError, HpatchError

MAX_FUZZ = 2
_DIFFSTAT = re.compile(r"^ (\d+) files? changed", re.MULTILINE)


@dataclass(frozen=True)
class ParsedPatch:
    source: Path
    patchset: PatchSet

    @property
    def paths(self) -> list[str]:
        """Every repository path the patch reads or writes."""
        found: list[str] = []
        for patched in self.patchset:
            for name in (patched.source_file, patched.target_file):
                path = strip_prefix(name)
                if path and path not in found:
                    found.append(path)
        return found


def strip_prefix(name: str) -> str:
    if name in ("/dev/null", ""):
        return ""
    return name[2:] if name[:2] in ("a/", "b/") else name


# path -> ((size, mtime_ns), parsed): status reads every variant's paths, then
# checks one of them; each file is parsed once while it stays the same file.
_PARSED: dict[Path, tuple[tuple[int, int], ParsedPatch]] = {}


def parse(path: Path) -> ParsedPatch:
    """Parse a variant; refuse what is not a whole, safe diff."""
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise CatalogError(f"variant file missing: {path}") from exc
    identity = (stat.st_size, stat.st_mtime_ns)
    known = _PARSED.get(path)
    if known is not None and known[0] == identity:
        return known[1]
    parsed = _parse(path)
    _PARSED[path] = (identity, parsed)
    return parsed


def touched_paths(path: Path) -> list[str]:
    """The repository paths a variant's file headers name, without parsing its hunks
    (status asks this of every variant, and applies at most one of them)."""
    known = _PARSED.get(path)
    try:
        stat = path.stat()
        if known is not None and known[0] == (stat.st_size, stat.st_mtime_ns):
            return known[1].paths
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CatalogError(f"variant file missing: {path}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path} is not UTF-8 text: {exc}") from exc
    found: list[str] = []
    for repo_path in _header_paths(text):
        check_path_shape(repo_path, where=str(path))
        if repo_path not in found:
            found.append(repo_path)
    return found


def _parse(path: Path) -> ParsedPatch:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CatalogError(f"variant file missing: {path}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path} is not UTF-8 text: {exc}") from exc
    for repo_path in _header_paths(text):
        check_path_shape(repo_path, where=str(path))
    try:
        patchset = PatchSet(text)
    except UnidiffParseError as exc:
        raise CatalogError(f"{path} is not a valid diff (truncated?): {exc}") from exc
    if len(patchset) == 0:
        raise CatalogError(f"{path} is not a diff: it holds no file changes")
    stat = _DIFFSTAT.search(text.split("\ndiff --git ", 1)[0])
    if stat and int(stat.group(1)) != len(patchset):
        raise CatalogError(
            f"{path} is truncated: its header announces {stat.group(1)} files, "
            f"the diff holds {len(patchset)}")
    for patched in patchset:
        if not patched.is_binary_file and not len(patched) and not patched.is_removed_file:
            raise CatalogError(f"{path}: {patched.path} has no hunks")
    parsed = ParsedPatch(path, patchset)
    for repo_path in parsed.paths:
        check_path_shape(repo_path, where=str(path))
    return parsed


_HEADER = re.compile(r"^(?:--- |\+\+\+ |rename from |rename to |copy from |copy to )(\S+)",
                     re.MULTILINE)
_GIT_HEADER = re.compile(r"^diff --git (\S+) (\S+)", re.MULTILINE)


def _header_paths(text: str) -> list[str]:
    """Paths named in file headers, checked before any parser interprets them."""
    names = [m.group(1) for m in _HEADER.finditer(text)]
    for match in _GIT_HEADER.finditer(text):
        names.extend(match.groups())
    return [strip_prefix(n) for n in names if strip_prefix(n)]


def check_path_shape(repo_path: str, *, where: str) -> None:
    """A path must be relative, stay inside the repository and not touch .git."""
    pure = PurePosixPath(repo_path)
    if pure.is_absolute() or repo_path.startswith("\\"):
        raise CatalogError(f"{where}: absolute path in diff: {repo_path}")
    if any(part == ".." for part in pure.parts):
        raise CatalogError(f"{where}: path escapes the repository: {repo_path}")
    if any(part == ".git" for part in pure.parts):
        raise CatalogError(f"{where}: path inside .git: {repo_path}")


def check_paths_inside(root: Path, paths: Sequence[str]) -> None:
    """No path may go through a symlink or resolve outside root."""
    real_root = root.resolve()
    for repo_path in paths:
        current = root
        for part in PurePosixPath(repo_path).parts[:-1]:
            current = current / part
            if current.is_symlink():
                raise HpatchError(
                    f"refusing {repo_path}: {current.relative_to(root)} is a symlink")
        target = (root / repo_path).resolve()
        if real_root not in target.parents and target != real_root:
            raise HpatchError(f"refusing {repo_path}: it resolves outside {root}")


@dataclass(frozen=True)
class Placement:
    """Where one hunk lands in the current file, or why it does not."""

    file: str
    hunk: int
    expected: int
    found: int | None
    fuzz: int = 0
    reason: str = ""

    @property
    def exact(self) -> bool:
        """Lands as git apply would take it: every context line matches."""
        return self.found is not None and self.fuzz == 0

    @property
    def offset(self) -> int:
        return 0 if self.found is None else self.found - self.expected

    def describe(self) -> str:
        if self.found is None:
            return f"{self.file} hunk #{self.hunk} (line {self.expected}): {self.reason}"
        if self.fuzz:
            return (f"{self.file} hunk #{self.hunk}: lands only with fuzz {self.fuzz} "
                    f"at line {self.found} (offset {self.offset:+d})")
        return f"{self.file} hunk #{self.hunk}: line {self.found} (offset {self.offset:+d})"


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _old_lines(hunk: Hunk) -> list[str]:
    return [ln.value.rstrip("\r\n") for ln in hunk if ln.is_context or ln.is_removed]


def _new_lines(hunk: Hunk) -> list[str]:
    return [ln.value.rstrip("\r\n") for ln in hunk if ln.is_context or ln.is_added]


def _context_edges(hunk: Hunk) -> tuple[int, int]:
    lines = list(hunk)
    lead = 0
    while lead < len(lines) and lines[lead].is_context:
        lead += 1
    trail = 0
    while trail < len(lines) - lead and lines[-1 - trail].is_context:
        trail += 1
    return lead, trail


def _find(haystack: list[str], needle: list[str], near: int, start: int) -> int | None:
    """Index of needle in haystack at or after start, nearest to near."""
    if not needle:
        return max(start, min(near, len(haystack)))
    best: int | None = None
    first = needle[0]
    for i in range(start, len(haystack) - len(needle) + 1):
        if haystack[i] == first and haystack[i:i + len(needle)] == needle and (
                best is None or abs(i - near) < abs(best - near)):
            best = i
    return best


def locate(patched: PatchedFile, content: str | None, *,
           max_fuzz: int = MAX_FUZZ) -> list[Placement]:
    """Place each hunk like patch(1): exact first, then dropping up to max_fuzz
    context lines at each end. Line numbers are 1-based."""
    name = strip_prefix(patched.target_file) or strip_prefix(patched.source_file)
    if patched.is_added_file:
        reason = "" if content is None else "file already exists"
        return [Placement(name, 1, 1, None if content is not None else 1, 0, reason)]
    if content is None:
        return [Placement(name, i, h.source_start, None, 0, "file does not exist")
                for i, h in enumerate(patched, 1)]
    lines = _lines(content)
    placements = []
    shift = 0
    start = 0
    for number, hunk in enumerate(patched, 1):
        expected = hunk.source_start - 1
        old = _old_lines(hunk)
        lead, trail = _context_edges(hunk)
        found = None
        used_fuzz = 0
        for fuzz in range(max_fuzz + 1):
            drop_top = min(fuzz, lead)
            drop_bottom = min(fuzz, trail)
            if fuzz and drop_top == 0 and drop_bottom == 0:
                break
            core = old[drop_top:len(old) - drop_bottom]
            at = _find(lines, core, expected + shift + drop_top, start)
            if at is not None:
                found = at - drop_top
                used_fuzz = fuzz
                break
        if found is None:
            placements.append(Placement(name, number, expected + 1, None, 0,
                                        _why_not(lines, hunk)))
            continue
        placements.append(Placement(name, number, expected + 1, found + 1, used_fuzz))
        shift = found - expected
        start = found + len(old)
    return placements


def _why_not(lines: list[str], hunk: Hunk) -> str:
    removed = [ln.value.rstrip("\r\n") for ln in hunk if ln.is_removed]
    for line in removed:
        if line.strip() and line not in lines:
            return f"the line to change is not there: {line.strip()[:80]!r}"
    return "the surrounding code differs"


def apply_placed(patched: PatchedFile, content: str | None,
                 placements: list[Placement]) -> str | None:
    """The file after applying the placed hunks (None: the patch deletes it)."""
    if patched.is_removed_file:
        return None
    if patched.is_added_file:
        return "\n".join(_new_lines(next(iter(patched)))) + "\n"
    assert content is not None
    lines = _lines(content)
    out: list[str] = []
    cursor = 0
    for hunk, place in zip(patched, placements, strict=True):
        assert place.found is not None
        begin = place.found - 1
        lead, trail = _context_edges(hunk)
        old = _old_lines(hunk)
        new = _new_lines(hunk)
        top = min(place.fuzz, lead)
        bottom = min(place.fuzz, trail)
        # Keep the file's own lines where fuzz let the context differ.
        kept_top = lines[begin:begin + top]
        kept_bottom = lines[begin + len(old) - bottom:begin + len(old)]
        out.extend(lines[cursor:begin])
        out.extend(kept_top + new[top:len(new) - bottom] + kept_bottom)
        cursor = begin + len(old)
    out.extend(lines[cursor:])
    return "\n".join(out) + ("\n" if content.endswith("\n") else "")


def locate_all(parsed: ParsedPatch, read: Callable[[str], str | None]) -> list[Placement]:
    placements: list[Placement] = []
    for patched in parsed.patchset:
        name = strip_prefix(patched.source_file) or strip_prefix(patched.target_file)
        placements.extend(locate(patched, read(name)))
    return placements
