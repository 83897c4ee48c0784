"""Which upstream fixes a fork lacks, read from the fork's code, and what carrying
each would take.

A fork's history is not Apache's (vendor snapshots, squashes, hand-ports), so
commit ids and patch-ids say nothing; the code does. For every commit in the
range that names a JIRA id and changes production code (`src/main`), each line
it adds or removes is counted in four versions of the file: before the commit,
after it, at the fork's Apache base release and in the fork. A line counts as
evidence only where the base release does not already say the same (an added
line the base already has proves nothing); a change is in the fork when the
fork has gained its added lines and lost its removed ones relative to the base.
Counting whole stripped lines in the file's bytes is what makes the scan cheap:
one long-lived `git cat-file --batch` per repository, no diff per fix.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Generic, TypeVar

from hpatch import checkout as git_ops
from hpatch import upstream as up
from hpatch.checkout import Checkout, LogEntry, ObjectReader
from hpatch.errors import UsageError
from hpatch.releases import Release

Progress = Callable[[int, int], None]

PRESENT, PARTIAL, SUPERSEDED = "present", "partial", "superseded"
ABSENT, COSMETIC, NOT_APPLICABLE, UNKNOWN = "absent", "cosmetic", "not-applicable", "unknown"
STATES = (PRESENT, PARTIAL, SUPERSEDED, ABSENT, COSMETIC, NOT_APPLICABLE, UNKNOWN)
# What a fork "has" when the question is "do we carry it?".
CARRIED = frozenset({PRESENT, PARTIAL, SUPERSEDED})
COMPONENTS = {"HADOOP": "Common", "HDFS": "HDFS", "YARN": "YARN", "MAPREDUCE": "MapReduce"}
PRODUCTION = (":(glob)**/src/main/**",)
TESTS = (":(glob)**/src/test/**",)
CARRY_ORDER = {"clean": 0, "offsets": 1, "3way": 2, "conflict": 3}

# A fix's share of evidence found in the fork: at least HIGH is present, at most LOW
# absent, between them partial.
HIGH = 0.75
LOW = 0.5
_REMOVED_WEIGHT = 0.5   # a line gone is weaker evidence than a line there
_FUZZY_MIN = 0.6        # a hand-port's hunk must resemble upstream's this much
_ZERO = "0" * 40
_TRIVIAL = frozenset({
    "} else {", "try {", "} finally {", "} catch (IOException e) {", "return;", "break;",
    "continue;", "@Override", "return true;", "return false;", "return null;", "else {",
    "} catch (Exception e) {", "throw e;", "default:", "@VisibleForTesting", "finally {",
    "synchronized (this) {", "return result;", "} else if (", "@Private", "@Public",
    "@InterfaceAudience.Private", "@Unstable", "@Stable",
})
_COMMENT = re.compile(r"^\s*(//|/\*|\*|\*/)")
_LOG_CALL = re.compile(r"\b(LOG|LOGGER|log|logger)\s*\.\s*\w+\s*\(")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_TRAILING_COMMENT = re.compile(r"\s//.*$|/\*.*?\*/")


# -- a diff, as the scan reads it ---------------------------------------------------

@dataclass(frozen=True)
class Hunk:
    old_start: int
    new_start: int
    removed: tuple[str, ...]
    added: tuple[str, ...]
    before: tuple[str, ...]   # old side: context and removed lines, in order
    after: tuple[str, ...]    # new side: context and added lines, in order
    body: str = ""            # each line's mark (' ', '-', '+'), in order

    def cores(self) -> tuple[list[str], list[str]]:
        """The old and new side from one line before the first change to one line after
        the last, stripped, blank lines left out: what the fork must hold as a block."""
        first = min(self.body.find("-") % (len(self.body) + 1),
                    self.body.find("+") % (len(self.body) + 1))
        last = max(self.body.rfind("-"), self.body.rfind("+"))
        start, end = max(0, first - 1), min(len(self.body), last + 2)
        old, new = [], []
        oi = ni = 0
        for at, mark in enumerate(self.body):
            keep = start <= at < end
            if mark != "+":
                if keep and (s := self.before[oi].strip()):
                    old.append(s)
                oi += 1
            if mark != "-":
                if keep and (s := self.after[ni].strip()):
                    new.append(s)
                ni += 1
        return old, new


@dataclass(frozen=True)
class FileChange:
    path: str
    old_blob: str
    new_blob: str
    hunks: tuple[Hunk, ...]
    binary: bool = False

    @property
    def created(self) -> bool:
        return self.old_blob == _ZERO

    @property
    def deleted(self) -> bool:
        return self.new_blob == _ZERO


_DIFF_GIT = re.compile(r"^diff --git a/(.*) b/(.*)$")
_INDEX = re.compile(r"^index ([0-9a-f]{40})\.\.([0-9a-f]{40})")
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def parse_diff(text: str) -> list[FileChange]:
    """The files and hunks of `git diff --full-index` text."""
    changes: list[FileChange] = []
    for chunk in re.split(r"(?m)^(?=diff --git )", text):
        lines = chunk.split("\n")
        head = _DIFF_GIT.match(lines[0])
        if head is None:
            continue
        old_blob = new_blob = _ZERO
        hunks: list[Hunk] = []
        binary = False
        current: dict[str, list[str]] | None = None
        starts = (0, 0)
        for line in lines[1:]:
            if current is None:
                index = _INDEX.match(line)
                if index:
                    old_blob, new_blob = index.groups()
                elif line.startswith(("Binary files", "GIT binary patch")):
                    binary = True
            hunk = _HUNK.match(line)
            if hunk:
                if current is not None:
                    hunks.append(_hunk(starts, current))
                current = {"-": [], "+": [], "b": [], "a": [], "m": []}
                starts = (int(hunk.group(1)), int(hunk.group(2)))
                continue
            if current is None or not line or line[0] not in " +-":
                continue
            body = line[1:]
            current["m"].append(line[0])
            if line[0] == "-":
                current["-"].append(body)
                current["b"].append(body)
            elif line[0] == "+":
                current["+"].append(body)
                current["a"].append(body)
            else:
                current["b"].append(body)
                current["a"].append(body)
        if current is not None:
            hunks.append(_hunk(starts, current))
        changes.append(FileChange(head.group(2), old_blob, new_blob, tuple(hunks), binary))
    return changes


def _hunk(starts: tuple[int, int], lines: dict[str, list[str]]) -> Hunk:
    return Hunk(starts[0], starts[1], tuple(lines["-"]), tuple(lines["+"]),
                tuple(lines["b"]), tuple(lines["a"]), "".join(lines["m"]))


def informative(line: str) -> bool:
    """A line whose presence says something: not blank, a brace, an import or a comment."""
    text = line.strip()
    if len(text) < 6 or text in _TRIVIAL or _COMMENT.match(text):
        return False
    return not text.startswith(("import ", "package "))


def code_of(line: str) -> str:
    """The line as the compiler sees it, less log wording: no comments, no whitespace,
    no text inside the strings of a log call."""
    text = line.strip()
    if _COMMENT.match(text):
        return ""
    text = _TRAILING_COMMENT.sub("", text)
    if _LOG_CALL.search(text):
        text = _STRING.sub('""', text)
    return "".join(text.split())


def is_cosmetic(changes: Iterable[FileChange]) -> bool:
    """Whitespace, comments or log wording only: each hunk's code without them is the
    same, in the same order (a log call moved under a lock is not cosmetic)."""
    seen = False
    for change in changes:
        if change.binary or not change.path.endswith(".java"):
            return False
        for hunk in change.hunks:
            seen = True
            if [c for ln in hunk.before if (c := code_of(ln))] != \
                    [c for ln in hunk.after if (c := code_of(ln))]:
                return False
    return seen


# -- what the scan finds -----------------------------------------------------------

@dataclass(frozen=True)
class HunkEvidence:
    """One hunk of a fix against the fork: how many of its telling lines are there."""

    path: str          # upstream's path
    line: int          # where the hunk starts in upstream's new file
    found: float
    missing: float
    fork_path: str | None = None   # where it was looked for in the fork (if elsewhere)
    how: str = "lines"  # lines | resemblance | unchanged-file | no-file | in-base

    @property
    def verdict(self) -> str:
        total = self.found + self.missing
        if total == 0:
            return "no-evidence"
        share = self.found / total
        return "found" if share >= HIGH else "missing" if share <= LOW else "partly"

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"file": self.path, "line": self.line,
                                   "verdict": self.verdict, "found": round(self.found, 2),
                                   "missing": round(self.missing, 2), "how": self.how}
        if self.fork_path and self.fork_path != self.path:
            data["fork_file"] = self.fork_path
        return data


@dataclass(frozen=True)
class CommitEvidence:
    sha: str
    hunks: tuple[HunkEvidence, ...]
    transient: float      # added lines missing in the fork that upstream changed again later
    removed_gone: float   # removed lines the fork no longer has
    files_missing: int    # files it changes that the fork does not have anywhere
    files: int
    unchanged: int        # files the fork has exactly as its base release has them
    in_base: float        # telling lines the base release already had as the fix has them

    @property
    def found(self) -> float:
        return sum(h.found for h in self.hunks)

    @property
    def missing(self) -> float:
        return sum(h.missing for h in self.hunks)


@dataclass(frozen=True)
class Carry:
    method: str                 # clean | offsets | 3way | conflict
    commits: tuple[str, ...]    # the upstream commits whose change was tried
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"method": self.method, "commits": list(self.commits), "detail": self.detail}


@dataclass(frozen=True)
class GapRecord:
    id: str
    state: str
    component: str
    subject: str
    commits: tuple[str, ...]
    modules: tuple[str, ...]
    evidence: tuple[HunkEvidence, ...]
    score: float | None
    reason: str
    has_test: bool
    backported_to: tuple[str, ...]   # maintenance lines (2.6, 2.7) Apache carried it to
    carry: Carry | None = None
    rank: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "state": self.state, "component": self.component,
            "subject": self.subject, "rank": self.rank,
            "carry": self.carry.as_dict() if self.carry else None,
            "has_test": self.has_test, "backported_to": list(self.backported_to),
            "modules": list(self.modules), "commits": list(self.commits),
            "score": None if self.score is None else round(self.score, 3),
            "reason": self.reason,
            "evidence": [h.as_dict() for h in self.evidence],
        }


@dataclass(frozen=True)
class GapReport:
    fork: str
    base: str
    base_tag: str
    until: str
    records: tuple[GapRecord, ...]
    commits_read: int

    def summary(self) -> dict[str, dict[str, int]]:
        """component -> state -> how many fixes."""
        table: dict[str, dict[str, int]] = {}
        for record in self.records:
            row = table.setdefault(record.component, dict.fromkeys(STATES, 0))
            row[record.state] += 1
        return table


# -- the scan ----------------------------------------------------------------------

@dataclass
class _Fix:
    commits: list[up.Commit] = field(default_factory=list)
    outside: set[str] = field(default_factory=set)  # commits not reachable from --until
    evidence: dict[str, CommitEvidence] = field(default_factory=dict)
    diffs: dict[str, bytes] = field(default_factory=dict)     # sha -> compressed diff
    cosmetic: dict[str, bool] = field(default_factory=dict)   # sha -> is_cosmetic
    created: set[str] = field(default_factory=set)   # paths a commit of the fix creates
    in_range: bool = False


@dataclass(frozen=True)
class Range:
    """What the scan reads: upstream from base_tag to until, plus the base's own line."""

    base: Release
    base_tag: str
    until: str
    line_tag: str | None      # the newest release on the base's line, if later than base

    @property
    def revs(self) -> list[str]:
        heads = [self.until] + ([self.line_tag] if self.line_tag else [])
        return [*dict.fromkeys(heads), f"^{self.base_tag}"]


def resolve_range(upstream: Checkout, base: Release, until: str | None) -> Range:
    """The range to scan; one-line refusals for an upstream without release tags, a base
    it has no tag for, an --until it does not have."""
    tags = up.check_upstream(upstream)
    base_tag = up.release_tree_tag(tags, base)
    lines = up.release_line_tags(tags)
    on_line = lines.get((base.major, base.minor), [])
    line_tag = on_line[-1] if on_line and tags[on_line[-1]] > base else None
    if until is None:
        until = line_tag or base_tag
    elif upstream.rev(until) is None:
        raise UsageError(f"--until {until}: no such tag, branch or commit in {upstream.root}")
    return Range(base, base_tag, until, line_tag)


def scan(upstream: Checkout, fork: Checkout, span: Range, *,
         components: frozenset[str] = frozenset(), carry: bool = True,
         progress: Progress | None = None) -> GapReport:
    """Every fix in span, read against the fork's HEAD tree."""
    in_range = set(git_ops.log_touched(upstream, [span.until, f"^{span.base_tag}"],
                                       PRODUCTION))
    if not in_range:
        raise UsageError(f"{span.base_tag}..{span.until} holds no commit that changes "
                         "production code (src/main): nothing to compare")
    total = git_ops.count_commits(upstream, span.revs, PRODUCTION)
    in_base = {i for _, subject in git_ops.log_subjects(upstream, [span.base_tag])
               if (i := up.first_jira(subject)) and not subject.startswith("Revert")}
    with_tests = git_ops.log_touched(upstream, span.revs, TESTS)
    backports = _maintenance_backports(upstream, span)
    fork_tree = fork.tree_of("HEAD")
    with ExitStack() as stack:
        objects = stack.enter_context(ObjectReader(upstream))
        fork_objects = stack.enter_context(ObjectReader(fork))
        files = _Files(upstream, fork, fork_tree, span, objects, fork_objects)
        fixes = _read_fixes(upstream, span, files, in_range, components, total, progress)
        # A fix the base release already names is the base's (its commit on the base's
        # branch came first); the range holds its twin from another branch.
        records = [_record(fix_id, fix, with_tests, backports, files)
                   for fix_id, fix in fixes.items() if fix.in_range and fix_id not in in_base
                   and not _base_has(fix)]
    if carry:
        records = _with_carry(upstream, fork, fork_tree, fixes, records)
    ranked = _ranked(records)
    return GapReport(fork=str(fork.root), base=str(span.base), base_tag=span.base_tag,
                     until=span.until, records=tuple(ranked), commits_read=total)


T = TypeVar("T")


class _Recent(Generic[T]):
    """The most recently used values, at most size of them (memory stays flat over tens
    of thousands of commits; a file's versions are asked for close together)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[str, T] = OrderedDict()

    def get(self, key: str) -> T | None:
        found = self._values.get(key)
        if found is not None:
            self._values.move_to_end(key)
        return found

    def put(self, key: str, value: T) -> None:
        self._values[key] = value
        if len(self._values) > self.size:
            self._values.popitem(last=False)


class _Files:
    """File contents by blob id, from the upstream and the fork, read once each."""

    def __init__(self, upstream: Checkout, fork: Checkout, fork_tree: str, span: Range,
                 objects: ObjectReader, fork_objects: ObjectReader) -> None:
        self.objects = objects
        self.fork_objects = fork_objects
        self.base = {p: b for p, (_, b) in upstream.tree_entries(
            upstream.tree_of(span.base_tag)).items()}
        self.until = {p: b for p, (_, b) in upstream.tree_entries(
            upstream.tree_of(span.until)).items()}
        self.fork_entries = fork.tree_entries(fork_tree)
        self.fork = {p: b for p, (_, b) in self.fork_entries.items()}
        self.by_name: dict[str, list[str]] = {}
        self.modules: set[str] = set()
        for path in self.fork:
            if "/src/main/" in path:
                self.by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
                self.modules.add(path.split("/src/main/", 1)[0])
        self._cache: _Recent[bytes] = _Recent(256)
        self._lines: _Recent[Counter[bytes]] = _Recent(512)
        self._text: _Recent[str] = _Recent(128)
        self._added: Counter[bytes] | None = None

    def blob(self, sha: str | None, *, fork: bool = False) -> bytes:
        if not sha or sha == _ZERO:
            return b""
        found = self._cache.get(sha)
        if found is None:
            found = (self.fork_objects if fork else self.objects).read(sha) or b""
            self._cache.put(sha, found)
        return found

    def stripped(self, sha: str | None, *, upstream: bool = False) -> str:
        """The blob's non-blank lines, stripped, each between newlines (for finding a
        block of lines whatever its indentation)."""
        if not sha:
            return "\n"
        key = f"s{sha}"
        found = self._text.get(key)
        if found is None:
            raw = self.blob(sha, fork=not upstream).decode("utf-8", "surrogateescape")
            found = "\n" + "\n".join(s for ln in raw.split("\n") if (s := ln.strip())) + "\n"
            self._text.put(key, found)
        return found

    def lines(self, sha: str | None, *, fork: bool = False) -> Counter[bytes]:
        """How often each stripped line occurs in the blob."""
        if not sha or sha == _ZERO:
            return Counter()
        found = self._lines.get(sha)
        if found is None:
            found = Counter(map(bytes.strip, self.blob(sha, fork=fork).split(b"\n")))
            self._lines.put(sha, found)
        return found

    def fork_added(self) -> Counter[bytes]:
        """Lines the fork has more often than its base release, over the Java files it
        changed or added: what the fork's own commits brought, wherever they put it."""
        if self._added is None:
            added: Counter[bytes] = Counter()
            for path, blob in self.fork.items():
                if not path.endswith(".java") or "/src/main/" not in path:
                    continue
                base = self.base.get(path)
                if base == blob:
                    continue
                added.update(map(bytes.strip, (self.fork_objects.read(blob) or b"").split(b"\n")))
                if base is not None:
                    added.subtract(map(bytes.strip, (self.objects.read(base) or b"").split(b"\n")))
            self._added = added
        return self._added

    def fork_path(self, path: str) -> str | None:
        """Where the fork keeps upstream's file: the same path, else the one file of that
        name in the fork's production code."""
        if path in self.fork:
            return path
        same = self.by_name.get(path.rsplit("/", 1)[-1], [])
        return same[0] if len(same) == 1 else None

    def module_exists(self, path: str) -> bool:
        """The fork has the module (the directory above src/main) the path is in."""
        return path.split("/src/main/", 1)[0] in self.modules


def _read_fixes(upstream: Checkout, span: Range, files: _Files, in_range: set[str],
                components: frozenset[str], total: int,
                progress: Progress | None) -> dict[str, _Fix]:
    fixes: dict[str, _Fix] = {}
    reverted: set[str] = set()   # sha prefixes that a later commit reverted
    done = 0
    for logged in git_ops.stream_log_patches(upstream, span.revs, PRODUCTION):
        done += 1
        if progress is not None:
            progress(done, total)
        entry = logged.entry
        if any(entry.sha.startswith(p) for p in reverted):
            continue  # undone later: neither a change to carry nor a revert that counts
        target = up.reverted_by(entry)
        if target is not None:
            reverted.add(target)
            continue
        fix_id = up.first_jira(entry.subject)
        if fix_id is None or (components and _component(fix_id) not in components):
            continue
        changes = [c for c in parse_diff(logged.diff) if c.hunks or c.binary or c.created]
        if not changes:
            continue
        fix = fixes.setdefault(fix_id, _Fix())
        fix.in_range = fix.in_range or entry.sha in in_range
        if entry.sha not in in_range:
            fix.outside.add(entry.sha)
        commit = up.Commit(entry, [c.path for c in changes])
        commit.change_key = up.change_key(logged.diff)
        fix.commits.append(commit)
        fix.diffs[entry.sha] = zlib.compress(logged.diff.encode("utf-8", "surrogateescape"))
        fix.cosmetic[entry.sha] = is_cosmetic(changes)
        fix.created.update(c.path for c in changes if c.created)
        fix.evidence[entry.sha] = _evidence(entry, changes, files)
    for fix in fixes.values():
        fix.commits.reverse()  # oldest first, as History keeps them
    return fixes


def _component(fix_id: str) -> str:
    project = fix_id.rsplit("-", 1)[0]
    return COMPONENTS.get(project, project)


# -- one commit against the fork -----------------------------------------------------

def _evidence(entry: LogEntry, changes: list[FileChange], files: _Files) -> CommitEvidence:
    hunks: list[HunkEvidence] = []
    transient = removed_gone = in_base = 0.0
    missing_files = unchanged = 0
    for change in changes:
        if change.binary:
            continue
        fork_path = files.fork_path(change.path)
        if fork_path is None and not (change.created and files.module_exists(change.path)):
            missing_files += 1
            continue
        base_blob = files.base.get(change.path) or (
            files.base.get(fork_path) if fork_path else None)
        fork_blob = files.fork.get(fork_path) if fork_path else None
        if fork_blob is not None and fork_blob == base_blob:
            unchanged += 1
        old = files.lines(change.old_blob)
        new = files.lines(change.new_blob)
        base = files.lines(base_blob)
        fork = files.lines(fork_blob, fork=True)
        until = files.lines(files.until.get(change.path))
        for hunk in change.hunks:
            counted = _count_hunk(hunk, old, new, base, fork, until)
            transient += counted.transient
            removed_gone += counted.removed_gone
            in_base += counted.in_base
            how = "lines" if fork_blob is not None else "no-file"
            evidence = HunkEvidence(change.path, hunk.new_start, counted.found,
                                    counted.missing, fork_path, how)
            if counted.found + counted.missing == 0 and fork_blob:
                evidence = _block(evidence, hunk, files.stripped(fork_blob),
                                  files.stripped(base_blob, upstream=True))
            # resemblance is for code: XML property blocks all look alike
            if evidence.verdict == "missing" and fork_blob and fork_blob != base_blob \
                    and change.path.endswith(".java"):
                text = files.blob(fork_blob, fork=True)
                evidence = _resemblance(evidence, hunk, text) or evidence
            if evidence.verdict == "missing" and change.path.endswith(".java"):
                evidence = _elsewhere(evidence, counted.missing_added, files) or evidence
            hunks.append(evidence)
    return CommitEvidence(entry.sha, tuple(hunks), transient, removed_gone, missing_files,
                          len(changes), unchanged, in_base)


@dataclass
class _Counted:
    found: float = 0.0
    missing: float = 0.0
    transient: float = 0.0
    removed_gone: float = 0.0
    in_base: float = 0.0
    missing_added: list[bytes] = field(default_factory=list)


def _count_hunk(hunk: Hunk, old: Counter[bytes], new: Counter[bytes], base: Counter[bytes],
                fork: Counter[bytes], until: Counter[bytes]) -> _Counted:
    """Each telling line of the hunk counted in the file before and after the commit, at
    the base release, in the fork and at --until (whole-file counts: a line moved within
    the file is no change)."""
    counted = _Counted()
    for line in dict.fromkeys(ln.strip() for ln in hunk.added):
        if not informative(line):
            continue
        text = line.encode("utf-8", "surrogateescape")
        c_old, c_new = old[text], new[text]
        gained = c_new - c_old
        if gained <= 0:
            continue
        c_base = base[text]
        has = fork[text] >= min(c_new, c_base + gained)
        if c_base >= c_new:
            counted.in_base += 1 if has else 0
            continue
        if has:
            counted.found += 1
        elif until[text] < c_new:
            counted.transient += 1   # upstream changed this line again later
        else:
            counted.missing += 1
            counted.missing_added.append(text)
    for line in dict.fromkeys(ln.strip() for ln in hunk.removed):
        if not informative(line):
            continue
        text = line.encode("utf-8", "surrogateescape")
        c_old, c_new = old[text], new[text]
        lost = c_old - c_new
        if lost <= 0:
            continue
        c_base = base[text]
        if c_base <= c_new:
            continue  # the base never had it: its absence in the fork says nothing
        if fork[text] <= max(c_new, c_base - lost):
            counted.found += _REMOVED_WEIGHT
            counted.removed_gone += _REMOVED_WEIGHT
        else:
            counted.missing += _REMOVED_WEIGHT
    return counted


def _elsewhere(evidence: HunkEvidence, lines: list[bytes],
               files: _Files) -> HunkEvidence | None:
    """A hunk the fork carries in another file (a vendor moved the code into a class of
    its own): the lines it misses here are lines the fork added somewhere."""
    if len(lines) < 2:
        return None  # one line found somewhere proves nothing
    added = files.fork_added()
    there = sum(1 for line in lines if added[line] > 0)
    if there < 0.75 * len(lines):
        return None
    return replace(evidence, found=evidence.found + evidence.missing, missing=0.0,
                   fork_path="(elsewhere in the fork)", how="elsewhere")


def _block(evidence: HunkEvidence, hunk: Hunk, fork: str, base: str) -> HunkEvidence:
    """A hunk none of whose lines tells on its own (`try {` around a call that stays):
    whether the fork holds its new side as a block, and the base its old side."""
    old, new = hunk.cores()
    if not new or old == new:
        return evidence
    new_text = "\n" + "\n".join(new) + "\n"
    old_text = "\n" + "\n".join(old) + "\n"
    has_new = new_text in fork
    if has_new and new_text in base:
        return evidence  # the base holds the new side already: it tells nothing
    if has_new and old_text not in fork:
        return replace(evidence, found=1.0, how="block")
    if old_text in fork and not has_new:
        return replace(evidence, missing=1.0, how="block")
    return evidence


def _resemblance(evidence: HunkEvidence, hunk: Hunk, fork: bytes) -> HunkEvidence | None:
    """A hunk written by hand with other names: the fork's code near where the hunk's
    context lands resembles upstream's new side more than its old side."""
    before = [s for ln in hunk.before if (s := ln.strip())]
    after = [s for ln in hunk.after if (s := ln.strip())]
    anchors = {s for s in before if s in after and informative(s)}
    if not anchors or not after:
        return None
    lines = [s for ln in fork.decode("utf-8", "surrogateescape").splitlines()
             if (s := ln.strip())]
    where: dict[str, list[int]] = {}
    for i, s in enumerate(lines):
        if s in anchors:
            where.setdefault(s, []).append(i)
    width = max(len(before), len(after))
    best_after = best_before = 0.0
    for anchor, places in where.items():
        if len(places) > 2:
            continue  # a line the file repeats anchors nothing
        start = max(0, places[0] - after.index(anchor))
        window = lines[start:start + width]
        matcher = SequenceMatcher(None, after, window, autojunk=False)
        if matcher.quick_ratio() < _FUZZY_MIN:
            continue
        ratio_after = matcher.ratio()
        if ratio_after > best_after:
            best_after = ratio_after
            best_before = SequenceMatcher(None, before, window, autojunk=False).ratio()
    total = evidence.found + evidence.missing
    if best_after >= _FUZZY_MIN and best_after > best_before + 0.1:
        return HunkEvidence(evidence.path, evidence.line, total, 0.0, evidence.fork_path,
                            "resemblance")
    return None


# -- a fix's state -----------------------------------------------------------------

def _record(fix_id: str, fix: _Fix, with_tests: set[str], backports: dict[str, list[str]],
            files: _Files) -> GapRecord:
    history = up.History(fix_id, fix.commits, [], [])
    chosen = [max(group, key=lambda c: _share(fix.evidence[c.sha])) for group
              in history.clusters()]
    evidence = [fix.evidence[c.sha] for c in chosen]
    state, score, reason = _state(evidence, all(fix.cosmetic[c.sha] for c in chosen))
    paths = sorted({p for c in fix.commits for p in c.paths})
    return GapRecord(
        id=fix_id, state=state, component=_component(fix_id),
        subject=fix.commits[-1].entry.subject, commits=tuple(c.short for c in fix.commits),
        modules=tuple(dict.fromkeys(p.split("/src/main/", 1)[0] for p in paths)),
        evidence=tuple(h for e in evidence for h in e.hunks), score=score, reason=reason,
        has_test=any(c.sha in with_tests for c in fix.commits),
        backported_to=tuple(backports.get(fix_id, [])))


def _base_has(fix: _Fix) -> bool:
    """The base release already holds the change under another name (a twin of a
    commit that reached the base's branch through a merge, or with another subject):
    nearly all its telling lines are there as the fix leaves them."""
    evidence = list(fix.evidence.values())
    in_base = sum(e.in_base for e in evidence)
    other = sum(e.found + e.missing for e in evidence)
    return in_base >= 2 and in_base >= 3 * other


def _share(evidence: CommitEvidence) -> float:
    total = evidence.found + evidence.missing
    return evidence.found / total if total else -1.0


def _state(evidence: list[CommitEvidence], cosmetic: bool) -> tuple[str, float | None, str]:
    found = sum(e.found for e in evidence)
    missing = sum(e.missing for e in evidence)
    transient = sum(e.transient for e in evidence)
    files = sum(e.files for e in evidence)
    if sum(e.files_missing for e in evidence) == files:
        return NOT_APPLICABLE, None, "the fork has none of the files it changes"
    if cosmetic:
        return COSMETIC, None, "whitespace, comments or log wording only"
    if found + missing == 0:
        if transient and sum(e.removed_gone for e in evidence) == 0:
            return ABSENT, 0.0, "its lines are missing (upstream changed them again later)"
        if sum(e.unchanged for e in evidence) == files:
            return ABSENT, 0.0, "the fork has its files exactly as the base release"
        if sum(e.in_base for e in evidence):
            # the base has lines like it (the fix's own commit would have excluded it)
            return UNKNOWN, None, "the base release already has lines like its own"
        return UNKNOWN, None, "no line it adds or removes tells (all common or trivial)"
    share = found / (found + missing)
    removed_gone = sum(e.removed_gone for e in evidence)
    if share < HIGH and transient and removed_gone and found >= missing:
        return SUPERSEDED, share, "its removed lines are gone, its added ones were changed " \
                                  "again upstream"
    if share >= HIGH:
        hunks = [h for e in evidence for h in e.hunks]
        lacking = [h for h in hunks if h.verdict == "missing" and h.missing >= 1]
        if lacking:
            return PARTIAL, share, f"{len(hunks) - len(lacking)} of {len(hunks)} hunks " \
                                   f"there; {found:g} of {found + missing:g} telling lines"
        return PRESENT, share, f"{found:g} of {found + missing:g} telling lines"
    if share <= LOW:
        return ABSENT, share, f"{found:g} of {found + missing:g} telling lines"
    return PARTIAL, share, f"{found:g} of {found + missing:g} telling lines"


def _maintenance_backports(upstream: Checkout, span: Range) -> dict[str, list[str]]:
    """JIRA id -> the maintenance lines (x.y after x.y.0) whose releases carry it, for
    the lines from the base's on."""
    tags = up.check_upstream(upstream)
    found: dict[str, list[str]] = {}
    for (major, minor), names in up.release_line_tags(tags).items():
        if (major, minor) < (span.base.major, span.base.minor) or len(names) < 2:
            continue
        first = next((t for t in names if tags[t].patch == 0), None)
        if first is None:
            continue
        for _, subject in git_ops.log_subjects(upstream, [names[-1], f"^{first}"],
                                               PRODUCTION):
            fix_id = up.first_jira(subject)
            if fix_id and not subject.startswith("Revert"):
                lines = found.setdefault(fix_id, [])
                if f"{major}.{minor}" not in lines:
                    lines.append(f"{major}.{minor}")
    return found


# -- what carrying it takes --------------------------------------------------------

def _with_carry(upstream: Checkout, fork: Checkout, fork_tree: str, fixes: dict[str, _Fix],
                records: list[GapRecord]) -> list[GapRecord]:
    """Each absent or partial fix's nearest form tried on the fork's own files, on a
    private index holding only the files such fixes touch; the fork's repository sees
    upstream's objects for the 3-way merge and writes nothing of its own. Two at a
    time: each try is a git process or two."""
    from concurrent.futures import ThreadPoolExecutor
    entries = fork.tree_entries(fork_tree)
    todo = [r for r in records if r.state in (ABSENT, PARTIAL)]
    chosen = {r.id: _nearest(fixes[r.id]) for r in todo}
    paths = {p for commits in chosen.values() for c in commits for p in c.paths}
    carried: dict[str, Carry] = {}
    with git_ops.shared_objects(fork, upstream) as objects, \
            git_ops.index_of(fork, {p: entries[p] for p in paths if p in entries},
                             objects) as env:

        def carry(record: GapRecord) -> Carry:
            commits = chosen[record.id]
            lacking = sorted(p for c in commits for p in c.paths
                             if p not in entries and p not in fixes[record.id].created)
            if lacking:  # neither way can change a file the fork does not have
                return Carry("conflict", tuple(c.short for c in commits),
                             f"the fork has no {lacking[0]}")
            patch = "".join(zlib.decompress(fixes[record.id].diffs[c.sha]).decode(
                "utf-8", "surrogateescape") for c in commits)
            applied = git_ops.apply_on_index(
                fork, patch, functools.partial(git_ops.index_copy, fork, env), check=True)
            detail = ", ".join(applied.offsets) or next(iter(applied.detail.splitlines()), "")
            return Carry(applied.method, tuple(c.short for c in commits), detail)

        pool = ThreadPoolExecutor(max_workers=2)
        try:
            for record, result in zip(todo, pool.map(carry, todo), strict=True):
                carried[record.id] = result
        finally:
            # on ^C, what has not started never starts: the run ends now, not later
            pool.shutdown(wait=True, cancel_futures=True)
    return [replace(r, carry=carried[r.id]) if r.id in carried else r for r in records]


def _nearest(fix: _Fix) -> list[up.Commit]:
    """One commit per change: the form on the base's own line (not reachable from
    --until) when there is one, as it is nearest the fork; else the range's."""
    history = up.History("", fix.commits, [], [])
    return [next((c for c in group if c.sha in fix.outside), group[-1])
            for group in history.clusters()]


def rank_key(record: GapRecord) -> tuple[int, int, int, int, str]:
    """What a platform engineer takes first: what Apache itself backported to a
    maintenance line, then what goes on cleanly, then what brings its own test, then
    the smaller change."""
    method = record.carry.method if record.carry else "conflict"
    return (0 if record.backported_to else 1, CARRY_ORDER.get(method, 4),
            0 if record.has_test else 1, len(record.evidence), record.id)


def _ranked(records: list[GapRecord]) -> list[GapRecord]:
    todo = sorted((r for r in records if r.state in (ABSENT, PARTIAL)), key=rank_key)
    rank = {r.id: i + 1 for i, r in enumerate(todo)}
    rest = sorted((r for r in records if r.state not in (ABSENT, PARTIAL)),
                  key=lambda r: (STATES.index(r.state), r.id))
    return [replace(r, rank=rank[r.id]) for r in todo] + rest
