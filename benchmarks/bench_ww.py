"""Throughput of the e+e- -> WW -> l nu q q' event generation and Fisher accumulation.

Ours: weighted events with the full |A(theta)|^2 = c0 + c1.theta + theta.c2.theta for the three
LEP couplings (helicity amplitudes, numpy, one process), then the optimal observables and the
streaming Fisher sums. Reference in the same run: PYTHIA 8 `WeakDoubleBoson:ffbar2WW` (lepton
PDFs, showers and hadronisation off, W decays on), i.e. the SM hard process and its decays only,
unweighted. Both for the ideal limit (on-shell W's, no ISR) and for the realistic generator
(off-shell W pairs, ISR, 0.1% beam-energy spread), against PYTHIA without and with its lepton
PDFs. The time for 1e8 events is extrapolated from the measured chunk rate (chunks are
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


def pythia_rate(n: int, isr: bool) -> float:
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in [*pythia_ww_settings(240.0, isr=isr), "Next:numberCount = 0"]:
        pythia.readString(line)
    pythia.init()
    start = time.perf_counter()
    pythia.nextBatch(n, "fail")
    return n / (time.perf_counter() - start)


def measure(config: WWConfig, events: int) -> dict:
    """Generation and Fisher-accumulation rates of one chunk of ``events``."""
    generate_ww(events, config, seed=0)  # warm-up: the first chunk also pays for the page faults
    start = time.perf_counter()
    sample = generate_ww(events, config, seed=1)
    t_generate = time.perf_counter() - start
    start = time.perf_counter()
    alpha = optimal_observables(sample["c0"], sample["c1"])
    accumulator = FisherAccumulator(alpha.shape[1]).add(alpha, sample["weight"])
    t_fisher = time.perf_counter() - start
    assert accumulator.events == events
    return {
        "generate_events_per_s": events / t_generate,
        "fisher_events_per_s": events / t_fisher,
        "hours_for_1e8_one_process": 1e8 * (t_generate + t_fisher) / events / 3600,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000, help="per chunk")
    parser.add_argument("--pythia-events", type=int, default=20_000)
    args = parser.parse_args()
    result: dict = {"events": args.events}
    realistic = WWConfig(off_shell=True, isr=True, beam_energy_spread=1e-3)
    for name, config in (("ideal", WWConfig()), ("realistic", realistic)):
        ours = measure(config, args.events)
        reference = pythia_rate(args.pythia_events, isr=config.isr)
        result[name] = {**ours, "pythia_ffbar2WW_events_per_s": reference,
                        "ours_over_pythia": ours["generate_events_per_s"] / reference}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    atomic_write_json(RESULTS / "ww.json", result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
