"""Two PDF fits side by side at Q0: x f of ubar, dbar, g, u_v and d_v at the grid points with
0.01 < x < 0.75 (mean and standard deviation over each fit's kept replicas, and the shift of
the second in units of the first's standard deviation), their chi2/N per dataset, and a plot
of both bands relative to the first fit's mean. For the fit with Drell-Yan against DIS
alone, and for the contamination test (a closure fit to pseudo-data with a contact term
against the same closure without it).

    python scripts/compare_pdf_fits.py RUN_A RUN_B --labels "DIS" "DIS + DY" \\
        --output docs/figures/pdffit_dy_vs_dis

RUN_A and RUN_B are run folders of `obsforge pdffit` (runs/NAME/pdffit-HASH).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from obsforge.pdffit.flavours import flavour_row
from obsforge.pdffit.validation import flavour_xf
from obsforge.scripting import report_errors

FLAVOURS = {"ubar": -2, "dbar": -1, "g": 21}


def pdfs(folder: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """x and x f (R, n_x) per flavour at Q0 of a fit's kept replicas."""
    path = folder / "replicas_q0.npz"
    if not path.exists():
        raise FileNotFoundError(f"{path}: not a finished pdffit run folder")
    with np.load(path, allow_pickle=False) as data:
        x, f_evol = data["x"], data["f_evol"]
    xf = flavour_xf(x, f_evol)
    out = {name: xf[:, flavour_row(pid)] for name, pid in FLAVOURS.items()}
    out["u_v"] = xf[:, flavour_row(2)] - xf[:, flavour_row(-2)]
    out["d_v"] = xf[:, flavour_row(1)] - xf[:, flavour_row(-1)]
    return x, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs=2, type=Path, help="two run folders")
    parser.add_argument("--labels", nargs=2, default=("A", "B"))
    parser.add_argument("--output", type=Path, help="plot file (without suffix)")
    args = parser.parse_args()
    (x, a), (x_b, b) = pdfs(args.runs[0]), pdfs(args.runs[1])
    if not np.allclose(x, x_b):
        raise ValueError("the two fits have different x grids")
    rows = (x > 0.01) & (x < 0.75)
    print(f"x f at Q0, {args.labels[0]} -> {args.labels[1]}: mean +- std, shift / std_A")
    for name in a:
        print(f"  x {name}")
        for i in np.flatnonzero(rows):
            ma, sa, mb, sb = a[name][:, i].mean(), a[name][:, i].std(), b[name][:, i].mean(), \
                b[name][:, i].std()  # fmt: skip
            print(f"    x = {x[i]:.3f}: {ma:.4f} +- {sa:.4f} -> {mb:.4f} +- {sb:.4f} "
                  f"({(mb - ma) / sa:+.1f})")  # fmt: skip
    chi2 = [{r["dataset"]: r for r in json.loads((f / "fit.json").read_text())["chi2"]}
            for f in args.runs]  # fmt: skip
    print(f"chi2/N (central; reference) {args.labels[0]} | {args.labels[1]}")
    for name in dict.fromkeys([*chi2[0], *chi2[1]]):
        cells = [f"{c[name]['chi2_central']:.3f}; {c[name]['chi2_reference']:.3f}"
                 if name in c else "-" for c in chi2]  # fmt: skip
        print(f"  {name:28s} {cells[0]:>14s} | {cells[1]:>14s}")
    if args.output:
        from obsforge.plotting import new_figure, save_figure

        fig, axes = new_figure(ncols=len(a), figsize=(4 * len(a), 3.8), squeeze=False)
        region = (x > 1e-3) & (x < 0.8)
        for ax, name in zip(axes[0], a, strict=True):
            scale = a[name][:, region].mean(0)
            for values, label in ((a[name], args.labels[0]), (b[name], args.labels[1])):
                lo, hi = np.percentile(values[:, region] / scale, [16, 84], axis=0)
                ax.fill_between(x[region], lo, hi, alpha=0.4, label=f"{label} (68%)")
            ax.set_xscale("log")
            ax.set_xlabel("x")
            ax.set_title(f"x {name} at Q0, / {args.labels[0]} mean", fontsize=11)
        axes[0, 0].legend(fontsize=9)
        save_figure(fig, args.output)
        print(f"plot: {args.output}")


if __name__ == "__main__":
    raise SystemExit(report_errors(main, name="compare_pdf_fits"))
