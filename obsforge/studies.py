"""The one table of studies. Each row is a subcommand of ``obsforge``: its config model and
stage function (``module:name`` in obsforge), the stage that function finishes with, and that
stage's printer (the lines :meth:`~obsforge.results.StageResult.summary` returns) and plotter
(what :meth:`~obsforge.results.StageResult.plot` draws again from the outputs). A new study is a
config model, a stage module and one row here.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["STUDIES", "Study", "load", "study_of_stage"]


def load(path: str) -> Any:
    """The object named ``module:name`` in obsforge."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(f"obsforge.{module}"), name)


@dataclass(frozen=True)
class Study:
    """One subcommand, its stage, and how that stage reports."""

    command: str
    help: str
    model: str
    run: str
    stage: str = ""
    printer: str | None = None
    plotter: str | None = None
    # Sections of a shared config that this command does not read (the top-jet commands accept
    # a scan config such as ``demo`` and ignore its density/search sections).
    ignore: tuple[str, ...] = ()
    fastjet: bool = False  # clusters jets: FastJet's banner is printed once, by the CLI

    def lines(self, result: Any) -> list[str]:
        if self.printer is None:  # a stage without a printer: its numbers as JSON
            return [json.dumps(result.numbers, indent=2), f"{result.stage.stage}: {result.path}"]
        return load(self.printer)(result)

    def plot(self, result: Any) -> list[Path] | None:
        return None if self.plotter is None else load(self.plotter)(result)


STUDIES = (
    Study(
        "generate top-jets",
        "e+e- -> t tbar with PYTHIA 8 (visible final state, per top mass)",
        "top_eeec:TopEEECStudy",
        "top_events:run_top_jets",
        stage="top-jets",
        printer="eeec_report:report_events",
        ignore=("density", "search"),
    ),
    Study(
        "eeec",
        "top jets -> C/A subjets -> EEEC triplets and plots (generates if needed)",
        "top_eeec:TopEEECStudy",
        "top_eeec:run_eeec",
        stage="eeec",
        printer="eeec_report:report_eeec",
        plotter="eeec_report:plot_eeec",
        ignore=("density", "search"),
        fastjet=True,
    ),
    Study(
        "density",
        "train the EEEC surrogate (flow or MLP) and test its closure",
        "eeec_density:DensityStudy",
        "eeec_density:run_density",
        stage="density",
        printer="density_report:report_density",
        ignore=("search",),
        fastjet=True,
    ),
    Study(
        "scan-shapes",
        "the whole chain (events -> EEEC -> surrogate -> NRE) scoring triangle shapes by the "
        "95%% HPD width of the m_top posterior",
        "shape_scan:ScanStudy",
        "shape_scan:run_scan",
        stage="scan",
        printer="scan_report:report_lines",
        plotter="scan_report:replot_scan",
        fastjet=True,
    ),
    Study(
        "binning",
        "e+e- -> WW optimal observables: Fisher information, TGC bounds and the information "
        "kept by uniform, Voronoi and optimal-transport binnings",
        "ww_binning:WWStudy",
        "ww_binning:run_ww_fisher",
        stage="ww-fisher",
        printer="ww_report:report_binning",
    ),
    Study(
        "ww-realistic",
        "e+e- -> WW with PYTHIA signal and backgrounds through FastJet, detector and selection: "
        "cut flow, purity, TGC bounds from parton level to detector + backgrounds",
        "ww_realistic:WWRealisticStudy",
        "ww_realistic:run_ww_realistic",
        stage="ww-realistic",
        printer="ww_report:report_realistic",
        fastjet=True,
    ),
    Study(
        "cp-observable",
        "VBF Higgs with c_HWtilde: classifier -> symbolic, provably CP-odd formula, and the "
        "significance table",
        "cp_observable:CPStudy",
        "cp_observable:run_cp_observable",
        stage="cp-observable",
        printer="cp_report:report_lines",
        fastjet=True,
    ),
    Study(
        "eeec-stream",
        "top jets streamed through the compiled EEEC kernel: shape moments + training subsample",
        "top_stream:StreamStudy",
        "top_stream:run_stream",
        stage="eeec-stream",
        printer="stream_report:report_stream",
        ignore=("fisher", "density", "search"),
        fastjet=True,
    ),
    Study(
        "fisher",
        "Fisher ranking of every EEEC shape from the streamed moments (streams if needed)",
        "fisher_scan:FisherStudy",
        "fisher_scan:run_fisher",
        stage="fisher",
        printer="fisher_report:report_fisher",
        plotter="fisher_report:replot_fisher",
        ignore=("density", "search"),
        fastjet=True,
    ),
    Study(
        "density-stream",
        "the EEEC surrogate trained on a streamed sample (e.g. 101 masses), closure from moments",
        "stream_density:StreamDensityStudy",
        "stream_density:run_stream_density",
        stage="density-stream",
        printer="density_report:report_stream_density",
        ignore=("fisher", "search"),
        fastjet=True,
    ),
    Study(
        "scan-stream",
        "the shape scan on a streamed sample (e.g. 101 masses): NRE with the density-stream "
        "surrogate, exact likelihoods with and without it, coverage, held-out mass fits",
        "stream_scan:StreamScanStudy",
        "stream_scan:run_stream_scan",
        stage="scan",
        printer="scan_report:report_lines",
        plotter="scan_report:replot_scan",
        ignore=("fisher",),
        fastjet=True,
    ),
    Study(
        "pdffit",
        "NNPDF-style replica fit of a neural-network PDF to DIS data (runcard YAML)",
        "pdffit.runcard:PDFRunCard",
        "pdf_fit:run_pdffit",
        stage="pdffit",
        printer="pdf_fit:report_lines",
    ),
)


def study_of_stage(stage: str) -> Study:
    """The study whose run finishes with ``stage`` (stages in between -- search-data,
    density-data, vbf-events -- get a study without printer or plotter)."""
    for study in STUDIES:
        if study.stage == stage:
            return study
    return Study(command="", help="", model="", run="", stage=stage)
