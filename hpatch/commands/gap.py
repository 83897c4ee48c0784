"""`hpatch gap`: which upstream fixes a fork lacks, read from its code."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hpatch import forks, gap, output, records
from hpatch.checkout import Checkout
from hpatch.errors import HpatchError, UsageError
from hpatch.releases import Release

FORMATS = ("table", "json", "csv")
CSV_FIELDS = ("rank", "id", "state", "component", "carry", "has_test", "backported_to",
              "modules", "score", "reason", "commits", "subject")


def gap_command(repo: Path, *, upstream_dir: Path, until: str | None, base: str | None,
                components: str | None, fmt: str, output_path: Path | None,
                carry: bool = True) -> int:
    fork = Checkout.open(repo)
    release = _base(fork, base)
    source = Checkout.open_repository(upstream_dir)
    wanted = _components(components)
    span = gap.resolve_range(source, release, until)
    output.note(f"reading {span.base_tag}..{span.until} of {source.root} against "
                f"{fork.root} (Apache base {release})")
    report = gap.scan(source, fork, span, components=wanted, carry=carry,
                      progress=output.Progress("scanning"))
    if not report.records:
        raise UsageError(f"{span.base_tag}..{span.until} holds no fix (a commit whose "
                         "subject names a JIRA id and changes src/main)"
                         + (f" in {components}" if components else ""))
    text = render(report, fmt)
    if output_path is not None:
        records.write_output(output_path, text, "--output")
        output.note(f"{len(report.records)} fixes written to {output_path}")
        if fmt == "table":
            return 0
    else:
        output.line(text.rstrip("\n"))
    return 0


def _base(fork: Checkout, given: str | None) -> Release:
    if given:
        try:
            return Release.parse(given)
        except HpatchError as exc:
            raise UsageError(f"--base {given}: {exc}") from exc
    try:
        return forks.base_of(fork).release
    except HpatchError as exc:
        raise UsageError(f"{exc}; give the Apache release it derives from with --base"
                         if "--base" not in str(exc) else str(exc)) from exc


def _components(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    by_name = {k.lower(): v for k, v in gap.COMPONENTS.items()}
    by_name.update({v.lower(): v for v in gap.COMPONENTS.values()})
    chosen = set()
    for name in (n.strip() for n in text.split(",") if n.strip()):
        if name.lower() not in by_name:
            raise UsageError(f"--component {name}: not one of "
                             f"{', '.join(sorted(set(gap.COMPONENTS.values())))}")
        chosen.add(by_name[name.lower()])
    return frozenset(chosen)


def render(report: gap.GapReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps([r.as_dict() for r in report.records], indent=2) + "\n"
    if fmt == "csv":
        return _csv(report)
    return _table(report)


def _csv(report: gap.GapReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for r in report.records:
        writer.writerow([r.rank or "", r.id, r.state, r.component,
                         r.carry.method if r.carry else "", "yes" if r.has_test else "no",
                         " ".join(r.backported_to), " ".join(r.modules),
                         "" if r.score is None else f"{r.score:.2f}", r.reason,
                         " ".join(r.commits), r.subject])
    return buffer.getvalue()


def _table(report: gap.GapReport) -> str:
    todo = [r for r in report.records if r.rank is not None]
    rows = [(r.rank, r.id, r.state, r.carry.method if r.carry else "-",
             "yes" if r.has_test else "no", ",".join(r.backported_to) or "-",
             _short(r.modules), r.subject[:60]) for r in todo]
    parts = [f"{report.fork}: upstream fixes in {report.base_tag}..{report.until} that the "
             f"fork lacks, in the order to take them ({len(todo)} of {len(report.records)})",
             output.render_table(rows, ["rank", "fix", "state", "carry", "test",
                                        "backported", "modules", "subject"]),
             "", "By state and component:"]
    summary = report.summary()
    states = [s for s in gap.STATES if any(row[s] for row in summary.values())]
    table = [(c, *(row[s] for s in states), sum(row.values()))
             for c, row in sorted(summary.items())]
    table.append(("all", *(sum(row[s] for row in summary.values()) for s in states),
                  len(report.records)))
    parts.append(output.render_table(table, ["component", *states, "fixes"]))
    return "\n".join(parts) + "\n"


def _short(modules: tuple[str, ...]) -> str:
    names = [m.rsplit("/", 1)[-1] for m in modules]
    return ",".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
