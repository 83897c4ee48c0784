from __future__ import annotations

import time
from pathlib import Path

from hpatch import notes, output, records
from hpatch.catalog import Catalog
from hpatch.checkout import Checkout


def release_notes(checkout: Checkout, catalog: Catalog, runs_root: Path, *, since: str | None,
                  fmt: str, out: Path | None) -> int:
    release, entries = notes.collect(checkout, catalog, runs_root, since)
    branch = checkout.branch() or checkout.head()[:12]
    if fmt == "json":
        import json
        text = json.dumps(notes.as_json(branch, release, entries), indent=2) + "\n"
    elif fmt == "changes":
        text = notes.changes(branch, release, entries, time.strftime("%Y-%m-%d"))
    else:
        text = notes.markdown(branch, release, entries)
    if out is not None:
        records.write_output(out, text, "--output")
        output.note(f"wrote {out} ({len(entries)} fixes)")
    else:
        output.line(text.rstrip("\n"))
    return 0
