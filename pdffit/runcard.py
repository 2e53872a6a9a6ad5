"""An NNPDF-style runcard and the one entry point that runs it: data -> fit -> post-fit ->
validation.

:func:`fit_runcard` reads the measurements and FK tables the card names, builds the t0
covariance and (for a closure test) the pseudo-data from the reference PDF, fits the replicas
(through ``fit``, so that a caller can spread replica batches over workers), applies the post-fit
selection and validates the result: chi2 tables, the comparison with NNPDF3.1, the closure
estimators, the SMEFT intervals. It returns arrays and a JSON-ready summary; writing them is the
caller's business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from pydantic import Field, FilePath, field_validator, model_validator

from obsforge.config import MAX_COUNT, Config, RunName, check_names
from obsforge.pdffit.data import DATASETS, Dataset, apply_cuts, fluctuations, load_dataset
from obsforge.pdffit.dy_data import DY_DATASETS, load_dy_dataset
from obsforge.pdffit.dy_fktables import load_dy_fk_table
from obsforge.pdffit.fit import (
    POSITIVITY_TOLERANCE,
    FitData,
    FitResult,
    fit_replicas,
    predictions,
    prepare_fit_data,
    wilson_scales,
)
from obsforge.pdffit.fktables import SCHEMES, load_fk_table, missing_fk_tables
from obsforge.pdffit.flavours import FLAVOURS, flavour_row
from obsforge.pdffit.lhapdf import LHAPDFGrid
from obsforge.pdffit.model import check_preprocessing, flavour_to_evolution
from obsforge.pdffit.positivity import integrability_points, positivity_operator
from obsforge.pdffit.postfit import postfit_selection
from obsforge.pdffit.reference import REFERENCE, reference_grid, reference_pdf_at
from obsforge.pdffit.smeft import OPERATORS, dataset_k_factors
from obsforge.pdffit.validation import (
    chi2_table,
    closure_estimators,
    closure_summary,
    flavour_xf,
    reference_comparison,
    smeft_summary,
    sum_rule_deviation,
)

__all__ = ["FitOutcome", "PDFRunCard", "fit_options", "fit_runcard"]

# The input scale Q0 of the fitted PDFs in GeV.
Q0 = 1.65


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
    dy_m_min: float = Field(
        45.0, gt=0,
        description="collider Drell-Yan: bins from this lepton-pair mass (GeV); below, the NLO "
        "K-factor of the inclusive mass distribution does not describe soft leptons near the "
        "cuts",
    )  # fmt: skip
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
        True,
        description="x f >= 0 for u, ubar, d, dbar, s, sbar, g at Q^2 = 5 GeV^2 at every knot "
        "of the exported grid (NNPDF4.0's MSbar positivity), as a penalty",
    )
    positivity_lambda: float = Field(
        1e4, gt=0, description="weight of the positivity penalty after its ramp (750 epochs)"
    )
    integrability: bool = Field(
        True, description="x f_k(1e-9, Q0) -> 0 for V, V3, V8, T3, T8 (NNPDF4.0), as a penalty"
    )
    integrability_lambda: float = Field(
        1e3, gt=0, description="weight of sum |x f_k(x_int)| after its ramp"
    )
    t0: bool = Field(True, description=f"t0 covariance from {REFERENCE}")
    t0_pdf: FilePath | None = Field(
        None,
        description=f"an LHAPDF member file (.dat) for t0, the closure law and the comparisons "
        f"instead of {REFERENCE} (e.g. member 0 of an exported fit: a law that satisfies "
        "positivity and integrability)",
    )
    cross_correlations: bool = Field(
        True,
        description="systematics with the same name correlated across datasets (the HERA I+II "
        "sets share theirs); False: each dataset is its own block",
    )
    fluctuate: bool = Field(True, description="False: level-0 (no noise in the pseudo-data)")
    smeft: bool = Field(False, description="fit the e e q q Wilson coefficients with the PDF")
    smeft_quadratic: bool = Field(
        False, description="the SMEFT predictions with their quadratic terms (else linear)"
    )
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
        check_names("datasets", names, sorted(DATASETS) + sorted(DY_DATASETS))
        if all(name in DY_DATASETS for name in names):
            raise ValueError(
                f"datasets = {names}: name at least one DIS set (the fit's x grid and the "
                "flavours Drell-Yan alone leaves open come from DIS)"
            )
        return names

    @field_validator("scheme")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        return check_names("scheme", [value], sorted(SCHEMES))[0]

    @model_validator(mode="after")
    def _tables_shipped(self) -> PDFRunCard:
        dis = [name for name in self.datasets if name in DATASETS]
        missing = missing_fk_tables(dis, self.scheme)
        if missing:
            raise ValueError(
                f"scheme = {self.scheme}: no FK tables for {len(missing)} of "
                f"{len(dis)} DIS datasets ({', '.join(missing)}); build them all with "
                f"python scripts/build_fk_tables.py --scheme {self.scheme} --no-evolution "
                f"--datasets {' '.join(missing)}"
            )
        return self


def fit_options(card: PDFRunCard) -> dict[str, Any]:
    """The keyword arguments of :func:`~obsforge.pdffit.fit.fit_replicas` set by the card."""
    return {
        "max_epochs": card.max_epochs,
        "patience": card.patience,
        "learning_rate": card.learning_rate,
        "preprocessing": card.preprocessing,
        "trainable_preprocessing": card.trainable_preprocessing,
        "positivity_lambda": card.positivity_lambda,
        "integrability_lambda": card.integrability_lambda,
    }


@dataclass
class FitOutcome:
    """A validated fit: the kept replicas at Q0 and the summary of :func:`fit_runcard`."""

    x: np.ndarray  # (n_x,) the FK tables' x grid
    f_evol: np.ndarray  # (R_kept, 8, n_x) evolution-basis f at Q0 of the kept replicas
    summary: dict[str, Any]
    result: FitResult
    keep: np.ndarray  # (R,) the replicas of ``result`` that pass the post-fit selection

    def f_at(self, x: np.ndarray) -> np.ndarray:
        """f_k(x, Q0) (R_kept, 8, len(x)) of the kept replicas at any x."""
        points = torch.as_tensor(np.asarray(x, dtype=np.float64))
        with torch.no_grad():
            f = self.result.model(points) / points[None, :, None]
        return f.numpy()[self.keep].transpose(0, 2, 1)


Fitter = Callable[[FitData, dict[str, Any]], FitResult]


def load_data(card: PDFRunCard) -> tuple[list[Dataset], list]:
    """The card's datasets after cuts and their FK tables: DIS sets with Q^2 and W^2 cuts and
    their shipped tables; Drell-Yan sets (the collider ones from ``dy_m_min``) with their
    tables on the DIS grid
    (:func:`~obsforge.pdffit.dy_fktables.load_dy_fk_table`, built once into the cache)."""
    dis = [name for name in card.datasets if name in DATASETS]
    grid = load_fk_table(dis[0], card.scheme).x
    datasets, tables = [], []
    for name in card.datasets:
        if name in DATASETS:
            datasets.append(apply_cuts(load_dataset(name), card.q2_min, card.w2_min))
            tables.append(load_fk_table(name, card.scheme))
            continue
        dataset = load_dy_dataset(name)
        rows = np.arange(len(dataset))
        if not DY_DATASETS[name].deuteron_ratio:  # the cut is for the collider sets
            rows = np.flatnonzero(dataset.bins[:, 0] >= card.dy_m_min)
        if rows.size == 0:
            raise ValueError(f"dataset {name!r}: no bin from dy_m_min = {card.dy_m_min} GeV")
        datasets.append(dataset.take(rows))
        tables.append(load_dy_fk_table(name, grid).take(rows))
    return datasets, tables


def fit_runcard(card: PDFRunCard, fit: Fitter | None = None) -> FitOutcome:
    """Run ``card``: data, t0, closure pseudo-data, the replica fit, post-fit and validation.

    fit: ``fit(data, recipe) -> FitResult`` fits all replicas (``recipe`` holds the arguments of
    :func:`~obsforge.pdffit.fit.prepare_fit_data`, from which a worker can rebuild its batch);
    default: one batched model in this process.
    """
    if fit is None:

        def fit(data: FitData, recipe: dict[str, Any]) -> FitResult:
            return fit_replicas(data, card.replicas, card.seed, **fit_options(card))

    datasets, tables = load_data(card)
    x = tables[0].x
    t0, ref, ref_xf = None, None, None
    law_at = reference_pdf_at
    if card.t0_pdf is not None:
        law_grid = LHAPDFGrid.read(card.t0_pdf)
        law_at = lambda x, q: law_grid.xf_table(np.asarray(x, np.float64), q, FLAVOURS)  # noqa: E731
    if card.t0:
        ref_xf = law_at(x, Q0)  # x f (13, n_x)
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
    kfactors = None
    if card.smeft or card.inject:
        kfactors = dataset_k_factors(datasets, reference_grid())
    law = t0
    if card.inject:  # closure test: data = (law + fluctuation) x (1 + K . C_injected)
        c = np.array([card.inject.get(op, 0.0) for op in OPERATORS])
        factors = [1 + k[0] @ c + np.einsum("i,nij,j->n", c, k[1], c) for k in kfactors]
        datasets = [replace(d, data=d.data * r) for d, r in zip(datasets, factors, strict=True)]
        law = [t * r for t, r in zip(t0, factors, strict=True)]
    recipe = {
        "datasets": datasets, "tables": tables, "replicas": card.replicas, "seed": card.seed,
        "training_fraction": card.training_fraction, "t0_predictions": t0,
        "fluctuate": card.fluctuate, "correlate": card.cross_correlations,
    }  # fmt: skip
    data = prepare_fit_data(**recipe)
    if card.positivity:
        data.positivity, data.positivity_x, positivity_q = positivity_operator()
    if card.integrability:
        data.integrability_x, data.integrability_basis = integrability_points()
    fitted = [OPERATORS.index(op) for op in card.smeft_operators]
    if card.smeft:
        data.kfactors = [torch.as_tensor(k[0][:, fitted]) for k in kfactors]
        central = t0 if t0 is not None else [d.data for d in datasets]
        data.wilson_scale = torch.as_tensor(wilson_scales(data, central))
        if card.smeft_quadratic:
            data.kfactors_quadratic = [torch.as_tensor(k[1][:, fitted][:, :, fitted])
                                       for k in kfactors]  # fmt: skip
    result = fit(data, recipe)
    model = result.model
    wilson = getattr(model, "wilson", None)
    with torch.no_grad():
        preds = [p.numpy() for p in predictions(model, data, wilson)]
        f_evol = (model(data.x) / data.x[None, :, None]).numpy().transpose(0, 2, 1)  # (R, 8, n_x)
    keep = postfit_selection(datasets, preds, data, result.positivity_violation)
    preds, f_evol = [p[keep] for p in preds], f_evol[keep]
    summary: dict[str, Any] = {
        "replicas": card.replicas,
        "reference": REFERENCE if card.t0_pdf is None else card.t0_pdf.name,
        "replicas_kept": int(keep.sum()),
        "epochs_mean": float(np.mean(result.best_epoch)),
        "points": {d.name: len(d) for d in datasets},
        "chi2": chi2_table(datasets, preds, data, t0),
        "sum_rules_max_deviation": sum_rule_deviation(model),
    }
    if card.positivity:
        summary["positivity"] = {
            "scales_gev": positivity_q,
            "violating_replicas": int((result.positivity_violation > POSITIVITY_TOLERANCE).sum()),
        }
    if card.integrability:
        summary["integrability"] = {
            "x": float(data.integrability_x.min()),
            "max_abs_xf_kept": float(result.integrability[keep].max()),
        }
    if card.smeft:
        summary["smeft"] = smeft_summary(
            wilson.detach().numpy()[keep], data, preds, keep, card.smeft_operators
        )
    if ref_xf is not None:
        summary["vs_reference"] = reference_comparison(x, f_evol, ref_xf)
    if card.closure or card.inject:
        summary["closure"] = closure_summary(x, f_evol, ref)
        summary["closure_data_space"] = closure_estimators(preds, law, data.cov_exp)
    outcome = FitOutcome(x, f_evol, summary, result, keep)
    summary["gluon_band"] = gluon_band(outcome, law_at if ref_xf is not None else None)
    return outcome


GLUON_BAND_X = (0.01, 0.1, 0.3)


def gluon_band(outcome: FitOutcome, reference: Callable | None) -> list[dict[str, float]]:
    """x g at Q0 at x = 0.01, 0.1, 0.3: replica mean and standard deviation, and the central
    value of the ``reference`` (``reference(x, Q)`` -> x f (13, len(x)), NNPDF3.1 by default)
    with the pull (mean - reference) / std."""
    x = np.array(GLUON_BAND_X)
    g = flavour_xf(x, outcome.f_at(x))[:, flavour_row(21)]  # (R, 3)
    rows = []
    for i, value in enumerate(x):
        row = {"x": float(value), "mean": float(g[:, i].mean()), "std": float(g[:, i].std())}
        if reference:
            ref = float(reference(x[i : i + 1], Q0)[flavour_row(21), 0])
            row.update(reference=ref, pull=(row["mean"] - ref) / max(row["std"], 1e-300))
        rows.append(row)
    return rows
