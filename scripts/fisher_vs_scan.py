"""Fisher half-widths (``obsforge fisher``) next to the exact-likelihood and NRE HPD half-widths
of a shape scan (``obsforge scan-shapes`` or ``obsforge scan-stream``), shape by shape, with
their rank correlation; for a streamed scan also the exact likelihood of PYTHIA's own
expectation ("moments", no surrogate).

The two need not agree: the Fisher width is the Cramer-Rao bound of the binned zeta1 observable
with the mass dependence of PYTHIA itself (101 masses); the scan's exact likelihood uses the
surrogate's mass dependence and its own bins. Where the scan is narrower than the bound, the
surrogate's slope is steeper than PYTHIA's.

    python scripts/fisher_vs_scan.py --fisher runs/eeec-101/fisher-*/fisher.json \\
        --scan runs/eeec-101/scan-*/scan.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fisher", required=True, type=Path, help="fisher.json")
    parser.add_argument("--scan", required=True, type=Path, help="scan.json")
    args = parser.parse_args()
    try:
        fisher = json.loads(args.fisher.read_text())
        scan = json.loads(args.scan.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        sys.exit(f"fisher_vs_scan: {exc}")
    if fisher["n_jets"] != scan["n_jets"]:
        sys.exit(f"jets differ: fisher {fisher['n_jets']}, scan {scan['n_jets']}; rerun one")
    known = {(round(a, 9), round(b, 9)): i for i, (a, b) in enumerate(fisher["shapes"])}
    methods = [m for m in ("exact", "nre", "moments") if m in scan["hpd95_width"]]
    rows = []
    for j, (n1, n2, _) in enumerate(scan["shapes"]):
        i = known.get((round(n1, 9), round(n2, 9)))
        if i is not None:
            widths = [scan["hpd95_width"][m][j] / 2 for m in methods]
            rows.append((n1, n2, fisher["half_width"][i], *widths))
    if len(rows) < 3:
        sys.exit(f"only {len(rows)} shapes in common; need 3 for a rank correlation")
    table = np.array(rows)
    print(f"95% half-widths in GeV, {scan['n_jets']} jets; {len(rows)} shapes in common")
    print("  shape         Fisher " + " ".join(f"{m:>7}" for m in methods) + "   exact/Fisher")
    named = {tuple(row["shape"]) for row in fisher.get("named", [])}
    best = {int(np.argmin(table[:, k])) for k in range(2, table.shape[1])}
    for r, (n1, n2, f, *widths) in enumerate(rows):
        if len(rows) <= 60 or r in best or (n1, n2) in named or n1 == 1.0:
            line = f"  ({n1:g}, {n2:g})".ljust(14) + f"{f:7.3f} "
            print(line + " ".join(f"{w:7.3f}" for w in widths) + f"   {widths[0] / f:6.3f}")
    for k, name in enumerate(methods, start=3):
        rho = spearmanr(table[:, 2], table[:, k]).statistic
        ratio = np.median(table[:, k] / table[:, 2])
        best_row = rows[int(np.argmin(table[:, k]))]
        print(
            f"{name} vs Fisher: rank correlation {rho:.2f}, median ratio {ratio:.3f}; "
            f"best ({best_row[0]:g}, {best_row[1]:g}) at {best_row[k]:.3f} GeV"
        )


if __name__ == "__main__":
    main()
