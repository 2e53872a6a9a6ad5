"""What ``obsforge eeec-stream`` prints: the sample's size, its cost and where it lies."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["report_stream"]


def report_stream(result: Any) -> list[str]:
    s = result.numbers
    masses, jets = s["masses"], s["n_jets"]
    disk = sum(p.stat().st_size for p in result.path.iterdir() if p.is_file())
    timing = json.loads((result.path / "timing.json").read_text())
    cpu = timing["cpu_seconds"]
    n_jets, n_triplets = sum(jets), sum(s["n_triplets"])
    return [
        f"{len(masses)} masses in [{min(masses):g}, {max(masses):g}] GeV: {n_jets} jets "
        f"({min(jets)}-{max(jets)} per mass), {n_triplets} triplets streamed, "
        f"{sum(s['n_sample'])} kept in the training subsample",
        f"moments of {len(s['shapes'])} shapes x {len(s['fine_edges']) - 1} zeta1 bins in "
        f"{s['groups']} jet groups per mass",
        f"CPU ({timing['chunks_timed']} of {timing['chunks']} chunks timed): events "
        f"{cpu['events']:.0f} s, jets {cpu['jets']:.0f} s, EEEC kernel {cpu['kernel']:.0f} s; "
        f"on disk: {disk / 1e6:.0f} MB",
        f"stream: {result.path}",
    ]
