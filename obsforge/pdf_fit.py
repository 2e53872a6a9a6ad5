"""The NN PDF fit as a stage: runcard -> data, FK tables, batched replicas -> chi2, LHAPDF.

``obsforge pdffit --config RUNCARD`` (an NNPDF-style YAML runcard, validated on load) fits the
replicas of :mod:`obsforge.pdffit.fit` to the chosen DIS datasets and writes
``runs/<name>/pdffit-<hash>/``: ``fit.json`` (chi2 per dataset for the central PDF and the
replica average, stopping epochs, sum rules), ``<name>/`` (an LHAPDF6 set, if the evolution
operators are shipped) and ``report/`` (PDFs at Q0 and 100 GeV against NNPDF3.1 NLO).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field, field_validator, model_validator

from obsforge.config import MAX_COUNT, Config, RunName, check_names
from obsforge.parallel import Execution, chunk_sizes, dask_client, map_tasks
from obsforge.pdffit.data import (
    DATASETS,
    apply_cuts,
    covariance,
    fluctuations,
    load_dataset,
)
from obsforge.pdffit.fit import (
    POSITIVITY_TOLERANCE,
    FitData,
    FitResult,
    fit_replicas,
    merge_results,
    predictions,
    prepare_fit_data,
)
from obsforge.pdffit.fktables import SCHEMES, load_evolution, load_fk_table, missing_fk_tables
from obsforge.pdffit.lhapdf import pythia_pdf, write_lhapdf_set
from obsforge.pdffit.model import (
    BASIS,
    check_preprocessing,
    evolution_to_flavour,
    flavour_to_evolution,
)
from obsforge.pdffit.smeft import OPERATORS, k_factors, scale_tev
from obsforge.rundir import StageDir, StageResult

__all__ = [
    "PDFRunCard",
    "closure_estimators",
    "plot_pdfs",
    "reference_pdf_at",
    "report_lines",
    "run_pdffit",
]

log = logging.getLogger(__name__)

PDFFIT_VERSION = 4  # 2: post-fit selection; 3: u/d fixed, NNPDF4.0 preprocessing, positivity;
# 4: heavy-quark scheme (FK tables per scheme)
REFERENCE = "NNPDF31_nlo_as_0118_luxqed"
FLAVOUR_PIDS = (-6, -5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5, 6)
POSITIVITY_PIDS = (2, -2, 1, -1, 3, -3, 21)


class PDFRunCard(Config):
    """An NNPDF-style runcard."""

    name: RunName = "pdffit"
    runs_dir: str = "runs"
    datasets: list[str] = Field(..., min_length=1)
    scheme: str = Field(
        "FONLL-A", description=f"heavy-quark scheme of the FK tables: one of {sorted(SCHEMES)}"
    )
    q2_min: float = Field(3.49, gt=0, description="GeV^2")
    w2_min: float = Field(12.5, gt=0, description="GeV^2")
    replicas: int = Field(100, ge=1, le=MAX_COUNT, description="Monte Carlo replicas")
    seed: int = Field(1, ge=0)
    training_fraction: float = Field(0.75, gt=0, lt=1)
    batch_replicas: int = Field(
        0, ge=0, description="replicas per Dask task (0: all replicas in one batched model)"
    )
    max_epochs: int = Field(10000, ge=1, description="4000 underfits (closure test)")
    patience: int = Field(1000, ge=1, description="look-back: epochs without improvement")
    learning_rate: float = Field(3e-3, gt=0)
    preprocessing: dict[str, list[list[float]]] = Field(
        {},
        description="ranges [[alpha_min, alpha_max], [beta_min, beta_max]] per basis function "
        "(Sigma, g, V, V3, V8, T3, T8, T15) replacing NNPDF4.0 NLO's",
    )
    trainable_preprocessing: bool = Field(
        False, description="train the exponents within their ranges (else fixed per replica)"
    )
    positivity: bool = Field(
        False,
        description="x f >= 0 for u, ubar, d, dbar, s, sbar, g at the first LHAPDF scale above "
        "Q^2 = 5 GeV^2 (NNPDF4.0's MSbar positivity), as a penalty",
    )
    positivity_lambda: float = Field(
        1e4, gt=0, description="weight of the positivity penalty after its ramp (750 epochs)"
    )
    t0: bool = Field(True, description=f"t0 covariance from {REFERENCE}")
    cross_correlations: bool = Field(
        True,
        description="systematics with the same name correlated across datasets (the HERA I+II "
        "sets share theirs); False: each dataset is its own block",
    )
    fluctuate: bool = Field(True, description="False: level-0 (no noise in the pseudo-data)")
    smeft: bool = Field(False, description="fit the e e q q Wilson coefficients with the PDF")
    smeft_operators: list[str] = Field(
        list(OPERATORS), min_length=1, description="the coefficients fitted (others are zero)"
    )
    closure: bool = Field(
        False,
        description="closure test: the data are replaced by the t0 PDF's predictions (plus one "
        "fluctuation if fluctuate), and the fitted PDF is compared with it",
    )
    inject: dict[str, float] = Field(
        {}, description="closure test: Wilson coefficients put into pseudo-data from the t0 PDF"
    )

    @field_validator("smeft_operators")
    @classmethod
    def _known_fitted(cls, values: list[str]) -> list[str]:
        return check_names("smeft_operators", values, OPERATORS)

    @field_validator("inject")
    @classmethod
    def _known_operators(cls, values: dict[str, float]) -> dict[str, float]:
        if values:  # empty: no injection
            check_names("inject", list(values), OPERATORS)
        return values

    @field_validator("preprocessing")
    @classmethod
    def _ranges(cls, values: dict[str, list[list[float]]]) -> dict[str, list[list[float]]]:
        check_preprocessing(values)
        return values

    @field_validator("datasets")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        return check_names("datasets", names, sorted(DATASETS))

    @field_validator("scheme")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        return check_names("scheme", [value], sorted(SCHEMES))[0]

    @model_validator(mode="after")
    def _tables_shipped(self) -> PDFRunCard:
        missing = missing_fk_tables(self.datasets, self.scheme)
        if missing:
            raise ValueError(
                f"scheme = {self.scheme}: no FK tables for {len(missing)} of "
                f"{len(self.datasets)} datasets ({', '.join(missing)}); build them all with "
                f"python scripts/build_fk_tables.py --scheme {self.scheme} --no-evolution "
                f"--datasets {' '.join(missing)}"
            )
        return self


def _reference_file(name: str = REFERENCE) -> Path:
    path = Path(sys.prefix) / "share" / "Pythia8" / "pdfdata" / f"{name}_0000.dat"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the reference PDF shipped with pythia8mc is missing")
    return path


def reference_pdf_at(x: np.ndarray, q: float, name: str = REFERENCE) -> np.ndarray:
    """x f (13, len(x)) of a PDF grid shipped with pythia8mc, through PYTHIA's reader."""
    pdf = pythia_pdf(_reference_file(name))
    return np.array([[pdf.xf(pid, float(xx), q * q) for xx in x] for pid in FLAVOUR_PIDS])


def _chi2(theory: np.ndarray, data: np.ndarray, cov: np.ndarray) -> float:
    diff = theory - data
    return float(diff @ np.linalg.solve(cov, diff))


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


def _fit_batch(
    recipe: dict[str, Any],
    rows: slice,
    extras: dict[str, Any],
    seed: int,
    threads: int | None,
    **options,
) -> FitResult:
    """One Dask task: builds the fit data of replicas ``rows`` from ``recipe`` (the arguments
    of prepare_fit_data) and ``extras`` (K-factors, positivity), then fits them as one model."""
    if threads is not None:
        torch.set_num_threads(threads)
    data = prepare_fit_data(**recipe, rows=rows)
    data.kfactors, data.positivity = extras["kfactors"], extras["positivity"]
    return fit_replicas(data, rows.stop - rows.start, seed, **options)


def _fit(
    card: PDFRunCard, data: FitData, recipe: dict[str, Any], execution: Execution | None
) -> FitResult:
    """All replicas in one batched model, or, with ``batch_replicas``, batches of replicas
    spread over Dask workers (one thread each) and merged back into one model."""
    options = {
        "max_epochs": card.max_epochs,
        "patience": card.patience,
        "learning_rate": card.learning_rate,
        "preprocessing": card.preprocessing,
        "trainable_preprocessing": card.trainable_preprocessing,
        "positivity_lambda": card.positivity_lambda,
    }
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


def run_pdffit(card: PDFRunCard, execution: Execution | None = None) -> StageResult:
    """Run (or reuse) the fit of ``card``; ``execution``: where replica batches run."""
    stage = StageDir(card.runs_dir, card.name, "pdffit", card, [], PDFFIT_VERSION)
    if (done := stage.result()) is not None:
        return done
    datasets = [apply_cuts(load_dataset(n), card.q2_min, card.w2_min) for n in card.datasets]
    tables = [load_fk_table(n, card.scheme) for n in card.datasets]
    stage.begin(seeds={"replicas": card.seed})
    x = tables[0].x
    t0, ref, ref_xf = None, None, None
    if card.t0:
        ref_xf = reference_pdf_at(x, 1.65)  # x f (13, n_x)
        ref = flavour_to_evolution(ref_xf.T).T / x[None, :]  # f, (8, n_x)
        t0 = [table.predict(ref[None])[0] for table in tables]
    if card.closure or card.inject:
        if t0 is None:
            raise ValueError("closure/inject: need t0 = true (the law is the t0 PDF)")
        rng = np.random.default_rng(card.seed + 10**6)
        noise = fluctuations(datasets, rng, 1, card.cross_correlations)
        datasets = [
            replace(d, data=t + (e[0] if card.fluctuate else 0.0))
            for d, t, e in zip(datasets, t0, noise, strict=True)
        ]
    kfactors = _smeft_k_factors(datasets) if (card.smeft or card.inject) else None
    law = t0
    if card.inject:  # closure test: data = (law + fluctuation) x (1 + K . C_injected)
        c = np.array([card.inject.get(op, 0.0) for op in OPERATORS])
        factors = [1 + k[0] @ c for k in kfactors]
        datasets = [replace(d, data=d.data * r) for d, r in zip(datasets, factors, strict=True)]
        law = [t * r for t, r in zip(t0, factors, strict=True)]
    recipe = {
        "datasets": datasets, "tables": tables, "replicas": card.replicas, "seed": card.seed,
        "training_fraction": card.training_fraction, "t0_predictions": t0,
        "fluctuate": card.fluctuate, "correlate": card.cross_correlations,
    }  # fmt: skip
    data = prepare_fit_data(**recipe)
    if card.positivity:
        data.positivity, positivity_q = positivity_operator(x)
    fitted = [OPERATORS.index(op) for op in card.smeft_operators]
    if card.smeft:
        data.kfactors = [torch.as_tensor(k[0][:, fitted]) for k in kfactors]
    start = time.perf_counter()
    result = _fit(card, data, recipe, execution)
    seconds = time.perf_counter() - start
    model = result.model
    wilson = getattr(model, "wilson", None)
    with torch.no_grad():
        preds = [p.numpy() for p in predictions(model, data, wilson)]
        f_evol = (model(data.x) / data.x[None, :, None]).numpy().transpose(0, 2, 1)  # (R, 8, n_x)
    keep = postfit_selection(datasets, preds, data, result.positivity_violation)
    preds, f_evol = [p[keep] for p in preds], f_evol[keep]
    summary: dict[str, Any] = {
        "replicas": card.replicas,
        "replicas_kept": int(keep.sum()),
        "fit_seconds": seconds,
        "epochs_mean": float(np.mean(result.best_epoch)),
        "points": {d.name: len(d) for d in datasets},
        "chi2": _chi2_table(datasets, preds, data, t0),
        "sum_rules_max_deviation": _sum_rule_deviation(model),
    }
    if card.positivity:
        summary["positivity"] = {
            "scale_gev": positivity_q,
            "violating_replicas": int((result.positivity_violation > POSITIVITY_TOLERANCE).sum()),
        }
    if card.smeft:
        summary["smeft"] = _smeft_summary(
            wilson.detach().numpy()[keep], data, preds, keep, card.smeft_operators
        )
    if ref_xf is not None:
        summary["vs_reference"] = reference_comparison(x, f_evol, ref_xf)
    if card.closure or card.inject:
        summary["closure"] = _closure_summary(x, f_evol, ref)
        summary["closure_data_space"] = closure_estimators(preds, law, data.cov_exp)
    outputs = ["fit.json"]
    stage.write("fit.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=1)))
    np_path = "replicas_q0.npz"
    stage.write(np_path, lambda tmp: _save(tmp, x=x, f_evol=f_evol, basis=np.array(BASIS)))
    outputs.append(np_path)
    try:
        evolution = load_evolution()
    except FileNotFoundError as exc:
        log.warning("no LHAPDF output: %s", exc)
    else:
        xf = evolution.evolve(f_evol)  # (R, 13, n_x, n_q)
        flavours = [FLAVOUR_PIDS.index(p) for p in (-5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5)]
        write_lhapdf_set(
            stage.path, card.name, evolution.x, evolution.q, xf[:, flavours],
            {"OrderQCD": 1, "AlphaS_MZ": 0.118, "MZ": 91.1876, "SetDesc": "obsforge NLO DIS fit"},
        )  # fmt: skip
    plot_pdfs(x, f_evol, stage.path / "report")
    return stage.complete(outputs, summary)


def _smeft_k_factors(datasets) -> list[tuple[np.ndarray, np.ndarray]]:
    """Linear and quadratic K-factors per dataset with NNPDF3.1 NLO at each point's Q;
    zero for datasets without Z exchange (fixed target, CC: not modelled)."""
    out = []
    pdf = pythia_pdf(_reference_file())
    for d in datasets:
        n = len(OPERATORS)
        if d.spec.process != "NC":
            out.append((np.zeros((len(d), n)), np.zeros((len(d), n, n))))
            continue
        pid = {p: np.array([pdf.xf(p, x, q2) / x for x, q2 in zip(d.x, d.q2, strict=True)])
               for p in (1, 2, 3, 4, 5, -1, -2, -3, -4, -5)}  # fmt: skip
        q = {"u": pid[2] + pid[4], "d": pid[1] + pid[3] + pid[5]}
        qbar = {"u": pid[-2] + pid[-4], "d": pid[-1] + pid[-3] + pid[-5]}
        out.append(k_factors(d.x, d.q2, d.y, d.spec.projectile == "positron", q, qbar))
    return out


def band_coverage(
    x: np.ndarray, values: dict[str, np.ndarray], truth: dict[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """Per curve ``name`` (replicas ``values[name]`` (R, n_x) against ``truth[name]`` (n_x,)),
    on the grid points with 1e-3 < x < 0.7: the fraction where the truth lies within the
    replicas' 68% (and 95%) interval, and the mean and largest pull |mean - truth| / std.
    With fewer than two replicas there is no spread: the pulls are ``None``."""
    region = (x > 1e-3) & (x < 0.7)
    out = {}
    for name, replicas in values.items():
        v, t = replicas[:, region], truth[name][region]
        lo68, hi68 = np.percentile(v, [16, 84], axis=0)
        lo95, hi95 = np.percentile(v, [2.5, 97.5], axis=0)
        out[name] = {
            "within_68": float(np.mean((t >= lo68) & (t <= hi68))),
            "within_95": float(np.mean((t >= lo95) & (t <= hi95))),
            "mean_abs_pull": None,
            "max_abs_pull": None,
            "x_at_max_pull": None,
        }
        if len(v) >= 2:
            pull = np.abs(v.mean(0) - t) / v.std(0)
            out[name].update(
                mean_abs_pull=float(pull.mean()),
                max_abs_pull=float(pull.max()),
                x_at_max_pull=float(x[region][pull.argmax()]),
            )
    return out


def _closure_summary(x: np.ndarray, f_evol: np.ndarray, law: np.ndarray) -> dict[str, Any]:
    """The replicas against the closure test's law, per evolution-basis function x f."""
    return band_coverage(
        x, {n: f_evol[:, k] * x for k, n in enumerate(BASIS)},
        {n: law[k] * x for k, n in enumerate(BASIS)},
    )  # fmt: skip


def physical_pdfs(xf: np.ndarray) -> dict[str, np.ndarray]:
    """x g, x u_v, x d_v and x Sigma (all quarks and antiquarks) from flavour-basis x f
    (..., 13, n_x) in FLAVOUR_PIDS order."""
    at = {pid: xf[..., k, :] for k, pid in enumerate(FLAVOUR_PIDS)}
    return {"g": at[21], "u_v": at[2] - at[-2], "d_v": at[1] - at[-1],
            "Sigma": xf.sum(-2) - at[21]}  # fmt: skip


def flavour_xf(x: np.ndarray, f_evol: np.ndarray) -> np.ndarray:
    """x f (..., 13, n_x) in FLAVOUR_PIDS order at Q0 from evolution-basis f (..., 8, n_x)."""
    return np.einsum("pk,...kj->...pj", evolution_to_flavour(), f_evol) * x


def reference_comparison(x: np.ndarray, f_evol: np.ndarray, ref_xf: np.ndarray) -> dict:
    """The fitted x g, x u_v, x d_v, x Sigma at Q0 (from evolution-basis f (R, 8, n_x))
    against a reference PDF's x f (13, n_x) (NNPDF3.1 NLO), measured by :func:`band_coverage`."""
    return band_coverage(x, physical_pdfs(flavour_xf(x, f_evol)), physical_pdfs(ref_xf))


def closure_estimators(preds, law, covariances) -> dict[str, float]:
    """NNPDF4.0's closure estimators in data space (arXiv:2109.02653, section 6.1), with the
    experimental covariance C of each dataset, in its eigenbasis: bias = |<T> - T_law|^2_C / N,
    variance = <|T - <T>|^2_C> / N over replicas, R_bv = sqrt(bias / variance) (1 for a
    faithful fit), and xi_1sigma: the fraction of eigen-directions in which the law lies within
    one replica standard deviation of the mean (0.68 for a faithful fit)."""
    bias = variance = 0.0
    inside = []
    for pred, truth, cov in zip(preds, law, covariances, strict=True):
        eigenvalues, vectors = np.linalg.eigh(cov)
        rotate = vectors / np.sqrt(eigenvalues)[None]  # whitening: |a @ rotate|^2 = a C^-1 a
        replicas, target = pred @ rotate, truth @ rotate
        mean, std = replicas.mean(0), replicas.std(0)
        bias += float(((mean - target) ** 2).sum())
        variance += float(((replicas - mean) ** 2).sum(1).mean())
        inside.append(np.abs(mean - target) <= std)
    n = sum(len(t) for t in law)
    return {
        "bias": bias / n,
        "variance": variance / n,
        "r_bv": float(np.sqrt(bias / variance)),
        "xi_1sigma": float(np.concatenate(inside).mean()),
    }


def _smeft_summary(wilson: np.ndarray, data: FitData, preds, keep, names) -> dict[str, Any]:
    """Mean, std and 95% interval of each fitted coefficient over the replicas: fitted with the
    PDF ("simultaneous"), and with the PDF frozen at the replica-averaged SM prediction, all
    fitted coefficients together ("frozen_pdf") and one at a time ("frozen_pdf_one_at_a_time",
    the convention of the H1/ZEUS contact-interaction limits)."""
    from obsforge.pdffit.fit import fit_wilson_frozen_pdf

    sm = [p / (1 + wilson @ k.numpy().T) for p, k in zip(preds, data.kfactors, strict=True)]
    central = [p.mean(0) for p in sm]
    frozen = fit_wilson_frozen_pdf(data, central)[keep]
    single = np.stack(
        [fit_wilson_frozen_pdf(data, central, only=i)[keep, 0] for i in range(len(names))], 1
    )
    out: dict[str, Any] = {}
    for label, values in (
        ("simultaneous", wilson), ("frozen_pdf", frozen), ("frozen_pdf_one_at_a_time", single)
    ):  # fmt: skip
        rows = {}
        for i, op in enumerate(names):
            lo, hi = np.percentile(values[:, i], [2.5, 97.5])
            rows[op] = {
                "mean": float(values[:, i].mean()),
                "std": float(values[:, i].std()),
                "cl95": [float(lo), float(hi)],
                "lambda_tev_95": [scale_tev(lo), scale_tev(hi)],
            }
        out[label] = rows
    return out


def _save(path, **arrays) -> None:
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def positivity_operator(x: np.ndarray, q2_min: float = 5.0) -> tuple[torch.Tensor, float]:
    """x f_pid(x_i, Q) for pid in :data:`POSITIVITY_PIDS` from f_k(x_j, Q0), as a tensor
    (7, n_x, 8, n_x), at the first scale Q of the shipped evolution with Q^2 >= ``q2_min``
    (NNPDF4.0 imposes positivity at Q^2 = 5 GeV^2); returns it and Q in GeV."""
    evolution = load_evolution()
    if not np.allclose(evolution.x, x):
        raise ValueError("positivity: the evolution operators' x grid differs from the FK tables")
    k = int(np.flatnonzero(evolution.q**2 >= q2_min)[0])
    rows = [FLAVOUR_PIDS.index(p) for p in POSITIVITY_PIDS]
    operator = evolution.operator[k][rows].astype(np.float64) * x[None, :, None, None]
    return torch.as_tensor(operator), float(evolution.q[k])


def postfit_selection(
    datasets, preds, data: FitData, violation: np.ndarray | None = None, n_sigma: float = 4.0
) -> np.ndarray:
    """NNPDF-style post-fit veto: drop replicas whose total chi2/N against the data is more
    than ``n_sigma`` robust standard deviations (1.4826 MAD) above the median, and replicas
    whose positivity ``violation`` exceeds :data:`POSITIVITY_TOLERANCE`."""
    n = sum(len(d) for d in datasets)
    total = np.zeros(len(preds[0]))
    for dataset, pred, cov in zip(datasets, preds, data.cov_exp, strict=True):
        diff = pred - dataset.data[None]
        total += np.einsum("rn,rn->r", diff, np.linalg.solve(cov, diff.T).T)
    total /= n
    median = np.median(total)
    spread = 1.4826 * np.median(np.abs(total - median))
    keep = np.isfinite(total) & (total <= median + n_sigma * max(spread, 1e-12))
    if violation is not None:
        keep &= violation <= POSITIVITY_TOLERANCE
    if not keep.any():
        raise RuntimeError("post-fit selection: no replica passes (the fit failed)")
    return keep


def _chi2_table(datasets, preds, data: FitData, reference=None) -> list[dict[str, Any]]:
    """chi2/N with the experimental covariance against the (fitted) data: of the central PDF
    (replica-averaged prediction, linear in the PDF), averaged over replicas, and of the
    reference PDF (NNPDF3.1 NLO) through the same FK tables. Per dataset with its own
    covariance block; the total with the joint covariance of each correlated group."""

    def chi2s(members, predictions, cov):
        data_values = np.concatenate([datasets[i].data for i in members])
        pred = np.concatenate([predictions[i] for i in members], axis=1)
        ref = (
            np.nan
            if reference is None
            else _chi2(np.concatenate([reference[i] for i in members]), data_values, cov)
        )
        return [_chi2(pred.mean(0), data_values, cov),
                float(np.mean([_chi2(p, data_values, cov) for p in pred])), ref]  # fmt: skip

    rows = []
    for i, (dataset, cov) in enumerate(zip(datasets, data.cov_exp, strict=True)):
        central, replica, ref = chi2s([i], preds, cov)
        n = len(dataset)
        rows.append(
            {"dataset": dataset.name, "points": n, "chi2_central": central / n,
             "chi2_replicas": replica / n, "chi2_reference": ref / n}
        )  # fmt: skip
    totals = np.zeros(3)
    for block in data.blocks:
        totals += chi2s(block, preds, covariance([datasets[i] for i in block]))
    n = sum(len(d) for d in datasets)
    rows.append(
        {"dataset": "total", "points": n, "chi2_central": totals[0] / n,
         "chi2_replicas": totals[1] / n, "chi2_reference": totals[2] / n}
    )  # fmt: skip
    return rows


def _sum_rule_deviation(model) -> float:
    rules = model.sum_rules()
    target = {"momentum": 1.0, "V": 3.0, "V3": 1.0, "V8": 3.0}
    return float(max(np.abs(rules[k] - v).max() for k, v in target.items()))


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
    s = result.summary
    lines = [f"{s['replicas']} replicas ({s['replicas_kept']} pass the post-fit selection) in "
             f"{s['fit_seconds']:.0f} s, sum rules to "
             f"{s['sum_rules_max_deviation']:.1e}"]  # fmt: skip
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
