"""Training throughput of the EEEC density models (samples/s, forward + backward + AdamW step).

Flow (nflows MAF with RQ splines, the default architecture) and MLP surrogate, at two batch
sizes, on the CPU with 1 and 2 threads, and on CUDA when a GPU is present, all in one run.
Result: benchmarks/results/density_training.json (or --output).

    python benchmarks/bench_density_training.py [--samples 65536]
    python benchmarks/bench_density_training.py --architecture reference --samples 16384 \
        --output density_training_reference.json

``--architecture reference``: the models of arXiv:2508.10988 (flow: 10 RQS transforms, 200
units, 40 bins, tails at +-14, batch norm, random permutations; MLP: 7 x 256 ReLU).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from obsforge.atomic import atomic_write_json
from obsforge.density import ConditionalFlow, DensityMLP, FlowConfig, MLPConfig

RESULTS = Path(__file__).parent / "results"
ARCHITECTURES = {
    "default": (FlowConfig(), MLPConfig()),
    "reference": (
        FlowConfig(layers=10, hidden=200, bins=40, tail_bound=14.0, permutation="random",
                   batch_norm=True),
        MLPConfig(layers=7, hidden=256, activation="relu"),
    ),
}  # fmt: skip


def samples_per_second(model, device: torch.device, batch_size: int, n_samples: int) -> float:
    model.to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    y = torch.randn(n_samples, 3, device=device)
    c = torch.rand(n_samples, 1, device=device) * 2 - 1
    w = torch.rand(n_samples, device=device)

    def epoch() -> None:
        for start in range(0, n_samples, batch_size):
            sl = slice(start, start + batch_size)
            loss = model.loss(y[sl], c[sl], w[sl])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    epoch()  # warm-up
    start = time.perf_counter()
    epoch()
    return n_samples / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=65_536)
    parser.add_argument("--batch-sizes", default="1024,4096", help="comma-separated")
    parser.add_argument("--output", default="density_training.json", help="file in results/")
    parser.add_argument("--architecture", choices=sorted(ARCHITECTURES), default="default")
    args = parser.parse_args()
    targets = [("cpu", 1), ("cpu", 2)] + ([("cuda", 0)] if torch.cuda.is_available() else [])
    rows = []
    flow_config, mlp_config = ARCHITECTURES[args.architecture]
    for kind, make in (
        ("flow", lambda: ConditionalFlow(flow_config)),
        ("mlp", lambda: DensityMLP(mlp_config)),
    ):
        for batch_size in map(int, args.batch_sizes.split(",")):
            for device_name, threads in targets:
                if threads:
                    torch.set_num_threads(threads)
                torch.manual_seed(0)
                rate = samples_per_second(
                    make(), torch.device(device_name), batch_size, args.samples
                )
                rows.append(
                    {
                        "model": kind,
                        "batch_size": batch_size,
                        "device": device_name,
                        "threads": threads,
                        "samples_per_s": rate,
                    }
                )
                print(json.dumps(rows[-1]))
    result = {
        "rows": rows,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available",
        "torch": torch.__version__,
        "architecture": args.architecture,
    }
    atomic_write_json(RESULTS / args.output, result)


if __name__ == "__main__":
    main()
