"""Leading-order helicity amplitudes for weak-boson-fusion Higgs production q q -> q q H with
the CP-odd dimension-6 operator of the Warsaw basis,

    L = L_SM + c_HWtilde / Lambda^2 * (Phi^dagger Phi) W^I_{mu nu} Wtilde^{I mu nu},
    Wtilde^{mu nu} = 1/2 epsilon^{mu nu rho sigma} W_{rho sigma},

vectorised over events. After symmetry breaking the operator gives h V1 V2 vertices
(incoming boson momenta k1, k2; Lorentz indices alpha, beta)

    i 4 c v / Lambda^2 * K_{V1 V2} epsilon^{alpha beta mu nu} k1_mu k2_nu,
    K_WW = 1, K_ZZ = c_W^2, K_Zgamma = K_gammaZ = c_W s_W, K_gammagamma = s_W^2,

next to the SM vertices i g M_W g^{alpha beta} (WW) and i g M_Z / c_W g^{alpha beta} (ZZ).
So the neutral-current channel gains Z gamma and gamma gamma fusion diagrams. With every
external line the same in all diagrams, the amplitude is linear in c,
A(c) = A_SM + c A_odd, and the event weight relative to the SM is

    w(c) = |A(c)|^2 / |A_SM|^2 = 1 + c R1 + c^2 R2,
    R1 = 2 Re(A_SM^* A_odd) / |A_SM|^2,  R2 = |A_odd|^2 / |A_SM|^2,

summed over helicities (colour factors cancel). R1 is CP-odd: R1(CP z) = -R1(z).

Conventions: Peskin & Schroeder (metric (+,-,-,-), epsilon^{0123} = -1, D_mu = d_mu - i g W
- i g' Y B), massless quarks, unitary-gauge propagators (their k k terms vanish on the
conserved massless currents). Couplings: W: g / sqrt(2) left-handed; Z: g / c_W (T3 - Q s_W^2)
left, -g / c_W Q s_W^2 right; photon: e Q = g s_W Q. The sign of c flips with the sign
convention of epsilon; w(c) at c = +-1 is what the CP study uses, and it is symmetric under
that flip up to relabelling c -> -c.

Line 1 is incoming parton 1 -> outgoing parton 3 (boson momentum q1 = p1 - p3), line 2 is
2 -> 4 (q2 = p2 - p4), as in PYTHIA's f1 f2 -> H f3 f4 with f3 the partner of f1. An antiquark
line is a quark line read backwards: vbar(p_in) gamma^mu P v(p_out).
"""

from __future__ import annotations

import numpy as np

from obsforge.events.ww_amplitude import METRIC, SIGMA, SIGMA_BAR, ElectroweakInputs, weyl_spinor

__all__ = [
    "EPSILON_0123",
    "VBFAmplitudes",
    "charged_current",
    "cp_conjugate",
    "pythia_matrix_element",
]

EPSILON_0123 = -1.0  # Peskin & Schroeder
V_HIGGS = 246.21965  # (sqrt(2) G_F)^(-1/2) in GeV


def _charge_isospin(pid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Electric charge and weak isospin T3 of the *quark* flavour |pid| (1..5)."""
    up_type = np.abs(pid) % 2 == 0
    return np.where(up_type, 2.0 / 3.0, -1.0 / 3.0), np.where(up_type, 0.5, -0.5)


def charged_current(pid_in: np.ndarray, pid_out: np.ndarray) -> np.ndarray:
    """True where the line changes flavour (W exchange), False where it keeps it (Z / photon)."""
    return np.asarray(pid_in) != np.asarray(pid_out)


def _line_currents(p_in: np.ndarray, p_out: np.ndarray, anti: np.ndarray) -> dict[int, np.ndarray]:
    """Currents ubar(out) gamma^mu P_chi u(in) (quark) or vbar(in) gamma^mu P_chi v(out)
    (antiquark) for chirality chi = -1 (left) and +1 (right): (B, 4), upper index."""
    a = np.where(anti[:, None], p_in, p_out)
    b = np.where(anti[:, None], p_out, p_in)
    out = {}
    for chi, matrices in ((-1, SIGMA_BAR), (+1, SIGMA)):
        left, right = weyl_spinor(a, chi), weyl_spinor(b, chi)
        out[chi] = np.einsum("bi,mij,bj->bm", np.conj(left), matrices, right)
    return out


def _epsilon_contraction(a, b, c, d) -> np.ndarray:
    """epsilon^{alpha beta mu nu} a_alpha b_beta c_mu d_nu for upper-index vectors (B, 4)."""
    rows = np.stack([v @ METRIC for v in (a, b, c, d)], axis=1)
    return EPSILON_0123 * np.linalg.det(rows)


class VBFAmplitudes:
    """Helicity-summed |A_SM|^2, 2 Re(A_SM^* A_odd) and |A_odd|^2 per event (per unit of
    c / Lambda^2 with Lambda = ``scale_tev`` TeV), common factors (colour, i's) dropped."""

    def __init__(self, inputs: ElectroweakInputs | None = None, scale_tev: float = 1.0):
        if not scale_tev > 0:
            raise ValueError(f"scale_tev = {scale_tev}: the EFT scale Lambda must be > 0 TeV")
        self.inputs = inputs or ElectroweakInputs()
        self.scale_gev = 1000.0 * scale_tev
        sw2 = self.inputs.sin2_w
        self.s_w, self.c_w = np.sqrt(sw2), np.sqrt(1.0 - sw2)
        self.g = np.sqrt(4.0 * np.pi * self.inputs.alpha_em / sw2)

    def _couplings(self, boson: str, pid: np.ndarray) -> dict[int, np.ndarray]:
        """Fermion-boson couplings per chirality for the flavours ``pid`` (sign of pid ignored:
        the antiquark line's currents carry the chirality labels of the quark's)."""
        g, s_w, c_w = self.g, self.s_w, self.c_w
        charge, isospin = _charge_isospin(pid)
        if boson == "W":
            return {-1: np.full(len(pid), g / np.sqrt(2.0)), +1: np.zeros(len(pid))}
        if boson == "Z":
            return {-1: g / c_w * (isospin - charge * s_w**2), +1: -g / c_w * charge * s_w**2}
        return {-1: g * s_w * charge, +1: g * s_w * charge}

    def _propagator(self, boson: str, q: np.ndarray) -> np.ndarray:
        q2 = q[:, 0] ** 2 - np.sum(q[:, 1:] ** 2, axis=1)
        mass = {"W": self.inputs.m_w, "Z": self.inputs.m_z, "A": 0.0}[boson]
        return 1.0 / (q2 - mass**2)

    def _vertices(self, charged: bool) -> list[tuple[str, str, float, float]]:
        """(V1, V2, SM coefficient of g^{ab}, CP-odd coefficient of epsilon^{ab k1 k2}) per
        unit c / Lambda^2."""
        g, s_w, c_w, m_w = self.g, self.s_w, self.c_w, self.inputs.m_w
        odd = 4.0 * V_HIGGS / self.scale_gev**2
        if charged:
            return [("W", "W", g * m_w, odd)]
        return [
            ("Z", "Z", g * m_w / c_w**2, odd * c_w**2),
            ("Z", "A", 0.0, odd * c_w * s_w),
            ("A", "Z", 0.0, odd * c_w * s_w),
            ("A", "A", 0.0, odd * s_w**2),
        ]

    def squared(
        self,
        momenta: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        pids: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ) -> dict[str, np.ndarray]:
        """``sm``, ``interference`` and ``odd2`` (each (B,)) for partons 1 2 -> 3 4 H.

        momenta: four (B, 4) arrays (E, px, py, pz) of partons 1, 2 (incoming), 3, 4
        (outgoing, 3 the partner of 1). pids: their PDG codes (quarks only, |pid| <= 5).
        """
        p1, p2, p3, p4 = (np.asarray(p, dtype=np.float64) for p in momenta)
        id1, id2, id3, id4 = (np.asarray(i) for i in pids)
        bad = [
            name
            for name, pid in zip(("pid1", "pid2", "pid3", "pid4"), pids, strict=True)
            if np.any((np.abs(pid) < 1) | (np.abs(pid) > 5))
        ]
        if bad:
            raise ValueError(f"{', '.join(bad)}: only quarks (1 <= |pid| <= 5) are allowed")
        if np.any(np.sign(id1) != np.sign(id3)) or np.any(np.sign(id2) != np.sign(id4)):
            raise ValueError("pid3/pid4: each line must keep quark or antiquark (sign of pid)")
        cc1, cc2 = charged_current(id1, id3), charged_current(id2, id4)
        if np.any(cc1 != cc2):
            raise ValueError("pids: one line changes flavour and the other does not")
        q1, q2 = p1 - p3, p2 - p4
        j1 = _line_currents(p1, p3, id1 < 0)
        j2 = _line_currents(p2, p4, id2 < 0)
        out = {k: np.zeros(len(p1)) for k in ("sm", "interference", "odd2")}
        for charged in (True, False):
            rows = np.flatnonzero(cc1 == charged)
            if rows.size == 0:
                continue
            sub = self._channel(
                charged,
                {k: v[rows] for k, v in j1.items()},
                {k: v[rows] for k, v in j2.items()},
                q1[rows],
                q2[rows],
                id1[rows],
                id2[rows],
            )
            for key, value in sub.items():
                out[key][rows] = value
        return out

    def _channel(self, charged, j1, j2, q1, q2, id1, id2) -> dict[str, np.ndarray]:
        vertices = self._vertices(charged)
        sm2 = np.zeros(len(q1))
        interference = np.zeros(len(q1))
        odd2 = np.zeros(len(q1))
        for chi1 in (-1, +1):
            for chi2 in (-1, +1):
                a, b = j1[chi1], j2[chi2]
                metric = np.einsum("bm,mn,bn->b", a, METRIC, b)
                epsilon = _epsilon_contraction(a, b, q1, q2)
                amp_sm = np.zeros(len(q1), dtype=np.complex128)
                amp_odd = np.zeros(len(q1), dtype=np.complex128)
                for v1, v2, sm, odd in vertices:
                    factor = (
                        self._couplings(v1, id1)[chi1]
                        * self._couplings(v2, id2)[chi2]
                        * self._propagator(v1, q1)
                        * self._propagator(v2, q2)
                    )
                    amp_sm += factor * sm * metric
                    amp_odd += factor * odd * epsilon
                sm2 += np.abs(amp_sm) ** 2
                interference += 2.0 * np.real(np.conj(amp_sm) * amp_odd)
                odd2 += np.abs(amp_odd) ** 2
        return {"sm": sm2, "interference": interference, "odd2": odd2}

    def weights(self, momenta, pids) -> tuple[np.ndarray, np.ndarray]:
        """(R1, R2) of w(c) = 1 + c R1 + c^2 R2 per event."""
        parts = self.squared(momenta, pids)
        return parts["interference"] / parts["sm"], parts["odd2"] / parts["sm"]


def pythia_matrix_element(momenta, pids, inputs: ElectroweakInputs | None = None) -> np.ndarray:
    """PYTHIA 8's kinematic factor for f1 f2 -> H f3 f4 (SigmaHiggs.cc, Sigma3ff2HfftWW /
    Sigma3ff2HfftZZ), up to flavour-independent constants:

    WW: (p1.p2)(p3.p4) / [(q1^2 - M_W^2)(q2^2 - M_W^2)]^2;
    ZZ: [(l1^2 l2^2 + r1^2 r2^2)(p1.p2)(p3.p4) + (l1^2 r2^2 + r1^2 l2^2)(p1.p4)(p2.p3)] / props,

    with l, r the Z couplings T3 - Q s_W^2 and -Q s_W^2. PYTHIA uses the quark-quark form for
    antiquark lines as well; :class:`VBFAmplitudes` does not (there the exact result swaps
    p3 <-> p4 in the numerator for one antiquark line), so the two agree exactly for
    quark-quark and antiquark-antiquark scattering only.
    """
    inputs = inputs or ElectroweakInputs()
    p1, p2, p3, p4 = (np.asarray(p, dtype=np.float64) for p in momenta)
    id1, id2, id3, _ = (np.asarray(i) for i in pids)

    def dot(a, b):
        return a[:, 0] * b[:, 0] - np.sum(a[:, 1:] * b[:, 1:], axis=1)

    charged = charged_current(id1, id3)
    mass2 = np.where(charged, inputs.m_w**2, inputs.m_z**2)
    props = ((dot(p1 - p3, p1 - p3) - mass2) * (dot(p2 - p4, p2 - p4) - mass2)) ** 2
    q1, t1 = _charge_isospin(id1)
    q2, t2 = _charge_isospin(id2)
    sw2 = inputs.sin2_w
    l1, r1 = t1 - q1 * sw2, -q1 * sw2
    l2, r2 = t2 - q2 * sw2, -q2 * sw2
    same = dot(p1, p2) * dot(p3, p4)
    opposite = dot(p1, p4) * dot(p2, p3)
    zz = (l1**2 * l2**2 + r1**2 * r2**2) * same + (l1**2 * r2**2 + r1**2 * l2**2) * opposite
    return np.where(charged, same, zz) / props


def cp_conjugate(momenta, pids):
    """CP image of an event: every parton -> its antiparton, three-momenta reversed."""
    flipped = tuple(np.asarray(p) * np.array([1.0, -1.0, -1.0, -1.0]) for p in momenta)
    return flipped, tuple(-np.asarray(i) for i in pids)
