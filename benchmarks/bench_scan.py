"""Time of a shape scan: one amortised ratio estimator vs one estimator per shape.

Uses the observables of a finished ``search-data`` stage (e.g. from ``obsforge scan-shapes
--config scan``). The amortised estimator is trained once on simulations spread over all shapes;
per-shape training is timed on ``--shapes`` shapes and scaled to the whole grid (each shape is
an independent job, so Dask divides it by the number of workers). Scoring (NRE grid posteriors
and the exact Gaussian likelihood of the same pseudo-experiments) is timed on the whole grid.
Result: benchmarks/results/scan.json.

    python benchmarks/bench_scan.py runs/eeec-16k/search-data-<hash>/search_data.npz
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from obsforge.atomic import atomic_write_json
from obsforge.search.nre import NREConfig, grid_log_ratio, train_nre
from obsforge.search.simulator import ShapeSimulator

RESULTS = Path(__file__).parent / "results"


def _train(simulator, shapes, indices, n, config, rng):
    start = time.perf_counter()
    theta = rng.uniform(170.0, 180.0, n)
    index = rng.choice(np.asarray(indices), n)
    x = simulator.simulate(theta, index, rng)
    if len(indices) > 1:
        x = np.concatenate([x, shapes[index, :2]], axis=1)
    estimator = train_nre(theta, x, 170.0, 180.0, config)
    return estimator, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("search_data", type=Path)
    parser.add_argument("--amortised-simulations", type=int, default=200_000)
    parser.add_argument("--simulations", type=int, default=20_000, help="per shape")
    parser.add_argument("--shapes", type=int, default=3, help="per-shape trainings timed")
    parser.add_argument("--experiments", type=int, default=300)
    parser.add_argument("--n-jets", type=int, default=5000)
    args = parser.parse_args()
    arrays = dict(np.load(args.search_data))
    simulator = ShapeSimulator(
        arrays["mean_masses"], arrays["means"], arrays["cov_masses"], arrays["jet_cov"], args.n_jets
    )
    shapes, n_shapes = arrays["shapes"], len(arrays["shapes"])
    rng = np.random.default_rng(0)
    config = NREConfig()
    amortised, t_amortised = _train(
        simulator, shapes, list(range(n_shapes)), args.amortised_simulations, config, rng
    )
    timed = rng.choice(n_shapes, args.shapes, replace=False)
    per_shape = [
        _train(simulator, shapes, [int(i)], args.simulations, config, rng)[1] for i in timed
    ]
    grid = np.linspace(170.0, 180.0, 401)
    index = np.repeat(np.arange(n_shapes), args.experiments)
    x = simulator.simulate(np.full(len(index), 172.5), index, rng)
    start = time.perf_counter()
    grid_log_ratio(amortised, np.concatenate([x, shapes[index, :2]], axis=1), grid)
    t_nre_scoring = time.perf_counter() - start
    start = time.perf_counter()
    simulator.log_likelihood(x, index, grid)
    t_exact_scoring = time.perf_counter() - start
    t_per_shape = float(np.mean(per_shape))
    result = {
        "shapes": n_shapes,
        "torch_threads": torch.get_num_threads(),
        "amortised": {"simulations": args.amortised_simulations, "train_s": t_amortised},
        "per_shape": {
            "simulations": args.simulations,
            "train_s_per_shape": t_per_shape,
            "timed_shapes": [int(i) for i in timed],
            "grid_train_s_1_worker": t_per_shape * n_shapes,
        },
        "per_shape_over_amortised": t_per_shape * n_shapes / t_amortised,
        "scoring": {
            "experiments": len(index),
            "grid_points": len(grid),
            "nre_s": t_nre_scoring,
            "exact_likelihood_s": t_exact_scoring,
        },
    }
    RESULTS.mkdir(exist_ok=True)
    atomic_write_json(RESULTS / "scan.json", result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
