"""The data fix's report as plain text: aligned columns, thousands separators, the FIA's cells."""
from __future__ import annotations

from typing import Sequence

from . import sql
from .fix import DatafixReport

_TITLES = {
    "dry-run": "DRY RUN - nothing was changed",
    "run": "RUN - committed",
    "report": "REPORT of a past run",
}


def table(header: Sequence[str], rows: Sequence[Sequence], *, right: Sequence[bool] | None = None) -> list[str]:
    """Rows under a header, columns aligned (numbers right-aligned with thousands separators)."""
    cells = [[f"{v:,}" if isinstance(v, int) else ("-" if v is None else str(v)) for v in row] for row in rows]
    if right is None:
        right = [all(isinstance(row[k], int) for row in rows) if rows else False for k in range(len(header))]
    widths = [max([len(header[k])] + [len(r[k]) for r in cells]) for k in range(len(header))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

    return [line(header)] + [line(r) for r in cells]


def format_report(report: DatafixReport, *, max_unfixable: int | None = None) -> str:
    fixed_title = "would fix" if report.mode == "dry-run" else "fixed"
    out = [f"SECMP0107 Requirement 2 data fix: {_TITLES.get(report.mode, report.mode)}",
           f"database  {report.database}"]
    if report.run_id is not None:
        out.append(f"run id    {report.run_id}")
    when = f"started   {report.started_at or '-'}   finished {report.finished_at or '-'}"
    if report.seconds is not None:
        when += f"   ({report.seconds:.2f} s)"
    out += [when, ""]
    rows = [[c.cohort, c.device_type, c.found, c.fixed, c.no_registration, c.no_certificate] for c in report.cells]
    t = report.total
    rows.append(["total", "", t.found, t.fixed, t.no_registration, t.no_certificate])
    out += table(["cohort", "type", "found", fixed_title, "no RDP record", "NO cert missing"], rows,
                 right=[False, False, True, True, True, True])
    verb = "would change" if report.mode == "dry-run" else "changed"
    out += ["", f"NetworkOperator slot rows {verb}: {report.slot_rows:,}",
            f"unfixable reasons: 'no RDP record' = {sql.NO_REGISTRATION}; 'NO cert missing' = {sql.NO_CERTIFICATE}",
            ""]
    shown = report.unfixable if max_unfixable is None else report.unfixable[:max_unfixable]
    out.append(f"Devices not fixed ({len(report.unfixable):,})" + (":" if report.unfixable else ": none"))
    if shown:
        out += table(["device_id", "cohort", "type", "mpxn", "registered NO", "reason"],
                     [[u.device_id, u.cohort, u.device_type, u.mpxn, u.registered_no, u.reason] for u in shown],
                     right=[False] * 6)
        if len(shown) < len(report.unfixable):
            out.append(f"... and {len(report.unfixable) - len(shown):,} more (use --json for the full list)")
    return "\n".join(out)
