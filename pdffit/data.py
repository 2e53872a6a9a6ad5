"""DIS measurements from the NNPDF collaboration's ``nnpdf-data`` package, with cuts and
covariance matrices.

The commondata files are read with the package's own parser (``load_commondata``); this module
chooses the datasets, applies kinematic cuts and builds covariance matrices the NNPDF way
(Ball et al., JHEP 05 (2010) 075, arXiv:0912.2276):

    C_ij = delta_ij (s_i^2 + sum_{k uncorr} sigma_ik^2) + sum_{k corr} sigma_ik sigma_jk,
    sigma_ik = a_ik (additive, absolute) or m_ik T_i (multiplicative, relative),

with T the experimental central values (experimental covariance, used for pseudo-data) or a
fixed theory prediction T^(0) (the t0 prescription, used in the fit's chi^2 so that
multiplicative normalisation errors do not bias it: Ball et al., JHEP 05 (2010) 075).
Uncertainties labelled SKIP are dropped; UNCORR and THEORYUNCORR are diagonal; every other
label (CORR, or a name shared across datasets such as HERA's HC_sys*) is fully correlated
within the dataset, and a named one (HERA's HC_sys*, procedural uncertainties) is also
correlated with the systematic of the same name in other datasets (:func:`correlated_groups`),
as in NNPDF's experimental covariance.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetSpec",
    "apply_cuts",
    "correlated_groups",
    "covariance",
    "fluctuations",
    "load_dataset",
]

PROTON_MASS = 0.938


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives in nnpdf-data and which DIS observable it measures."""

    setname: str
    observable: str
    variant: str | None
    kind: str  # yadism observable: XSHERANC, XSHERACC, F2_total
    projectile: str  # electron, positron
    process: str  # EM, NC, CC
    sqrt_s: float | None = None  # GeV, for the reduced cross sections


DATASETS: dict[str, DatasetSpec] = {
    "HERA_NC_318GEV_EP": DatasetSpec(
        "HERA_NC_318GEV", "EP-SIGMARED", None, "XSHERANC", "positron", "NC", 318.1
    ),
    "HERA_NC_318GEV_EM": DatasetSpec(
        "HERA_NC_318GEV", "EM-SIGMARED", None, "XSHERANC", "electron", "NC", 318.1
    ),
    "HERA_NC_300GEV_EP": DatasetSpec(
        "HERA_NC_300GEV", "EP-SIGMARED", None, "XSHERANC", "positron", "NC", 300.3
    ),
    "HERA_NC_251GEV_EP": DatasetSpec(
        "HERA_NC_251GEV", "EP-SIGMARED", None, "XSHERANC", "positron", "NC", 251.5
    ),
    "HERA_NC_225GEV_EP": DatasetSpec(
        "HERA_NC_225GEV", "EP-SIGMARED", None, "XSHERANC", "positron", "NC", 224.9
    ),
    "HERA_CC_318GEV_EP": DatasetSpec(
        "HERA_CC_318GEV", "EP-SIGMARED", None, "XSHERACC", "positron", "CC", 318.1
    ),
    "HERA_CC_318GEV_EM": DatasetSpec(
        "HERA_CC_318GEV", "EM-SIGMARED", None, "XSHERACC", "electron", "CC", 318.1
    ),
    "BCDMS_NC_NOTFIXED_P_F2": DatasetSpec(
        "BCDMS_NC_NOTFIXED_P", "EM-F2", "legacy", "F2_total", "electron", "EM"
    ),
    "NMC_NC_NOTFIXED_P_F2": DatasetSpec(
        "NMC_NC_NOTFIXED_P", "EM-F2-HEPDATA", None, "F2_total", "electron", "EM"
    ),
    "SLAC_NC_NOTFIXED_P_F2": DatasetSpec(
        "SLAC_NC_NOTFIXED_P", "EM-F2", "legacy", "F2_total", "electron", "EM"
    ),
}

UNCORRELATED = {"UNCORR", "THEORYUNCORR"}


@dataclass(frozen=True)
class Dataset:
    """One measurement after cuts: kinematics, central values and the uncertainty breakdown."""

    name: str
    spec: DatasetSpec
    x: np.ndarray
    q2: np.ndarray
    y: np.ndarray
    data: np.ndarray
    stat: np.ndarray
    additive: np.ndarray  # (N, K_a) absolute
    multiplicative: np.ndarray  # (N, K_m) relative (fraction of the central value)
    additive_names: tuple[str, ...]  # (K_a,) systematic names from nnpdf-data: UNCORR is
    multiplicative_names: tuple[str, ...]  # (K_m,) diagonal, CORR dataset-local, others shared
    n_before_cuts: int
    bins: np.ndarray | None = None  # (N, 4) m_lo, m_hi, y_lo, y_hi of hadronic (Drell-Yan) data

    def __len__(self) -> int:
        return len(self.data)

    def take(self, rows: np.ndarray) -> Dataset:
        return replace(
            self,
            x=self.x[rows],
            q2=self.q2[rows],
            y=self.y[rows],
            data=self.data[rows],
            stat=self.stat[rows],
            additive=self.additive[rows],
            multiplicative=self.multiplicative[rows],
            bins=None if self.bins is None else self.bins[rows],
        )


def _commondata_root() -> Path:
    import nnpdf_data

    return Path(nnpdf_data.__file__).parent / "commondata"


@functools.lru_cache(maxsize=32)
def load_dataset(name: str) -> Dataset:
    """Read dataset ``name`` (a key of :data:`DATASETS`) from nnpdf-data, without cuts
    (cached: parsing the YAML of the large HERA sets takes seconds)."""
    from nnpdf_data.commondataparser import load_commondata, parse_new_metadata

    if name not in DATASETS:
        raise ValueError(f"dataset {name!r}: unknown; allowed are {sorted(DATASETS)}")
    spec = DATASETS[name]
    metadata_file = _commondata_root() / spec.setname / "metadata.yaml"
    metadata = parse_new_metadata(metadata_file, spec.observable, variant=spec.variant)
    common = load_commondata(metadata)
    table = common.commondata_table
    x, q2, y = (table[k].to_numpy(dtype=np.float64) for k in ("kin1", "kin2", "kin3"))
    additive, multiplicative = common.additive_errors, common.multiplicative_errors
    return Dataset(
        name=name,
        spec=spec,
        x=x,
        q2=q2,
        y=y,
        data=table["data"].to_numpy(dtype=np.float64),
        stat=table["stat"].to_numpy(dtype=np.float64),
        additive=additive.to_numpy(dtype=np.float64),
        multiplicative=multiplicative.to_numpy(dtype=np.float64) / 100.0,
        additive_names=tuple(additive.columns),
        multiplicative_names=tuple(multiplicative.columns),
        n_before_cuts=len(table),
    )


def apply_cuts(dataset: Dataset, q2_min: float = 3.49, w2_min: float = 12.5) -> Dataset:
    """Keep points with Q^2 > q2_min and W^2 = Q^2 (1 - x) / x + m_p^2 > w2_min (GeV^2)."""
    w2 = dataset.q2 * (1.0 - dataset.x) / dataset.x + PROTON_MASS**2
    keep = (dataset.q2 > q2_min) & (w2 > w2_min)
    if not keep.any():
        raise ValueError(
            f"dataset {dataset.name!r}: no point passes the cuts Q^2 > {q2_min} GeV^2, "
            f"W^2 > {w2_min} GeV^2 ({len(dataset)} before cuts)"
        )
    return dataset.take(np.flatnonzero(keep))


def _shared_names(dataset: Dataset) -> set[str]:
    """Systematics that correlate with other datasets: named, not CORR/UNCORR/THEORYUNCORR."""
    names = dataset.additive_names + dataset.multiplicative_names
    return {n for n in names if n not in UNCORRELATED and n != "CORR"}


def correlated_groups(datasets: list[Dataset], correlate: bool = True) -> list[list[int]]:
    """Indices of ``datasets`` grouped so that datasets sharing a systematic's name are in one
    group (connected components), in order of first appearance; each alone if not
    ``correlate``."""
    if not correlate:
        return [[i] for i in range(len(datasets))]
    groups: list[tuple[list[int], set[str]]] = []
    for i, dataset in enumerate(datasets):
        names = _shared_names(dataset)
        linked = [g for g in groups if g[1] & names]
        members = sorted([i, *(j for g in linked for j in g[0])])
        merged = (members, names.union(*(g[1] for g in linked)))
        groups = [g for g in groups if g not in linked] + [merged]
    return sorted((g[0] for g in groups), key=lambda g: g[0])


def _sigma(dataset: Dataset, reference: np.ndarray):
    """Absolute systematic shifts (N, K), whether each is correlated, and their names."""
    if reference.shape != dataset.data.shape:
        raise ValueError(f"t0: shape {reference.shape}, expected {dataset.data.shape}")
    mult = dataset.multiplicative * reference[:, None]
    sigma = np.concatenate([dataset.additive, mult], axis=1)
    names = dataset.additive_names + dataset.multiplicative_names
    correlated = np.array([n not in UNCORRELATED for n in names], dtype=bool)
    return sigma, correlated, names


def covariance(datasets: Dataset | list[Dataset], t0=None) -> np.ndarray:
    """Covariance matrix (N, N): experimental with ``t0=None``, else the t0 prescription
    (``t0``: an array, or one per dataset). For a list of datasets, the joint matrix of their
    concatenated points, with same-named systematics correlated across datasets."""
    if isinstance(datasets, Dataset):
        datasets, t0 = [datasets], None if t0 is None else [t0]
    references = [d.data if t is None else np.asarray(t, dtype=np.float64)
                  for d, t in zip(datasets, t0 or [None] * len(datasets), strict=True)]  # fmt: skip
    diagonal, columns = [], {}
    offsets = np.cumsum([0] + [len(d) for d in datasets])
    for i, (dataset, reference) in enumerate(zip(datasets, references, strict=True)):
        sigma, correlated, names = _sigma(dataset, reference)
        diagonal.append(dataset.stat**2 + np.sum(sigma[:, ~correlated] ** 2, axis=1))
        for k in np.flatnonzero(correlated):  # n-th "X" of a dataset pairs with n-th "X" of others
            key = (i, k) if names[k] == "CORR" else (names[k], names[:k].count(names[k]))
            column = columns.setdefault(key, np.zeros(offsets[-1]))
            column[offsets[i] : offsets[i + 1]] = sigma[:, k]
    shifts = np.stack(list(columns.values()), axis=1) if columns else np.zeros((offsets[-1], 0))
    return np.diag(np.concatenate(diagonal)) + shifts @ shifts.T


def fluctuations(
    datasets: list[Dataset], rng: np.random.Generator, n: int, correlate: bool = True
) -> list[np.ndarray]:
    """``n`` Gaussian fluctuations per dataset, (n, N_d) each, drawn from the experimental
    covariance of each correlated group (each dataset alone with ``correlate=False``)."""
    groups = correlated_groups(datasets, correlate)
    out: list[np.ndarray] = [np.empty(0)] * len(datasets)
    for group in groups:
        members = [datasets[i] for i in group]
        noise = (
            rng.standard_normal((n, sum(map(len, members))))
            @ np.linalg.cholesky(covariance(members)).T
        )
        for i, part in zip(group, np.split(noise, np.cumsum([len(d) for d in members])[:-1], 1),
                           strict=True):  # fmt: skip
            out[i] = part
    return out
