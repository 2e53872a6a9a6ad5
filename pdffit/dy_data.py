"""Drell-Yan measurements from ``nnpdf-data``: bins, central values, the uncertainty breakdown
(so :func:`obsforge.pdffit.data.covariance` builds their covariance as for DIS), and their
leading-order prediction (:mod:`obsforge.pdffit.drell_yan`).

Each entry of :data:`DY_DATASETS` names the commondata set, the fiducial lepton cuts of the
publication and how the central values are normalised:

- ``ATLAS_Z0_7TEV_49FB_HIMASS``: ATLAS, 7 TeV, 4.9 fb^-1, e+e-, d sigma / dm_ee in 13 bins from
  116 to 1500 GeV (fb / GeV); both electrons p_T > 25 GeV, |eta| < 2.5 (Aad et al., Phys.
  Lett. B725 (2013) 223, arXiv:1305.4192). nnpdf-data gives the bin midpoints only; the edges
  follow from the first, 116 GeV.
- ``CMS_Z0_7TEV_DIMUON_2D``: CMS, 7 TeV, 4.5 fb^-1, mu+mu-, d sigma / d|y| integrated over
  the mass bin (fb) in 132 bins: masses 20-30-45-60-120-200-1500 GeV, |y| in steps of 0.1
  (0.2 above 200 GeV) to 2.4; muons p_T > 14 (9) GeV, |eta| < 2.4 (Chatrchyan et al., JHEP 12
  (2013) 030, arXiv:1310.7291). Midpoints only in nnpdf-data; edges from 20 GeV and |y| = 0.
  At LO both muons have p_T = (m / 2) sin theta*, so below about 45 GeV the LO acceptance is
  far too small (data / LO about 10 at 20-30 GeV): these bins need the NLO pair p_T.
- ``ATLAS_Z0_8TEV_HIMASS_M-Y``: ATLAS, 8 TeV, 20.3 fb^-1, 116 < m_ll < 1500 GeV in 48 bins of
  (m_ll, |y_ll|); leptons p_T > 40 (30) GeV, |eta| < 2.5 (Aad et al., JHEP 08 (2016) 009,
  arXiv:1606.01736), which measures Drell-Yan and photon-induced gamma gamma -> l+ l-
  together. The values are d sigma / d|y_ll| integrated over the mass bin, in pb
  (nnpdf-data's label "d^2 sigma / dm d|y| (pb)"): they sit a near-constant 1.2-1.3 above the
  LO prediction with NNPDF3.1 in every bin, the size of the NNLO K-factor, while reading them
  per GeV would put the ratio between 40 and 1200.

- ``DYE866_Z0_800GEV_DW_RATIO``: E866, 800 GeV protons on hydrogen and deuterium,
  sigma(p d) / 2 sigma(p p) at 15 points (M, y) (arXiv:hep-ex/0103030); the deuteron is a
  proton and a neutron related by isospin, the points narrow bins.

Their two-x FK tables come from :func:`dy_dataset_fk_table`; the fit carries them onto its
grid with the NLO K-factors (:mod:`obsforge.pdffit.dy_fktables`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from obsforge.pdffit.data import Dataset, DatasetSpec, _commondata_root
from obsforge.pdffit.drell_yan import (
    DYInputs,
    LeptonCuts,
    dy_bin_cross_sections,
    neutron,
    photon_bin_cross_sections,
)

__all__ = [
    "DY_DATASETS",
    "DYSpec",
    "dy_dataset_fk_table",
    "dy_lo_predictions",
    "edges_from_midpoints",
    "load_dy_dataset",
]


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
    unit_pb: float = 1.0  # one unit of the central values in pb (1e-3: fb)
    m_first_edge: float | None = None  # the lowest mass edge, where the file gives midpoints only
    y_first_edge: float | None = None  # the same for rapidity, per mass bin
    photon_induced: bool = False  # the measurement includes gamma gamma -> l+ l-
    deuteron_ratio: bool = False  # sigma(p d) / (2 sigma(p p)) at point kinematics (M, y)


DY_DATASETS: dict[str, DYSpec] = {
    "ATLAS_Z0_7TEV_49FB_HIMASS": DYSpec(
        "ATLAS_Z0_7TEV_49FB", "HIMASS", None, 7000.0, LeptonCuts(25.0, 2.5), False, True,
        unit_pb=1e-3, m_first_edge=116.0,
    ),
    "CMS_Z0_7TEV_DIMUON_2D": DYSpec(
        "CMS_Z0_7TEV_DIMUON", "2D", None, 7000.0, LeptonCuts(14.0, 2.4), True, False,
        unit_pb=1e-3, m_first_edge=20.0, y_first_edge=0.0,
    ),
    "ATLAS_Z0_8TEV_HIMASS_M-Y": DYSpec(
        "ATLAS_Z0_8TEV_HIMASS", "M-Y", None, 8000.0, LeptonCuts(40.0, 2.5), True, False,
        photon_induced=True,
    ),
    "DYE866_Z0_800GEV_DW_RATIO": DYSpec(
        "DYE866_Z0_800GEV_DW_RATIO", "PDXSECRATIO", None, 38.8, LeptonCuts(), False, False,
        deuteron_ratio=True,
    ),
}  # fmt: skip
POINT_WIDTH = 1e-4  # the half-width of the bins that stand for a point (M +- M w, y +- w)

FULL_RAPIDITY = (-10.0, 10.0)  # wider than any LHC pair (|y| < ln(sqrt(s) / m) < 5.1)


def edges_from_midpoints(first: float, mids: np.ndarray) -> np.ndarray:
    """Contiguous bins (N, 2) from the lowest edge and the N midpoints:
    e_{k+1} = 2 mid_k - e_k.

    >>> edges_from_midpoints(116.0, np.array([123.0, 140.0, 275.0]))[:, 1].tolist()
    [130.0, 150.0, 400.0]
    """
    edges = [first]
    for mid in mids:
        edges.append(2 * mid - edges[-1])
    edges = np.round(np.array(edges), 9)  # 2 * 0.15 - 0.1 is 0.19999999999999998
    if not np.all(np.diff(edges) > 0):
        raise ValueError(f"bins from first edge {first} and midpoints {mids}: not increasing")
    return np.stack([edges[:-1], edges[1:]], axis=1)


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
    edges = _bin_edges(kinematics, spec)
    if len(edges) != len(table) or not np.all(np.isfinite(edges)):
        raise ValueError(f"dataset {name!r}: bin edges missing or not one per point")
    m_mid = 0.5 * (edges[:, 0] + edges[:, 1])
    process = "DY_RATIO" if spec.deuteron_ratio else "DY"
    additive, multiplicative = common.additive_errors, common.multiplicative_errors
    return Dataset(
        name=name,
        spec=DatasetSpec(
            spec.setname, spec.observable, spec.variant, "DY", "proton", process, spec.sqrt_s
        ),  # fmt: skip
        x=m_mid / spec.sqrt_s,
        q2=m_mid**2,
        y=0.5 * (edges[:, 2] + edges[:, 3]),
        data=table["data"].to_numpy(dtype=np.float64) * spec.unit_pb,
        stat=table["stat"].to_numpy(dtype=np.float64) * spec.unit_pb,
        additive=additive.to_numpy(dtype=np.float64) * spec.unit_pb,
        multiplicative=multiplicative.to_numpy(dtype=np.float64) / 100.0,
        additive_names=tuple(additive.columns),
        multiplicative_names=tuple(multiplicative.columns),
        n_before_cuts=len(table),
        bins=edges,
    )


def _from_midpoints(first: float, mids: np.ndarray) -> np.ndarray:
    """(N, 2) edges of N points whose bins repeat (a mass over its rapidity bins): the
    distinct midpoints in order of appearance make contiguous bins from ``first``."""
    distinct = list(dict.fromkeys(mids.tolist()))
    edges = edges_from_midpoints(first, np.array(distinct))
    return edges[[distinct.index(m) for m in mids.tolist()]]


def _bin_edges(kinematics: list[dict], spec: DYSpec) -> np.ndarray:
    """(N, 4) = (m_lo, m_hi, y_lo, y_hi): from the file's min / max; from the midpoints and
    ``spec.m_first_edge`` (``y_first_edge``, per mass bin) where it has none; the full
    rapidity range where it has no rapidity variable. Squared masses (m_ll2, m_Z2) are read
    as such."""
    first = kinematics[0]
    m_key = next(k for k in first if k.startswith("m_") or k in ("k1", "M2"))
    squared = m_key.endswith("2") and m_key != "k1"
    y_key = next((k for k in first if k in ("abs_y", "y")), None)
    root = np.sqrt if squared else (lambda v: v)
    if spec.deuteron_ratio:  # point kinematics: narrow bins around (M, y)
        m = np.array([root(b[m_key]["mid"]) for b in kinematics], dtype=np.float64)
        y = np.array([b[y_key]["mid"] for b in kinematics], dtype=np.float64)
        w = POINT_WIDTH
        return np.stack([m * (1 - w), m * (1 + w), y - w, y + w], axis=1)
    if spec.m_first_edge is not None:
        mids = np.array([root(b[m_key]["mid"]) for b in kinematics], dtype=np.float64)
        mass = _from_midpoints(spec.m_first_edge, mids)
    else:
        mass = np.array([[root(b[m_key]["min"]), root(b[m_key]["max"])] for b in kinematics],
                        dtype=np.float64)  # fmt: skip
    if y_key is None:
        rapidity = np.tile(FULL_RAPIDITY, (len(kinematics), 1))
    elif spec.y_first_edge is not None:
        y_mid = np.array([b[y_key]["mid"] for b in kinematics], dtype=np.float64)
        rapidity = np.empty((len(kinematics), 2))
        for low in np.unique(mass[:, 0]):
            rows = np.flatnonzero(mass[:, 0] == low)
            rapidity[rows] = _from_midpoints(spec.y_first_edge, y_mid[rows])
    else:
        rapidity = np.array([[b[y_key]["min"], b[y_key]["max"]] for b in kinematics],
                            dtype=np.float64)  # fmt: skip
    return np.concatenate([mass, rapidity], axis=1)


def dy_lo_predictions(
    dataset: Dataset, xfxq, inputs: DYInputs | None = None, photon: bool = True,
    partonic=None,
) -> np.ndarray:  # fmt: skip
    """The LO prediction (N,) of a set from :func:`load_dy_dataset`, in the set's
    normalisation, with the PDF ``xfxq(pid, x, Q)`` for both protons (``inputs``: the
    electroweak inputs, :class:`DYInputs` by default); with ``photon``, gamma gamma -> l+ l-
    added where the measurement includes it. ``partonic``: per-quark coefficients as in
    :func:`~obsforge.pdffit.drell_yan.dy_bin_cross_sections`, the result then (N, n) and
    without the photon term."""
    spec = DY_DATASETS[dataset.name]
    inputs = inputs or DYInputs()
    m, y = dataset.bins[:, :2], dataset.bins[:, 2:]
    if spec.deuteron_ratio:
        if partonic is not None:
            raise ValueError(f"{dataset.name}: no contact terms for a cross-section ratio")
        pp = dy_bin_cross_sections(xfxq, m, y, spec.sqrt_s, spec.cuts, inputs)
        pn = dy_bin_cross_sections(xfxq, m, y, spec.sqrt_s, spec.cuts, inputs,
                                   target=neutron(xfxq))  # fmt: skip
        return (pp + pn) / (2 * pp)

    def bins_sigma(y_bins: np.ndarray) -> np.ndarray:
        if partonic is not None:
            return dy_bin_cross_sections(xfxq, m, y_bins, spec.sqrt_s, spec.cuts, inputs,
                                         partonic=partonic)  # fmt: skip
        sigma = dy_bin_cross_sections(xfxq, m, y_bins, spec.sqrt_s, spec.cuts, inputs)
        if photon and spec.photon_induced:
            sigma = sigma + photon_bin_cross_sections(xfxq, m, y_bins, spec.sqrt_s, spec.cuts,
                                                      inputs.alpha)  # fmt: skip
        return sigma

    sigma = bins_sigma(y)
    width = np.ones(len(dataset))
    if spec.per_abs_y:
        sigma = sigma + bins_sigma(-y[:, ::-1])
        width = width * (y[:, 1] - y[:, 0])
    if spec.per_gev:
        width = width * (m[:, 1] - m[:, 0])
    return sigma / width.reshape(-1, *([1] * (sigma.ndim - 1)))


def dy_dataset_fk_table(dataset: Dataset, evolution, inputs: DYInputs | None = None):
    """The two-x FK table (N, 8, n_z, 8, n_z) of a set from :func:`load_dy_dataset` in the
    set's normalisation (:func:`obsforge.pdffit.dy_fktables.dy_fk_table`; per |y|: both signs
    of y), its input knots z (n_z,) and, for a ratio, the denominator's table (else None):
    sigma(p p) + sigma(p n) over 2 sigma(p p) for a deuteron ratio."""
    from obsforge.pdffit.dy_fktables import dy_fk_table

    spec = DY_DATASETS[dataset.name]
    bins = dataset.bins
    if spec.deuteron_ratio:
        pp, z = dy_fk_table(bins, spec.sqrt_s, spec.cuts, evolution, inputs)
        pn, _ = dy_fk_table(bins, spec.sqrt_s, spec.cuts, evolution, inputs, neutron_target=True)
        return pp + pn, z, 2 * pp
    if spec.per_abs_y:
        mirrored = np.concatenate([bins[:, :2], -bins[:, 3:1:-1]], axis=1)
        bins = np.concatenate([bins, mirrored])
    fk, z = dy_fk_table(bins, spec.sqrt_s, spec.cuts, evolution, inputs)
    n = len(dataset)
    if spec.per_abs_y:
        fk = (fk[:n] + fk[n:]) / (dataset.bins[:, 3] - dataset.bins[:, 2])[
            :, None, None, None, None
        ]
    if spec.per_gev:
        fk = fk / (dataset.bins[:, 1] - dataset.bins[:, 0])[:, None, None, None, None]
    return fk, z, None
