"""SMEFT four-fermion (e e q q) operators in neutral-current DIS at leading order.

Operators (Warsaw basis, first generation, L = sum_i C_i / Lambda^2 O_i, Lambda = 1 TeV):

    O_lq1 = (lbar g l)(qbar g q),   O_lq3 = (lbar g tau^I l)(qbar g tau^I q),
    O_eu = (ebar g e)(ubar g u),    O_ed = (ebar g e)(dbar g d),
    O_lu = (lbar g l)(ubar g u),    O_ld = (lbar g l)(dbar g d),   O_qe = (qbar g q)(ebar g e).

In e q -> e q they are contact terms eta^q_ij (i: lepton, j: quark chirality) added to the
photon and Z exchange amplitudes (Haberl, Schrempp, Martyn, hep-ph/9703381; the H1/ZEUS
contact-interaction analyses, e.g. ZEUS arXiv:1902.03048):

    M^q_ij = e^2 Q_e Q_q / Q^2 + g_Z^2 g^e_i g^q_j / (Q^2 + M_Z^2) + eta^q_ij,
    eta^u_LL = (C_lq1 - C_lq3), eta^d_LL = (C_lq1 + C_lq3), eta^u_RR = C_eu, eta^d_RR = C_ed,
    eta^u_LR = C_lu, eta^d_LR = C_ld, eta^q_RL = C_qe   (all / Lambda^2),

and at LO, for e- p (the positron swaps the two y-dependences),

    d sigma ∝ sum_q q(x) [|M_LL|^2 + |M_RR|^2 + (1-y)^2 (|M_LR|^2 + |M_RL|^2)]
             + qbar(x) [(1-y)^2 (|M_LL|^2 + |M_RR|^2) + |M_LR|^2 + |M_RL|^2].

The per-point K-factors are sigma = sigma_SM (1 + sum_i C_i K_i + sum_ij C_i C_j K_ij),
computed with a fixed reference PDF (the SIMUnet approach, arXiv:2402.03308).

In Drell-Yan (q qbar -> l+ l-) the same eta^q_ij enter the s-channel amplitudes
(:func:`obsforge.pdffit.drell_yan.partonic_cross_section`), for every up-type (u, c) and
down-type (d, s, b) quark alike, as in DIS; the K-factors are taken at LO with the lepton cuts
and relative to the whole LO prediction (gamma gamma -> l+ l- included where measured)
(:func:`dy_k_factors`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "OPERATORS",
    "Electroweak",
    "dataset_k_factors",
    "dy_k_factors",
    "k_factors",
    "scale_tev",
]


class Electroweak(NamedTuple):
    """The neutral-current inputs: alpha, sin^2 theta_W and M_Z in GeV. The default is the G_mu
    scheme, alpha = sqrt(2) G_F M_W^2 sin^2 theta_W / pi with sin^2 theta_W = 1 - M_W^2 / M_Z^2
    (G_F = 1.1663787e-5 GeV^-2, M_W = 80.379 GeV, M_Z = 91.1876 GeV), as in the WW amplitude.

    >>> round(Electroweak().sin2_w, 5), round(1 / Electroweak().alpha_em, 2)
    (0.22301, 132.18)
    """

    alpha_em: float = 2**0.5 * 1.1663787e-5 * 80.379**2 * (1 - (80.379 / 91.1876) ** 2) / math.pi
    sin2_w: float = 1 - (80.379 / 91.1876) ** 2
    m_z: float = 91.1876


OPERATORS = ("C_lq1", "C_lq3", "C_eu", "C_ed", "C_lu", "C_ld", "C_qe")
LAMBDA_GEV = 1000.0
# eta^q_ij = sum_op WEIGHTS[q][ij][op] * C_op / Lambda^2
WEIGHTS = {
    "u": {"LL": {"C_lq1": 1, "C_lq3": -1}, "RR": {"C_eu": 1}, "LR": {"C_lu": 1}, "RL": {"C_qe": 1}},
    "d": {"LL": {"C_lq1": 1, "C_lq3": 1}, "RR": {"C_ed": 1}, "LR": {"C_ld": 1}, "RL": {"C_qe": 1}},
}  # fmt: skip
CHARGE = {"u": 2 / 3, "d": -1 / 3}
ISOSPIN = {"u": 0.5, "d": -0.5}


G_MU = Electroweak()


def _amplitudes(q2: np.ndarray, quark: str, eta: dict[str, float], inputs: Electroweak):
    sw2 = inputs.sin2_w
    e2 = 4 * np.pi * inputs.alpha_em
    gz2 = e2 / (sw2 * (1 - sw2))
    g_e = {"L": -0.5 + sw2, "R": sw2}
    g_q = {"L": ISOSPIN[quark] - CHARGE[quark] * sw2, "R": -CHARGE[quark] * sw2}
    out = {}
    for ij in ("LL", "RR", "LR", "RL"):
        photon = e2 * (-1.0) * CHARGE[quark] / q2
        zed = gz2 * g_e[ij[0]] * g_q[ij[1]] / (q2 + inputs.m_z**2)
        out[ij] = photon + zed + eta.get(ij, 0.0)
    return out


def _cross_section(x, q2, y, positron, pdf_q, pdf_qbar, coefficients, inputs) -> np.ndarray:
    """LO d sigma (arbitrary normalisation) summed over u- and d-type quarks."""
    total = np.zeros_like(x)
    one_minus_y2 = (1 - y) ** 2
    for quark in ("u", "d"):
        eta = {
            ij: sum(w * coefficients.get(op, 0.0) for op, w in ops.items()) / LAMBDA_GEV**2
            for ij, ops in WEIGHTS[quark].items()
        }
        m = _amplitudes(q2, quark, eta, inputs)
        same = np.abs(m["LL"]) ** 2 + np.abs(m["RR"]) ** 2
        mixed = np.abs(m["LR"]) ** 2 + np.abs(m["RL"]) ** 2
        if positron:  # e+ q behaves as e- qbar
            same, mixed = mixed, same
        total += pdf_q[quark] * (same + one_minus_y2 * mixed)
        total += pdf_qbar[quark] * (one_minus_y2 * same + mixed)
    return total


def k_factors(
    x: np.ndarray,
    q2: np.ndarray,
    y: np.ndarray,
    positron: bool,
    pdf_q: dict[str, np.ndarray],
    pdf_qbar: dict[str, np.ndarray],
    inputs: Electroweak = G_MU,
) -> tuple[np.ndarray, np.ndarray]:
    """Linear K (N, 7) and quadratic K (N, 7, 7) per point; sigma is exactly quadratic in C.

    pdf_q / pdf_qbar: {'u': sum of up-type quark PDFs, 'd': down-type} at (x, Q^2).
    """
    args = (x, q2, y, positron, pdf_q, pdf_qbar)
    sm = _cross_section(*args, {}, inputs)
    n = len(OPERATORS)
    plus = np.stack([_cross_section(*args, {op: 1.0}, inputs) for op in OPERATORS], axis=1)
    minus = np.stack([_cross_section(*args, {op: -1.0}, inputs) for op in OPERATORS], axis=1)
    linear = (plus - minus) / 2 / sm[:, None]
    quadratic = np.zeros((len(x), n, n))
    diagonal = (plus + minus) / 2 - sm[:, None]
    for i in range(n):
        quadratic[:, i, i] = diagonal[:, i] / sm
        for j in range(i + 1, n):
            both = _cross_section(*args, {OPERATORS[i]: 1.0, OPERATORS[j]: 1.0}, inputs)
            cross = (both - sm - linear[:, i] * sm - linear[:, j] * sm) / sm
            cross = cross - quadratic[:, i, i] - diagonal[:, j] / sm
            quadratic[:, i, j] = quadratic[:, j, i] = cross / 2
    return linear, quadratic


def scale_tev(bound: float, coupling_squared: float = 4 * np.pi) -> float:
    """The contact-interaction scale in TeV equivalent to a bound on C (Lambda = 1 TeV):
    C / (1 TeV)^2 = g^2 / Lambda_CI^2, with g^2 = 4 pi as in the H1 and ZEUS analyses
    (eta = +-4 pi / Lambda^2), so Lambda_CI = sqrt(4 pi / |C|) TeV."""
    return float(np.sqrt(coupling_squared / abs(bound)))


def dataset_k_factors(datasets, pdf) -> list[tuple[np.ndarray, np.ndarray]]:
    """Linear and quadratic K-factors per dataset (:func:`k_factors`, :func:`dy_k_factors` for
    Drell-Yan) with the quark PDFs of ``pdf`` (an object with ``xf(pid, x, Q^2)`` and
    ``xfxq(pid, x, Q)``, e.g. the reference NNPDF3.1 NLO) at each point; zero for datasets
    without Z exchange (fixed target, CC: not modelled)."""
    out = []
    for d in datasets:
        n = len(OPERATORS)
        if d.spec.process == "DY":
            out.append(dy_k_factors(d, pdf.xfxq))
            continue
        if d.spec.process == "DY_RATIO":  # fixed target, M < 20 GeV: (M / Lambda)^2 < 4e-4
            out.append((np.zeros((len(d), n)), np.zeros((len(d), n, n))))
            continue
        if d.spec.process != "NC":
            out.append((np.zeros((len(d), n)), np.zeros((len(d), n, n))))
            continue
        pid = {p: np.array([pdf.xf(p, x, q2) / x for x, q2 in zip(d.x, d.q2, strict=True)])
               for p in (1, 2, 3, 4, 5, -1, -2, -3, -4, -5)}  # fmt: skip
        q = {"u": pid[2] + pid[4], "d": pid[1] + pid[3] + pid[5]}
        qbar = {"u": pid[-2] + pid[-4], "d": pid[-1] + pid[-3] + pid[-5]}
        out.append(k_factors(d.x, d.q2, d.y, d.spec.projectile == "positron", q, qbar))
    return out


def _operator_weights() -> dict[tuple[str, str], np.ndarray]:
    """(quark type, lepton + quark chirality) -> d eta / d C (7,) in GeV^-2."""
    return {
        (quark, ij): np.array([ops.get(op, 0.0) for op in OPERATORS]) / LAMBDA_GEV**2
        for quark, by_chirality in WEIGHTS.items()
        for ij, ops in by_chirality.items()
    }


def dy_k_factors(dataset, xfxq) -> tuple[np.ndarray, np.ndarray]:
    """Linear K (N, 7) and quadratic K (N, 7, 7) of a Drell-Yan set from
    :func:`obsforge.pdffit.dy_data.load_dy_dataset`, with the PDF ``xfxq(pid, x, Q)``: each
    contact term enters one helicity amplitude linearly, so sigma is exactly quadratic in C and
    the K-factors follow from the bin integrals of the linear and quadratic partonic
    coefficients (:func:`~obsforge.pdffit.drell_yan.partonic_contact_terms`)."""
    from obsforge.pdffit.drell_yan import CHIRALITIES, QUARKS, DYInputs, partonic_contact_terms
    from obsforge.pdffit.dy_data import dy_lo_predictions

    inputs = DYInputs()
    types = {pid: "u" if charge > 0 else "d" for pid, (charge, _) in QUARKS.items()}
    slots = [(q, ij) for q in ("u", "d") for ij in CHIRALITIES]  # 8 linear, then 8 quadratic

    def partonic(m: float) -> dict[int, np.ndarray]:
        out = {}
        for pid, (charge, t3) in QUARKS.items():
            lin, quad = partonic_contact_terms(np.array([m]), charge, t3, inputs)
            row = np.zeros(2 * len(slots))
            first = slots.index((types[pid], CHIRALITIES[0]))
            row[first : first + 4], row[len(slots) + first : len(slots) + first + 4] = (
                lin[0],
                quad[0],
            )
            out[pid] = row
        return out

    terms = dy_lo_predictions(dataset, xfxq, inputs, partonic=partonic)  # (N, 16)
    total = dy_lo_predictions(dataset, xfxq, inputs)
    weights = _operator_weights()
    linear = np.zeros((len(dataset), len(OPERATORS)))
    quadratic = np.zeros((len(dataset), len(OPERATORS), len(OPERATORS)))
    for s, slot in enumerate(slots):
        w = weights.get(slot, np.zeros(len(OPERATORS)))
        linear += terms[:, s, None] * w
        quadratic += terms[:, len(slots) + s, None, None] * np.outer(w, w)
    return linear / total[:, None], quadratic / total[:, None, None]
