from __future__ import annotations

from hpatch import changes, output, patching
from hpatch.assess import (
    Assessment,
    State,
    applied_commits,
    assess,
    assess_all,
    sparse_detail,
)
from hpatch.catalog import Fix
from hpatch.checkout import Checkout
from hpatch.errors import ConflictError, HpatchError
from hpatch.releases import Release


def apply(checkout: Checkout, fixes: list[Fix], *, dry_run: bool) -> int:
    """Commit each fix's variant, in catalog order.

    Every precondition of the whole set (git at rest, no git lock in the way, no
    uncommitted change in a file any of them touches) is checked before the first
    commit, so that a refused run commits nothing; --dry-run shows the same refusal.
    A fix that does not apply stops the run there, keeping the commits before it."""
    if not fixes:
        raise HpatchError("nothing to apply: the catalog has no bug fixes to choose from")
    names = " ".join(f.id for f in fixes)
    with changes.guarded(checkout, f"hpatch apply {names}") as prep:
        release = checkout.hadoop_release()
        applied = applied_commits(checkout.hpatch_commits())
        plan = assess_all(checkout, fixes, release, applied)
        _refuse_problems(checkout, plan)
        checkout.wait_for_locks(prep.branch)
        if dry_run:
            _dry_run(plan, release)
            return 0
        _commit_all(checkout, prep.branch, fixes, release)
    return 0


def _refuse_problems(checkout: Checkout, plan: list[Assessment]) -> None:
    """One error naming every fix of the set that the user's uncommitted changes block."""
    problems: list[str] = []
    for result in plan:
        if result.state is State.BLOCKED:
            problems.append(f"{result.fix.id}: {result.detail}")
        elif result.state is State.APPLICABLE and result.variant is not None:
            paths = patching.parse(result.variant.patch).paths
            outside = checkout.outside_sparse_checkout(paths)
            if outside:
                problems.append(f"{result.fix.id} touches {sparse_detail(outside)}: hpatch "
                                "changes files in the work tree only")
                continue
            dirty = checkout.changed_paths(paths)
            if dirty:
                problems.append(_dirty_message(result.fix, dirty))
    if problems:
        suffix = "" if len(plan) == 1 else " (nothing was committed)"
        raise HpatchError("; ".join(problems) + suffix)


def _dirty_message(fix: Fix, dirty: list[str]) -> str:
    return (f"{fix.id} touches files with uncommitted changes: {', '.join(dirty)}; "
            "commit or stash them first")


def _dry_run(plan: list[Assessment], release: Release) -> None:
    """What the real run would do, stopping where it would stop."""
    rows: list[tuple[str, str, str]] = []
    for result in plan:
        if result.state is State.CONFLICT:
            if rows:
                output.table(rows, ["fix", "result", "detail"])
            raise ConflictError(f"{result.fix.id} does not apply to {release}: {result.detail}")
        if result.state is State.APPLICABLE and result.variant is not None:
            rows.append((result.fix.id, "would apply", f"variant {result.variant.name}"))
        else:
            rows.append((result.fix.id, f"{result.state.value}: nothing to do", result.detail))
    output.table(rows, ["fix", "result", "detail"])


def _commit_all(checkout: Checkout, branch: str, fixes: list[Fix], release: Release) -> None:
    rows: list[tuple[str, str, str]] = []
    done: list[str] = []
    try:
        for fix in fixes:
            # Assessed again: an earlier fix of this run may have changed the same files.
            result = assess(checkout, fix, release, applied_commits(checkout.hpatch_commits()))
            if result.state is State.CONFLICT:
                raise ConflictError(f"{fix.id} does not apply to {release}: {result.detail}")
            if result.state is not State.APPLICABLE or result.variant is None:
                rows.append((fix.id, f"{result.state.value}: nothing to do", result.detail))
                continue
            variant = result.variant
            parsed = patching.parse(variant.patch)
            dirty = checkout.changed_paths(parsed.paths)
            if dirty:
                raise HpatchError(_dirty_message(fix, dirty))
            text = variant.patch.read_text(encoding="utf-8")
            sha = changes.commit_change(
                checkout, branch=branch, op="apply", fix_id=fix.id, patch_text=text,
                paths=parsed.paths, message=changes.apply_message(fix, variant, release),
                author=changes.patch_author(text))
            done.append(fix.id)
            rows.append((fix.id, "applied", f"commit {sha[:10]}, variant {variant.name}"))
    except HpatchError as exc:
        if rows:
            output.table(rows, ["fix", "result", "detail"])
        if done:
            exc.args = (f"{exc.args[0]}. Committed before it and intact: {', '.join(done)}. "
                        "Port or skip the failing fix, then run apply again",)
        raise
    output.table(rows, ["fix", "result", "detail"])
