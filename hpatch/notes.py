"""Release notes of a branch: what it carries, read from hpatch's commit
trailers (not from memory), with each fix's story from the catalog and its
verification from the run records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpatch.assess import applied_commits, in_code
from hpatch.catalog import Catalog, Fix
from hpatch.checkout import Checkout, HpatchCommit
from hpatch.errors import HpatchError


@dataclass(frozen=True)
class Entry:
    fix_id: str
    fix: Fix | None
    commit: HpatchCommit
    verification: dict[str, Any] | None

    @property
    def variant(self) -> str:
        return self.commit.variant_name

    @property
    def component(self) -> str:
        return self.fix.component if self.fix else "Other"

    @property
    def title(self) -> str:
        if self.fix:
            return self.fix.title
        return self.commit.subject.split(": ", 1)[-1]


def latest_verification(runs_root: Path, fix_id: str, release: str,
                        variant_sha: str) -> dict[str, Any] | None:
    """The newest run record of this fix at this release, same variant preferred."""
    found: list[dict[str, Any]] = []
    if runs_root.is_dir():
        for path in runs_root.glob(f"*/{fix_id}/{release}/result.json"):
            try:
                found.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
    if not found:
        return None
    found.sort(key=lambda r: (r.get("variant_sha") == variant_sha, r.get("run_id", "")))
    return found[-1]


def collect(checkout: Checkout, catalog: Catalog, runs_root: Path,
            since: str | None) -> tuple[str, list[Entry]]:
    release = str(checkout.hadoop_release())
    entries = [Entry(fix_id, fix, commit,
                     latest_verification(runs_root, fix_id, release, commit.variant_sha))
               for fix_id, (fix, commit) in carried(checkout, catalog, since).items()]
    entries.sort(key=lambda e: (e.component, e.fix_id))
    return release, entries


def carried(checkout: Checkout, catalog: Catalog, since: str | None = None,
            ) -> dict[str, tuple[Fix | None, HpatchCommit]]:
    """fix id -> (its catalog entry, its hpatch commit) for each fix the branch carries:
    an hpatch commit applied it and its change is still in the committed code."""
    found: dict[str, tuple[Fix | None, HpatchCommit]] = {}
    for fix_id, commit in applied_commits(checkout.hpatch_commits(since=since)).items():
        try:
            fix: Fix | None = catalog.get(fix_id)
        except HpatchError:
            fix = None  # a fix the catalog no longer has: the commit still tells its story
        if _still_carried(checkout, fix, commit):
            found[fix_id] = (fix, commit)
    return found


def _still_carried(checkout: Checkout, fix: Fix | None, commit: HpatchCommit) -> bool:
    """Is the commit's change still in the branch's code (HEAD)? A commit that a later
    one reverted (git revert, or by hand) is history, not something the branch carries."""
    if fix is not None:
        return in_code(checkout, fix, commit, tree="HEAD")
    if commit.carries == (commit.fix_id,):
        return checkout.holds_change(checkout.commit_diff(commit.sha), tree="HEAD")
    return True  # neither the catalog nor the commit tells its own change apart


def _verified_text(entry: Entry) -> str:
    v = entry.verification
    if not v:
        return "not verified yet (run `hpatch verify`)"
    same = v.get("variant_sha") == entry.commit.variant_sha
    other = "" if same else " (of another revision of the variant)"
    native = " with a built libhadoop.so" if v.get("native_lib") else ""
    return (f"{v['verdict']} on {v['release']} ({v.get('jvm') or 'JVM unknown'}{native}), "
            f"run {v['run_id']}, {v['date'][:10]}{other}")


def markdown(branch: str, release: str, entries: list[Entry]) -> str:
    lines = [f"# Release notes: {branch}", "",
             f"Apache Hadoop {release} with {len(entries)} backported fix(es).", ""]
    component = None
    for e in entries:
        if e.component != component:
            component = e.component
            lines += [f"## {component}", ""]
        lines.append(f"### {e.fix_id}: {e.title}")
        lines.append("")
        if e.fix:
            lines.append(f"- **Symptom:** {' '.join(e.fix.symptom.split())}")
            lines.append(f"- **What changed:** {' '.join(e.fix.fix.split())}")
            upstream = ", ".join(e.fix.upstream) or "none (a local fix)"
            alt = (f"; upstream alternative: {', '.join(e.fix.upstream_alternative)}"
                   if e.fix.upstream_alternative else "")
            lines.append(f"- **Upstream:** {upstream}, first released in "
                         f"{e.fix.first_fixed}{alt}")
        lines.append(f"- **Commit:** {e.commit.sha[:12]} (variant {e.variant or '?'}, "
                     f"by {e.commit.author}, {e.commit.date})")
        lines.append(f"- **Verification:** {_verified_text(e)}")
        lines.append("")
    return "\n".join(lines)


def changes(branch: str, release: str, entries: list[Entry], date: str) -> str:
    """In the style of Hadoop's CHANGES.txt."""
    lines = [f"Release {branch} (Apache Hadoop {release} + backports) - {date}", "",
             "  BUG FIXES", ""]
    for e in entries:
        verdict = e.verification["verdict"] if e.verification else "not verified"
        lines.append(f"    {e.fix_id}. {e.title}. ({e.commit.author} via hpatch; {verdict})")
    return "\n".join(lines) + "\n"


def as_json(branch: str, release: str, entries: list[Entry]) -> dict[str, Any]:
    return {
        "branch": branch, "release": release,
        "fixes": [{
            "id": e.fix_id, "title": e.title, "component": e.component,
            "commit": e.commit.sha, "variant": e.variant, "author": e.commit.author,
            "date": e.commit.date,
            "symptom": " ".join(e.fix.symptom.split()) if e.fix else None,
            "change": " ".join(e.fix.fix.split()) if e.fix else None,
            "upstream": list(e.fix.upstream) if e.fix else [],
            "fixed_in": list(e.fix.fixed_in) if e.fix else [],
            "verification": e.verification and {
                k: e.verification.get(k) for k in
                ("verdict", "release", "run_id", "date", "jvm", "runtime", "native_lib",
                 "reason")},
        } for e in entries],
    }
