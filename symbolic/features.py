"""Physics features of VBF Higgs events and their behaviour under CP.

From the two tagging jets (pT-ordered j1, j2) and the Higgs candidate H:

    pt1, pt2, pth     transverse momenta / m_H
    mjj               tagging-jet invariant mass / m_H
    deta              |eta_j1 - eta_j2|
    dphi              signed Delta phi_jj = phi(j_a) - phi(j_b) in (-pi, pi], with j_a the jet at
                      larger rapidity (Hankele, Klamke, Zeppenfeld, Figy, hep-ph/0609075)
    ystar             |y_H - (y_j1 + y_j2) / 2| (Zeppenfeld variable)

Under parity every object goes to (pT, -eta, phi + pi): the rapidity order of the jets flips, so
dphi -> -dphi, and everything else above is unchanged; charge conjugation leaves jets and the
Higgs unchanged. So CP acts on these features as dphi -> -dphi (``PARITY``), which
:func:`cp_transform` applies and :func:`mirror_event` checks against the explicit transformation.
"""

from __future__ import annotations

import numpy as np

from obsforge.config import check_names

__all__ = [
    "DEFAULT_FEATURES",
    "PARITY",
    "compute_features",
    "cp_transform",
    "mirror_event",
    "validate_features",
]

PARITY = {"pt1": 1, "pt2": 1, "pth": 1, "mjj": 1, "deta": 1, "dphi": -1, "ystar": 1}
DEFAULT_FEATURES = ("pt1", "pt2", "pth", "mjj", "deta", "dphi", "ystar")


def _check_names(names) -> list[str]:
    return check_names("features", names, sorted(PARITY))


def _wrap(phi: np.ndarray) -> np.ndarray:
    """Angle in (-pi, pi]."""
    return np.pi - np.mod(np.pi - phi, 2 * np.pi)


def _rapidity(pt, eta, mass):
    pz = pt * np.sinh(eta)
    energy = np.sqrt(pt**2 + pz**2 + mass**2)
    return 0.5 * np.log((energy + pz) / (energy - pz))


def compute_features(
    jets: np.ndarray, higgs: np.ndarray, m_h: float, names=DEFAULT_FEATURES
) -> np.ndarray:
    """Features (B, len(names)) from jets (B, 2, 4) and higgs (B, 4) as (pT, eta, phi, mass)."""
    names = _check_names(names)
    jets, higgs = np.asarray(jets, dtype=np.float64), np.asarray(higgs, dtype=np.float64)
    if jets.ndim != 3 or jets.shape[1:] != (2, 4) or higgs.shape != (len(jets), 4):
        raise ValueError(
            f"jets {jets.shape}, higgs {higgs.shape}: expected (B, 2, 4) and (B, 4) "
            "as (pT, eta, phi, mass)"
        )
    if len(jets) == 0:
        raise ValueError("jets: empty sample (no events passed the selection)")
    pt, eta, phi, mass = (jets[..., k] for k in range(4))
    y = _rapidity(pt, eta, mass)
    forward = y[:, 0] >= y[:, 1]
    phi_a = np.where(forward, phi[:, 0], phi[:, 1])
    phi_b = np.where(forward, phi[:, 1], phi[:, 0])
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    mjj2 = energy.sum(1) ** 2 - px.sum(1) ** 2 - py.sum(1) ** 2 - pz.sum(1) ** 2
    y_h = _rapidity(higgs[:, 0], higgs[:, 1], higgs[:, 3])
    table = {
        "pt1": pt[:, 0] / m_h,
        "pt2": pt[:, 1] / m_h,
        "pth": higgs[:, 0] / m_h,
        "mjj": np.sqrt(np.maximum(mjj2, 0.0)) / m_h,
        "deta": np.abs(eta[:, 0] - eta[:, 1]),
        "dphi": _wrap(phi_a - phi_b),
        "ystar": np.abs(y_h - 0.5 * (y[:, 0] + y[:, 1])),
    }
    return np.stack([table[n] for n in names], axis=1)


def cp_transform(x: np.ndarray, names=DEFAULT_FEATURES) -> np.ndarray:
    """The CP image of features x (B, F): CP-odd columns change sign."""
    signs = np.array([PARITY[n] for n in _check_names(names)], dtype=np.float64)
    return np.asarray(x) * signs


def mirror_event(jets: np.ndarray, higgs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parity applied to reco objects: (pT, eta, phi, m) -> (pT, -eta, phi + pi, m)."""

    def flip(a):
        out = np.array(a, dtype=np.float64, copy=True)
        out[..., 1] = -out[..., 1]
        out[..., 2] = _wrap(out[..., 2] + np.pi)
        return out

    return flip(jets), flip(higgs)


def validate_features(x: np.ndarray, names) -> np.ndarray:
    """Refuse an empty sample, a wrong number of columns or non-finite values, naming them."""
    names = _check_names(names)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError(f"features: shape {x.shape}, expected (N, {len(names)}) for {names}")
    if len(x) == 0:
        raise ValueError("features: empty sample (N = 0); nothing to learn from")
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"features[{row}, {names[col]!r}] = {x[row, col]}: not finite "
            f"({int(bad.any(axis=1).sum())} events affected)"
        )
    return x
