"""Drell-Yan measurements from ``nnpdf-data``: bins, central values, the uncertainty breakdown
(so :func:`obsforge.pdffit.data.covariance` builds their covariance as for DIS), and their
leading-order prediction (:mod:`obsforge.pdffit.drell_yan`).

Each entry of :data:`DY_DATASETS` names the commondata set, the fiducial lepton cuts of the
publication and how the central values are normalised:

- ``ATLAS_Z0_8TEV_HIMASS_M-Y``: ATLAS, 8 TeV, 20.3 fb^-1, 116 < m_ll < 1500 GeV in 48 bins of
  (m_ll, |y_ll|); leptons p_T > 40 (30) GeV, |eta| < 2.5 (Aad et al., JHEP 08 (2016) 009,
  arXiv:1606.01736). The values are d sigma / d|y_ll| integrated over the mass bin, in pb
  (nnpdf-data's label "d^2 sigma / dm d|y| (pb)"): they sit a near-constant 1.2-1.3 above the
  LO prediction with NNPDF3.1 in every bin, the size of the NNLO K-factor, while reading them
  per GeV would put the ratio between 40 and 1200.

The DY tables of the fit (two-x FK tables) and the higher orders are not built yet; until then
these sets are read and predicted at LO, but not fitted.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from obsforge.pdffit.data import Dataset, DatasetSpec, _commondata_root
from obsforge.pdffit.drell_yan import DYInputs, LeptonCuts, dy_bin_cross_sections

__all__ = ["DY_DATASETS", "DYSpec", "dy_lo_predictions", "load_dy_dataset"]


@dataclass(frozen=True)
class DYSpec:
    """Where a Drell-Yan set lives in nnpdf-data, its cuts and its normalisation."""

    setname: str
    observable: str
    variant: str | None
    sqrt_s: float  # GeV
    cuts: LeptonCuts
    per_abs_y: bool  # d sigma / d|y|: both signs of y, divided by the |y| bin width
    per_gev: bool  # divided by the mass-bin width


DY_DATASETS: dict[str, DYSpec] = {
    "ATLAS_Z0_8TEV_HIMASS_M-Y": DYSpec(
        "ATLAS_Z0_8TEV_HIMASS", "M-Y", None, 8000.0, LeptonCuts(40.0, 2.5), True, False
    ),
}


@functools.lru_cache(maxsize=8)
def load_dy_dataset(name: str) -> Dataset:
    """Read Drell-Yan set ``name`` (a key of :data:`DY_DATASETS`): the uncertainties as for DIS,
    ``bins`` (N, 4) = (m_lo, m_hi, y_lo, y_hi) from the bin edges of its kinematics file, and,
    for the DIS-shaped fields, x = m / sqrt(s) (at y = 0), Q^2 = m^2 and y at the bin centres."""
    import yaml
    from nnpdf_data.commondataparser import load_commondata, parse_new_metadata

    if name not in DY_DATASETS:
        raise ValueError(f"dataset {name!r}: unknown; allowed are {sorted(DY_DATASETS)}")
    spec = DY_DATASETS[name]
    folder = _commondata_root() / spec.setname
    metadata = parse_new_metadata(folder / "metadata.yaml", spec.observable, variant=spec.variant)
    common = load_commondata(metadata)
    table = common.commondata_table
    with open(metadata.path_kinematics) as handle:
        kinematics = yaml.safe_load(handle)["bins"]
    y_key = next(k for k in kinematics[0] if k in ("abs_y", "y"))
    m_key = next(k for k in kinematics[0] if k.startswith("m_"))
    edges = np.array(
        [[np.sqrt(b[m_key]["min"]), np.sqrt(b[m_key]["max"]), b[y_key]["min"], b[y_key]["max"]]
         for b in kinematics], dtype=np.float64,
    )  # fmt: skip
    if len(edges) != len(table) or not np.all(np.isfinite(edges)):
        raise ValueError(f"dataset {name!r}: bin edges missing or not one per point")
    m_mid = 0.5 * (edges[:, 0] + edges[:, 1])
    additive, multiplicative = common.additive_errors, common.multiplicative_errors
    return Dataset(
        name=name,
        spec=DatasetSpec(
            spec.setname, spec.observable, spec.variant, "DY", "proton", "DY", spec.sqrt_s
        ),  # fmt: skip
        x=m_mid / spec.sqrt_s,
        q2=m_mid**2,
        y=0.5 * (edges[:, 2] + edges[:, 3]),
        data=table["data"].to_numpy(dtype=np.float64),
        stat=table["stat"].to_numpy(dtype=np.float64),
        additive=additive.to_numpy(dtype=np.float64),
        multiplicative=multiplicative.to_numpy(dtype=np.float64) / 100.0,
        additive_names=tuple(additive.columns),
        multiplicative_names=tuple(multiplicative.columns),
        n_before_cuts=len(table),
        bins=edges,
    )


def dy_lo_predictions(dataset: Dataset, xfxq, inputs: DYInputs | None = None) -> np.ndarray:
    """The LO prediction (N,) of a set from :func:`load_dy_dataset`, in the set's
    normalisation, with the PDF ``xfxq(pid, x, Q)`` for both protons (``inputs``: the
    electroweak inputs, :class:`DYInputs` by default)."""
    spec = DY_DATASETS[dataset.name]
    inputs = inputs or DYInputs()
    m, y = dataset.bins[:, :2], dataset.bins[:, 2:]
    sigma = dy_bin_cross_sections(xfxq, m, y, spec.sqrt_s, spec.cuts, inputs)
    if spec.per_abs_y:
        sigma = (sigma + dy_bin_cross_sections(xfxq, m, -y[:, ::-1], spec.sqrt_s, spec.cuts,
                                               inputs)) / (y[:, 1] - y[:, 0])  # fmt: skip
    if spec.per_gev:
        sigma = sigma / (m[:, 1] - m[:, 0])
    return sigma
