"""Throughput of the e+e- -> WW -> l nu q q' event generation and Fisher accumulation.

Ours: weighted events with the full |A(theta)|^2 = c0 + c1.theta + theta.c2.theta for the three
LEP couplings (helicity amplitudes, numpy, one process), then the optimal observables and the
streaming Fisher sums. Reference in the same run: PYTHIA 8 `WeakDoubleBoson:ffbar2WW` (lepton
PDFs, showers and hadronisation off, W decays on), i.e. the SM hard process and its decays only,
unweighted. The time for 1e8 events is extrapolated from the measured chunk rate (chunks are
independent; Dask spreads them over workers). Result: benchmarks/results/ww.json.

    python benchmarks/bench_ww.py [--events 500000] [--pythia-events 20000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from obsforge.atomic import atomic_write_json
from obsforge.events.ww import WWConfig, generate_ww, pythia_ww_settings
from obsforge.observables.fisher import FisherAccumulator, optimal_observables

RESULTS = Path(__file__).parent / "results"


def pythia_rate(n: int) -> float:
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in pythia_ww_settings(240.0):
        pythia.readString(line)
    pythia.init()
    start = time.perf_counter()
    for _ in range(n):
        pythia.next()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000, help="per chunk")
    parser.add_argument("--pythia-events", type=int, default=20_000)
    args = parser.parse_args()
    config = WWConfig()
    generate_ww(10_000, config, seed=0)  # warm-up
    start = time.perf_counter()
    events = generate_ww(args.events, config, seed=1)
    t_generate = time.perf_counter() - start
    start = time.perf_counter()
    alpha = optimal_observables(events["c0"], events["c1"])
    accumulator = FisherAccumulator(alpha.shape[1]).add(alpha, events["weight"])
    t_fisher = time.perf_counter() - start
    assert accumulator.events == args.events
    ours = args.events / t_generate
    reference = pythia_rate(args.pythia_events)
    result = {
        "events": args.events,
        "generate_events_per_s": ours,
        "fisher_events_per_s": args.events / t_fisher,
        "pythia_ffbar2WW_events_per_s": reference,
        "ours_over_pythia": ours / reference,
        "hours_for_1e8_one_process": 1e8 * (t_generate + t_fisher) / args.events / 3600,
    }
    RESULTS.mkdir(exist_ok=True)
    atomic_write_json(RESULTS / "ww.json", result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
