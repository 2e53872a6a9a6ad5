"""The grid a fitted PDF set is exported on, and the DGLAP operators from Q0 to it.

Knots as NNPDF ships its sets (compare NNPDF3.1's grid shipped with pythia8mc):

- x: 100 knots from 1e-9 to 1 (eko's ``lambertgrid``: logarithmic at small x, linear at large
  x), the range on which the model is normalised (:data:`~obsforge.pdffit.model.X_MIN`), so
  the sum rules hold over the set's own x range;
- Q: two subgrids split at the bottom threshold m_b = 4.92 GeV, nf = 4 below and 5 above,
  the knot at m_b repeated, so that x b, zero below m_b, is not interpolated across it. The
  charm threshold (m_c = 1.51 GeV) lies below Q0 = 1.65 GeV: charm is fitted, every scale has
  it. QMax = 10 TeV;
- one more scale, Q^2 = 5 GeV^2 (nf = 4), where positivity is imposed (NNPDF4.0).

The operators come from one eko run on the same x grid (interpolation degree 4 in ln x),
rotated from our fitting basis (the input) to the evolution-basis combinations
:data:`COMBINATIONS` (the output), where most blocks vanish; they ship in
``pdffit/fktables/export.npz`` (float32, compressed). ``python scripts/build_fk_tables.py
--export`` rebuilds them and measures the grid's interpolation error in Q.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from obsforge.atomic import atomic_path
from obsforge.pdffit.flavours import FLAVOURS, flavour_row

__all__ = [
    "COMBINATIONS",
    "EXPORT_PATH",
    "GridEvolution",
    "build_grid_evolution",
    "check_exported_set",
    "export_checks",
    "thinned_grid_errors",
    "interpolation_error",
    "combinations_to_flavours",
    "export_scales",
    "load_grid_evolution",
    "save_grid_evolution",
    "write_fit_set",
]

EXPORT_PATH = Path(__file__).parent / "fktables" / "export.npz"
X_KNOTS, X_MIN, Q_MAX = 100, 1e-9, 1e4
Q_KNOTS = (8, 28)  # per subgrid: [Q0, m_b] at nf = 4, [m_b, Q_MAX] at nf = 5
POSITIVITY_Q2 = 5.0
# Output basis: t = 0; c- = b- = 0 at every scale (zero at Q0, non-singlet), so V15 = V24 = V.
COMBINATIONS = ("Sigma", "g", "V", "V3", "V8", "T3", "T8", "T15", "T24")


def combinations_to_flavours() -> np.ndarray:
    """Matrix (13, 9): x f_pid from the combinations :data:`COMBINATIONS` (pid order of
    :data:`~obsforge.pdffit.flavours.FLAVOURS`).

    >>> m = combinations_to_flavours()
    >>> sigma = np.eye(9)[0]  # Sigma alone: one fifth in each q+ = q + qbar
    >>> float((m @ sigma)[flavour_row(2)] + (m @ sigma)[flavour_row(-2)])
    0.2
    """
    # q+ (u, d, s, c, b) from Sigma, T3, T8, T15, T24; q- from V, V3, V8, V15 = V, V24 = V
    plus = np.array([[1, 1, 1, 1, 1], [1, -1, 0, 0, 0], [1, 1, -2, 0, 0], [1, 1, 1, -3, 0],
                     [1, 1, 1, 1, -4]], dtype=float)  # fmt: skip
    plus_inverse = np.linalg.inv(plus)
    minus_inverse = plus_inverse  # the same definitions for q-
    i = {k: COMBINATIONS.index(k) for k in COMBINATIONS}
    plus_cols = [i["Sigma"], i["T3"], i["T8"], i["T15"], i["T24"]]
    minus_cols = [i["V"], i["V3"], i["V8"], i["V"], i["V"]]
    out = np.zeros((len(FLAVOURS), len(COMBINATIONS)))
    for q, pid in enumerate((2, 1, 3, 4, 5)):
        for sign in (1, -1):
            row = out[flavour_row(sign * pid)]
            np.add.at(row, plus_cols, 0.5 * plus_inverse[q])
            np.add.at(row, minus_cols, 0.5 * sign * minus_inverse[q])
    out[flavour_row(21), i["g"]] = 1.0
    return out


def _flavours_to_combinations() -> np.ndarray:
    """(9, 13): the combinations from x f_pid (the left inverse of the matrix above)."""
    rows = np.zeros((len(COMBINATIONS), len(FLAVOURS)))
    up, down, strange, charm, bottom = ((flavour_row(p), flavour_row(-p)) for p in (2, 1, 3, 4, 5))
    quarks = (up, down, strange, charm, bottom)

    def add(name, weights, sign):
        for (q, qbar), w in zip(quarks, weights, strict=True):
            rows[COMBINATIONS.index(name), q] += w
            rows[COMBINATIONS.index(name), qbar] += sign * w

    add("Sigma", (1, 1, 1, 1, 1), 1)
    add("V", (1, 1, 1, 1, 1), -1)
    add("V3", (1, -1, 0, 0, 0), -1)
    add("V8", (1, 1, -2, 0, 0), -1)
    add("T3", (1, -1, 0, 0, 0), 1)
    add("T8", (1, 1, -2, 0, 0), 1)
    add("T15", (1, 1, 1, -3, 0), 1)
    add("T24", (1, 1, 1, 1, -4), 1)
    rows[COMBINATIONS.index("g"), flavour_row(21)] = 1.0
    return rows


def export_scales(theory: dict) -> tuple[list[np.ndarray], float]:
    """The Q knots of the two subgrids (GeV) and the bottom threshold m_b (k_b m_b)."""
    q0, m_b = float(theory["Q0"]), float(theory["kbThr"] * theory["mb"])
    if not q0 < m_b < Q_MAX:
        raise ValueError(f"Q0 = {q0}, m_b = {m_b}: the export grid needs Q0 < m_b < {Q_MAX}")
    low = np.geomspace(q0, m_b, Q_KNOTS[0])
    high = np.geomspace(m_b, Q_MAX, Q_KNOTS[1])
    return [low, high], m_b


@dataclass(frozen=True)
class GridEvolution:
    """x f_a(x_i, Q_s) = x_i sum_kj E[s, a, i, k, j] f_k(x_j, Q0) for the combinations a of
    :data:`COMBINATIONS` and the fitting basis k; scales s: the knots of the subgrids, then
    the positivity scale."""

    operator: np.ndarray  # (n_s, 9, n_x, 8, n_x)
    x: np.ndarray
    q: np.ndarray  # (n_s,) GeV
    nf: np.ndarray  # (n_s,)
    subgrid: np.ndarray  # (n_s,) subgrid index, -1 for the positivity scale
    alpha_s: np.ndarray  # (n_s,) alpha_s(Q_s) with nf(Q_s) flavours
    masses: np.ndarray  # (3,) m_c, m_b, m_t (pole, GeV) of the theory

    @property
    def subgrids(self) -> list[np.ndarray]:
        """Scale indices of each LHAPDF subgrid."""
        return [np.flatnonzero(self.subgrid == b) for b in range(int(self.subgrid.max()) + 1)]

    @property
    def positivity_index(self) -> int:
        return int(np.flatnonzero(self.subgrid == -1)[0])

    def evolve(self, f_evol: np.ndarray, scales=None) -> np.ndarray:
        """x f (R, 13, n_x, n_s) in PDG flavours from f_k(x_j, Q0) (R, 8, n_x) on :attr:`x`
        (``scales``: a subset of the scale indices)."""
        operator = self.operator if scales is None else self.operator[scales]
        combos = np.einsum("saikj,rkj->rais", operator, f_evol, optimize=True)
        xf = np.einsum("pa,rais->rpis", combinations_to_flavours(), combos, optimize=True)
        return xf * self.x[None, None, :, None]

    def flavour_operator(self, scale: int, pids) -> np.ndarray:
        """x f_pid(x_i, Q_scale) = sum_kj M[p, i, k, j] f_k(x_j, Q0): (len(pids), n_x, 8, n_x)."""
        rows = combinations_to_flavours()[[flavour_row(p) for p in pids]]
        op = np.einsum("pa,aikj->pikj", rows, self.operator[scale].astype(np.float64))
        return op * self.x[None, :, None, None]


def build_grid_evolution(theory: dict | None = None, n_x: int = X_KNOTS) -> GridEvolution:
    """Run eko from Q0 to the export scales (needs ``obsforge[fktables]``)."""
    from eko.interpolation import lambertgrid

    from obsforge.pdffit.fktables import _rotation, eko_operators, theory_card

    theory = dict(theory or theory_card())
    x = np.asarray(lambertgrid(n_x, X_MIN), dtype=np.float64)
    (low, high), _ = export_scales(theory)
    scales = [(q, 4, 0) for q in low] + [(q, 5, 1) for q in high]
    scales.append((float(np.sqrt(POSITIVITY_Q2)), 4, -1))
    operators, a_s = eko_operators(theory, x, [(q * q, nf) for q, nf, _ in scales])
    to_combinations = _flavours_to_combinations()  # (9, 13); eko's basis has the photon first
    stack = []
    for q, nf, _ in scales:
        op = np.einsum("aibj,bk->aikj", operators[(round(q * q, 6), nf)], _rotation())[1:]
        stack.append(_combinations(to_combinations, op))
    return GridEvolution(
        np.stack(stack).astype(np.float32), x, np.array([s[0] for s in scales]),
        np.array([s[1] for s in scales]), np.array([s[2] for s in scales]),
        np.array([4 * np.pi * float(a_s(q * q, nf)) for q, nf, _ in scales]),
        np.array([theory["mc"], theory["mb"], theory["mt"]], dtype=np.float64),
    )  # fmt: skip


def _combinations(to_combinations: np.ndarray, op: np.ndarray) -> np.ndarray:
    """The operator (13 flavours, n_x, 8, n_x) rotated to :data:`COMBINATIONS`, with the
    blocks that vanish exactly set to zero: a block is noise when it is below 1e-6 of the
    largest block of its output combination (eko's operators carry relative errors of ~1e-7;
    the singlet grows to 1e10 at small x, so no threshold common to all rows would do)."""
    combos = np.einsum("ap,pikj->aikj", to_combinations, op)
    blocks = np.abs(combos).max(axis=(1, 3))  # (9, 8)
    noise = blocks < 1e-6 * blocks.max(axis=1, keepdims=True)
    combos[noise[:, None, :, None].repeat(combos.shape[1], 1).repeat(combos.shape[3], 3)] = 0.0
    return combos


def save_grid_evolution(evolution: GridEvolution, path: Path = EXPORT_PATH) -> Path:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle, operator=evolution.operator, x=evolution.x, q=evolution.q,
            nf=evolution.nf, subgrid=evolution.subgrid, alpha_s=evolution.alpha_s,
            masses=evolution.masses,
        )  # fmt: skip
    return path


def load_grid_evolution(path: Path = EXPORT_PATH) -> GridEvolution:
    """The shipped operators to the export grid."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: build it with python scripts/build_fk_tables.py --export")
    with np.load(path, allow_pickle=False) as data:
        return GridEvolution(*(data[k] for k in FIELDS))


FIELDS = ("operator", "x", "q", "nf", "subgrid", "alpha_s", "masses")


def write_fit_set(
    folder: Path, name: str, f_evol: np.ndarray, evolution: GridEvolution, info: dict
) -> Path:
    """Write the replicas f_k(x, Q0) (R, 8, n_x) on ``evolution.x`` as an LHAPDF6 set: member 0
    the replica average, one subgrid per flavour number, and the .info NNPDF writes (alpha_s
    at every knot, quark masses, thresholds, ranges)."""
    from obsforge.pdffit.lhapdf import PIDS, write_lhapdf_set

    if f_evol.ndim != 3 or f_evol.shape[1:] != (8, len(evolution.x)):
        raise ValueError(f"f_evol: shape {f_evol.shape}, expected (R, 8, {len(evolution.x)})")
    rows = [flavour_row(p) for p in PIDS]
    q_blocks, xf_blocks = [], []
    for scales in evolution.subgrids:
        xf = evolution.evolve(f_evol, scales)[:, rows]
        inactive = [
            i for i, p in enumerate(PIDS) if p != 21 and abs(p) > evolution.nf[scales].max()
        ]
        xf[:, inactive] = 0.0  # quarks above the subgrid's flavour number: zero, not rounding
        q_blocks.append(evolution.q[scales])
        xf_blocks.append(xf)
    knots = np.concatenate(evolution.subgrids)
    m_c, m_b, m_t = (float(m) for m in evolution.masses)
    meta = {
        "NumFlavors": int(evolution.nf[knots].max()),
        "MCharm": m_c, "MBottom": m_b, "MTop": m_t,
        "ThresholdCharm": m_c, "ThresholdBottom": m_b,
        "AlphaS_Type": "ipol",
        "AlphaS_Qs": [float(v) for v in evolution.q[knots]],
        "AlphaS_Vals": [float(v) for v in evolution.alpha_s[knots]],
        **info,
    }  # fmt: skip
    return write_lhapdf_set(folder, name, evolution.x, q_blocks, xf_blocks, meta)


POSITIVE_PIDS = (-3, -2, -1, 21, 1, 2, 3)  # light quarks, antiquarks and the gluon
DATA_X_MIN = 1e-5  # about the smallest x of the fitted data (HERA: 3e-5)


def _log_quadrature(x_min: float, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of int_{x_min}^1 dx: Gauss-Legendre in ln x."""
    t, w = np.polynomial.legendre.leggauss(n)
    log_lo = np.log(x_min)
    x = np.exp(0.5 * log_lo * (1 - t))
    return x, -0.5 * log_lo * w * x


def check_exported_set(member_file: Path, scales=(None, 10.0, 100.0)) -> dict:
    """What a generator sees of member 0: the most negative x f of the light quarks,
    antiquarks and gluon at any knot with Q^2 >= 5 GeV^2 (from the file), the most negative
    x f of any flavour at any knot, and, read by PYTHIA 8 (which sets negative values to zero),
    the momentum sum and int u_v, d_v, s_v over the grid's x range at Q0 (``None``) and the
    other ``scales`` (GeV)."""
    from obsforge.pdffit.lhapdf import LHAPDFGrid, pythia_pdf

    grid = LHAPDFGrid.read(member_file)
    rows = [grid.pids.index(p) for p in POSITIVE_PIDS]
    lowest = min(float(b.xf[rows][:, :, b.q**2 >= POSITIVITY_Q2].min(initial=np.inf))
                 for b in grid.subgrids)  # fmt: skip
    pythia = pythia_pdf(member_file)
    x, w = _log_quadrature(grid.x_range[0])
    out: dict = {
        "min_xf_above_q2_5": lowest,
        "min_xf_any_knot": min(float(b.xf.min()) for b in grid.subgrids),
        "x_min": grid.x_range[0],
        "sum_rules": [],
    }
    for q in scales:
        q = grid.q_range[0] if q is None else q
        xf = {p: np.array([pythia.xf(p, v, q * q) for v in x]) for p in grid.pids}
        out["sum_rules"].append({
            "q_gev": q,
            "momentum": float(np.sum(w * sum(xf.values()))),
            **{f"{name}_v": float(np.sum(w * (xf[p] - xf[-p]) / x))
               for name, p in (("u", 2), ("d", 1), ("s", 3))},
        })  # fmt: skip
    return out


def _relative(got: np.ndarray, exact: np.ndarray) -> float:
    """max |got - exact| / |exact| per flavour (axis 0), floored at 1% of the flavour's
    largest |exact| (zero crossings)."""
    scale = np.maximum(np.abs(exact), 1e-2 * np.abs(exact).max(axis=1, keepdims=True))
    return float((np.abs(got - exact) / scale).max())


def interpolation_error(member_file: Path, x: np.ndarray, q: float, exact: np.ndarray) -> float:
    """Largest relative difference between member 0's LHAPDF interpolation and ``exact`` x f
    (len(POSITIVE_PIDS), len(x)) at scale ``q``, for the light quarks, antiquarks and gluon
    (see :func:`_relative`)."""
    from obsforge.pdffit.lhapdf import LHAPDFGrid

    grid = LHAPDFGrid.read(member_file)
    return _relative(grid.xf_table(x, q, POSITIVE_PIDS), exact)


def thinned_grid_errors(grid, every: int = 2, x_range=(0.0, 0.7), q_max: float = 1000.0) -> dict:
    """Interpolation errors of the member ``grid`` (an LHAPDFGrid) with only every
    ``every``-th knot kept (and the last), at the removed knots (whose values are exact): in x
    at every Q knot <= ``q_max``, and in Q (per subgrid) at every x knot in ``x_range``; light
    quarks, antiquarks and gluon. With ``every = 2`` a conservative bound on the full grid's
    error in the interior, which only the knots know above Q0; ``every = 2`` and ``4`` together
    give the order p of the interpolation, E(h) ~ h^p, and so an estimate of the full grid's
    error, E(2h)^2 / E(4h).
    """
    from obsforge.pdffit.lhapdf import LHAPDFGrid, Subgrid

    rows = [grid.pids.index(p) for p in POSITIVE_PIDS]
    pids = list(POSITIVE_PIDS)

    def keep(n: int) -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        mask[::every], mask[-1] = True, True
        return mask

    in_x, in_q = 0.0, 0.0
    for block in grid.subgrids:
        x_mask = keep(len(block.x))
        coarse = LHAPDFGrid([Subgrid(block.x[x_mask], block.q, block.xf[:, x_mask])], grid.pids)
        test_x = ~x_mask & (block.x >= x_range[0]) & (block.x <= x_range[1])
        for k, q in enumerate(block.q):
            if q <= q_max:
                got = coarse.xf_table(block.x[test_x], q, pids)
                in_x = max(in_x, _relative(got, block.xf[rows][:, test_x, k]))
        q_mask = keep(len(block.q))
        coarse = LHAPDFGrid([Subgrid(block.x, block.q[q_mask], block.xf[:, :, q_mask])],
                            grid.pids)  # fmt: skip
        points = (block.x >= x_range[0]) & (block.x <= x_range[1])
        for k in np.flatnonzero(~q_mask & (block.q <= q_max)):
            got = coarse.xf_table(block.x[points], block.q[k], pids)
            in_q = max(in_q, _relative(got, block.xf[rows][:, points, k]))
    return {"x": in_x, "q": in_q}


def export_checks(member: Path, evolution: GridEvolution, f_at) -> dict:
    """:func:`check_exported_set`, the interpolation error at Q0 against the model (``f_at(x)``
    -> f_k(x, Q0) (R, 8, len(x))) at the midpoints between x knots <= 0.7, and
    :func:`thinned_grid_errors`: halved (everywhere, and for x >= :data:`DATA_X_MIN`) and the
    full grid's estimate: what each fit records of its exported set."""
    from obsforge.pdffit.model import evolution_to_flavour

    midpoints = np.sqrt(evolution.x[1:] * evolution.x[:-1])
    midpoints = midpoints[midpoints <= 0.7]
    xf = evolution_to_flavour() @ f_at(midpoints).mean(axis=0) * midpoints  # member 0
    exact = xf[[flavour_row(p) for p in POSITIVE_PIDS]]
    from obsforge.pdffit.lhapdf import LHAPDFGrid

    grid = LHAPDFGrid.read(member)  # read once for the three thinnings
    halved, quartered = (thinned_grid_errors(grid, every) for every in (2, 4))
    data_region = thinned_grid_errors(grid, 2, x_range=(DATA_X_MIN, 0.7))
    return {
        **check_exported_set(member),
        "interpolation_error_q0": interpolation_error(member, midpoints, evolution.q[0], exact),
        "x_halved": halved["x"],
        "q_halved": halved["q"],
        "q_halved_data_region": data_region["q"],
        "x_estimate": halved["x"] ** 2 / max(quartered["x"], halved["x"]),
        "q_estimate": halved["q"] ** 2 / max(quartered["q"], halved["q"]),
    }
