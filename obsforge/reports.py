"""Which printer and plotter belong to which stage: the one table behind
:meth:`~obsforge.results.StageResult.summary` and :meth:`~obsforge.results.StageResult.plot`.

A printer turns a finished stage into the lines the CLI prints; a plotter draws the stage's
report figures again from its outputs (none: the figures the run wrote are the report). A stage
without an entry prints its numbers as JSON.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["REPORTS", "Report", "report_for"]


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(f"obsforge.{module}"), name)


@dataclass(frozen=True)
class Report:
    """A stage's printer and plotter, as ``module:function`` names in obsforge."""

    printer: str | None = None
    plotter: str | None = None

    def lines(self, result: Any) -> list[str]:
        if self.printer is None:
            return [json.dumps(result.numbers, indent=2), f"{result.stage.stage}: {result.path}"]
        return _load(self.printer)(result)

    def plot(self, result: Any) -> list[Path] | None:
        return None if self.plotter is None else _load(self.plotter)(result)


REPORTS = {
    "top-jets": Report("eeec_report:report_events"),
    "eeec": Report("eeec_report:report_eeec", "eeec_report:plot_eeec"),
    "density": Report("density_report:report_density"),
    "scan": Report("scan_report:report_lines"),
    "ww-fisher": Report("ww_report:report_binning"),
    "cp-observable": Report("cp_report:report_lines"),
    "eeec-stream": Report("stream_report:report_stream"),
    "fisher": Report("fisher_report:report_fisher", "fisher_report:replot_fisher"),
    "pdffit": Report("pdf_fit:report_lines"),
}


def report_for(stage: str) -> Report:
    """The report of a stage (printing its numbers as JSON if it has none of its own)."""
    return REPORTS.get(stage, Report())
