from __future__ import annotations

from hpatch import output
from hpatch.catalog import Catalog


def list_fixes(catalog: Catalog, *, as_json: bool) -> int:
    if as_json:
        output.as_json([
            {
                "id": fix.id, "aliases": list(fix.aliases), "kind": fix.kind,
                "component": fix.component, "title": fix.title,
                "upstream": list(fix.upstream), "fixed_in": list(fix.fixed_in),
                "upstream_alternative": list(fix.upstream_alternative),
                "affected": fix.affected.as_list(),
                "variants": [{"name": v.name, "releases": v.releases.as_list()}
                             for v in fix.variants],
            }
            for fix in catalog
        ])
        return 0
    rows = [
        (fix.id, ", ".join(fix.aliases) or "-", fix.component, fix.title,
         f"{', '.join(fix.upstream) or 'local'} ({fix.first_fixed})", str(fix.affected))
        for fix in catalog
    ]
    output.table(rows, ["fix", "aliases", "component", "title", "upstream fix (first release)",
                        "affected"])
    return 0
