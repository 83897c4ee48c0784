"""`hpatch import`: upstream fixes, as catalog entries in the team's catalog.

The carrying lives in hpatch.importer.port, the entry in hpatch.importer.entry;
this command checks the input, shows what was found and writes. One id shows
its commits and ports in full; several (or a file of ids) give one row each."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hpatch import catalog as catalog_mod
from hpatch import interrupt, output, upstream
from hpatch.checkout import Checkout, read_only
from hpatch.errors import ConflictError, HpatchError, UsageError
from hpatch.importer.batch import Row, read_ids
from hpatch.importer.entry import build_entry, write_entry
from hpatch.importer.port import (
    Port,
    Target,
    carried_ids,
    carry,
    clean_subject,
    resolve_targets,
)
from hpatch.releases import Release
from hpatch.upstream import History


def import_fixes(fix_ids: tuple[str, ...], *, ids_file: Path | None, upstream_dir: Path,
                 releases: str | None, repos: tuple[Path, ...], catalog_root: Path,
                 force: bool, list_only: bool, dry_run: bool, as_json: bool,
                 with_prerequisites: bool = False) -> int:
    """One id: import_fix. Several, or a file of them: a row per fix; 0 when every one
    was imported for every release named, 1 otherwise."""
    ids = [_checked_id(i) for i in fix_ids] + (read_ids(ids_file) if ids_file else [])
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise UsageError("name a fix id, several, or --from FILE")
    if len(ids) == 1 and ids_file is None and not as_json:
        return import_fix(ids[0], upstream_dir=upstream_dir, releases=releases, repos=repos,
                          catalog_root=catalog_root, force=force, list_only=list_only,
                          dry_run=dry_run, with_prerequisites=with_prerequisites)
    writing = not (list_only or dry_run)
    if writing:
        _refuse_bundled(catalog_root)
    # upstream is read-only to hpatch: what the carrying writes goes to a scratch store
    with read_only(Checkout.open_repository(upstream_dir)) as source:
        tags = upstream.check_upstream(source)
        targets = resolve_targets(releases, repos)
        if not targets:
            raise UsageError("name the releases to carry them to: --releases 2.6.0,2.7.1 or "
                             "--repo DIR")
        rows = []
        for n, fix_id in enumerate(ids, 1):
            row = _one_row(fix_id, source, tags, targets, catalog_root, force=force,
                           writing=writing, with_prerequisites=with_prerequisites)
            output.note(f"[{n}/{len(ids)}] {fix_id}: {row.result}"
                        + (f" ({row.detail[:120]})" if row.detail else ""))
            rows.append(row)
        if as_json:
            output.as_json([r.as_dict() for r in rows])
        else:
            output.table([(r.fix, r.result, r.detail) for r in rows], ["fix", "result", "detail"])
        return 0 if all(r.result == "imported" for r in rows) else 1


def _one_row(fix_id: str, source: Checkout, tags: dict[str, Release], targets: list[Target],
             root: Path, *, force: bool, writing: bool, with_prerequisites: bool) -> Row:
    existing = root / fix_id
    if writing and (existing / "fix.toml").is_file() and not force:
        return Row(fix_id, "refused", f"already in {root} (--force imports it again)")
    try:
        history = upstream.find(source, fix_id)
        ports = [carry(source, history, t, tags, with_prerequisites=with_prerequisites)
                 for t in targets]
        good = [p for p in ports if p.ok]
        if not good:
            kind = ("fixed-upstream" if all(p.method == "fixed-upstream" for p in ports)
                    else "conflict")
            return Row(fix_id, kind, "; ".join(f"{p.release}: {p.conflict[0]}"
                                               for p in ports if p.conflict)[:300])
        if writing:
            with interrupt.held():  # the entry and its place in `order` land together
                write_entry(fix_id, root, good, history, source, existing, ports)
                catalog_mod.add_to_order(root, [fix_id])
        how = ", ".join(f"{p.release} {p.method}" + (
            f" (after {', '.join(carried_ids(p))})"
            if p.prerequisites else "") for p in good)
        missed = [p for p in ports if not p.ok]
        if missed:
            return Row(fix_id, "partial", how + "; no variant for " + ", ".join(
                str(p.release) for p in missed))
        return Row(fix_id, "imported" if writing else "importable", how)
    except HpatchError as exc:
        return Row(fix_id, "refused", str(exc))


def _checked_id(value: str) -> str:
    fix_id = value.strip().upper()
    if not catalog_mod.ID_PATTERN.match(fix_id):
        raise UsageError(f"{fix_id!r} is not a JIRA id like HDFS-9220")
    return fix_id


def import_fix(fix_id: str, *, upstream_dir: Path, releases: str | None,
               repos: tuple[Path, ...], catalog_root: Path, force: bool, list_only: bool,
               dry_run: bool, with_prerequisites: bool = False) -> int:
    """Write catalog_root/FIX from upstream's commits (with --list or --dry-run, only
    show them); 0 when every release named takes the fix, 1 when some do not."""
    fix_id = _checked_id(fix_id)
    if not (list_only or dry_run):  # only writing needs the team's catalog
        _refuse_bundled(catalog_root)
    existing = catalog_root / fix_id
    if (existing / "fix.toml").is_file() and not (force or list_only or dry_run):
        raise UsageError(f"{fix_id} is already in {catalog_root}; give --force to import it "
                         "again (its curated text is kept)")
    # upstream is read-only to hpatch: what the carrying writes goes to a scratch store
    with read_only(Checkout.open_repository(upstream_dir)) as source:
        tags = upstream.check_upstream(source)
        history = upstream.find(source, fix_id)
        targets = resolve_targets(releases, repos)
        for note in history.notes:
            output.note(f"{fix_id}: {note}")
        ports = [carry(source, history, t, tags, with_prerequisites=with_prerequisites)
                 for t in targets]
        _show(history, ports)
        if list_only or dry_run:
            if dry_run and any(p.ok for p in ports):
                _show_files(fix_id, catalog_root, ports, history, source)
            return 0 if all(p.ok for p in ports) else 1
        if not targets:
            raise UsageError("name the releases to carry it to: --releases 2.6.0,2.7.1 or "
                             "--repo DIR")
        good = [p for p in ports if p.ok]
        if not good:
            first = next((p.conflict[0] for p in ports if p.conflict), "")
            raise ConflictError(f"{fix_id} conflicts on every release named "
                                f"({', '.join(str(p.release) for p in ports)}): nothing written"
                                + (f" ({first[:300]})" if first else ""))
        with interrupt.held():  # the entry and its place in `order` land together
            written = write_entry(fix_id, catalog_root, good, history, source, existing, ports)
            added = catalog_mod.add_to_order(catalog_root, [fix_id])
        output.line(f"wrote {written}: {len(good)} variant(s); every field is marked imported: "
                    f"review it, then `hpatch --catalog {catalog_root} lint`")
        if added:
            output.note(f"added {fix_id} to the end of `order` in {catalog_root / 'catalog.toml'}")
        return 0 if len(good) == len(ports) else 1


def _refuse_bundled(root: Path) -> None:
    package = Path(catalog_mod.__file__).resolve().parent
    bundled = {(package / "_catalog").resolve(), (package.parent / "patches").resolve()}
    if root.resolve() in bundled:
        raise UsageError(f"{root} is hpatch's bundled catalog: import into your team's "
                         "catalog with --catalog DIR")


def _show(history: History, ports: list[Port]) -> None:
    rows = [(c.short, ", ".join(str(r) for r in c.releases) or "(unreleased)",
             ", ".join(p[:11] for p in c.picked_from) or "-", clean_subject(c)[:60])
            for c in history.commits]
    output.table(rows, ["commit", "first releases", "cherry-picked from", "subject"])
    if not ports:
        return
    output.line()
    rows = []
    for port in ports:
        used = ", ".join(c.short for c in port.commits) or "-"
        if port.ok:
            carried = [f"after {jira}" for jira in carried_ids(port)][:4]
            detail = "; ".join([*carried, *port.offsets[:3]]) or "-"
            rows.append((str(port.release), used, port.method, detail))
        else:
            rows.append((str(port.release), used, port.method or "conflict",
                         "; ".join(port.conflict[:2])))
    output.table(rows, ["release", "commits", "applies", "detail"])


def _show_files(fix_id: str, root: Path, ports: list[Port], history: History,
                source: Checkout) -> None:
    with tempfile.TemporaryDirectory(prefix=f".import-{fix_id}-") as tmp:
        entry = build_entry(fix_id, Path(tmp), [p for p in ports if p.ok], history,
                             source, None, ports)
        output.line()
        output.line(f"would write {root / fix_id}:")
        for path in sorted(entry.rglob("*")):
            if path.is_file():
                output.line(f"  {path.relative_to(entry)}")
        output.line()
        output.line((entry / "fix.toml").read_text(encoding="utf-8"))

