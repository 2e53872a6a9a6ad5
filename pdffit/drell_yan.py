"""Drell-Yan at leading order: p p -> gamma*/Z -> l+ l- in bins of the pair's mass and
rapidity, with the experiments' lepton cuts.

With x_{1,2} = (M / sqrt(s)) e^{+-y} and c = cos theta* of the l- in the pair's rest frame
(at LO the pair has no transverse momentum, so this is the Collins-Soper angle),

    d sigma / dM dy dc = (2M / s) sum_q [q(x1) qbar(x2) K_q(c) + qbar(x1) q(x2) K_q(-c)],

    K_q(c) = pi alpha^2 / (2 M^2 N_c) (1/4) sum_{i,j = L,R} |A_ij|^2 (1 +- c)^2,
    A_ij = Q_q Q_l + g_i^q g_j^l / (s_W^2 c_W^2) M^2 / (M^2 - M_Z^2 + i M^2 Gamma_Z / M_Z),

g_L = T_3 - Q s_W^2, g_R = -Q s_W^2, + for equal helicities of quark and lepton and - for
opposite ones (Drell, Yan, Phys. Rev. Lett. 25 (1970) 316; e.g. the PDG review "Cross-section
formulae for specific processes"). The Z propagator has PYTHIA's running width.

Lepton cuts. At LO both leptons have p_T = (M / 2) sin theta* and rapidities y +- eta*,
eta* = artanh c. Equal cuts on both leptons (p_T > p_T,min, |eta| < eta_max; with a harder cut
on the leading lepton only the harder one matters, as the two p_T are equal) keep
|c| < a(M, y) = min(sqrt(1 - (2 p_T,min / M)^2), tanh(eta_max - |y|)): a symmetric interval,
on which the forward-backward term integrates to zero, so the acceptance is
(3/4)(a + a^3 / 3) for every quark flavour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CHIRALITIES",
    "DYInputs",
    "LeptonCuts",
    "acceptance",
    "bin_nodes",
    "dy_bin_cross_sections",
    "max_cos",
    "neutron",
    "partonic_contact_terms",
    "partonic_cross_section",
    "photon_angular",
    "photon_bin_cross_sections",
]

GEV2_TO_PB = 0.3893793721e9
N_C = 3
QUARKS = {1: (-1 / 3, -0.5), 2: (2 / 3, 0.5), 3: (-1 / 3, -0.5), 4: (2 / 3, 0.5), 5: (-1 / 3, -0.5)}


@dataclass(frozen=True)
class DYInputs:
    """Electroweak inputs: alpha (fixed), sin^2 theta_W, M_Z and Gamma_Z in GeV. Defaults:
    the G_mu scheme of :mod:`obsforge.events.ww_amplitude` (alpha = 1/132.18)."""

    alpha: float = 1 / 132.18
    sin2w: float = 0.2230
    m_z: float = 91.1876
    gamma_z: float = 2.4952


@dataclass(frozen=True)
class LeptonCuts:
    """Fiducial cuts on both leptons: p_T > pt_min (GeV), |eta| < eta_max; None for none."""

    pt_min: float = 0.0
    eta_max: float | None = None


def partonic_cross_section(
    m: np.ndarray, charge: float, t3: float, inputs: DYInputs,
    contact: dict[str, float] | None = None,
) -> np.ndarray:  # fmt: skip
    """sigma_hat(q qbar -> gamma*/Z -> l+ l-) in GeV^-2 at s_hat = M^2, averaged over colours
    and spins, for a quark of ``charge`` and weak isospin ``t3``: pi alpha^2 (P + Q) /
    (3 M^2 N_c) with P (Q) the sum of |A_ij|^2 over equal (opposite) helicities.

    ``contact``: four-fermion contact terms eta_ij (GeV^-2) by chirality, lepton first
    ("LL", "LR", "RL", "RR"), as in DIS (:mod:`obsforge.pdffit.smeft`). The DIS amplitude
    e^2 Q_e Q_q / Q^2 + ... + eta, continued from Q^2 = -t to -s, makes each amplitude
    A_ij - eta_ij M^2 / (4 pi alpha): the same operator interferes with the opposite sign in
    Drell-Yan and in DIS.

    >>> round(float(partonic_cross_section(np.array([10.0]), 2 / 3, 0.5,
    ...       DYInputs(sin2w=0.2230, m_z=1e6))[0] * 3 * 100 * 3 / (4 * np.pi / 132.18**2)), 4)
    0.4444
    """
    m2 = np.asarray(m, dtype=np.float64) ** 2
    sw2 = inputs.sin2w
    propagator = m2 / (m2 - inputs.m_z**2 + 1j * m2 * inputs.gamma_z / inputs.m_z)
    z = propagator / (sw2 * (1 - sw2))
    g_q = {"L": t3 - charge * sw2, "R": -charge * sw2}
    g_l = {"L": -0.5 + sw2, "R": sw2}  # the charged lepton: Q = -1, T_3 = -1/2
    contact = contact or {}
    scale = m2 / (4 * np.pi * inputs.alpha)
    total = 0.0
    for i in "LR":
        for j in "LR":
            eta = contact.get(j + i, 0.0)
            total = total + np.abs(charge * -1.0 + g_q[i] * g_l[j] * z - eta * scale) ** 2
    return np.pi * inputs.alpha**2 * total / (3 * m2 * N_C)


CHIRALITIES = ("LL", "LR", "RL", "RR")  # lepton, quark


def partonic_contact_terms(
    m: np.ndarray, charge: float, t3: float, inputs: DYInputs
) -> tuple[np.ndarray, np.ndarray]:
    """The linear and quadratic coefficients (len(m), 4) of :data:`CHIRALITIES`:
    sigma_hat(eta) = sigma_hat(0) + sum_ij (lin_ij eta_ij + quad_ij eta_ij^2) exactly, since
    each eta enters one amplitude linearly (read off at eta = +-h)."""
    h = 1e-6  # GeV^-2 (1 TeV^-2): the amplitudes change by O(1) at the masses of the data
    zero = partonic_cross_section(m, charge, t3, inputs)
    lin, quad = [], []
    for ij in CHIRALITIES:
        plus = partonic_cross_section(m, charge, t3, inputs, {ij: h})
        minus = partonic_cross_section(m, charge, t3, inputs, {ij: -h})
        lin.append((plus - minus) / (2 * h))
        quad.append((plus + minus - 2 * zero) / (2 * h**2))
    return np.stack(lin, axis=-1), np.stack(quad, axis=-1)


def max_cos(m: np.ndarray, y: np.ndarray, cuts: LeptonCuts) -> np.ndarray:
    """a(M, y): the largest |cos theta*| with both leptons inside ``cuts`` (broadcast)."""
    m, y = np.broadcast_arrays(np.asarray(m, dtype=np.float64), np.asarray(y, dtype=np.float64))
    a = np.sqrt(np.clip(1 - (2 * cuts.pt_min / m) ** 2, 0, 1))
    if cuts.eta_max is not None:
        a = np.minimum(a, np.tanh(np.clip(cuts.eta_max - np.abs(y), 0, None)))
    return a


def acceptance(m: np.ndarray, y: np.ndarray, cuts: LeptonCuts) -> np.ndarray:
    """The fraction of l+ l- pairs of mass ``m`` and rapidity ``y`` (broadcast) with both
    leptons inside ``cuts``: (3/4)(a + a^3/3) with a the largest |cos theta*| allowed."""
    a = max_cos(m, y, cuts)
    return 0.75 * (a + a**3 / 3)


def photon_angular(a: np.ndarray) -> np.ndarray:
    """integral over |c| < a of (1 + c^2) / (1 - c^2) dc = 2 [ln((1 + a) / (1 - a)) - a]: the
    angular factor of gamma gamma -> l+ l- (massless leptons), finite only with a p_T cut."""
    a = np.asarray(a, dtype=np.float64)
    if np.any(a >= 1):
        raise ValueError("photon-induced pairs need a lepton p_T cut (pt_min > 0)")
    return 2 * (np.log1p(a) - np.log1p(-a) - a)


def _mass_pieces(
    low: float, high: float, inputs: DYInputs, pt_min: float
) -> list[tuple[float, float]]:
    """[low, high] cut at M_Z + k Gamma_Z (k = 0, +-1, +-2, ..., +-32), at the threshold of the
    p_T cut (M = 2 p_T,min) and into pieces of at most 25% in mass, so that Gauss-Legendre
    resolves the Breit-Wigner peak (0.15% at 66-116 GeV against 15% with one piece of 24
    nodes)."""
    k = np.array([0, 1, 2, 4, 8, 16, 32])
    cuts = np.append(inputs.m_z + inputs.gamma_z * np.concatenate([-k, k]), 2 * pt_min)
    points = np.unique(np.concatenate([[low, high], cuts[(cuts > low) & (cuts < high)]]))
    pieces = []
    for a, b in zip(points[:-1], points[1:], strict=True):
        n = max(int(np.ceil(np.log(b / a) / np.log(1.25))), 1)
        edges = np.geomspace(a, b, n + 1)
        pieces += list(zip(edges[:-1], edges[1:], strict=True))
    return pieces


def _rapidity_pieces(low: float, high: float, m: float, cuts: LeptonCuts) -> list:
    """[low, high] cut where the acceptance has a kink: y = 0, |y| = eta_max and
    |y| = eta_max - artanh(a_pT), a_pT the |cos theta*| limit of the p_T cut."""
    points = [low, high, 0.0]
    if cuts.eta_max is not None:
        a_pt = np.sqrt(max(1 - (2 * cuts.pt_min / m) ** 2, 0.0))
        inner = cuts.eta_max - np.arctanh(min(a_pt, 1 - 1e-15))
        points += [cuts.eta_max, -cuts.eta_max, inner, -inner]
    points = np.unique([p for p in points if low <= p <= high])
    return list(zip(points[:-1], points[1:], strict=True))


def bin_nodes(
    m_edges: np.ndarray,
    y_edges: np.ndarray,
    sqrt_s: float,
    cuts: LeptonCuts,
    inputs: DYInputs,
    nodes: int = 8,
    angular: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Iterator[tuple[int, float, np.ndarray, np.ndarray]]:
    """The quadrature of :func:`dy_bin_cross_sections`: (bin, M, y (n,), w (n,)) such that
    sigma_bin = sum over the yielded nodes of w sum_q sigma_hat_q(M) [q(x1) qbar(x2) +
    qbar(x1) q(x2)] (number densities, GeV^-2 -> pb not applied), w carrying the quadrature
    weights in M and y, 2M / s and the lepton acceptance, or ``angular(a)`` in its place."""
    m_edges, y_edges = np.atleast_2d(m_edges), np.atleast_2d(y_edges)
    t, w = np.polynomial.legendre.leggauss(nodes)
    s = sqrt_s**2
    for b, ((m_lo, m_hi), (y_lo, y_hi)) in enumerate(zip(m_edges, y_edges, strict=True)):
        for a, c in _mass_pieces(m_lo, m_hi, inputs, cuts.pt_min):
            for m, wm in zip(0.5 * (c - a) * t + 0.5 * (c + a), 0.5 * (c - a) * w, strict=True):
                y_max = np.log(sqrt_s / m)  # x_1, x_2 <= 1
                lo, hi = max(y_lo, -y_max), min(y_hi, y_max)
                if lo >= hi:
                    continue
                pieces = _rapidity_pieces(lo, hi, m, cuts)
                ys = np.concatenate([0.5 * (e - d) * t + 0.5 * (e + d) for d, e in pieces])
                wys = np.concatenate([0.5 * (e - d) * w for d, e in pieces])
                a = max_cos(m, ys, cuts)
                factor = 0.75 * (a + a**3 / 3) if angular is None else angular(a)
                yield b, float(m), ys, wm * wys * 2 * m / s * factor


def dy_bin_cross_sections(
    xfxq: Callable[[int, np.ndarray, float], np.ndarray],
    m_edges: np.ndarray,
    y_edges: np.ndarray,
    sqrt_s: float,
    cuts: LeptonCuts = LeptonCuts(),
    inputs: DYInputs = DYInputs(),
    nodes: int = 8,
    partonic: Callable[[float], dict[int, np.ndarray]] | None = None,
    target: Callable[[int, np.ndarray, float], np.ndarray] | None = None,
) -> np.ndarray:
    """sigma (pb) of p p -> l+ l- in bins [m_lo, m_hi] x [y_lo, y_hi] of the pair, ``m_edges``
    and ``y_edges`` (B, 2) each, with Gauss-Legendre quadrature of ``nodes`` points per axis
    and piece (:func:`bin_nodes`). ``xfxq(pid, x, Q)`` is x f(x, Q) of the proton (PDG ids, an
    array of x at one Q); the factorisation scale is M. ``partonic(M)``: per quark pid, n
    coefficients (GeV^-2) in place of sigma_hat_q(M) (e.g. :func:`partonic_contact_terms`);
    the result is then (B, n). ``target``: x f of the second hadron, at rapidity -y (default:
    ``xfxq``; e.g. :func:`neutron`)."""
    second = target or xfxq
    if partonic is None:

        def partonic(m: float) -> dict[int, np.ndarray]:
            return {pid: partonic_cross_section(np.array([m]), charge, t3, inputs)
                    for pid, (charge, t3) in QUARKS.items()}  # fmt: skip

        return dy_bin_cross_sections(xfxq, m_edges, y_edges, sqrt_s, cuts, inputs, nodes,
                                     partonic, target)[:, 0]  # fmt: skip
    width = len(np.atleast_1d(next(iter(partonic(100.0).values()))))
    out = np.zeros((len(np.atleast_2d(m_edges)), width))
    for b, m, ys, weight in bin_nodes(m_edges, y_edges, sqrt_s, cuts, inputs, nodes):
        x1, x2 = m / sqrt_s * np.exp(ys), m / sqrt_s * np.exp(-ys)
        for pid, c in partonic(m).items():
            pair = (xfxq(pid, x1, m) * second(-pid, x2, m)
                    + xfxq(-pid, x1, m) * second(pid, x2, m)) / (x1 * x2)  # fmt: skip
            out[b] += np.dot(weight, pair) * np.atleast_1d(c) * GEV2_TO_PB
    return out


ISOSPIN = {1: 2, 2: 1, -1: -2, -2: -1}  # the neutron's u is the proton's d (no other change)


def neutron(xfxq: Callable[[int, np.ndarray, float], np.ndarray]):
    """x f of the neutron from the proton's ``xfxq`` by isospin symmetry (u <-> d, ubar <->
    dbar), as for the neutron of a deuteron target without nuclear corrections."""
    return lambda pid, x, q: xfxq(ISOSPIN.get(pid, pid), x, q)


def photon_bin_cross_sections(
    xfxq: Callable[[int, np.ndarray, float], np.ndarray],
    m_edges: np.ndarray,
    y_edges: np.ndarray,
    sqrt_s: float,
    cuts: LeptonCuts,
    alpha: float = DYInputs.alpha,
    nodes: int = 8,
) -> np.ndarray:
    """sigma (pb) of photon-induced p p -> gamma gamma -> l+ l- in the bins of
    :func:`dy_bin_cross_sections`, from the photon PDF (pid 22) of ``xfxq``:

        d sigma_hat / dc = 2 pi alpha^2 / M^2 (1 + c^2) / (1 - c^2),

    integrated over the leptons inside ``cuts`` (:func:`photon_angular`; a p_T cut is
    required)."""
    out = np.zeros(len(np.atleast_2d(m_edges)))
    nodes_ = bin_nodes(m_edges, y_edges, sqrt_s, cuts, DYInputs(alpha=alpha), nodes,
                       angular=photon_angular)  # fmt: skip
    for b, m, ys, weight in nodes_:
        x1, x2 = m / sqrt_s * np.exp(ys), m / sqrt_s * np.exp(-ys)
        pair = xfxq(22, x1, m) * xfxq(22, x2, m) / (x1 * x2)
        out[b] += np.dot(weight, pair) * 2 * np.pi * alpha**2 / m**2 * GEV2_TO_PB
    return out
