"""EEEC kernel time per jet on the same PYTHIA top jets (Q = 2 TeV, anti-kt R = 1.2, C/A r = 0.1
subjets), in one run:

- the reference: the C++ ``eec`` package's EECLongestSide (N = 3, 64 log bins), run in its own
  benchmark-only virtualenv (``--eec-python``, see benchmarks/README.md) on the same jets;
- obsforge's compiled kernel computing the same histogram of the longest side, and the fused
  streaming kernel (longest side + peak sums + moments of 231 or 420 shapes + subsample);
- obsforge's array kernel (grouped gather, all triplets materialised), a naive triple loop and
  N^3 broadcasting.

Triplet-producing implementations must agree; the result is benchmarks/results/eeec_kernel.json.

    python benchmarks/bench_eeec_kernel.py [--events 300] [--naive-jets 40] [--eec-python PATH]
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
from obsforge.observables.eeec_stream import (
    FINE_EDGES,
    ShapeSet,
    StreamMoments,
    eeec_longest_side,
    eeec_stream,
    eeec_triplets_compiled,
)
from obsforge.observables.jets import JetConfig, top_jet_subjets
from obsforge.observables.longest_side import ZETA3_EDGES
from obsforge.search.observable import ShapeGrid, scan_shapes
from obsforge.top_stream import StreamSettings

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
    """Best of ``repeat`` CPU times per jet (after one warm-up call: compilation excluded)."""
    function(jets[:2])
    best = np.inf
    for _ in range(repeat):
        start = time.process_time()
        function(jets)
        best = min(best, time.process_time() - start)
    return best / len(jets)


EEC_SCRIPT = """
import json, sys, time
import numpy as np
import eec
data = np.load(sys.argv[1])
offsets, pty = data["offsets"], data["pt_y_phi"]
jets = [pty[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
edges = data["edges"]
computation = eec.EECLongestSide(3, len(edges) - 1, (edges[0], edges[-1]), "log")
computation.compute(jets[:2])
best = float("inf")
for _ in range(3):
    computation = eec.EECLongestSide(3, len(edges) - 1, (edges[0], edges[-1]), "log")
    start = time.process_time()
    computation.compute(jets)
    best = min(best, time.process_time() - start)
print(json.dumps({"seconds_per_jet": best / len(jets), "version": eec.__version__}))
"""


def time_eec(subjets, python: str) -> dict | None:
    """EECLongestSide N = 3 of the ``eec`` package on the same jets, in its own interpreter
    (subjets given as (pT, y, phi): the same triples, histogrammed in Delta R)."""
    if not Path(python).exists():
        print(f"eec reference skipped: no interpreter at {python} (see benchmarks/README.md)")
        return None
    import subprocess
    import tempfile

    flat = ak.flatten(subjets)
    px, py, pz, e = (ak.to_numpy(flat[c]) for c in ("px", "py", "pz", "E"))
    pt = np.hypot(px, py)
    rapidity = 0.5 * np.log((e + pz) / (e - pz))
    pt_y_phi = np.stack([pt, rapidity, np.arctan2(py, px)], axis=1)
    offsets = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(subjets)))])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "jets.npz"
        edges = np.geomspace(1e-3, 1.0, 65)  # in Delta R
        np.savez(path, offsets=offsets, pt_y_phi=pt_y_phi, edges=edges)
        out = subprocess.run(
            [python, "-c", EEC_SCRIPT, str(path)], capture_output=True, text=True, check=True
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def fused(shapes):
    shape_set = ShapeSet.of(shapes)

    def run(jets):
        moments = StreamMoments.zeros(20, len(shape_set), len(FINE_EDGES) - 1)
        ids = np.arange(len(jets), dtype=np.int64)
        eeec_stream(jets, ids, ids % 20, shape_set, moments, 1e-3)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--naive-jets", type=int, default=40)
    parser.add_argument(
        "--eec-python",
        default=str(Path(__file__).resolve().parent.parent / ".venv-eec" / "bin" / "python"),
        help="interpreter of the benchmark-only virtualenv with eec 0.2.0",
    )
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

    compiled = eeec_triplets_compiled(subjets[: args.naive_jets])
    for name in ("zeta1", "zeta2", "zeta3", "weight"):
        np.testing.assert_allclose(compiled[name], kernel[name], rtol=1e-13, atol=1e-16)

    reference = time_eec(subjets, args.eec_python)
    t_longest = time_per_jet(lambda js: eeec_longest_side(js, ZETA3_EDGES), subjets)
    t_fused = {
        "fused_231_shapes": time_per_jet(fused(scan_shapes(ShapeGrid(steps=21))), subjets),
        "fused_420_shapes": time_per_jet(fused(StreamSettings().shape_list()), subjets),
    }
    t_kernel = time_per_jet(eeec_triplets, subjets)
    t_broadcast = time_per_jet(lambda js: [broadcast(p, e) for p, e in js], arrays)
    t_naive = time_per_jet(
        lambda js: [naive_loop(p, e) for p, e in js], arrays[: args.naive_jets], repeat=1
    )
    n_triplets = float(np.mean(counts * (counts - 1) * (counts - 2) / 6))
    result = {
        "eec": reference and reference["version"],
        "timer": "CPU time (process_time), best of 3, compilation excluded",
        "jets": len(arrays),
        "mean_subjets": float(counts.mean()),
        "mean_triplets_per_jet": float(np.mean(counts * (counts - 1) * (counts - 2) / 6)),
        "seconds_per_jet": {
            "eec_longest_side_n3": reference and reference["seconds_per_jet"],
            "compiled_longest_side": t_longest,
            **t_fused,
            "array_kernel": t_kernel,
            "numpy_broadcast": t_broadcast,
            "naive_loop": t_naive,
        },
        "ns_per_triplet": {
            "compiled_longest_side": 1e9 * t_longest / n_triplets,
            "eec_longest_side_n3": reference and 1e9 * reference["seconds_per_jet"] / n_triplets,
        },
        "ratio_to_eec": reference
        and {
            "compiled_longest_side": t_longest / reference["seconds_per_jet"],
            **{k: v / reference["seconds_per_jet"] for k, v in t_fused.items()},
            "array_kernel": t_kernel / reference["seconds_per_jet"],
        },
        "speedup_of_compiled_over_array_kernel": t_kernel / t_longest,
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
