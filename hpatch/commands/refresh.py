from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from hpatch import catalog as catalog_mod
from hpatch import changes, output, patching
from hpatch.assess import State, applied_commits, assess
from hpatch.catalog import Fix, Variant
from hpatch.checkout import Checkout, read_only
from hpatch.errors import ConflictError, UsageError
from hpatch.releases import Release, ReleaseRange


def refresh(checkout: Checkout, fix: Fix, *, releases: str | None) -> int:
    """Port a fix to this checkout's release with offsets/fuzz, as a new, recorded variant."""
    with changes.guarded(checkout, f"hpatch refresh {fix.id}"):
        release = checkout.hadoop_release()
        result = assess(checkout, fix, release, applied_commits(checkout.hpatch_commits()))
        if result.state is not State.CONFLICT:
            output.line(f"{fix.id} is {result.state.value} on {release} ({result.detail}): "
                        "nothing to refresh")
            return 0
        base = result.variant
        if base is None:
            raise ConflictError(f"{fix.id} has no variant to start from")
        parsed = patching.parse(base.patch)
        files: dict[str, bytes | None] = {}
        records: list[dict[str, object]] = []
        for patched in parsed.patchset:
            name = patching.strip_prefix(patched.source_file) or patching.strip_prefix(
                patched.target_file)
            content = checkout.read_blob("HEAD", name)
            placements = patching.locate(patched, content)
            failed = [p for p in placements if p.found is None]
            if failed:
                raise ConflictError(
                    f"refresh cannot place {failed[0].describe()}; port {fix.id} by hand")
            new = patching.apply_placed(patched, content, placements)
            target = patching.strip_prefix(patched.target_file) or name
            files[target] = None if new is None else new.encode("utf-8")
            records.extend({"file": p.file, "hunk": p.hunk, "offset": p.offset, "fuzz": p.fuzz}
                           for p in placements)
        text = base.patch.read_text(encoding="utf-8")
        # The commit is only a way to the variant's text: made in a scratch store, so the
        # user's repository gets no blob, tree or commit of it.
        with read_only(checkout) as scratch:
            sha = scratch.commit_files(
                files, parent=checkout.head(),
                message=f"{fix.id}: {fix.title}\n\n{fix.fix}\n",
                author=changes.patch_author(text))
            new_text = scratch.format_patch(sha)
        wanted = ReleaseRange.parse(releases) if releases else ReleaseRange.parse(f"=={release}")
        if not wanted.contains(release):
            raise UsageError(f"--releases {releases} does not include this checkout's {release}")
        variants = _make_room(fix, wanted, release)
        name = str(release)
        if any(v.name == name for v in variants):
            name = f"{release}-refreshed"
        patch_path = fix.directory / "variants" / f"{name}.patch"
        _check_applies(checkout, new_text)
        patch_path.parent.mkdir(parents=True, exist_ok=True)
        patch_path.write_text(new_text, encoding="utf-8")
        fuzzed = sum(1 for r in records if r["fuzz"])
        variants.append(Variant(
            name=name, releases=wanted, patch=patch_path, made_for=str(release),
            refreshed={"from": base.name, "release": str(release),
                       "fuzzed_hunks": fuzzed, "hunks": records}))
        catalog_mod.write_variants(fix.directory, variants)
        output.table([(r["file"], r["hunk"], r["offset"], r["fuzz"]) for r in records],
                     ["file", "hunk", "offset", "fuzz"])
        output.line(f"wrote {patch_path} (variant {name} for {wanted}, from {base.name}); "
                    f"review it, then `hpatch apply {fix.id}`")
    return 0


def _make_room(fix: Fix, wanted: ReleaseRange, release: Release) -> list[Variant]:
    """Existing variants, each less the releases the new one takes over."""
    kept = []
    for variant in fix.variants:
        if not variant.releases.overlaps(wanted):
            kept.append(variant)
            continue
        if str(wanted) != f"=={release}":
            raise UsageError(f"--releases {wanted} overlaps variant {variant.name} "
                             f"({variant.releases}); choose a range that does not")
        rest = variant.releases.without(release)
        if rest is not None:
            kept.append(replace(variant, releases=rest))
    return kept


def _check_applies(checkout: Checkout, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".patch", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        ok, err = checkout.apply_check(Path(handle.name))
    if not ok:
        raise ConflictError(f"the refreshed variant does not apply after all: {err}")
