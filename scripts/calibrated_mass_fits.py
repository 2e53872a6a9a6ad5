"""PYTHIA mass fits of a streamed scan with and without the surrogate's calibrated model error.

For the tables of a finished ``obsforge scan-stream`` (its ``search-data-stream`` stage) this
fits m_top to all 10,000 jets of every held-out mass with the exact Gaussian likelihood
(``search.scan.pythia_mass_fit``), for every streamed shape, three times:

- with the surrogate's expectation and the covariance of the tables (ensemble spread and
  Monte Carlo error);
- the same with, in addition, the relative model-error floor fitted on the trained masses'
  test jets of the same surrogate (``density.calibration.model_error_floor``, added by
  ``search.stream_data.floor_covariance``), or the floor given with ``--floor``;
- with PYTHIA's own expectation instead (the local fit of the 101 masses' means, no
  surrogate): the estimator's bias without a surrogate.

It prints the pulls (estimate - truth) / sigma of the reference shapes and, over all shapes,
the mean pull and the fraction with |pull| <= 2.

    python scripts/calibrated_mass_fits.py runs/eeec-101/scan-8869f49f35ad
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from obsforge.density.calibration import model_error_floor
from obsforge.results import StageResult
from obsforge.search.scan import pythia_mass_fit
from obsforge.search.stream_data import floor_covariance


def fits(arrays: dict[str, np.ndarray], floor: float, grid: np.ndarray, pythia: bool) -> list:
    arrays = dict(arrays)
    if pythia:
        arrays["means"], arrays["model_cov"] = arrays["pythia_means"], 0 * arrays["model_cov"]
    arrays["model_cov"] = arrays["model_cov"] + floor_covariance(arrays["means"], floor)
    return pythia_mass_fit(arrays, list(range(len(arrays["shapes"]))), grid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scan", type=Path, help="a finished scan-<hash> folder of scan-stream")
    parser.add_argument("--floor", type=float, help="relative model error (default: fitted)")
    parser.add_argument("--grid-points", type=int, default=401, help="m_top grid of the fits")
    args = parser.parse_args()
    try:
        data = StageResult.open(args.scan).upstream("search-data-stream")
        rows = json.loads((data.upstream("density-stream").path / "closure.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        sys.exit(f"calibrated_mass_fits: {exc}")
    if args.floor is not None and not (np.isfinite(args.floor) and 0 <= args.floor < 1):
        sys.exit(f"calibrated_mass_fits: --floor {args.floor}: must be in [0, 1)")
    floor = args.floor
    if floor is None:
        fitted = model_error_floor([r for r in rows if r["role"] == "trained"])
        floor = fitted["floor"]
        print(
            f"floor from the trained masses' test jets: {100 * floor:.2f}% "
            f"({100 * fitted['low']:.2f}-{100 * fitted['high']:.2f}%)"
        )
    with np.load(data.path / "search_data.npz") as npz:
        arrays = dict(npz)
    masses = arrays["mean_masses"]
    grid = np.linspace(masses[0], masses[-1], args.grid_points)
    labels = {f"({a:g}, {b:g})" for a, b, _ in arrays["shapes"][arrays["reference"]]}
    passes = (
        ("surrogate, its covariance", 0.0, False),
        (f"surrogate, with the {100 * floor:.2f}% floor", floor, False),
        ("PYTHIA's own expectation, no surrogate", 0.0, True),
    )
    for name, f, pythia in passes:
        result = fits(arrays, f, grid, pythia)
        pulls = np.array([r["pull"] for r in result])
        print(
            f"{name}: {len(result)} fits ({len(arrays['shapes'])} shapes x "
            f"{len(result) // len(arrays['shapes'])} masses), pulls mean {pulls.mean():+.2f} "
            f"width {pulls.std(ddof=1):.2f}, |pull| <= 2 in {np.mean(np.abs(pulls) <= 2):.0%}"
        )
        for r in result:
            if r["shape"] in labels:
                print(
                    f"  {r['shape']} at {r['m_top']:g} GeV: {r['estimate']:.2f} +- "
                    f"{r['sigma']:.2f} GeV, pull {r['pull']:+.2f}"
                )


if __name__ == "__main__":
    main()
