"""What the harness reads of a target's Requirement 2 data-fix run (SIT through test support): the
report as JSON (`POST /test-support/v1/s1sps/{S1SP}/datafix` answers it; the in-process reference's
`DatafixReport.to_dict()` is the same shape), kept to what scenarios judge. The harness's own type,
so that no adapter but the in-process target imports the reference."""
from __future__ import annotations

from dataclasses import dataclass, field


class DatafixReportError(ValueError):
    """The report is not the shape the harness reads."""


@dataclass(frozen=True)
class Count:
    found: int
    fixed: int


@dataclass(frozen=True)
class Unfixable:
    device_id: str
    reason: str


@dataclass(frozen=True)
class DatafixReport:
    mode: str
    total: Count
    unfixable: tuple[Unfixable, ...] = field(default_factory=tuple)
    cells: tuple[dict, ...] = ()

    @classmethod
    def from_dict(cls, report: dict) -> "DatafixReport":
        try:
            cells = tuple(report["cells"])
            total = report.get("total") or {"found": sum(c["found"] for c in cells),
                                            "fixed": sum(c["fixed"] for c in cells)}
            return cls(str(report["mode"]), Count(int(total["found"]), int(total["fixed"])),
                       tuple(Unfixable(str(u["device_id"]), str(u["reason"])) for u in report["unfixable"]), cells)
        except (KeyError, TypeError, ValueError) as exc:
            raise DatafixReportError(f"expected a data-fix report with mode, cells, unfixable: {exc!r}") from None
