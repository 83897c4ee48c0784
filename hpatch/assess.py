"""A fix's state on a checkout, decided from the code found there."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from hpatch import patching
from hpatch.catalog import Fix, Variant
from hpatch.checkout import Checkout, HpatchCommit, commit_diff_paths
from hpatch.errors import CatalogError, HpatchError
from hpatch.releases import Release


class State(str, Enum):
    APPLIED = "applied"
    APPLICABLE = "applicable"
    FIXED_UPSTREAM = "fixed-upstream"
    NOT_AFFECTED = "not-affected"
    CONFLICT = "conflict"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Assessment:
    fix: Fix
    state: State
    detail: str
    variant: Variant | None = None
    commit: str | None = None
    placements: tuple[patching.Placement, ...] = field(default=())
    # applied: the fix's own change in its commit, where it can be told apart
    change: OwnChange | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "fix": self.fix.id,
            "title": self.fix.title,
            "state": self.state.value,
            "variant": self.variant.name if self.variant else None,
            "commit": self.commit,
            "detail": self.detail,
            "failed_hunks": [p.describe() for p in self.placements if not p.exact],
        }


def applied_commits(history: list[HpatchCommit]) -> dict[str, HpatchCommit]:
    """fix id -> the newest hpatch commit that applied it; `reverted_by` names an hpatch
    revert that followed it. Whether its change is still in the code is assess()'s
    question: a `git revert` of the revert brings it back, a hand revert takes it out."""
    current: dict[str, HpatchCommit] = {}
    for commit in history:
        if commit.is_revert:
            if commit.fix_id in current:
                current[commit.fix_id] = replace(current[commit.fix_id],
                                                 reverted_by=commit.sha)
        elif commit.fix_id:
            current[commit.fix_id] = commit
    return current


@dataclass(frozen=True)
class OwnChange:
    """The change one hpatch commit made for one fix, as a patch of its own."""

    text: str
    paths: tuple[str, ...]
    source: str  # where the patch comes from, for messages


def recorded_variant(fix: Fix, commit: HpatchCommit) -> Variant | None:
    """The catalog's variant that the commit names, if it is still the patch recorded
    (same digest; commits that recorded no digest go by the name)."""
    for variant in fix.variants:
        if variant.name == commit.variant_name and (
                not commit.variant_sha or variant.digest() == commit.variant_sha):
            return variant
    return None


def own_change(checkout: Checkout, fix: Fix, commit: HpatchCommit) -> OwnChange | None:
    """Exactly fix's own change in commit: its variant as recorded; else the commit's
    diff where the commit carries that fix and nothing else; else None (it cannot be
    told apart from another fix's or the user's change in the same commit)."""
    variant = recorded_variant(fix, commit)
    if variant is not None:
        text = variant.patch.read_text(encoding="utf-8", errors="surrogateescape")
        return OwnChange(text, tuple(patching.touched_paths(variant.patch)),
                         f"variant {variant.name} as recorded")
    touched = checkout.touched_paths(commit.sha)
    if commit.carries == (fix.id,) and touched and set(touched) <= set(fix_paths(fix)):
        return OwnChange(checkout.commit_diff(commit.sha), tuple(touched),
                         f"commit {commit.sha[:10]}'s diff")
    return None


def in_code(checkout: Checkout, fix: Fix, commit: HpatchCommit, *,
            tree: str | None = None) -> bool:
    """Is the commit's change for fix still in the work tree (or in tree)? A revert
    (git's own, or any later change that takes the fix's lines out) makes it no."""
    return _held(checkout, fix, commit, tree)[0]


def _held(checkout: Checkout, fix: Fix, commit: HpatchCommit,
          tree: str | None = None) -> tuple[bool, OwnChange | None]:
    change = own_change(checkout, fix, commit)
    if change is not None:
        return checkout.holds_change(change.text, tree=tree), change
    # Not separable: then at least the commit's lines in the fix's own files must be there.
    ours = set(fix_paths(fix))
    mine = [p for p in checkout.touched_paths(commit.sha) if p in ours]
    return bool(mine) and checkout.holds_change(
        commit_diff_paths(checkout, commit.sha, mine), tree=tree), None


def assess_all(checkout: Checkout, fixes: list[Fix], release: Release,
               applied: dict[str, HpatchCommit]) -> list[Assessment]:
    """assess() for each fix, with one look at HEAD's tree for all of them."""
    tracked = frozenset(checkout.tracked(p for fix in fixes for p in fix_paths(fix)))
    return [assess(checkout, fix, release, applied, tracked) for fix in fixes]


def assess(checkout: Checkout, fix: Fix, release: Release,
           applied: dict[str, HpatchCommit],
           tracked: frozenset[str] | None = None) -> Assessment:
    """A fix is applied only while its hpatch commit's change is in the code; after
    that, the code decides, as for any other fix.

    tracked: those of the fix's paths that HEAD has, when the caller knows."""
    mine = applied.get(fix.id)
    if mine is None:
        return _from_code(checkout, fix, release, tracked)
    held, change = _held(checkout, fix, mine)
    if held:
        variant = next((v for v in fix.variants if v.name == mine.variant_name), None)
        return Assessment(fix, State.APPLIED, f"commit {mine.sha[:10]}", variant, mine.sha,
                          change=change)
    found = _from_code(checkout, fix, release, tracked)
    if mine.reverted_by:  # hpatch's own revert: the usual way out, nothing to remark
        return found
    return replace(found, detail=f"{found.detail} (hpatch commit {mine.sha[:10]}'s change "
                                 "is no longer in the code)")


def _from_code(checkout: Checkout, fix: Fix, release: Release,
               tracked: frozenset[str] | None) -> Assessment:
    gone = _gone(checkout, fix, tracked)
    if gone:
        outside = checkout.outside_sparse_checkout(gone)
        if len(outside) == len(gone):
            return _assess_outside_sparse(checkout, fix, release, outside)
        return Assessment(fix, State.BLOCKED,
                          blocked_detail([p for p in gone if p not in outside]))
    code = {p: checkout.read_worktree(p) for p in fix.detect.paths}
    present = {p: text for p, text in code.items() if text is not None}
    for path, text in present.items():
        if fix.detect.shows_fix(path, text):
            return Assessment(fix, State.FIXED_UPSTREAM, f"the fix's code is in {_short(path)}")
    candidates = fix.variants_for(release)
    for variant in candidates:
        parsed = patching.parse(variant.patch)  # a damaged catalog is an error, not a state
        try:
            patching.check_paths_inside(checkout.root, parsed.paths)
        except CatalogError:
            raise
        except HpatchError as exc:
            return Assessment(fix, State.CONFLICT, f"variant {variant.name}: {exc}", variant)
        ok, _ = checkout.apply_check(variant.patch)
        if ok:
            claimed = variant.releases.contains(release)
            note = "" if claimed else f" (declared for {variant.releases}; applies cleanly)"
            return Assessment(fix, State.APPLICABLE, f"variant {variant.name}{note}", variant)
    buggy = [p for p, text in present.items() if fix.detect.shows_bug(p, text)]
    if not buggy:
        where = ", ".join(_short(p) for p in present) or "none of its files exist here"
        return Assessment(fix, State.NOT_AFFECTED, f"the buggy code is absent ({where})")
    best = candidates[0] if candidates else None
    placements: tuple[patching.Placement, ...] = ()
    if best is not None:
        parsed = patching.parse(best.patch)
        placements = tuple(patching.locate_all(parsed, checkout.read_worktree))
    failed = [p for p in placements if not p.exact]
    reason = failed[0].describe() if failed else "git apply refuses the variant"
    return Assessment(
        fix, State.CONFLICT,
        f"bug present in {_short(buggy[0])}, no variant applies: {reason}; "
        f"try `hpatch refresh {fix.id}`", best, None, placements)


def fix_paths(fix: Fix) -> list[str]:
    """Every file the fix's probes read or its variants touch."""
    paths = list(fix.detect.paths)
    for variant in fix.variants:
        paths.extend(p for p in patching.touched_paths(variant.patch) if p not in paths)
    return paths


def _gone(checkout: Checkout, fix: Fix, tracked: frozenset[str] | None) -> list[str]:
    """The fix's files that HEAD has but the work tree does not (deleted, `git rm`-ed,
    or replaced by a directory): an uncommitted change, not a sign the code is absent."""
    paths = fix_paths(fix)
    in_head = checkout.tracked(paths) if tracked is None else [p for p in paths if p in tracked]
    # a symlink in a file's place is a replacement, even if it leads to the same code
    return [p for p in in_head
            if checkout.read_worktree(p) is None or (checkout.root / p).is_symlink()]


def blocked_detail(paths: list[str]) -> str:
    return (f"uncommitted change: {', '.join(paths)} deleted or replaced in the work tree "
            "(HEAD has it); commit or restore it first")


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _assess_outside_sparse(checkout: Checkout, fix: Fix, release: Release,
                           outside: list[str]) -> Assessment:
    """The state of a fix whose files a sparse checkout leaves out of the work tree,
    read from the index (what `git sparse-checkout add` would check out)."""
    where = f"{sparse_detail(outside)}; read from the index"
    for path in fix.detect.paths:
        text = checkout.read_worktree(path) if path not in outside else checkout.read_blob(
            "", path)
        if text is not None and fix.detect.shows_fix(path, text):
            return Assessment(fix, State.FIXED_UPSTREAM,
                              f"the fix's code is in {_short(path)} ({where})")
    for variant in fix.variants_for(release):
        if checkout.apply_check(variant.patch, cached=True)[0]:
            return Assessment(fix, State.APPLICABLE, f"variant {variant.name} ({where})",
                              variant)
    buggy = [p for p in fix.detect.paths
             if (text := checkout.read_blob("", p)) is not None and fix.detect.shows_bug(p, text)]
    if buggy:
        return Assessment(fix, State.CONFLICT,
                          f"bug present in {_short(buggy[0])}, no variant applies ({where})")
    return Assessment(fix, State.NOT_AFFECTED, f"the buggy code is absent ({where})")


def sparse_detail(paths: list[str]) -> str:
    dirs = " ".join(sorted({p.rsplit("/", 1)[0] if "/" in p else p for p in paths}))
    return (f"{', '.join(_short(p) for p in paths)} outside the sparse checkout "
            f"(`git sparse-checkout add {dirs}` brings it in)")
