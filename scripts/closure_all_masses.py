"""Closure of trained EEEC surrogates at every mass, and the global chi2 over masses and shapes.

    python scripts/closure_all_masses.py runs/eeec-16k/density-<hash> [more density folders]

Reads each density stage's model and the held-out triplets of the ``density-data`` stage it was
trained from (test jets at training masses, all jets at held-out masses), and prints
chi2/ndf per (mass, shape) and the total chi2 with its p-value. The shapes overlap (the same
triplets enter several bands), so the per-shape chi2 values are correlated.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats

from obsforge.density import EEECSurrogate
from obsforge.density.closure import ClosureConfig, closure_at_mass


def closure_table(density_dir: Path, n_samples: int) -> list[dict]:
    config = json.loads((density_dir / "config.json").read_text())
    data_dir = next(density_dir.parent.glob(f"density-data-{config['upstream'][0]}"))
    data = np.load(data_dir / "data.npz")
    data_manifest = json.loads((data_dir / "manifest.json").read_text())
    data_config = json.loads((data_dir / "config.json").read_text())["config"]
    totals = {row["m_top"]: row["weight"] for row in data_manifest["summary"]["test_total_weight"]}
    closure = data_config["closure"]
    surrogate = EEECSurrogate.load(density_dir / "model.pt")
    settings = ClosureConfig(**{**closure, "n_samples": n_samples})
    rows = []
    for m_top in sorted(totals):
        role = "trained" if m_top in surrogate.masses else "held out"
        for row in closure_at_mass(surrogate, data, totals[m_top], settings, m_top):
            rows.append({**row, "role": role})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("density_dirs", nargs="+", type=Path)
    parser.add_argument("--samples", type=int, default=2_000_000)
    args = parser.parse_args()
    for density_dir in args.density_dirs:
        rows = closure_table(density_dir, args.samples)
        chi2, ndf = sum(r["chi2"] for r in rows), sum(r["ndf"] for r in rows)
        kind = json.loads((density_dir / "config.json").read_text())["config"]["model"]
        print(
            f"{density_dir} ({kind}): total chi2 = {chi2:.1f} / {ndf}, "
            f"p = {stats.chi2.sf(chi2, ndf):.2g}"
        )
        for m_top in sorted({r["m_top"] for r in rows}):
            cells = [r for r in rows if r["m_top"] == m_top]
            text = "  ".join(
                f"({r['shape'][0]:g},{r['shape'][1]:g}) {r['chi2'] / r['ndf']:.2f}" for r in cells
            )
            print(f"  m_top = {m_top:g} ({cells[0]['role']}): {text}")


if __name__ == "__main__":
    main()
