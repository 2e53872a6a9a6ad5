"""Writing and reading LHAPDF6 grids (format ``lhagrid1``), with LHAPDF's own interpolation.

A set is a folder ``<name>/`` with ``<name>.info`` (YAML metadata) and one
``<name>_NNNN.dat`` per member: member 0 is the central value (for a replica set, the replica
average) and members 1..R the replicas (LHAPDF's ``ErrorType: replicas``). Each ``.dat`` has a
header and one block per Q subgrid: the x knots, the Q knots, the PDG codes, and x f(x, Q) for
every (x, Q) with x outer and Q inner, one line per knot with all flavours (Buckley et al.,
"LHAPDF6: parton density access in the LHC precision era", arXiv:1412.7420). Subgrids meet at
the heavy-quark thresholds, where the Q knot is repeated: the flavour count changes there, and
a heavy-quark PDF that vanishes below its threshold is not interpolated across it.

:class:`LHAPDFGrid` reads a member and interpolates it exactly as LHAPDF's default
``LogBicubicInterpolator``: cubic Hermite splines in ln x whose slopes are the averages of the
neighbouring finite differences (one-sided at the edges), then the same in ln Q^2 through the
four Q knots around Q (bilinear in ln x, ln Q^2 on a subgrid of fewer than four Q knots).
The subgrid of Q is the last one starting at or below it. Negative values are kept (PYTHIA's
reader sets them to zero).

Files are written to a temporary name and renamed, so an interrupted write leaves no half set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from obsforge.atomic import atomic_write_text
from obsforge.pdffit.flavours import LHAPDF_FLAVOURS

__all__ = [
    "PIDS",
    "LHAPDFGrid",
    "PythiaPDF",
    "Subgrid",
    "interpolate_knots",
    "pythia_pdf",
    "read_member",
    "write_lhapdf_set",
]

PIDS = LHAPDF_FLAVOURS


@dataclass(frozen=True)
class Subgrid:
    """One Q block of a member: x knots (n_x,), Q knots (n_q,), x f (n_pid, n_x, n_q)."""

    x: np.ndarray
    q: np.ndarray
    xf: np.ndarray


def _block_text(block: Subgrid, pids) -> list[str]:
    lines = [" ".join(f"{v:.8e}" for v in block.x), " ".join(f"{v:.8e}" for v in block.q)]
    lines.append(" ".join(str(p) for p in pids))
    values = block.xf.transpose(1, 2, 0).reshape(len(block.x) * len(block.q), len(pids))
    lines.extend(" ".join(f"{v: .8e}" for v in row) for row in values)
    lines.append("---")
    return lines


def _as_blocks(x, q, xf) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Q blocks and x f blocks (R, n_pid, n_x, n_q_b) from one array or lists of them."""
    if isinstance(q, list | tuple):
        return [np.asarray(v, dtype=np.float64) for v in q], [np.asarray(v) for v in xf]
    return [np.asarray(q, dtype=np.float64)], [np.asarray(xf)]


def write_lhapdf_set(
    folder: str | Path,
    name: str,
    x: np.ndarray,
    q: np.ndarray | list[np.ndarray],
    replicas_xf: np.ndarray | list[np.ndarray],
    info: dict,
    pids=PIDS,
) -> Path:
    """Write a replica set. ``q``: the Q knots, or a list of subgrids' Q knots (each starting
    where the previous one ends, at a threshold); ``replicas_xf``: (R, len(pids), len(x),
    len(q)) of x f(x, Q), or a list of them, one per subgrid.

    Member 0 is the replica average. ``info`` adds to / overrides the .info keys (e.g.
    alpha_s, orders, thresholds). Returns the set folder.
    """
    x = np.asarray(x, dtype=np.float64)
    q_blocks, xf_blocks = _as_blocks(x, q, replicas_xf)
    if len(q_blocks) != len(xf_blocks):
        raise ValueError(f"{len(q_blocks)} Q subgrids but {len(xf_blocks)} x f blocks")
    if not np.all(np.diff(x) > 0):
        raise ValueError("x knots must be strictly increasing")
    for i, (qb, xb) in enumerate(zip(q_blocks, xf_blocks, strict=True)):
        if xb.ndim != 4 or xb.shape[1:] != (len(pids), len(x), len(qb)):
            raise ValueError(
                f"replicas_xf: shape {xb.shape}, expected (R, {len(pids)}, {len(x)}, {len(qb)})"
            )
        if len(qb) < 2 or not np.all(np.diff(qb) > 0):
            raise ValueError(f"Q subgrid {i}: at least 2 strictly increasing knots")
        if i and qb[0] != q_blocks[i - 1][-1]:
            raise ValueError(f"Q subgrid {i} starts at {qb[0]}, not where {i - 1} ends")
        if not np.isfinite(xb).all():
            raise ValueError("replicas_xf: not finite")
    replicas = len(xf_blocks[0])
    folder = Path(folder) / name
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(replicas + 1):
        lines = [f"PdfType: {'central' if i == 0 else 'replica'}", "Format: lhagrid1", "---"]
        for qb, xb in zip(q_blocks, xf_blocks, strict=True):
            member = xb.mean(axis=0) if i == 0 else xb[i - 1]
            lines.extend(_block_text(Subgrid(x, qb, member), pids))
        atomic_write_text(folder / f"{name}_{i:04d}.dat", "\n".join(lines) + "\n")
    meta = {
        "SetDesc": f"obsforge NN PDF fit {name}",
        "Authors": "obsforge",
        "Format": "lhagrid1",
        "DataVersion": 1,
        "NumMembers": replicas + 1,
        "Particle": 2212,
        "Flavors": list(pids),
        "FlavorScheme": "variable",
        "NumFlavors": max(abs(p) for p in pids if p != 21),
        "ErrorType": "replicas",
        "XMin": float(x[0]),
        "XMax": float(x[-1]),
        "QMin": float(q_blocks[0][0]),
        "QMax": float(q_blocks[-1][-1]),
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


def _slopes(values: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """d values / d knots along axis 0 as LHAPDF takes it: the mean of the left and right
    finite differences inside, one-sided at the ends."""
    step = np.diff(values, axis=0) / np.diff(knots).reshape(-1, *([1] * (values.ndim - 1)))
    out = np.empty_like(values)
    out[1:-1] = 0.5 * (step[:-1] + step[1:])
    out[0], out[-1] = step[0], step[-1]
    return out


def _hermite(t, low, low_slope, high, high_slope):
    """The cubic through (0, low) and (1, high) with the given slopes (per unit t)."""
    t2, t3 = t * t, t * t * t
    return (
        (2 * t3 - 3 * t2 + 1) * low + (t3 - 2 * t2 + t) * low_slope
        + (-2 * t3 + 3 * t2) * high + (t3 - t2) * high_slope
    )  # fmt: skip


def interpolate_knots(values, slopes, log_x, log_q2, x: np.ndarray, q: float) -> np.ndarray:
    """LHAPDF's log-bicubic interpolation of knot ``values`` (n_x, n_q, ...) with their ln x
    ``slopes`` (same shape; :func:`_slopes`) at the points ``x`` and one scale ``q``: cubic
    Hermite in ln x, then in ln Q^2 with finite-difference slopes (bilinear below 4 Q knots).
    Linear in ``values``, so trailing axes (flavours, an evolution operator's input) are
    interpolated alike. Returns (len(x), ...)."""
    ix = np.clip(np.searchsorted(log_x, np.log(x), side="right") - 1, 0, len(log_x) - 2)
    width = log_x[ix + 1] - log_x[ix]
    t = (np.log(x) - log_x[ix]) / width
    extra = (1,) * (values.ndim - 2)
    t_, width_ = t.reshape(-1, *extra), width.reshape(-1, *extra)
    n_q = len(log_q2)
    iq = int(np.clip(np.searchsorted(log_q2, np.log(q * q), side="right") - 1, 0, n_q - 2))
    tq = (np.log(q * q) - log_q2[iq]) / (log_q2[iq + 1] - log_q2[iq])
    if n_q < 4:  # LHAPDF falls back to bilinear in (ln x, ln Q^2)
        low = values[ix, iq] + t_ * (values[ix + 1, iq] - values[ix, iq])
        high = values[ix, iq + 1] + t_ * (values[ix + 1, iq + 1] - values[ix, iq + 1])
        return low + tq * (high - low)

    def in_x(k: int) -> np.ndarray:
        v, slope = values[:, k], slopes[:, k]
        return _hermite(t_, v[ix], slope[ix] * width_, v[ix + 1], slope[ix + 1] * width_)

    low, high = in_x(iq), in_x(iq + 1)
    step = log_q2[iq + 1] - log_q2[iq]
    middle = (high - low) / step
    if iq > 0:
        left = (low - in_x(iq - 1)) / (log_q2[iq] - log_q2[iq - 1])
    if iq + 2 < n_q:
        right = (in_x(iq + 2) - high) / (log_q2[iq + 2] - log_q2[iq + 1])
    if 0 < iq and iq + 2 < n_q:
        slope_low, slope_high = 0.5 * (middle + left), 0.5 * (middle + right)
    elif iq == 0:
        slope_low = middle
        slope_high = 0.5 * (slope_low + right)
    else:
        slope_high = middle
        slope_low = 0.5 * (slope_high + left)
    return _hermite(tq, low, slope_low * step, high, slope_high * step)


class LHAPDFGrid:
    """A member of an LHAPDF6 set with LHAPDF's log-bicubic interpolation (negatives kept).

    >>> import numpy as np
    >>> x, q = np.geomspace(1e-4, 1, 40), np.array([2.0, 3.0, 5.0, 8.0])
    >>> xf = np.broadcast_to(x[:, None] * (1 + 0 * q), (1, 40, 4))
    >>> grid = LHAPDFGrid([Subgrid(x, q, xf)], [21])
    >>> float(grid.xfxq(21, np.array([0.0123]), 4.0)[0])  # x f = x, interpolated in ln x
    0.0123...
    """

    _MEMO = 4  # (x, Q) points whose flavours are kept: a PDF product asks for x1 and x2 in turn

    def __init__(self, subgrids: list[Subgrid], pids) -> None:
        self.subgrids, self.pids = subgrids, [int(p) for p in pids]
        self._knots, self._memo = [], {}
        for block in subgrids:
            log_x, log_q2 = np.log(block.x), np.log(block.q**2)
            values = block.xf.transpose(1, 2, 0)  # (n_x, n_q, flavours)
            self._knots.append((log_x, log_q2, values, _slopes(values, log_x)))

    @classmethod
    def read(cls, path: str | Path) -> LHAPDFGrid:
        """Read a member file (any number of subgrids)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such LHAPDF member file")
        blocks, pids = [], None
        for text in path.read_text().split("---")[1:]:
            lines = text.strip().splitlines()
            if len(lines) < 4:
                continue
            x = np.array(lines[0].split(), dtype=np.float64)
            q = np.array(lines[1].split(), dtype=np.float64)
            pids = [int(p) for p in lines[2].split()]
            values = np.array(" ".join(lines[3:]).split(), dtype=np.float64)
            if values.size != len(x) * len(q) * len(pids):
                raise ValueError(f"{path}: a subgrid has {values.size} values, expected "
                                 f"{len(x)} x {len(q)} x {len(pids)}")  # fmt: skip
            xf = values.reshape(len(x), len(q), len(pids)).transpose(2, 0, 1)
            blocks.append(Subgrid(x, q, xf))
        if not blocks:
            raise ValueError(f"{path}: no subgrid found (not an lhagrid1 member)")
        return cls(blocks, pids)

    @property
    def x_range(self) -> tuple[float, float]:
        return float(self.subgrids[0].x[0]), float(self.subgrids[0].x[-1])

    @property
    def q_range(self) -> tuple[float, float]:
        return float(self.subgrids[0].q[0]), float(self.subgrids[-1].q[-1])

    def xfxq(self, pid: int, x: np.ndarray, q: float) -> np.ndarray:
        """x f_pid(x, Q) at the points ``x`` (inside the grid) and one scale Q (GeV); zero
        for a flavour the set does not carry (LHAPDF's convention)."""
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        (x_lo, x_hi), (q_lo, q_hi) = self.x_range, self.q_range
        if not (np.all((x >= x_lo) & (x <= x_hi)) and q_lo <= q <= q_hi):
            raise ValueError(
                f"(x, Q) outside the grid: x in [{x.min():.3g}, {x.max():.3g}], Q = {q:.4g}; "
                f"allowed x in [{x_lo:.3g}, {x_hi:.3g}], Q in [{q_lo:.4g}, {q_hi:.4g}] GeV"
            )
        if pid == 0:
            pid = 21
        if pid not in self.pids:
            return np.zeros_like(x)
        return self._flavours(x, float(q))[:, self.pids.index(pid)].copy()

    def _flavours(self, x: np.ndarray, q: float) -> np.ndarray:
        """All flavours (len(x), len(pids)) in one interpolation (it is linear in the knot
        values, so each column equals the flavour's own), kept for the last few (x, Q): the
        weights depend on (x, Q) only, and a parton luminosity asks for every flavour there."""
        key = (q, x.tobytes())
        if key not in self._memo:
            starts = [block.q[0] for block in self.subgrids]
            b = max(int(np.searchsorted(starts, q, side="right")) - 1, 0)
            log_x, log_q2, values, slopes = self._knots[b]
            if len(self._memo) >= self._MEMO:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = interpolate_knots(values, slopes, log_x, log_q2, x, q)
        return self._memo[key]

    def xf(self, pid: int, x: float, q2: float) -> float:
        """x f(x, Q^2) at one point (the interface of :class:`PythiaPDF`)."""
        return float(self.xfxq(pid, np.array([x]), float(np.sqrt(q2)))[0])

    def xf_table(self, x: np.ndarray, q: float, pids) -> np.ndarray:
        """x f (len(pids), len(x)) at one scale."""
        return np.stack([self.xfxq(pid, x, q) for pid in pids])


def read_member(path: str | Path) -> LHAPDFGrid:
    """A member file as an :class:`LHAPDFGrid` (its ``subgrids`` hold the knots)."""
    return LHAPDFGrid.read(path)


class PythiaPDF:
    """A member loaded by PYTHIA 8's own LHAPDF6 reader (``LHAGrid1``)."""

    def __init__(self, pythia, pdf):
        self._pythia, self._pdf = pythia, pdf  # the Pythia object owns the PDF's settings

    def xf(self, pid: int, x: float, q2: float) -> float:
        """x f(x, Q^2) as PYTHIA interpolates it (negative values set to zero)."""
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
