"""The reference PDF: NNPDF3.1 NLO, read from the LHAPDF6 grid shipped with pythia8mc.

It provides the t0 covariance, the law of closure tests, the PDFs of the SMEFT K-factors and
every comparison with an independent fit. It is read by :class:`~obsforge.pdffit.lhapdf.
LHAPDFGrid` with LHAPDF's own log-bicubic interpolation and its negative values kept (PYTHIA's
reader sets them to zero, which moves NNPDF3.1's momentum sum at Q0 from 1.0004 to 1.0070).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np

from obsforge.pdffit.flavours import FLAVOURS
from obsforge.pdffit.lhapdf import LHAPDFGrid

__all__ = ["REFERENCE", "reference_file", "reference_grid", "reference_pdf_at"]

REFERENCE = "NNPDF31_nlo_as_0118_luxqed"


def reference_file(name: str = REFERENCE) -> Path:
    """Member 0 of the grid ``name`` shipped with pythia8mc (share/Pythia8/pdfdata)."""
    path = Path(sys.prefix) / "share" / "Pythia8" / "pdfdata" / f"{name}_0000.dat"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the reference PDF shipped with pythia8mc is missing")
    return path


@functools.lru_cache(maxsize=4)
def reference_grid(name: str = REFERENCE) -> LHAPDFGrid:
    """Member 0 of ``name`` with LHAPDF's interpolation (read once per process)."""
    return LHAPDFGrid.read(reference_file(name))


def reference_pdf_at(x: np.ndarray, q: float, name: str = REFERENCE) -> np.ndarray:
    """x f (13, len(x)) of a PDF grid shipped with pythia8mc (zero for top)."""
    return reference_grid(name).xf_table(np.asarray(x, dtype=np.float64), q, FLAVOURS)
