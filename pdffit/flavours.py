"""The one flavour convention of pdffit: PDG ids of the 13 rows of every flavour-basis array.

Rows run from t bar (-6) to t (6) with the gluon (PDG 21) in the middle, so the quark of PDG id
p sits at row 6 + p and its antiquark at row 6 - p. LHAPDF sets carry the 11 rows without top;
eko's basis adds the photon (22) in front.

>>> FLAVOURS[flavour_row(21)], flavour_row(2), flavour_row(-2)
(21, 8, 4)
>>> LHAPDF_FLAVOURS
(-5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5)
"""

from __future__ import annotations

__all__ = ["EKO_FLAVOURS", "FLAVOURS", "LHAPDF_FLAVOURS", "flavour_row"]

FLAVOURS = (-6, -5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5, 6)
LHAPDF_FLAVOURS = FLAVOURS[1:-1]
EKO_FLAVOURS = (22, *FLAVOURS)


def flavour_row(pid: int) -> int:
    """The row of PDG id ``pid`` in a (13, ...) flavour array (21 is the gluon)."""
    if pid not in FLAVOURS:
        raise ValueError(f"pid = {pid}: allowed are the PDG ids {FLAVOURS}")
    return FLAVOURS.index(pid)
