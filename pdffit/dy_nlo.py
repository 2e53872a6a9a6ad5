"""Drell-Yan at next-to-leading order in QCD: the mass distribution and its K-factor.

With tau = M^2 / s and mu_F = mu_R = M (MSbar), the LO mass distribution of
:mod:`obsforge.pdffit.drell_yan` (integrated over the pair's rapidity, no lepton cuts) becomes

    d sigma / dM = (2M / s) sum_q sigma_hat_q(M) int_tau^1 (dz / z)
                   [L_qqbar(tau / z) Delta_qqbar(z) + L_qg(tau / z) Delta_qg(z)],

    L_qqbar(t) = int_t^1 (dx / x) [q(x) qbar(t / x) + qbar(x) q(t / x)],
    L_qg(t)    = int_t^1 (dx / x) [(q + qbar)(x) g(t / x) + g(x) (q + qbar)(t / x)],

    Delta_qqbar = delta(1 - z) + a C_F [8 D_1(z) - 4 (1 + z) ln(1 - z)
                  - 2 (1 + z^2) ln(z) / (1 - z) + (2 pi^2 / 3 - 8) delta(1 - z)],
    Delta_qg    = a T_R [(z^2 + (1 - z)^2) ln((1 - z)^2 / z) + 1/2 + 3z - 7z^2 / 2],

a = alpha_s(M) / (2 pi), D_1 = [ln(1 - z) / (1 - z)]_+ (Altarelli, Ellis, Martinelli, Nucl.
Phys. B157 (1979) 461; in MSbar: Hamberg, van Neerven, Matsuura, Nucl. Phys. B359 (1991) 343,
appendix B; Ellis, Stirling, Webber, "QCD and collider physics", section 9.2). The gluon
channel has the couplings of its quark, so gamma* and Z enter through sigma_hat_q alone.

The K-factor of a mass bin is the ratio of the two mass distributions integrated over the bin,
both with the same (NLO) PDF: it multiplies the LO prediction with the experiment's lepton cuts,
the approach NNPDF takes with its C-factors. It does not capture how the NLO correction varies
with rapidity or with the cuts (the pair's transverse momentum).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.integrate import solve_ivp

from obsforge.pdffit.drell_yan import GEV2_TO_PB, QUARKS, DYInputs, partonic_cross_section

__all__ = ["alpha_s", "mass_distribution", "nlo_k_factors", "plus_convolution"]

C_F = 4 / 3
T_R = 1 / 2
ALPHA_S_MZ = 0.118  # NNPDF3.1 and the FK tables' theory (NNPDF4.0 NLO, theory 208)
M_Z = 91.1876


def alpha_s(q: np.ndarray, alpha_mz: float = ALPHA_S_MZ, nf: int = 5) -> np.ndarray:
    """alpha_s(Q) at two loops with ``nf`` flavours from alpha_s(M_Z), the renormalisation
    group equation integrated exactly: d a / d ln mu^2 = -beta_0 a^2 - beta_1 a^3,
    a = alpha_s / (4 pi), beta_0 = 11 - 2 nf / 3, beta_1 = 102 - 38 nf / 3.

    >>> [round(float(v), 4) for v in alpha_s(np.array([91.1876, 1000.0]))]
    [0.118, 0.0868]
    """
    q = np.atleast_1d(np.asarray(q, dtype=np.float64))
    if np.any(~np.isfinite(q)) or np.any(q <= 1.0):
        raise ValueError(f"Q = {q}: alpha_s needs finite scales above 1 GeV")
    b0, b1 = 11 - 2 * nf / 3, 102 - 38 * nf / 3
    t = 2 * np.log(q / M_Z)
    order = np.argsort(t)
    out = np.empty_like(t)
    for side in (t[order] < 0, t[order] >= 0):  # integrate away from M_Z on each side
        rows = order[side] if not np.any(t[order][side] < 0) else order[side][::-1]
        if rows.size == 0:
            continue
        if t[rows[-1]] == 0:  # Q = M_Z
            out[rows] = alpha_mz
            continue
        start = [alpha_mz / (4 * np.pi)]
        sol = solve_ivp(lambda _, a: -b0 * a**2 - b1 * a**3, (0.0, t[rows[-1]]), start,
                        t_eval=t[rows], rtol=1e-11, atol=1e-14)  # fmt: skip
        out[rows] = 4 * np.pi * sol.y[0]
    return out


_U, _W = np.polynomial.legendre.leggauss(64)
_U, _W = 0.5 * (_U + 1), 0.5 * _W  # on [0, 1]


def _z_nodes(tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z in (tau, 1) and weights (Gauss-Legendre in u, z = 1 - (1 - tau) u^3: dense at
    z -> 1, where the plus distribution's logarithms sit)."""
    return 1 - (1 - tau) * _U**3, _W * 3 * (1 - tau) * _U**2


def plus_convolution(h: Callable[[np.ndarray], np.ndarray], tau: float) -> float:
    """int_tau^1 D_1(z) h(z) dz with D_1 = [ln(1 - z) / (1 - z)]_+, i.e.
    int_tau^1 (h(z) - h(1)) ln(1 - z) / (1 - z) dz + h(1) ln^2(1 - tau) / 2 (:func:`_z_nodes`).
    At tau -> 0 and h = z^(N-1), the Mellin moment
    (S_1(N-1)^2 + S_2(N-1)) / 2:

    >>> round(plus_convolution(lambda z: z**2, 1e-12), 8)  # N = 3: (1.5^2 + 1.25) / 2
    1.75
    """
    z, w = _z_nodes(tau)
    return _plus(h(z), h(np.array([1.0]))[0], z, w, tau)


def _plus(h: np.ndarray, h1: float, z: np.ndarray, w: np.ndarray, tau: float) -> float:
    """int_tau^1 D_1(z) h(z) dz from h at the nodes ``z`` (weights ``w``) and h(1)."""
    return float(np.dot(w, (h - h1) * np.log1p(-z) / (1 - z)) + h1 * np.log1p(-tau) ** 2 / 2)


def _luminosities(xfxq, q: float, t: np.ndarray, nodes: int = 48):
    """L_qqbar and L_qg (dicts by quark pid, arrays like ``t``) at momentum fractions t,
    Gauss-Legendre in ln x over [ln t, 0]."""
    u, w = np.polynomial.legendre.leggauss(nodes)
    log_t = np.log(t)[:, None]
    log_x1 = 0.5 * log_t * (1 - u[None, :])  # from ln t (u = -1) to 0 (u = 1)
    x1 = np.exp(log_x1).ravel()
    x2 = (t[:, None] / np.exp(log_x1)).ravel()
    weight = (-0.5 * log_t) * w[None, :]  # dx / x = d ln x
    f1 = {pid: xfxq(pid, x1, q) / x1 for pid in (*QUARKS, *(-p for p in QUARKS), 21)}
    f2 = {pid: xfxq(pid, x2, q) / x2 for pid in f1}
    shape = (len(t), nodes)
    qq, qg = {}, {}
    for pid in QUARKS:
        pair = f1[pid] * f2[-pid] + f1[-pid] * f2[pid]
        glue = (f1[pid] + f1[-pid]) * f2[21] + f1[21] * (f2[pid] + f2[-pid])
        qq[pid] = (weight * pair.reshape(shape)).sum(1)
        qg[pid] = (weight * glue.reshape(shape)).sum(1)
    return qq, qg


def mass_distribution(
    xfxq, m: float, sqrt_s: float, order: int = 1, inputs: DYInputs | None = None,
    alpha: float | None = None,
) -> float:  # fmt: skip
    """d sigma / dM (pb / GeV) of p p -> gamma*/Z -> l+ l- at LO (``order`` 0) or NLO (1),
    integrated over rapidity without cuts; ``alpha`` = alpha_s(M), two-loop by default;
    ``inputs``: :class:`DYInputs` by default."""
    inputs = inputs or DYInputs()
    tau = (m / sqrt_s) ** 2
    sigma = {pid: partonic_cross_section(np.array([m]), *QUARKS[pid], inputs)[0]
             for pid in QUARKS}  # fmt: skip
    z, w = _z_nodes(tau)
    qq, qg = _luminosities(xfxq, m, np.concatenate([tau / z, [tau]]))
    born = sum(sigma[p] * qq[p][-1] for p in QUARKS)
    total = born
    if order >= 1:
        a = (alpha_s(m)[0] if alpha is None else alpha) / (2 * np.pi)
        for p in QUARKS:
            h = qq[p][:-1] / z  # L(tau / z) / z
            h1 = qq[p][-1]
            log = np.log1p(-z)
            plus = _plus(h, h1, z, w, tau)
            regular = -4 * (1 + z) * log - 2 * (1 + z**2) * np.log(z) / (1 - z)
            quark = 8 * plus + np.dot(w, h * regular) + (2 * np.pi**2 / 3 - 8) * h1
            gluon = (z**2 + (1 - z) ** 2) * (2 * log - np.log(z)) + 0.5 + 3 * z - 3.5 * z**2
            gluon = np.dot(w, qg[p][:-1] / z * gluon)
            total = total + a * sigma[p] * (C_F * quark + T_R * gluon)
    return float(2 * m / sqrt_s**2 * total * GEV2_TO_PB)


def nlo_k_factors(
    xfxq, m_edges: np.ndarray, sqrt_s: float, inputs: DYInputs | None = None, nodes: int = 8
) -> np.ndarray:
    """K = sigma_NLO / sigma_LO (B,) of the mass bins ``m_edges`` (B, 2), each integrated over
    its bin (Gauss-Legendre, ``nodes`` per 25% in mass) and over all rapidities, with the
    same PDF ``xfxq`` in both."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    out = []
    for low, high in np.atleast_2d(m_edges):
        n = max(int(np.ceil(np.log(high / low) / np.log(1.25))), 1)
        edges = np.geomspace(low, high, n + 1)
        sums = np.zeros(2)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            for m, wm in zip(0.5 * (b - a) * t + 0.5 * (a + b), 0.5 * (b - a) * w, strict=True):
                sums += wm * np.array([mass_distribution(xfxq, m, sqrt_s, k, inputs)
                                       for k in (0, 1)])  # fmt: skip
        out.append(sums[1] / sums[0])
    return np.array(out)
