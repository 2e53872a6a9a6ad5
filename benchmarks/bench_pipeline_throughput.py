"""Throughput of the top-jet EEEC pipeline (PYTHIA + fastjet + EEEC + parquet) in events/s.

The same study runs three times in one process, each into a fresh run folder: inline (no Dask,
the baseline), and on a Dask LocalCluster with 1 and with 2 worker processes. The result, with
ratios to the inline baseline, is written to benchmarks/results/pipeline_throughput.json.

    python benchmarks/bench_pipeline_throughput.py [--events-per-mass 2000] [--chunk-size 500]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from obsforge.atomic import atomic_write_json
from obsforge.config import validate_config
from obsforge.parallel import Execution
from obsforge.top_eeec import TopEEECStudy, run_eeec, run_top_jets

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-mass", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=500)
    args = parser.parse_args()

    masses = [170.0, 175.0]
    n_events = len(masses) * args.events_per_mass
    rows = {}
    for label, workers in (("inline", 0), ("dask_1_worker", 1), ("dask_2_workers", 2)):
        with tempfile.TemporaryDirectory() as runs:
            study = validate_config(
                TopEEECStudy,
                {
                    "name": "bench",
                    "runs_dir": runs,
                    "top_jets": {
                        "masses": masses,
                        "events_per_mass": args.events_per_mass,
                        "chunk_size": args.chunk_size,
                    },
                },
            )
            execution = Execution(workers=workers)
            start = time.perf_counter()
            run_top_jets(study, execution)
            generated = time.perf_counter()
            run_eeec(study, execution)
            done = time.perf_counter()
        rows[label] = {
            "workers": workers,
            "generation_events_per_s": n_events / (generated - start),
            "jets_eeec_events_per_s": n_events / (done - generated),
            "total_events_per_s": n_events / (done - start),
        }
        print(label, json.dumps(rows[label]))
    base = rows["inline"]["total_events_per_s"]
    for row in rows.values():
        row["speedup_vs_inline"] = row["total_events_per_s"] / base
    result = {
        "events": n_events,
        "chunk_size": args.chunk_size,
        "cpu_count": os.cpu_count(),
        "runs": rows,
    }
    atomic_write_json(RESULTS / "pipeline_throughput.json", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
