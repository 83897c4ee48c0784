"""A copy of a checkout's tree that a build runs on, with the build fixes its
release line needs applied to the copy only (the checkout is never changed)."""

from __future__ import annotations

from pathlib import Path

from hpatch import patching
from hpatch.assess import State, applied_commits, assess
from hpatch.catalog import Catalog, Fix
from hpatch.checkout import Checkout
from hpatch.errors import HpatchError
from hpatch.releases import Release


def needed_build_fixes(checkout: Checkout, catalog: Catalog, release: Release) -> list[Fix]:
    """The catalog's build fixes that apply to this checkout (native code on new toolchains)."""
    applied = applied_commits(checkout.hpatch_commits())
    return [f for f in catalog if f.kind == "build"
            and assess(checkout, f, release, applied).state is State.APPLICABLE]


def apply_to_stage(fix: Fix, checkout: Checkout, release: Release, stage: Path) -> str:
    """Apply fix's variant for this release to the copy in stage; its variant's digest."""
    result = assess(checkout, fix, release, {})
    if result.variant is None:
        raise HpatchError(f"build fix {fix.id} has no variant for {release}")
    parsed = patching.parse(result.variant.patch)
    for patched in parsed.patchset:
        source = patching.strip_prefix(patched.source_file)
        target = patching.strip_prefix(patched.target_file) or source
        path = stage / (source or target)
        content = path.read_text(encoding="utf-8") if path.is_file() else None
        placements = patching.locate(patched, content, max_fuzz=0)
        if not all(p.exact for p in placements):
            raise HpatchError(f"build fix {fix.id} does not apply to the copy")
        new = patching.apply_placed(patched, content, placements)
        if new is None:
            path.unlink()
        else:
            (stage / target).parent.mkdir(parents=True, exist_ok=True)
            (stage / target).write_text(new, encoding="utf-8")
    return f"{fix.id}:{result.variant.name}:{result.variant.digest()}"
