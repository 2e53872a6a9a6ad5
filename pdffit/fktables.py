"""FK tables: the DIS prediction as a linear map of the PDF at the input scale Q0.

For data point n at (x_n, Q_n^2),

    T_n = sum_{k, j} FK_{n k j} f_k(z_j, Q0^2),
    FK_{n k j} = sum_o a_s(Q_n)^o sum_{a, i} C^o_{n a i} E_{a i, b j}(Q_n^2 <- Q0^2) R_{b k},

with C the coefficient functions of ``yadism`` (Candido, Hekhorn, Magni, arXiv:2401.15187)
on the interpolation grid z, E the DGLAP evolution operator of ``eko`` (Candido, Hekhorn,
Magni, Eur. Phys. J. C 82 (2022) 976), a_s = alpha_s / (4 pi), and R the rotation from the
evolution basis of :mod:`obsforge.pdffit.model` to PDG flavours. Building needs eko and yadism
(``pip install 'obsforge[fktables]'``; eko compiles with numba on first use, minutes and GBs),
so :func:`build_fk_table` runs once in ``scripts/build_fk_tables.py`` and the tables ship as
compressed ``.npz`` with their theory card and a checksum; :func:`load_fk_table` reads them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from obsforge.atomic import atomic_path
from obsforge.pdffit.data import Dataset
from obsforge.pdffit.model import evolution_to_flavour

__all__ = [
    "FK_DIR",
    "Evolution",
    "FKTable",
    "build_evolution",
    "build_fk_table",
    "build_operators",
    "load_evolution",
    "load_fk_table",
    "save_evolution",
    "save_fk_table",
    "theory_card",
    "x_grid",
]

FK_DIR = Path(__file__).parent / "fktables"
THEORY_ID = 208  # NNPDF4.0 NLO, alpha_s(M_Z) = 0.118, Q0 = 1.65 GeV
EKO_PIDS = (22, -6, -5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5, 6)


def theory_card() -> dict:
    """NNPDF theory 208 (NLO), changed to what we compute: the zero-mass VFNS (ZM-VFNS)
    instead of FONLL-B, no target-mass corrections, nf0/nfref set for yadism."""
    import nnpdf_data
    import yaml

    path = Path(nnpdf_data.__file__).parent / "theory_cards" / f"{THEORY_ID}.yaml"
    card = yaml.safe_load(path.read_text())
    card.update({"FNS": "ZM-VFNS", "TMC": 0, "nf0": 4, "nfref": 5, "n3lo_cf_variation": 0})
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


def _eko(theory: dict, xgrid: np.ndarray, q2: np.ndarray):
    """Evolution operators {Q^2: (pid_out, x_out, pid_in, x_in)} and a_s(Q^2) (callable)."""
    import tempfile

    import eko
    from eko.couplings import Couplings, couplings_mod_ev
    from eko.io.runcards import Legacy
    from eko.quantities.heavy_quarks import QuarkMassScheme

    legacy = Legacy(theory, _operator_card(xgrid, q2))
    new_theory, new_operator = legacy.new_theory, legacy.new_operator
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
            by_q2 = {_scale_key(k[0]): np.array(op.operator) for k, op in operators.items()}
    return by_q2, couplings.a_s


def build_operators(theory: dict, xgrid: np.ndarray, q2: np.ndarray):
    """eko operators for every Q^2 in ``q2`` (one eko run) and a_s(Q^2): pass them to
    :func:`build_fk_table` and :func:`build_evolution` to share one evolution."""
    return _eko(theory, xgrid, np.asarray(q2, dtype=np.float64))


def build_fk_table(
    dataset: Dataset, xgrid: np.ndarray, theory: dict | None = None, evolution=None
) -> FKTable:
    """Compute the FK table of ``dataset`` (after cuts) with yadism and eko; ``evolution``:
    the result of :func:`build_operators` covering the dataset's Q^2 (else one eko run)."""
    import yadism

    theory = dict(theory or theory_card())
    coefficients = yadism.run_yadism(theory, _observable_card(dataset, xgrid))
    results = coefficients[dataset.spec.kind]
    operators, a_s = evolution or _eko(theory, xgrid, dataset.q2)
    rotation = _rotation()
    table = np.zeros((len(results), 8, len(xgrid)))
    for n, point in enumerate(results):
        operator = operators[_scale_key(point.Q2)]
        coefficient = np.zeros((len(EKO_PIDS), len(xgrid)))
        for order, (values, _errors) in point.orders.items():
            if order[1] == 0 and order[2] == 0 and order[3] == 0:  # no QED, no scale logs
                coefficient += a_s(point.Q2) ** order[0] * values
        flavour = np.einsum("ai,aibj->bj", coefficient, operator)
        table[n] = np.einsum("bj,bk->kj", flavour, rotation)
    return FKTable(dataset.name, table, xgrid, dataset.q2.copy(), theory)


@dataclass(frozen=True)
class Evolution:
    """f_pid(x_i, Q) = sum_kj E[q, pid, i, k, j] f_k(x_j, Q0): for writing LHAPDF grids."""

    operator: np.ndarray  # (n_q, 13, n_x, 8, n_x), pids -6..6 (21 for 0)
    x: np.ndarray
    q: np.ndarray

    def evolve(self, f_evol: np.ndarray) -> np.ndarray:
        """x f (R, 13, n_x, n_q) from f_k(z_j, Q0) (R, 8, n_x)."""
        f = np.einsum("qpikj,rkj->rpiq", self.operator, f_evol)
        return f * self.x[None, None, :, None]


def build_evolution(
    xgrid: np.ndarray, q: np.ndarray, theory: dict | None = None, evolution=None
) -> Evolution:
    """Operators from Q0 to the LHAPDF scales ``q`` (GeV), rotated from the evolution basis."""
    theory = dict(theory or theory_card())
    operators, _ = evolution or _eko(theory, xgrid, np.asarray(q) ** 2)
    rotation = _rotation()
    stack = [np.einsum("aibj,bk->aikj", operators[_scale_key(qq**2)], rotation)[1:] for qq in q]
    return Evolution(np.stack(stack).astype(np.float32), xgrid, np.asarray(q, dtype=np.float64))


def save_evolution(evolution: Evolution, folder: Path = FK_DIR) -> Path:
    path = folder / "evolution.npz"
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, operator=evolution.operator, x=evolution.x, q=evolution.q)
    return path


def load_evolution(folder: Path = FK_DIR) -> Evolution:
    path = folder / "evolution.npz"
    if not path.exists():
        raise FileNotFoundError(f"{path}: build it with python scripts/build_fk_tables.py")
    with np.load(path) as data:
        return Evolution(data["operator"], data["x"], data["q"])


def _path(name: str, folder: Path) -> Path:
    return folder / f"{name}.npz"


def save_fk_table(fk: FKTable, folder: Path = FK_DIR) -> Path:
    """Write the table (float64, compressed) with its theory card and a checksum of both."""
    theory = json.dumps(fk.theory, sort_keys=True, default=str)
    digest = hashlib.sha256(fk.table.tobytes() + theory.encode()).hexdigest()
    path = _path(fk.name, folder)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle, table=fk.table, x=fk.x, q2=fk.q2, theory=np.array(theory), sha256=digest
        )
    return path


def load_fk_table(name: str, folder: Path = FK_DIR) -> FKTable:
    """Read a shipped FK table; refuse a missing one or one whose checksum does not match."""
    path = _path(name, folder)
    if not path.exists():
        raise FileNotFoundError(
            f"FK table {name!r}: {path} does not exist; build it with "
            f"python scripts/build_fk_tables.py --datasets {name}"
        )
    with np.load(path) as data:
        table, theory = data["table"], str(data["theory"])
        digest = hashlib.sha256(table.tobytes() + theory.encode()).hexdigest()
        if digest != str(data["sha256"]):
            raise ValueError(f"FK table {path}: checksum mismatch (corrupted file)")
        return FKTable(name, table, data["x"], data["q2"], json.loads(theory))
