"""The reference PDF: NNPDF3.1 NLO, read from the LHAPDF6 grid shipped with pythia8mc.

It provides the t0 covariance, the law of closure tests, the PDFs of the SMEFT K-factors and
every comparison with an independent fit. It is read through PYTHIA's own grid reader, the one
that reads obsforge's exported sets.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from obsforge.pdffit.flavours import FLAVOURS
from obsforge.pdffit.lhapdf import pythia_pdf

__all__ = ["REFERENCE", "reference_file", "reference_pdf_at"]

REFERENCE = "NNPDF31_nlo_as_0118_luxqed"


def reference_file(name: str = REFERENCE) -> Path:
    """Member 0 of the grid ``name`` shipped with pythia8mc (share/Pythia8/pdfdata)."""
    path = Path(sys.prefix) / "share" / "Pythia8" / "pdfdata" / f"{name}_0000.dat"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the reference PDF shipped with pythia8mc is missing")
    return path


def reference_pdf_at(x: np.ndarray, q: float, name: str = REFERENCE) -> np.ndarray:
    """x f (13, len(x)) of a PDF grid shipped with pythia8mc, through PYTHIA's reader."""
    pdf = pythia_pdf(reference_file(name))
    return np.array([[pdf.xf(pid, float(xx), q * q) for xx in x] for pid in FLAVOURS])
