"""`hpatch import`: an upstream fix, as a catalog entry in the team's catalog.

The carrying lives in hpatch.importer.port, the entry in hpatch.importer.entry;
this command checks the input, shows what was found and writes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hpatch import catalog as catalog_mod
from hpatch import output, upstream
from hpatch.checkout import Checkout
from hpatch.errors import ConflictError, UsageError
from hpatch.importer.entry import build_entry, write_entry
from hpatch.importer.port import Port, carry, clean_subject, resolve_targets
from hpatch.upstream import History


def import_fix(fix_id: str, *, upstream_dir: Path, releases: str | None,
               repos: tuple[Path, ...], catalog_root: Path, force: bool, list_only: bool,
               dry_run: bool) -> int:
    """Write catalog_root/FIX from upstream's commits (with --list or --dry-run, only
    show them); 0 when every release named takes the fix, 1 when some do not."""
    fix_id = fix_id.strip().upper()
    if not catalog_mod.ID_PATTERN.match(fix_id):
        raise UsageError(f"{fix_id!r} is not a JIRA id like HDFS-9220")
    if not (list_only or dry_run):  # only writing needs the team's catalog
        _refuse_bundled(catalog_root)
    existing = catalog_root / fix_id
    if (existing / "fix.toml").is_file() and not (force or list_only or dry_run):
        raise UsageError(f"{fix_id} is already in {catalog_root}; give --force to import it "
                         "again (its curated text is kept)")
    source = Checkout.open(upstream_dir)
    tags = upstream.check_upstream(source)
    history = upstream.find(source, fix_id)
    targets = resolve_targets(releases, repos)
    for note in history.notes:
        output.note(f"{fix_id}: {note}")
    ports = [carry(source, history, t, tags) for t in targets]
    _show(history, ports)
    if list_only or dry_run:
        if dry_run and any(p.ok for p in ports):
            _show_files(fix_id, catalog_root, ports, history, source)
        return 0 if all(p.ok for p in ports) else 1
    if not targets:
        raise UsageError("name the releases to carry it to: --releases 2.6.0,2.7.1 or --repo DIR")
    good = [p for p in ports if p.ok]
    if not good:
        raise ConflictError(f"{fix_id} conflicts on every release named "
                            f"({', '.join(str(p.release) for p in ports)}): nothing written")
    written = write_entry(fix_id, catalog_root, good, history, source, existing, ports)
    output.line(f"wrote {written}: {len(good)} variant(s); every field is marked imported: "
                f"review it, then `hpatch --catalog {catalog_root} lint`")
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
            detail = "; ".join(port.offsets[:3]) or "-"
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

