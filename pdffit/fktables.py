"""FK tables: the DIS prediction as a linear map of the PDF at the input scale Q0.

For data point n at (x_n, Q_n^2),

    T_n = sum_{k, j} FK_{n k j} f_k(z_j, Q0^2),
    FK_{n k j} = sum_o a_s(Q_n)^o sum_{a, i} C^o_{n a i} E_{a i, b j}(Q_n^2 <- Q0^2) R_{b k},

with C the coefficient functions of ``yadism`` (Candido, Hekhorn, Magni, arXiv:2401.15187)
on the interpolation grid z (summed over the terms of the heavy-quark scheme, :data:`SCHEMES`,
each with its own flavour number in a_s and E), E the DGLAP evolution operator of ``eko``
(Candido, Hekhorn, Magni, Eur. Phys. J. C 82 (2022) 976), a_s = alpha_s / (4 pi), and R the
rotation from the evolution basis of :mod:`obsforge.pdffit.model` to PDG flavours. Building
needs eko and yadism (``pip install 'obsforge[fktables]'``; eko compiles with numba on first
use, minutes and GBs), so :func:`build_fk_table` runs once in ``scripts/build_fk_tables.py``
and the tables ship as compressed ``.npz`` with their theory card and a checksum, one folder
per scheme; :func:`load_fk_table` reads them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from obsforge.atomic import atomic_path
from obsforge.config import check_names
from obsforge.pdffit.data import Dataset
from obsforge.pdffit.flavours import EKO_FLAVOURS
from obsforge.pdffit.model import evolution_to_flavour

__all__ = [
    "FK_DIR",
    "SCHEMES",
    "FKTable",
    "Piece",
    "build_fk_table",
    "build_operators",
    "coefficients",
    "eko_operators",
    "combine_pieces",
    "load_fk_table",
    "missing_fk_tables",
    "save_fk_table",
    "theory_card",
    "x_grid",
]

FK_DIR = Path(__file__).parent / "fktables"
THEORY_ID = 208  # NNPDF4.0 NLO, alpha_s(M_Z) = 0.118, Q0 = 1.65 GeV
EKO_PIDS = EKO_FLAVOURS


@dataclass(frozen=True)
class Piece:
    """One yadism run of a heavy-quark scheme: its scheme, fixed flavour number (None: the
    variable one of the ZM-VFNS), orders, the part of the coefficient functions it keeps, its
    sign, and the masses whose threshold step theta(Q^2 - m^2) multiplies it."""

    fns: str
    nf: int | None
    pto: int
    ptodis: int
    parts: str = "full"
    sign: int = 1
    thresholds: tuple[str, ...] = ()


def _fonll(massive_pto: int) -> tuple[Piece, ...]:
    """FONLL (Forte, Laenen, Nason, Rojo, arXiv:1001.2312) for charm and bottom, as the NNPDF
    collaboration assembles it (pineko): F = F^(3) + theta_c (F^(4)_massless - F^(3,0))
    + F^(4)_massive-b + theta_c theta_b (F^(5)_massless - F^(4,0)), where F^(n) is the scheme
    with n light flavours and the next quark massive, and F^(n,0) its massless limit. The
    massive terms are computed to O(a_s^massive_pto) (FONLL-A: 1, FONLL-B: 2) and their
    massless limits to the same order; theory 208 has no damping (DAMP = 0), only the steps.
    The top-mass term (nf = 5 massive) is left out: the PDF has no top and HERA's
    Q^2 <= 3e4 GeV^2 is below the top threshold."""
    return (
        Piece("FONLL-FFNS", 3, massive_pto, massive_pto),
        Piece("FONLL-FFN0", 3, 1, massive_pto, sign=-1, thresholds=("mc",)),
        Piece("FONLL-FFNS", 4, 1, 1, "massless", thresholds=("mc",)),
        Piece("FONLL-FFNS", 4, massive_pto, massive_pto, "massive"),
        Piece("FONLL-FFN0", 4, 1, massive_pto, sign=-1, thresholds=("mc", "mb")),
        Piece("FONLL-FFNS", 5, 1, 1, "massless", thresholds=("mc", "mb")),
    )


SCHEMES: dict[str, tuple[Piece, ...]] = {
    "ZM-VFNS": (Piece("ZM-VFNS", None, 1, 1),),
    "FONLL-A": _fonll(1),
    "FONLL-B": _fonll(2),
}
"""Heavy-quark schemes at NLO: the yadism runs whose sum is the FK table."""


def theory_card(scheme: str = "ZM-VFNS") -> dict:
    """NNPDF theory 208 (NLO, fitted charm), in the heavy-quark ``scheme`` (:data:`SCHEMES`;
    theory 208 itself is FONLL-B), without target-mass corrections, nf0/nfref set for yadism."""
    import nnpdf_data
    import yaml

    check_names("scheme", [scheme], sorted(SCHEMES))
    path = Path(nnpdf_data.__file__).parent / "theory_cards" / f"{THEORY_ID}.yaml"
    card = yaml.safe_load(path.read_text())
    card.update({"FNS": scheme, "TMC": 0, "nf0": 4, "nfref": 5, "n3lo_cf_variation": 0})
    return card


def x_grid(n: int = 30, x_min: float = 1e-5) -> np.ndarray:
    """The interpolation grid z (log-spaced at small x, linear at large x: eko's lambertgrid)."""
    from eko.interpolation import lambertgrid

    return np.asarray(lambertgrid(n, x_min), dtype=np.float64)


@dataclass(frozen=True)
class FKTable:
    """FK table of one dataset: (N, 8, n_x) in the evolution basis, on the grid ``x``."""

    name: str
    table: np.ndarray
    x: np.ndarray
    q2: np.ndarray
    theory: dict

    def predict(self, f_evol: np.ndarray) -> np.ndarray:
        """Predictions (R, N) from f_k(z_j, Q0) (not x f) of shape (R, 8, n_x)."""
        return np.einsum("nkj,rkj->rn", self.table, f_evol)

    def kernel(self) -> LinearKernel:
        return LinearKernel(self.table)


class LinearKernel:
    """:meth:`FKTable.predict` in torch, for f (R, n_x, 8) as the fit evaluates it."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = torch.as_tensor(table)

    def __call__(self, f: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nkj,rjk->rn", self.table, f)


def _scale_key(q2: float) -> float:
    """Q^2 rounded so that the scales given to eko and those read back compare equal."""
    return round(float(q2), 6)


def _operator_card(xgrid: np.ndarray, q2: np.ndarray) -> dict:
    return dict(
        mu2grid=sorted({_scale_key(v) for v in q2}),
        interpolation_xgrid=xgrid.tolist(),
        interpolation_polynomial_degree=4,
        interpolation_is_log=True,
        ev_op_iterations=10,
        n_integration_cores=2,
        polarized=False,
        time_like=False,
        ev_op_max_order=10,
        debug_skip_non_singlet=False,
        debug_skip_singlet=False,
    )


def _observable_card(dataset: Dataset, xgrid: np.ndarray) -> dict:
    spec = dataset.spec
    points = [
        {"x": float(x), "Q2": float(q2), "y": float(y)}
        for x, q2, y in zip(dataset.x, dataset.q2, dataset.y, strict=True)
    ]
    return {
        "PolarizationDIS": 0.0,
        "ProjectileDIS": spec.projectile,
        "PropagatorCorrection": 0.0,
        "TargetDIS": "proton",
        "prDIS": spec.process,
        "NCPositivityCharge": None,
        "interpolation_is_log": True,
        "interpolation_polynomial_degree": 4,
        "interpolation_xgrid": xgrid.tolist(),
        "observables": {spec.kind: points},
    }


def _rotation() -> np.ndarray:
    """(14, 8): eko's flavour basis (photon first) from our evolution basis at Q0."""
    rotation = np.zeros((len(EKO_PIDS), 8))
    rotation[1:] = evolution_to_flavour()
    return rotation


def _threshold(theory: dict, mass: str) -> float:
    """The matching scale mu_h^2 = (k_h m_h)^2 of heavy quark ``mass`` ("mc", "mb")."""
    return (theory[f"k{mass[1]}Thr"] * theory[mass]) ** 2


def _default_nf(theory: dict, q2: float) -> int:
    """Active flavours of the VFNS at Q^2 (5 at most: theory 208's MaxNfPdf)."""
    return 3 + sum(q2 >= _threshold(theory, m) for m in ("mc", "mb"))


def _above(theory: dict, piece: Piece, q2: float) -> bool:
    return all(q2 > _threshold(theory, m) for m in piece.thresholds)


def _targets(theory: dict, q2: np.ndarray) -> list[tuple[float, int]]:
    """(Q^2, nf) pairs eko must reach: the VFNS at every Q^2 (for LHAPDF grids) and each
    scheme term's fixed flavour number where its threshold steps are on."""
    pieces = SCHEMES[theory["FNS"]]
    out = set()
    for value in q2:
        key = _scale_key(value)
        out.add((key, _default_nf(theory, key)))
        out.update((key, p.nf) for p in pieces if p.nf is not None and _above(theory, p, key))
    return sorted(out)


def _eko(theory: dict, xgrid: np.ndarray, q2: np.ndarray):
    """Evolution operators {(Q^2, nf): (pid_out, x_out, pid_in, x_in)} and a_s(Q^2, nf)."""
    return eko_operators(theory, xgrid, _targets(theory, q2))


def eko_operators(theory: dict, xgrid: np.ndarray, targets: list[tuple[float, int]]):
    """One eko run from Q0 to the (Q^2, nf) pairs ``targets``: operators {(Q^2, nf):
    (pid_out, x_out, pid_in, x_in)} in eko's flavour basis, and a_s(Q^2, nf)."""
    import tempfile

    import eko
    from eko.couplings import Couplings, couplings_mod_ev
    from eko.io.runcards import Legacy
    from eko.quantities.heavy_quarks import QuarkMassScheme

    targets = sorted({(_scale_key(q2), int(nf)) for q2, nf in targets})
    legacy = Legacy(theory, _operator_card(xgrid, np.array([t[0] for t in targets])))
    new_theory, new_operator = legacy.new_theory, legacy.new_operator
    new_operator.mugrid = [(float(np.sqrt(key)), int(nf)) for key, nf in targets]
    couplings = Couplings(
        new_theory.couplings,
        new_theory.order,
        couplings_mod_ev(new_operator.configs.evolution_method),
        masses=[m**2 for m, _ in new_theory.heavy.masses],
        hqm_scheme=QuarkMassScheme.POLE,
        thresholds_ratios=[r**2 for r in new_theory.heavy.matching_ratios],
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "eko.tar"
        eko.solve(new_theory, new_operator, path)
        with eko.EKO.read(path) as operators:
            by_target = {
                (_scale_key(k[0]), int(k[1])): np.array(op.operator) for k, op in operators.items()
            }
    return by_target, lambda q2, nf: couplings.a_s(q2, nf_to=nf)


def build_operators(theory: dict, xgrid: np.ndarray, q2: np.ndarray):
    """eko operators for every Q^2 in ``q2`` (one eko run, all flavour numbers the scheme of
    ``theory`` needs) and a_s(Q^2, nf): pass them to :func:`build_fk_table` and
    :func:`build_evolution` to share one evolution."""
    return _eko(theory, xgrid, np.asarray(q2, dtype=np.float64))


def coefficients(dataset: Dataset, xgrid: np.ndarray, theory: dict, piece: Piece):
    """yadism's QCD coefficient functions of one scheme term: {order k: (N, 14, n_x)}, the
    factor of a_s^k (no QED, central scales)."""
    import yadism

    card = dict(theory)
    if piece.nf is not None:
        card.update(FNS=piece.fns, NfFF=piece.nf, FONLLParts=piece.parts)
    card.update(PTO=piece.pto, PTODIS=piece.ptodis)
    results = yadism.run_yadism(card, _observable_card(dataset, xgrid))[dataset.spec.kind]
    out: dict[int, np.ndarray] = {}
    for n, point in enumerate(results):
        for order, (values, _errors) in point.orders.items():
            if order[1:] == (0, 0, 0):
                out.setdefault(order[0], np.zeros((len(results), len(EKO_PIDS), len(xgrid))))
                out[order[0]][n] = values
    return out


def combine_pieces(
    dataset: Dataset, xgrid: np.ndarray, theory: dict, pieces: list[dict], evolution
) -> FKTable:
    """The FK table: sum over the scheme's terms (``pieces``: :func:`coefficients` of each,
    in the order of :data:`SCHEMES`) of sign x steps x a_s^k C^k E(Q^2 <- Q0^2, nf), rotated
    to the evolution basis."""
    operators, a_s = evolution
    rotation = _rotation()
    table = np.zeros((len(dataset), 8, len(xgrid)))
    for spec, orders in zip(SCHEMES[theory["FNS"]], pieces, strict=True):
        for n, q2 in enumerate(dataset.q2):
            key = _scale_key(q2)
            if not _above(theory, spec, key):
                continue
            nf = _default_nf(theory, key) if spec.nf is None else spec.nf
            coefficient = sum(a_s(key, nf) ** k * c[n] for k, c in orders.items())
            flavour = np.einsum("ai,aibj->bj", coefficient, operators[(key, nf)])
            table[n] += spec.sign * np.einsum("bj,bk->kj", flavour, rotation)
    return FKTable(dataset.name, table, xgrid, dataset.q2.copy(), theory)


def build_fk_table(
    dataset: Dataset, xgrid: np.ndarray, theory: dict | None = None, evolution=None
) -> FKTable:
    """Compute the FK table of ``dataset`` (after cuts) with yadism and eko in the scheme of
    ``theory`` (its FNS); ``evolution``: the result of :func:`build_operators` covering the
    dataset's Q^2 (else one eko run)."""
    theory = dict(theory or theory_card())
    pieces = [coefficients(dataset, xgrid, theory, p) for p in SCHEMES[theory["FNS"]]]
    evolution = evolution or _eko(theory, xgrid, dataset.q2)
    return combine_pieces(dataset, xgrid, theory, pieces, evolution)


def _path(name: str, scheme: str, folder: Path) -> Path:
    return folder / scheme / f"{name}.npz"


def save_fk_table(fk: FKTable, folder: Path = FK_DIR) -> Path:
    """Write the table (float64, compressed) with its theory card and a checksum of both, under
    ``folder``/<scheme>/."""
    theory = json.dumps(fk.theory, sort_keys=True, default=str)
    digest = hashlib.sha256(fk.table.tobytes() + theory.encode()).hexdigest()
    path = _path(fk.name, fk.theory["FNS"], folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle, table=fk.table, x=fk.x, q2=fk.q2, theory=np.array(theory), sha256=digest
        )
    return path


def missing_fk_tables(names: list[str], scheme: str, folder: Path = FK_DIR) -> list[str]:
    """The datasets among ``names`` that have no shipped FK table of ``scheme``."""
    return [name for name in names if not _path(name, scheme, folder).exists()]


def load_fk_table(name: str, scheme: str = "ZM-VFNS", folder: Path = FK_DIR) -> FKTable:
    """Read a shipped FK table of heavy-quark ``scheme``; refuse a missing one or one whose
    checksum does not match."""
    check_names("scheme", [scheme], sorted(SCHEMES))
    path = _path(name, scheme, folder)
    if not path.exists():
        raise FileNotFoundError(
            f"FK table {name!r} ({scheme}): {path} does not exist; build it with "
            f"python scripts/build_fk_tables.py --scheme {scheme} --datasets {name}"
        )
    with np.load(path) as data:
        table, theory = data["table"], str(data["theory"])
        digest = hashlib.sha256(table.tobytes() + theory.encode()).hexdigest()
        if digest != str(data["sha256"]):
            raise ValueError(f"FK table {path}: checksum mismatch (corrupted file)")
        return FKTable(name, table, data["x"], data["q2"], json.loads(theory))
