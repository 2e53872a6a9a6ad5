"""Fisher half-widths (``obsforge fisher``) next to the exact-likelihood and NRE HPD half-widths
of a shape scan (``obsforge scan-shapes``), shape by shape, with their rank correlation.

The two need not agree: the Fisher width is the Cramer-Rao bound of the binned zeta1 observable
with the mass dependence of PYTHIA itself (101 masses); the scan's exact likelihood uses the
surrogate's mass dependence and its own bins. Where the scan is narrower than the bound, the
surrogate's slope is steeper than PYTHIA's.

    python scripts/fisher_vs_scan.py --fisher runs-bench/eeec-101/fisher-*/fisher.json \\
        --scan runs/demo/scan-*/scan.json
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
    rows = []
    for j, (n1, n2, _) in enumerate(scan["shapes"]):
        i = known.get((round(n1, 9), round(n2, 9)))
        if i is not None:
            exact = scan["hpd95_width"]["exact"][j] / 2
            nre = scan["hpd95_width"]["nre"][j] / 2
            rows.append((n1, n2, fisher["half_width"][i], exact, nre))
    if len(rows) < 3:
        sys.exit(f"only {len(rows)} shapes in common; need 3 for a rank correlation")
    table = np.array(rows)
    print(f"95% half-widths in GeV, {scan['n_jets']} jets; {len(rows)} shapes in common")
    print("  shape         Fisher   exact    NRE    exact/Fisher")
    for n1, n2, f, e, n in rows:
        print(f"  ({n1:g}, {n2:g})".ljust(14) + f"{f:7.3f} {e:7.3f} {n:7.3f}   {e / f:6.3f}")
    for k, name in ((3, "exact"), (4, "NRE")):
        rho = spearmanr(table[:, 2], table[:, k]).statistic
        ratio = np.median(table[:, k] / table[:, 2])
        print(f"{name} vs Fisher: rank correlation {rho:.2f}, median ratio {ratio:.3f}")


if __name__ == "__main__":
    main()
