from __future__ import annotations

import textwrap
from collections.abc import Iterable

from hpatch import changes, output
from hpatch.assess import OwnChange, applied_commits, fix_paths, in_code, own_change
from hpatch.catalog import Fix
from hpatch.checkout import TRAILER_REVERT, Checkout, HpatchCommit
from hpatch.errors import ConflictError, HpatchError


def revert(checkout: Checkout, fixes: list[Fix]) -> int:
    """Take fixes off with revert commits (history is never rewritten).

    Each revert takes out exactly the fix's own change (its variant as recorded),
    never the rest of a commit that also carries another fix or the user's edits."""
    names = " ".join(f.id for f in fixes)
    with changes.guarded(checkout, f"hpatch revert {names}") as prep:
        rows = []
        for fix in reversed(fixes):  # newest first, as a stack comes off
            commit = applied_commits(checkout.hpatch_commits()).get(fix.id)
            if commit is None:
                rows.append((fix.id, "not applied by hpatch here: nothing to revert", "-"))
                continue
            if commit.reverted_by and not in_code(checkout, fix, commit):
                rows.append((fix.id, "already reverted: nothing to revert",
                              f"commit {commit.reverted_by[:10]} reverts {commit.sha[:10]}"))
                continue
            change = _own_change_or_refuse(checkout, fix, commit)
            dirty = checkout.changed_paths(change.paths)
            if dirty:
                raise HpatchError(f"reverting {fix.id} touches files with uncommitted changes: "
                                  f"{', '.join(dirty)}; commit or stash them first")
            if not checkout.holds_change(change.text):
                rows.append(_already_out(checkout, fix, commit))
                continue
            try:
                sha = changes.commit_change(
                    checkout, branch=prep.branch, op="revert", fix_id=fix.id,
                    patch_text=change.text, paths=list(change.paths),
                    message=_message(checkout, commit, change), author=None, reverse=True)
            except ConflictError as exc:  # other failures (a git lock, ...) speak for themselves
                raise ConflictError(f"{fix.id} cannot be reverted cleanly (later commits changed "
                                    f"its lines): {exc}") from exc
            rows.append((fix.id, "reverted", f"commit {sha[:10]} reverts {commit.sha[:10]}"))
        output.table(rows, ["fix", "result", "detail"])
    return 0


def _own_change_or_refuse(checkout: Checkout, fix: Fix, commit: HpatchCommit) -> OwnChange:
    change = own_change(checkout, fix, commit)
    if change is None:
        others = _others(checkout, commit, fix_paths(fix)) or ["other changes"]
        raise ConflictError(
            f"{fix.id} cannot be reverted exactly: commit {commit.sha[:10]} also carries "
            f"{' and '.join(others)}, and the catalog no longer has variant "
            f"{commit.variant_name or '?'} as recorded (sha256:{commit.variant_sha or '?'}); "
            "take its lines out by hand")
    return change


def _already_out(checkout: Checkout, fix: Fix, commit: HpatchCommit) -> tuple[str, str, str]:
    """The commit is there but its change is not: reverted by hand, or changed since."""
    if any(fix.detect.shows_fix(p, text) for p in fix.detect.paths
           if (text := checkout.read_worktree(p)) is not None):
        raise ConflictError(f"{fix.id} cannot be reverted cleanly (later commits changed "
                            f"its lines since commit {commit.sha[:10]})")
    return (fix.id, "not in the code: nothing to revert",
            f"commit {commit.sha[:10]}'s change was taken out since")


def _others(checkout: Checkout, commit: HpatchCommit, own_paths: Iterable[str]) -> list[str]:
    """What else the commit carries, in words: the other fixes, else the files that are
    not the fix's (with other fixes there, their files are theirs)."""
    own = set(own_paths)
    other_fixes = [f for f in commit.carries if f != commit.fix_id]
    files = [p.rsplit("/", 1)[-1] for p in checkout.touched_paths(commit.sha) if p not in own]
    if other_fixes:
        return [", ".join(other_fixes) + (" and its other changes" if files else "")]
    return [f"its change{'s' if len(files) > 1 else ''} to {', '.join(files)}"] if files else []


def _message(checkout: Checkout, commit: HpatchCommit, change: OwnChange) -> str:
    others = _others(checkout, commit, change.paths)
    if not others:  # the commit is the fix and nothing else
        return changes.revert_message(commit)
    body = textwrap.fill(
        f"This takes {commit.fix_id}'s own change ({change.source}) out of commit "
        f"{commit.sha}, and leaves the rest of that commit: {'; '.join(others)}.", width=72)
    return (f'Revert {commit.fix_id} from "{commit.subject}"\n\n{body}\n\n'
            f"{TRAILER_REVERT}: {commit.fix_id}\n")


def recover_only(checkout: Checkout) -> int:
    with changes.guarded(checkout, "hpatch recover") as prep:
        # A lock a killed git left stops the user's next git command: name it here.
        checkout.wait_for_locks(prep.branch, wait=2.0)
    output.line("checkout is consistent")
    return 0
