"""Writing and reading LHAPDF6 grids (format ``lhagrid1``).

A set is a folder ``<name>/`` with ``<name>.info`` (YAML metadata) and one
``<name>_NNNN.dat`` per member: member 0 is the central value (for a replica set, the replica
average) and members 1..R the replicas (LHAPDF's ``ErrorType: replicas``). Each ``.dat`` has a
header, then one block: the x knots, the Q knots, the PDG codes, and x f(x, Q) for every
(x, Q) with x outer and Q inner, one line per knot with all flavours (Buckley et al., "LHAPDF6:
parton density access in the LHC precision era", arXiv:1412.7420). Files are written to a
temporary name and renamed, so an interrupted write leaves no half set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from obsforge.atomic import atomic_write_text
from obsforge.pdffit.flavours import LHAPDF_FLAVOURS

__all__ = ["PIDS", "PythiaPDF", "pythia_pdf", "read_member", "write_lhapdf_set"]

PIDS = LHAPDF_FLAVOURS


def _member_text(x: np.ndarray, q: np.ndarray, xf: np.ndarray, pids, kind: str) -> str:
    """xf: (len(pids), len(x), len(q))."""
    lines = [f"PdfType: {kind}", "Format: lhagrid1", "---"]
    lines.append(" ".join(f"{v:.8e}" for v in x))
    lines.append(" ".join(f"{v:.8e}" for v in q))
    lines.append(" ".join(str(p) for p in pids))
    values = xf.transpose(1, 2, 0).reshape(len(x) * len(q), len(pids))
    lines.extend(" ".join(f"{v: .8e}" for v in row) for row in values)
    lines.append("---")
    return "\n".join(lines) + "\n"


def write_lhapdf_set(
    folder: str | Path,
    name: str,
    x: np.ndarray,
    q: np.ndarray,
    replicas_xf: np.ndarray,
    info: dict,
    pids=PIDS,
) -> Path:
    """Write a replica set. replicas_xf: (R, len(pids), len(x), len(q)) of x f(x, Q).

    Member 0 is the replica average. ``info`` adds to / overrides the .info keys (e.g.
    alpha_s, orders). Returns the set folder.
    """
    x, q = np.asarray(x, dtype=np.float64), np.asarray(q, dtype=np.float64)
    replicas_xf = np.asarray(replicas_xf, dtype=np.float64)
    if replicas_xf.ndim != 4 or replicas_xf.shape[1:] != (len(pids), len(x), len(q)):
        raise ValueError(
            f"replicas_xf: shape {replicas_xf.shape}, expected (R, {len(pids)}, {len(x)}, {len(q)})"
        )
    if not (np.all(np.diff(x) > 0) and np.all(np.diff(q) > 0)):
        raise ValueError("x and q knots must be strictly increasing")
    if not np.isfinite(replicas_xf).all():
        raise ValueError("replicas_xf: not finite")
    folder = Path(folder) / name
    folder.mkdir(parents=True, exist_ok=True)
    members = [replicas_xf.mean(axis=0), *replicas_xf]
    for i, member in enumerate(members):
        kind = "central" if i == 0 else "replica"
        atomic_write_text(folder / f"{name}_{i:04d}.dat", _member_text(x, q, member, pids, kind))
    meta = {
        "SetDesc": f"obsforge NN PDF fit {name}",
        "Authors": "obsforge",
        "Format": "lhagrid1",
        "DataVersion": 1,
        "NumMembers": len(members),
        "Particle": 2212,
        "Flavors": list(pids),
        "FlavorScheme": "variable",
        "NumFlavors": max(abs(p) for p in pids if p != 21),
        "ErrorType": "replicas",
        "XMin": float(x[0]),
        "XMax": float(x[-1]),
        "QMin": float(q[0]),
        "QMax": float(q[-1]),
        **info,
    }
    text = "\n".join(f"{k}: {_yaml_value(v)}" for k, v in meta.items()) + "\n"
    atomic_write_text(folder / f"{name}.info", text)
    return folder


def _yaml_value(value) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.8g}"
    return str(value)


def read_member(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[int], np.ndarray]:
    """(x, q, pids, xf (len(pids), len(x), len(q))) of a single-block lhagrid1 member file."""
    blocks = Path(path).read_text().split("---")
    body = blocks[1].strip().splitlines()
    x = np.array(body[0].split(), dtype=np.float64)
    q = np.array(body[1].split(), dtype=np.float64)
    pids = [int(p) for p in body[2].split()]
    values = np.array([line.split() for line in body[3:]], dtype=np.float64)
    return x, q, pids, values.reshape(len(x), len(q), len(pids)).transpose(2, 0, 1)


class PythiaPDF:
    """A member loaded by PYTHIA 8's own LHAPDF6 reader (``LHAGrid1``)."""

    def __init__(self, pythia, pdf):
        self._pythia, self._pdf = pythia, pdf  # the Pythia object owns the PDF's settings

    def xf(self, pid: int, x: float, q2: float) -> float:
        """x f(x, Q^2) as PYTHIA interpolates it."""
        return self._pdf.xf(pid, x, q2)


def pythia_pdf(member_file: str | Path) -> PythiaPDF:
    """Load a member file with PYTHIA 8's ``LHAGrid1`` reader (``PDF:pSet = LHAGrid1:...``)."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    setting = f"PDF:pSet = LHAGrid1:{Path(member_file).resolve()}"
    if not pythia.readString(setting):
        raise RuntimeError(f"PYTHIA refused {setting!r}")
    pdf = pythia.getPDFPtr(2212, 1, "A", True)
    if pdf is None or not pdf.isSetup():
        raise RuntimeError(f"PYTHIA could not load the LHAPDF grid {member_file}")
    return PythiaPDF(pythia, pdf)
