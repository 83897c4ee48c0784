from __future__ import annotations

from hpatch import changes, output
from hpatch.assess import applied_commits
from hpatch.catalog import Fix
from hpatch.checkout import Checkout
from hpatch.errors import ConflictError, HpatchError


def revert(checkout: Checkout, fixes: list[Fix]) -> int:
    """Take fixes off with revert commits (history is never rewritten)."""
    names = " ".join(f.id for f in fixes)
    with changes.guarded(checkout, f"hpatch revert {names}") as prep:
        rows = []
        for fix in reversed(fixes):  # newest first, as a stack comes off
            commit = applied_commits(checkout.hpatch_commits()).get(fix.id)
            if commit is None:
                rows.append((fix.id, "not applied by hpatch here: nothing to revert", "-"))
                continue
            paths = checkout.touched_paths(commit.sha)
            dirty = checkout.changed_paths(paths)
            if dirty:
                raise HpatchError(f"reverting {fix.id} touches files with uncommitted changes: "
                                  f"{', '.join(dirty)}; commit or stash them first")
            try:
                sha = changes.commit_change(
                    checkout, branch=prep.branch, op="revert", fix_id=fix.id,
                    patch_text=checkout.commit_diff(commit.sha), paths=paths,
                    message=changes.revert_message(commit), author=None, reverse=True)
            except ConflictError as exc:  # other failures (a git lock, ...) speak for themselves
                raise ConflictError(f"{fix.id} cannot be reverted cleanly (later commits changed "
                                    f"its lines): {exc}") from exc
            rows.append((fix.id, "reverted", f"commit {sha[:10]} reverts {commit.sha[:10]}"))
        output.table(rows, ["fix", "result", "detail"])
    return 0


def recover_only(checkout: Checkout) -> int:
    with changes.guarded(checkout, "hpatch recover") as prep:
        # A lock a killed git left stops the user's next git command: name it here.
        checkout.wait_for_locks(prep.branch, wait=2.0)
    output.line("checkout is consistent")
    return 0
