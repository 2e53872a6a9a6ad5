"""EEEC kernel time per jet: obsforge's grouped gather vs a naive triple loop vs N^3 broadcasting.

All three run in the same process on the same PYTHIA top jets (Q = 2 TeV, anti-kt R = 1.2, C/A
r = 0.1 subjets) and must agree; the result is written to benchmarks/results/eeec_kernel.json.

    python benchmarks/bench_eeec_kernel.py [--events 300] [--naive-jets 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import awkward as ak
import numpy as np

from obsforge.atomic import atomic_write_json
from obsforge.events import generate_top_events
from obsforge.observables.eeec import eeec_triplets, pair_zeta
from obsforge.observables.jets import JetConfig, top_jet_subjets

RESULTS = Path(__file__).parent / "results"


def jet_arrays(subjets: ak.Array) -> list[tuple[np.ndarray, np.ndarray]]:
    """(momenta (N, 3), energies (N,)) per jet, for the reference implementations."""
    out = []
    for jet in subjets:
        p = np.stack([ak.to_numpy(jet[c]) for c in ("px", "py", "pz")], axis=-1)
        out.append((p, ak.to_numpy(jet.E)))
    return out


def naive_loop(p: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference 1: three nested Python loops over distinct triples."""
    n, e_jet = len(e), e.sum()
    unit = p / np.linalg.norm(p, axis=1, keepdims=True)
    zetas, weights = [], []
    for i in range(n):
        for j in range(i + 1, n):
            for k in range(j + 1, n):
                sides = sorted((1 - unit[a] @ unit[b]) / 2 for a, b in ((i, j), (i, k), (j, k)))
                zetas.append(sides)
                weights.append(e[i] * e[j] * e[k] / e_jet**3)
    return np.array(zetas).reshape(-1, 3), np.array(weights)


def broadcast(p: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference 2: full (N, N, N) arrays with an i < j < k mask."""
    n = len(e)
    zeta = pair_zeta(p)
    x = e / e.sum()
    i, j, k = np.ogrid[:n, :n, :n]
    mask = (i < j) & (j < k)
    z = np.stack(np.broadcast_arrays(zeta[i, j], zeta[i, k], zeta[j, k]), axis=-1)[mask]
    z.sort(axis=-1)
    w = (x[:, None, None] * x[None, :, None] * x[None, None, :])[mask]
    return z, w


def time_per_jet(function, jets, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function(jets)
        best = min(best, time.perf_counter() - start)
    return best / len(jets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--naive-jets", type=int, default=40)
    args = parser.parse_args()

    particles, _ = generate_top_events(172.5, args.events, seed=2024)
    _, subjets = top_jet_subjets(particles, JetConfig())
    arrays = jet_arrays(subjets)
    counts = ak.to_numpy(ak.num(subjets))

    # Correctness first: the three implementations agree on the naive subset.
    kernel = eeec_triplets(subjets[: args.naive_jets])
    ref = [naive_loop(p, e) for p, e in arrays[: args.naive_jets]]
    np.testing.assert_allclose(kernel["weight"], np.concatenate([w for _, w in ref]), rtol=1e-12)
    np.testing.assert_allclose(
        kernel["zeta3"], np.concatenate([z[:, 2] for z, _ in ref]), rtol=1e-9, atol=1e-15
    )

    t_kernel = time_per_jet(eeec_triplets, subjets)
    t_broadcast = time_per_jet(lambda js: [broadcast(p, e) for p, e in js], arrays)
    t_naive = time_per_jet(
        lambda js: [naive_loop(p, e) for p, e in js], arrays[: args.naive_jets], repeat=1
    )
    result = {
        "jets": len(arrays),
        "mean_subjets": float(counts.mean()),
        "mean_triplets_per_jet": float(np.mean(counts * (counts - 1) * (counts - 2) / 6)),
        "seconds_per_jet": {
            "obsforge": t_kernel,
            "numpy_broadcast": t_broadcast,
            "naive_loop": t_naive,
        },
        "speedup": {
            "vs_numpy_broadcast": t_broadcast / t_kernel,
            "vs_naive_loop": t_naive / t_kernel,
        },
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
    }
    atomic_write_json(RESULTS / "eeec_kernel.json", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
