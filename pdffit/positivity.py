"""Positivity and integrability of the fitted PDFs, as NNPDF4.0 imposes them (arXiv:2109.02653,
section 3.1.3), both penalties on the loss whose weight ramps up during the fit.

- **Positivity**: x f(x, Q) >= 0 for u, ubar, d, dbar, s, sbar and g at Q^2 = 5 GeV^2 (NNPDF's
  positivity observables, nnpdf-data ``NNPDF_POS_2P24GEV``, span 5e-7 <= x <= 0.9). Here they
  are imposed at every knot x < 1 of the exported grid (:mod:`~obsforge.pdffit.export`, down
  to 1e-9), so the exported set is positive wherever it is defined. A generator sets negative
  values to zero, which breaks the momentum sum rule it reads; so, beyond NNPDF4.0, the same
  flavours and the (fitted) charm are kept non-negative at Q0 too, and the charm at Q^2 = 5.
- **Integrability**: x f_k(x, Q0) -> 0 as x -> 0 for k in V, V3, V8, T3, T8, at the points of
  nnpdf-data's ``NNPDF_INTEG_3GEV`` (x = 1e-9, Q = Q0). Then the small-x part of the valence
  sum rules below the grid, int_0^x f dx ~ x f(x) / (1 - alpha), vanishes with x f.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import yaml

from obsforge.pdffit.export import load_grid_evolution
from obsforge.pdffit.model import BASIS

__all__ = [
    "POSITIVITY_PIDS",
    "integrability_points",
    "positivity_operator",
]

POSITIVITY_PIDS = (2, -2, 1, -1, 3, -3, 21, 4, -4)  # NNPDF4.0's seven, and c (= cbar here, so
# its penalty counts twice; the measured fits used this operator)
INTEGRABILITY_SET = "NNPDF_INTEG_3GEV"


def positivity_operator() -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """(operator, x, scales): x f_pid(x_i, Q) = sum_kj M[p, i, k, j] f_k(x_j, Q0) for the pids
    of :data:`POSITIVITY_PIDS` at the knots x_i < 1 of the export grid, at Q0 and at
    Q^2 = 5 GeV^2 (the scales, GeV), stacked along p; the model is evaluated at ``x`` (the
    same knots)."""
    evolution = load_grid_evolution()
    scales = [0, evolution.positivity_index]  # the grid's first knot is Q0
    operator = np.concatenate(
        [evolution.flavour_operator(k, POSITIVITY_PIDS)[:, evolution.x < 1.0] for k in scales]
    )
    return (torch.as_tensor(operator), torch.as_tensor(evolution.x),
            [float(evolution.q[k]) for k in scales])  # fmt: skip


def integrability_points() -> tuple[torch.Tensor, list[int]]:
    """(x, basis indices): the points of nnpdf-data's integrability set (observables XV, XV3,
    XV8, XT3, XT8) where x f_k at Q0 is pushed to zero."""
    import nnpdf_data

    folder = Path(nnpdf_data.__file__).parent / "commondata" / INTEGRABILITY_SET
    meta = yaml.safe_load((folder / "metadata.yaml").read_text())
    names, xs = [], set()
    for observable in meta["implemented_observables"]:
        names.append(observable["observable_name"].removeprefix("X"))
        kinematics = observable["observable"] and observable["kinematics"]["file"]
        bins = yaml.safe_load((folder / kinematics).read_text())["bins"]
        xs.update(float(b["x"]["mid"]) for b in bins)
    unknown = [n for n in names if n not in BASIS]
    if unknown:
        raise ValueError(f"{INTEGRABILITY_SET}: observables {unknown} are not in {BASIS}")
    return torch.as_tensor(np.array(sorted(xs))), [BASIS.index(n) for n in names]
