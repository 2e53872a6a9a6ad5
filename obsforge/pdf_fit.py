"""The NN PDF fit as a stage: runcard -> :func:`~obsforge.pdffit.runcard.fit_runcard` ->
run folder (fit.json, replicas at Q0, an LHAPDF6 set) and plots.

``obsforge pdffit --config RUNCARD`` (an NNPDF-style YAML runcard, validated on load) writes
``runs/<name>/pdffit-<hash>/``: ``fit.json`` (the validated summary), ``replicas_q0.npz``,
``<name>/`` (an LHAPDF6 set, if the evolution operators are shipped), ``timing.json`` (outside
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
from obsforge.pdffit.fit import FitData, FitResult, fit_replicas, merge_results, prepare_fit_data
from obsforge.pdffit.fktables import load_evolution
from obsforge.pdffit.flavours import LHAPDF_FLAVOURS, flavour_row
from obsforge.pdffit.lhapdf import write_lhapdf_set
from obsforge.pdffit.model import BASIS
from obsforge.pdffit.reference import reference_pdf_at
from obsforge.pdffit.runcard import PDFRunCard, fit_options, fit_runcard
from obsforge.pdffit.validation import flavour_xf, physical_pdfs
from obsforge.rundir import StageDir, StageResult

__all__ = ["PDFRunCard", "plot_pdfs", "replica_fitter", "report_lines", "run_pdffit"]

log = logging.getLogger(__name__)

PDFFIT_VERSION = 5  # 2: post-fit selection; 3: u/d fixed, NNPDF4.0 preprocessing, positivity;
# 4: heavy-quark scheme (FK tables per scheme); 5: fit time in timing.json, not fit.json


class _EpochProgress:
    """A live line on a terminal (epoch, training chi2/N, replicas stalled) and log records."""

    def __init__(self, max_epochs: int, replicas: int) -> None:
        from tqdm.auto import tqdm

        self.replicas = replicas
        self.bar = tqdm(total=max_epochs, desc="pdffit", unit="epoch", disable=None)

    def __call__(self, row: dict[str, float]) -> None:
        self.bar.update(row["epoch"] + 1 - self.bar.n)
        self.bar.set_postfix_str(
            f"chi2/N {row['chi2_train_per_point']:.3f}, "
            f"{row['replicas_stalled']}/{self.replicas} replicas stalled",
            refresh=True,
        )
        log.info("epoch %(epoch)d chi2/N %(chi2_train_per_point).3f", row)

    def close(self) -> None:
        self.bar.close()


def _fit_batch(recipe, rows: slice, extras, seed: int, threads: int | None, **options):
    """One Dask task: builds the fit data of replicas ``rows`` from ``recipe`` (the arguments
    of prepare_fit_data) and ``extras`` (K-factors, positivity), then fits them as one model."""
    if threads is not None:
        torch.set_num_threads(threads)
    data = prepare_fit_data(**recipe, rows=rows)
    data.kfactors, data.positivity = extras["kfactors"], extras["positivity"]
    return fit_replicas(data, rows.stop - rows.start, seed, **options)


def replica_fitter(card: PDFRunCard, execution: Execution | None):
    """``fit(data, recipe)`` for :func:`fit_runcard`: all replicas in one batched model with a
    progress line, or, with ``batch_replicas``, batches of replicas spread over Dask workers
    (one thread each) and merged back into one model."""
    options = fit_options(card)

    def fit(data: FitData, recipe: dict[str, Any]) -> FitResult:
        if card.batch_replicas == 0 or card.batch_replicas >= card.replicas:
            line = _EpochProgress(card.max_epochs, card.replicas)
            try:
                return fit_replicas(data, card.replicas, card.seed, progress=line, **options)
            finally:
                line.close()
        starts = np.cumsum([0, *chunk_sizes(card.replicas, card.batch_replicas)])
        extras = {"kfactors": data.kfactors, "positivity": data.positivity}
        with dask_client(execution or Execution()) as client:
            threads = None if client is None else 1  # inline: leave the caller's threads alone
            tasks = [
                {"recipe": recipe, "rows": slice(int(lo), int(hi)), "extras": extras,
                 "seed": card.seed + 7919 * i, "threads": threads, **options}
                for i, (lo, hi) in enumerate(zip(starts[:-1], starts[1:], strict=True))
            ]  # fmt: skip
            return merge_results(map_tasks(client, _fit_batch, tasks, "replica batches"))

    return fit


def run_pdffit(card: PDFRunCard, execution: Execution | None = None) -> StageResult:
    """Run (or reuse) the fit of ``card``; ``execution``: where replica batches run."""
    stage = StageDir(card.runs_dir, card.name, "pdffit", card, [], PDFFIT_VERSION)
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"replicas": card.seed})
    start = time.perf_counter()
    outcome = fit_runcard(card, replica_fitter(card, execution))
    atomic_write_json(stage.path / "timing.json", {"fit_seconds": time.perf_counter() - start})
    x, f_evol, summary = outcome.x, outcome.f_evol, outcome.summary
    stage.write("fit.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=1)))
    stage.write("replicas_q0.npz", lambda tmp: _save(tmp, x=x, f_evol=f_evol, basis=BASIS))
    try:
        evolution = load_evolution()
    except FileNotFoundError as exc:
        log.warning("no LHAPDF output: %s", exc)
    else:
        xf = evolution.evolve(f_evol)  # (R, 13, n_x, n_q)
        flavours = [flavour_row(p) for p in LHAPDF_FLAVOURS]
        write_lhapdf_set(
            stage.path, card.name, evolution.x, evolution.q, xf[:, flavours],
            {"OrderQCD": 1, "AlphaS_MZ": 0.118, "MZ": 91.1876, "SetDesc": "obsforge NLO DIS fit"},
        )  # fmt: skip
    plot_pdfs(x, f_evol, stage.path / "report")
    return stage.complete(["fit.json", "replicas_q0.npz"], summary)


def _save(path, x, f_evol, basis) -> None:
    with open(path, "wb") as handle:
        np.savez_compressed(handle, x=x, f_evol=f_evol, basis=np.array(basis))


def plot_pdfs(x: np.ndarray, f_evol: np.ndarray, folder: Path) -> None:
    """x g, x u_v, x d_v, x Sigma with 68% bands against NNPDF3.1 NLO: at Q0 = 1.65 GeV
    (``pdfs_q0``) and, through the shipped evolution operators, at 100 GeV (``pdfs_q100``)."""
    from obsforge.plotting import new_figure, save_figure

    panels = [("q0", 1.65, flavour_xf(x, f_evol))]
    try:
        evolution = load_evolution()
    except FileNotFoundError:
        evolution = None
    if evolution is not None and np.allclose(evolution.x, x):
        k = int(np.argmin(np.abs(evolution.q - 100.0)))
        panels.append(("q100", float(evolution.q[k]), evolution.evolve(f_evol)[..., k]))
    region = x <= 0.9
    for tag, q, flav in panels:
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
    lines.append(f"{'dataset':<26} {'N':>5} {'chi2/N central':>15} {'replicas':>9} {'NNPDF3.1':>9}")
    for row in s["chi2"]:
        lines.append(
            f"{row['dataset']:<26} {row['points']:>5} {row['chi2_central']:>15.3f} "
            f"{row['chi2_replicas']:>9.3f} {row['chi2_reference']:>9.3f}"
        )
    if "vs_reference" in s:
        lines.append("PDFs at Q0 vs NNPDF3.1 NLO (1e-3 < x < 0.7): NNPDF within our 68% / 95%, "
                     "largest pull")  # fmt: skip
        for name, row in s["vs_reference"].items():
            pull = (
                "no pull (one replica)"
                if row["max_abs_pull"] is None
                else f"{row['max_abs_pull']:.1f} at x = {row['x_at_max_pull']:.2g}"
            )
            lines.append(f"  x {name:<6} {row['within_68']:.2f} / {row['within_95']:.2f}, {pull}")
    lines.append(f"results: {result.path}")
    return lines
