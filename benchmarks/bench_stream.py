"""The streamed EEEC sample at the reference's scale: wall time, peak memory and disk.

Runs ``obsforge eeec-stream`` as a child process (a fresh run folder unless --runs-dir points at
one to resume) and samples, once a second, the resident memory of the whole process tree (the
command, the Dask scheduler, nannies and workers). Writes benchmarks/results/stream.json.

    python benchmarks/bench_stream.py --config eeec-101 [--runs-dir runs-bench] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import psutil

from obsforge.atomic import atomic_write_json

RESULTS = Path(__file__).parent / "results"


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="eeec-101")
    parser.add_argument("--runs-dir", default="runs-bench")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--output", default=str(RESULTS / "stream.json"))
    args = parser.parse_args()

    command = [
        sys.executable, "-m", "obsforge.cli", "eeec-stream", "--config", args.config,
        "--set", f"runs_dir={args.runs_dir}",
        *[x for o in args.overrides for x in ("--set", o)],
    ]  # fmt: skip
    start = time.perf_counter()
    child = subprocess.Popen(command)
    process, peak, samples = psutil.Process(child.pid), 0, []
    while child.poll() is None:
        rss = tree_rss(process)
        peak = max(peak, rss)
        samples.append(round(rss / 1e6))
        time.sleep(1.0)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        sys.exit(f"obsforge eeec-stream failed with status {child.returncode}")
    folders = sorted(Path(args.runs_dir).glob("*/eeec-stream-*"), key=os.path.getmtime)
    disk = sum(p.stat().st_size for p in folders[-1].iterdir() if p.is_file())
    result = {
        "config": args.config,
        "overrides": args.overrides,
        "run": str(folders[-1]),
        "wall_seconds": round(wall, 1),
        "peak_rss_mb": round(peak / 1e6),
        "rss_mb_every_10s": samples[::10],
        "disk_mb": round(disk / 1e6),
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    atomic_write_json(Path(args.output), result)
    print(
        f"wall {wall / 60:.1f} min, peak memory {peak / 1e9:.2f} GB (process tree), "
        f"disk {disk / 1e9:.2f} GB: {args.output}"
    )


if __name__ == "__main__":
    main()
