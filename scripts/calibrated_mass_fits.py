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

With ``--calibrate`` it also measures the response of the surrogate fit with the floor (the
reference shapes only): each shape is fitted to the 2,500 test jets of every trained mass
within 1 GeV of the prior's ends, the line m_hat = a + b (m - m0) through those fits
(``search.mass_calibration``) is inverted at the held-out masses, and the calibrated pulls are
printed.

    python scripts/calibrated_mass_fits.py runs/eeec-101/scan-8869f49f35ad --calibrate
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from obsforge.density.calibration import model_error_floor
from obsforge.results import StageResult
from obsforge.search.mass_calibration import apply_calibration, linear_calibration
from obsforge.search.moments import merge_bins, ratio_means
from obsforge.search.scan import pythia_mass_fit
from obsforge.search.stream_data import floor_covariance
from obsforge.stream_files import load_moments


def fits(arrays: dict[str, np.ndarray], floor: float, grid: np.ndarray, pythia: bool) -> list:
    arrays = dict(arrays)
    if pythia:
        arrays["means"], arrays["model_cov"] = arrays["pythia_means"], 0 * arrays["model_cov"]
    arrays["model_cov"] = arrays["model_cov"] + floor_covariance(arrays["means"], floor)
    return pythia_mass_fit(arrays, list(range(len(arrays["shapes"]))), grid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scan", type=Path, help="a finished scan-<hash> (or its search-data-stream-<hash>) folder"
    )
    parser.add_argument("--floor", type=float, help="relative model error (default: fitted)")
    parser.add_argument("--grid-points", type=int, default=401, help="m_top grid of the fits")
    parser.add_argument(
        "--calibrate", action="store_true", help="calibrate on the trained masses' test jets"
    )
    args = parser.parse_args()
    try:
        data = StageResult.open(args.scan)
        if data.stage.stage != "search-data-stream":
            data = data.upstream("search-data-stream")
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
        if args.calibrate and f > 0:
            calibrate(data, arrays, floor, grid, result)


def calibrate(data: StageResult, arrays: dict, floor: float, grid: np.ndarray, held: list):
    """The response of the surrogate fit with the floor, from the trained masses' test jets,
    and the held-out fits of the reference shapes calibrated with it."""
    density = json.loads((data.upstream("density-stream").path / "config.json").read_text())
    masses, moments = load_moments(data.upstream("eeec-stream"))
    n_groups = len(moments[0].n_jets)
    test = np.zeros(n_groups)
    test[: round(density["config"]["density"]["sample"]["test_fraction"] * n_groups)] = 1
    trained = set(density["config"]["train_masses"])
    rows = [i for i, m in enumerate(masses) if m in trained and grid[0] + 1 <= m <= grid[-1] - 1]
    means = np.stack([ratio_means(moments[i], test) for i in rows])
    arrays = dict(arrays)
    arrays["model_cov"] = arrays["model_cov"] + floor_covariance(arrays["means"], floor)
    arrays["fit_masses"] = masses[rows]
    arrays["fit_means"] = merge_bins(arrays["merge"], means)[0]
    arrays["fit_counts"] = np.array([moments[i].n_jets @ test for i in rows])
    references = [int(i) for i in arrays["reference"]]
    fits = pythia_mass_fit(arrays, references, grid)
    print(f"calibration on the test jets of {len(rows)} trained masses (the floor included):")
    pulls = []
    for i in dict.fromkeys(references):
        label = f"({arrays['shapes'][i][0]:g}, {arrays['shapes'][i][1]:g})"
        own = [r for r in fits if r["shape"] == label]
        line = linear_calibration(
            np.array([r["m_top"] for r in own]),
            np.array([r["estimate"] for r in own]),
            np.array([r["sigma"] for r in own]),
        )
        errors = np.sqrt(np.diag(line["cov"]))
        print(
            f"  {label}: m_hat = {line['a']:.2f} ({errors[0]:.2f}) + {line['b']:.3f} "
            f"({errors[1]:.3f}) (m - {line['m0']:.2f}), chi2/ndf = {line['chi2']:.1f}/{line['ndf']}"
        )
        for r in (r for r in held if r["shape"] == label):
            m, sigma = apply_calibration(np.array([r["estimate"]]), np.array([r["sigma"]]), line)
            pulls.append((m[0] - r["m_top"]) / sigma[0])
            print(
                f"    at {r['m_top']:g} GeV: {m[0]:.2f} +- {sigma[0]:.2f} GeV, "
                f"pull {pulls[-1]:+.2f} (uncalibrated {r['pull']:+.2f})"
            )
    pulls = np.array(pulls)
    print(
        f"calibrated held-out pulls: mean {pulls.mean():+.2f}, width {pulls.std(ddof=1):.2f}, "
        f"largest |pull| {np.abs(pulls).max():.2f}"
    )


if __name__ == "__main__":
    main()
