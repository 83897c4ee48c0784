"""A fix's commits in a clone of Apache Hadoop: the trunk commit, each branch's
backport, what was reverted, and the first release that carries each.

Upstream writes the JIRA id at the start of the subject (`HDFS-9220. Reading
small file ...`), cherry-picks with `-x` (`(cherry picked from commit ...)`),
and reverts with `Revert "HDFS-9220 ..."` / `This reverts commit ...`. Release
tags are `release-X` and `rel/release-X`; RC tags are not releases.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from hpatch import checkout as git_ops
from hpatch.checkout import Checkout, LogEntry
from hpatch.errors import HpatchError, UsageError
from hpatch.releases import Release

TAG_PATTERNS = ("release-[0-9]*", "rel/release-[0-9]*")
_RELEASE_TAG = re.compile(r"^(?:rel/)?release-(\d+\.\d+\.\d+(?:-(?:alpha|beta)\d+)?)$")
_PICKED = re.compile(r"\(cherry picked from commit ([0-9a-f]{7,40})\)")
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{7,40})")
# Release bookkeeping, not code: a commit that only moves an entry here carries nothing.
_CHANGES = re.compile(r"(^|/)(CHANGES[\w.-]*\.txt|CHANGES\.md|RELEASENOTES[\w.-]*)$")


def release_of_tag(tag: str) -> Release | None:
    match = _RELEASE_TAG.match(tag)
    return Release.parse(match.group(1)) if match else None


def is_changes_file(path: str) -> bool:
    return bool(_CHANGES.search(path))


def is_test_file(path: str) -> bool:
    return "/src/test/" in f"/{path}"


@dataclass
class Commit:
    entry: LogEntry
    paths: list[str]
    first_release: Release | None = None
    releases: list[Release] = field(default_factory=list)
    change_key: str = ""   # the lines it adds and removes, whatever their position

    @property
    def topic(self) -> str:
        """The subject without cherry-pick trailers: one change keeps it on every branch."""
        text = _PICKED.sub("", self.entry.subject)
        # Branches credit the author differently: "Contributed by X." / "(X via Y)" / "(X)".
        text = re.sub(r"\s*\(?\s*Contributed by .*$", "", text, flags=re.IGNORECASE)
        text = re.sub(r"\s*\([^()]*\)\s*\.?\s*$", "", text)
        return re.sub(r"\s+", " ", text).strip().rstrip(".").lower()

    @property
    def sha(self) -> str:
        return self.entry.sha

    @property
    def short(self) -> str:
        return self.entry.sha[:11]

    @property
    def picked_from(self) -> list[str]:
        return _PICKED.findall(self.entry.body)

    @property
    def code_paths(self) -> list[str]:
        return [p for p in self.paths if not is_changes_file(p)]

    @property
    def production_paths(self) -> list[str]:
        return [p for p in self.code_paths if not is_test_file(p)]

    @property
    def test_paths(self) -> list[str]:
        return [p for p in self.code_paths if is_test_file(p)]


@dataclass
class History:
    """What upstream did for one JIRA id."""

    fix_id: str
    commits: list[Commit]               # the changes to carry, oldest first
    reverted: list[tuple[str, str]]     # (reverted sha, reverting sha)
    notes: list[str]

    @property
    def first_releases(self) -> list[Release]:
        """The first release on each release line that carries the fix."""
        by_line: dict[tuple[int, int], Release] = {}
        for commit in self.commits:
            for release in commit.releases:
                line = (release.major, release.minor)
                if line not in by_line or release < by_line[line]:
                    by_line[line] = release
        return sorted(by_line.values())

    def clusters(self) -> list[list[Commit]]:
        """Commits that are one change (a commit and its cherry-picks), in order."""
        groups: list[list[Commit]] = []
        for commit in self.commits:
            home = next((g for g in groups if _same_change(commit, g)), None)
            if home is None:
                groups.append([commit])
            else:
                home.append(commit)
        return groups

    def nearest(self, release: Release) -> list[list[Commit]]:
        """For each change, its commits nearest to release first (same line, then the
        nearest line; a commit in no release tag last)."""
        return [sorted(group, key=lambda c: _distance(c, release)) for group in self.clusters()]


def _same_change(commit: Commit, group: list[Commit]) -> bool:
    """A cherry-pick of a member (or of what a member was picked from), the same lines
    changed, or the same subject (reverts are gone by now, so a subject seen twice is
    a backport whose trailer was dropped)."""
    if any(c.change_key == commit.change_key or c.topic == commit.topic for c in group):
        return True
    shas = {c.sha for c in group}
    picked = {p for c in group for p in c.picked_from}
    return any(s.startswith(p) or p.startswith(s) for p in commit.picked_from for s in shas) \
        or any(commit.sha.startswith(p) for p in picked) \
        or bool(set(commit.picked_from) & picked)


def _distance(commit: Commit, release: Release) -> tuple[int, int, int]:
    first = commit.first_release
    if first is None:
        return (2, 0, 0)
    same_line = (first.major, first.minor) == (release.major, release.minor)
    lines = abs((first.major * 100 + first.minor) - (release.major * 100 + release.minor))
    return (0 if same_line else 1, lines, first.patch)


def check_upstream(upstream: Checkout) -> dict[str, Release]:
    """The repository's release tags (tag -> release); refuse a clone without any."""
    tags = {t: r for t in git_ops.list_tags(upstream, TAG_PATTERNS)
            if (r := release_of_tag(t)) is not None}
    if not tags:
        raise UsageError(f"{upstream.root} has no release tags (release-X or rel/release-X): "
                         "fetch them (`git fetch --tags`) or give a clone of Apache Hadoop")
    return tags


def release_tree_tag(tags: dict[str, Release], release: Release) -> str:
    for tag, found in sorted(tags.items()):
        if found == release and found.qualifier == release.qualifier:
            return tag
    raise UsageError(f"the upstream repository has no tag for release {release} "
                     "(release-X or rel/release-X)")


def find(upstream: Checkout, fix_id: str) -> History:
    """The commits that carry fix_id, less what was reverted; one-line errors for ids
    that name nothing to carry."""
    wanted = fix_id.strip().upper()
    pattern = f"(^|[^A-Za-z0-9-]){re.escape(wanted)}([^0-9]|$)"
    entries = [e for e in git_ops.grep_history(upstream, pattern) if _names(e.subject, wanted)]
    if not entries:
        raise HpatchError(f"{wanted}: no commit in {upstream.root} names it in its subject")
    notes: list[str] = []
    merges = [e for e in entries if len(e.parents) > 1]
    entries = [e for e in entries if len(e.parents) <= 1]
    if not entries:
        raise HpatchError(f"{wanted}: only merge commits name it ({merges[0].sha[:11]}); "
                          "import the commits the merge brought in")
    for merge in merges:
        notes.append(f"merge commit {merge.sha[:11]} skipped (its changes are the commits "
                     "it merged)")
    live, reverted = _without_reverts(entries)
    for target, by in reverted:
        notes.append(f"commit {target[:11]} was reverted by {by[:11]}: taking the final state")
    if not live:
        raise HpatchError(f"{wanted}: every commit was reverted ({reverted[0][0][:11]} by "
                          f"{reverted[0][1][:11]}) and none re-applied: nothing to carry")
    commits = [Commit(e, upstream.touched_paths(e.sha)) for e in live]
    code = [c for c in commits if c.code_paths]
    if not code:
        raise HpatchError(f"{wanted}: its commits only touch CHANGES.txt "
                          f"({commits[0].short}); the code change is in another commit")
    for commit in commits:
        if not commit.code_paths:
            notes.append(f"commit {commit.short} only touches CHANGES.txt: skipped")
    if not any(c.production_paths for c in code):
        raise HpatchError(f"{wanted}: its commits only touch tests ({code[0].short}): "
                          "there is no fix to carry")
    for commit in code:
        _place_in_releases(upstream, commit)
        commit.change_key = change_key(
            git_ops.commit_diff_paths(upstream, commit.sha, commit.code_paths))
    return History(wanted, code, reverted, notes)


_JIRA = re.compile(r"\b[A-Z][A-Z0-9]+-\d+\b")


def _names(subject: str, wanted: str) -> bool:
    """The subject is about wanted: it is the first JIRA id there (`HDFS-7936. ... for
    conflicts from HDFS-6945` is HDFS-7936's commit, not HDFS-6945's)."""
    first = _JIRA.search(subject.upper())
    return first is not None and first.group(0) == wanted


def change_key(diff: str) -> str:
    """What a diff changes, without line numbers, context or blob ids (like patch-id)."""
    kept = [ln.rstrip() for ln in diff.splitlines()
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    return hashlib.sha256("\n".join(kept).encode("utf-8", "surrogateescape")).hexdigest()


def _without_reverts(entries: list[LogEntry]) -> tuple[list[LogEntry], list[tuple[str, str]]]:
    """Drop reverted commits and the reverts (a reverted revert restores its target)."""
    target_of: dict[str, str] = {}
    for entry in entries:
        match = _REVERTS.search(entry.body)
        if entry.subject.startswith("Revert ") and match:
            target_of[entry.sha] = match.group(1)
    by_sha = {e.sha: e for e in entries}

    def resolve(prefix: str) -> str | None:
        return next((s for s in by_sha if s.startswith(prefix)), None)

    undone: list[tuple[str, str]] = []
    cancelled: set[str] = set()
    # Newest first: a later revert decides about an earlier one.
    for entry in sorted(entries, key=lambda e: e.committed, reverse=True):
        if entry.sha not in target_of or entry.sha in cancelled:
            continue
        target = resolve(target_of[entry.sha])
        if target is not None:
            cancelled.add(target)
            undone.append((target, entry.sha))
    live = [e for e in entries if e.sha not in target_of and e.sha not in cancelled]
    return live, [(t, b) for t, b in undone if t not in target_of]


def _place_in_releases(upstream: Checkout, commit: Commit) -> None:
    releases = sorted({r for t in git_ops.tags_containing(upstream, commit.sha, TAG_PATTERNS)
                       if (r := release_of_tag(t)) is not None})
    firsts: dict[tuple[int, int], Release] = {}
    for release in releases:
        firsts.setdefault((release.major, release.minor), release)
    commit.releases = sorted(firsts.values())
    commit.first_release = commit.releases[0] if commit.releases else None


# -- many fixes at once: what `hpatch gap` reads --------------------------------


def first_jira(subject: str) -> str | None:
    """The JIRA id a subject is about (the first one in it), as find() reads subjects."""
    found = _JIRA.search(subject.upper())
    return found.group(0) if found else None


def reverted_by(entry: LogEntry) -> str | None:
    """The commit (a sha or its prefix) that entry reverts, if entry is a revert."""
    match = _REVERTS.search(entry.body)
    return match.group(1) if entry.subject.startswith("Revert") and match else None


def release_line_tags(tags: dict[str, Release]) -> dict[tuple[int, int], list[str]]:
    """(major, minor) -> that line's final release tags, oldest first (no pre-releases)."""
    lines: dict[tuple[int, int], list[tuple[Release, str]]] = {}
    for tag, release in tags.items():
        if not release.qualifier:
            lines.setdefault((release.major, release.minor), []).append((release, tag))
    return {line: [t for _, t in sorted(found)] for line, found in sorted(lines.items())}
