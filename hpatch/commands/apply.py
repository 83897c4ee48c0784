from __future__ import annotations

from hpatch import changes, output, patching
from hpatch.assess import State, applied_commits, assess
from hpatch.catalog import Fix
from hpatch.checkout import Checkout
from hpatch.errors import ConflictError, HpatchError


def apply(checkout: Checkout, fixes: list[Fix], *, dry_run: bool) -> int:
    """Commit each fix's variant, in catalog order; stop at the first that cannot."""
    names = " ".join(f.id for f in fixes)
    with changes.guarded(checkout, f"hpatch apply {names}") as prep:
        release = checkout.hadoop_release()
        rows: list[tuple[str, str, str]] = []
        done: list[str] = []
        try:
            for fix in fixes:
                applied = applied_commits(checkout.hpatch_commits())
                result = assess(checkout, fix, release, applied)
                if result.state is State.CONFLICT:
                    raise ConflictError(f"{fix.id} does not apply to {release}: {result.detail}")
                if result.state is not State.APPLICABLE or result.variant is None:
                    rows.append((fix.id, f"{result.state.value}: nothing to do", result.detail))
                    continue
                variant = result.variant
                parsed = patching.parse(variant.patch)
                dirty = checkout.changed_paths(parsed.paths)
                if dirty:
                    raise HpatchError(
                        f"{fix.id} touches files with uncommitted changes: {', '.join(dirty)}; "
                        "commit or stash them first")
                if dry_run:
                    rows.append((fix.id, "would apply", f"variant {variant.name}"))
                    continue
                text = variant.patch.read_text(encoding="utf-8")
                sha = changes.commit_change(
                    checkout, branch=prep.branch, op="apply", fix_id=fix.id, patch_text=text,
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
    return 0
