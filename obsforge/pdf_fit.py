"""The NN PDF fit as a stage: runcard -> :func:`~obsforge.pdffit.runcard.fit_runcard` ->
run folder (fit.json, replicas at Q0, an LHAPDF6 set) and plots.

``obsforge pdffit --config RUNCARD`` (an NNPDF-style YAML runcard, validated on load) writes
``runs/<name>/pdffit-<hash>/``: ``fit.json`` (the validated summary), ``replicas_q0.npz``,
``<name>/`` (an LHAPDF6 set on the grid of :mod:`~obsforge.pdffit.export`), ``timing.json`` (outside
the checksummed outputs) and ``report/`` (PDFs at Q0 and 100 GeV against NNPDF3.1 NLO). With
``batch_replicas`` the replicas are fitted in batches on Dask workers and merged.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from obsforge.atomic import atomic_write_json
from obsforge.parallel import Execution, chunk_sizes, dask_client, map_tasks
from obsforge.pdffit.export import (
    export_checks,
    load_grid_evolution,
    write_fit_set,
)
from obsforge.pdffit.fit import FitData, FitResult, fit_replicas, merge_results, prepare_fit_data
from obsforge.pdffit.model import BASIS
from obsforge.pdffit.reference import REFERENCE, reference_pdf_at
from obsforge.pdffit.runcard import PDFRunCard, fit_options, fit_runcard
from obsforge.pdffit.validation import flavour_xf, physical_pdfs
from obsforge.progress import PROGRESS_TOPIC, FitProgress, worker_progress
from obsforge.rundir import StageDir, StageResult

__all__ = ["PDFRunCard", "plot_pdfs", "replica_fitter", "report_lines", "run_pdffit"]

log = logging.getLogger(__name__)

PDFFIT_VERSION = 8  # 2: post-fit selection; 3: u/d fixed, NNPDF4.0 preprocessing, positivity;
# 4: heavy-quark scheme (FK tables per scheme); 5: fit time in timing.json, not fit.json;
# 6: positivity and integrability on, the exact reference reader, the NNPDF-like LHAPDF grid;
# 7: positivity also at Q0 and for the charm; 8: Drell-Yan sets, quadratic SMEFT terms, the
# coefficients trained in units of their one-at-a-time standard deviation


def _fit_batch(recipe, rows: slice, extras, seed: int, threads: int | None, batch: int,
               progress=None, **options):  # fmt: skip
    """One Dask task: builds the fit data of replicas ``rows`` from ``recipe`` (the arguments
    of prepare_fit_data) and ``extras`` (K-factors, positivity, integrability), then fits
    them as one model."""
    if threads is not None:
        torch.set_num_threads(threads)
    data = prepare_fit_data(**recipe, rows=rows)
    for name, value in extras.items():
        setattr(data, name, value)
    progress = progress or worker_progress(batch)
    return fit_replicas(data, rows.stop - rows.start, seed, progress=progress, **options)


EXTRAS = (
    "kfactors",
    "kfactors_quadratic",
    "wilson_scale",
    "positivity",
    "positivity_x",
    "integrability_x",
    "integrability_basis",
)


def replica_fitter(card: PDFRunCard, execution: Execution | None):
    """``fit(data, recipe)`` for :func:`fit_runcard`: all replicas in one batched model, or,
    with ``batch_replicas``, batches of replicas spread over Dask workers (one thread each)
    and merged back into one model; either way with the live line of :class:`FitProgress`."""
    options = fit_options(card)

    def fit(data: FitData, recipe: dict[str, Any]) -> FitResult:
        line = FitProgress(card.max_epochs, card.replicas)
        try:
            if card.batch_replicas == 0 or card.batch_replicas >= card.replicas:
                return fit_replicas(
                    data, card.replicas, card.seed, progress=line.batch(0), **options
                )
            starts = np.cumsum([0, *chunk_sizes(card.replicas, card.batch_replicas)])
            extras = {name: getattr(data, name) for name in EXTRAS}
            with dask_client(execution or Execution()) as client:
                threads = None if client is None else 1  # inline: leave the caller's threads
                if client is not None:
                    client.subscribe_topic(PROGRESS_TOPIC, lambda event: line.update(event[1]))
                tasks = [
                    {"rows": slice(int(lo), int(hi)), "seed": card.seed + 7919 * i,
                     "threads": threads, "batch": i,
                     "progress": line.batch(i) if client is None else None, **options}
                    for i, (lo, hi) in enumerate(zip(starts[:-1], starts[1:], strict=True))
                ]  # fmt: skip
                shared = {"recipe": recipe, "extras": extras}
                return merge_results(
                    map_tasks(client, _fit_batch, tasks, "replica batches", shared)
                )
        finally:
            line.close()

    return fit


def run_pdffit(card: PDFRunCard, execution: Execution | None = None) -> StageResult:
    """Run (or reuse) the fit of ``card``; ``execution``: where replica batches run."""
    stage = StageDir(card.runs_dir, card.name, "pdffit", card, [], PDFFIT_VERSION)
    if (done := stage.result()) is not None:
        return done
    load_grid_evolution()  # before the fit: a missing file is an error now, not later
    stage.begin(seeds={"replicas": card.seed})
    start = time.perf_counter()
    outcome = fit_runcard(card, replica_fitter(card, execution))
    atomic_write_json(stage.path / "timing.json", {"fit_seconds": time.perf_counter() - start})
    grid = load_grid_evolution()
    x, f_evol, summary = outcome.x, outcome.f_evol, outcome.summary
    f_grid = outcome.f_at(grid.x)
    folder = write_fit_set(stage.path, card.name, f_grid, grid, {
        "SetDesc": "obsforge NLO DIS fit", "OrderQCD": 1, "AlphaS_OrderQCD": 1,
        "AlphaS_MZ": 0.118, "MZ": 91.1876,
    })  # fmt: skip
    summary["export"] = export_checks(folder / f"{card.name}_0000.dat", grid, outcome.f_at)
    stage.write("fit.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=1)))
    stage.write("replicas_q0.npz", lambda tmp: _save(tmp, x=x, f_evol=f_evol, basis=BASIS))
    k = int(np.argmin(np.abs(np.where(grid.subgrid >= 0, grid.q, np.inf) - 100.0)))
    evolved = (grid.x, float(grid.q[k]), grid.evolve(f_grid, [k])[..., 0])
    plot_pdfs(x, f_evol, stage.path / "report", evolved)
    return stage.complete(["fit.json", "replicas_q0.npz"], summary)


def _save(path, x, f_evol, basis) -> None:
    with open(path, "wb") as handle:
        np.savez_compressed(handle, x=x, f_evol=f_evol, basis=np.array(basis))


def plot_pdfs(x: np.ndarray, f_evol: np.ndarray, folder: Path, evolved=None) -> None:
    """x g, x u_v, x d_v, x Sigma with 68% bands against NNPDF3.1 NLO: at Q0 = 1.65 GeV
    (``pdfs_q0``) and, with ``evolved`` = (x, Q, x f (R, 13, n_x)), at that Q (``pdfs_q100``)."""
    from obsforge.plotting import new_figure, save_figure

    panels = [("q0", x, 1.65, flavour_xf(x, f_evol))]
    if evolved is not None:
        panels.append(("q100", *evolved))
    for tag, x, q, flav in panels:
        region = (x <= 0.9) & (x >= 1e-5)
        ours, theirs = physical_pdfs(flav), physical_pdfs(reference_pdf_at(x, q))
        fig, axes = new_figure(ncols=4, figsize=(18, 4.2), squeeze=False)
        for ax, name in zip(axes[0], ours, strict=True):
            lo, mid, hi = np.percentile(ours[name][:, region], [16, 50, 84], axis=0)
            ax.fill_between(x[region], lo, hi, alpha=0.4, label="obsforge (68%)")
            ax.plot(x[region], mid)
            ax.plot(x[region], theirs[name][region], "k--", label="NNPDF3.1 NLO")
            ax.set_xscale("log")
            ax.set_xlabel("x")
            ax.set_title(f"x {name} at Q = {q:.3g} GeV", fontsize=13)
        axes[0, 0].legend(fontsize=9)
        save_figure(fig, folder / f"pdfs_{tag}")


def report_lines(result: StageResult) -> list[str]:
    """What ``obsforge pdffit`` prints: chi2 per dataset, the comparison with NNPDF3.1."""
    s = result.numbers
    timing = result.path / "timing.json"
    seconds = json.loads(timing.read_text())["fit_seconds"] if timing.exists() else float("nan")
    lines = [f"{s['replicas']} replicas ({s['replicas_kept']} pass the post-fit selection) in "
             f"{seconds:.0f} s, sum rules to {s['sum_rules_max_deviation']:.1e}"]  # fmt: skip
    reference = s.get("reference", REFERENCE)
    lines.append(f"{'dataset':<26} {'N':>5} {'chi2/N central':>15} {'replicas':>9} reference")
    for row in s["chi2"]:
        lines.append(
            f"{row['dataset']:<26} {row['points']:>5} {row['chi2_central']:>15.3f} "
            f"{row['chi2_replicas']:>9.3f} {row['chi2_reference']:>9.3f}"
        )
    if "vs_reference" in s:
        lines.append(f"PDFs at Q0 vs {reference} (1e-3 < x < 0.7): it lies within our 68% / "
                     "95%, largest pull")  # fmt: skip
        for name, row in s["vs_reference"].items():
            pull = (
                "no pull (one replica)"
                if row["max_abs_pull"] is None
                else f"{row['max_abs_pull']:.1f} at x = {row['x_at_max_pull']:.2g}"
            )
            lines.append(f"  x {name:<6} {row['within_68']:.2f} / {row['within_95']:.2f}, {pull}")
    if "export" in s:
        e = s["export"]
        lines.append(
            f"LHAPDF set (x >= {e['x_min']:.0e}): smallest light x f at Q^2 >= 5 GeV^2 "
            f"{e['min_xf_above_q2_5']:.1e} (any flavour, any knot: {e['min_xf_any_knot']:.1e});"
            " interpolation error at Q0 "
            f"{100 * e['interpolation_error_q0']:.2f}%; x <= 0.7, Q <= 1 TeV, every other knot "
            f"removed: {100 * e['x_halved']:.2f}% in x, {100 * e['q_halved']:.2f}% in Q "
            f"({100 * e['q_halved_data_region']:.2f}% at x >= 1e-5), full grid estimated "
            f"{100 * e['x_estimate']:.2f}% in x, {100 * e['q_estimate']:.2f}% in Q; read by PYTHIA:"
        )
        for row in e["sum_rules"]:
            lines.append(
                f"  Q = {row['q_gev']:6.2f} GeV: momentum {row['momentum']:.4f}, u_v "
                f"{row['u_v']:.4f}, d_v {row['d_v']:.4f}, s_v {row['s_v']:+.4f}"
            )
    lines.append(f"results: {result.path}")
    return lines
