"""Leading-order Drell-Yan (pdffit.drell_yan) against PYTHIA 8 with the same PDF and inputs:
p p -> gamma*/Z -> mu+ mu- at 8 TeV in mass windows, without and with lepton cuts; and the
photon-induced gamma gamma -> mu+ mu- (photon PDF of NNPDF3.1 luxQED) inside the cuts.

    python scripts/dy_vs_pythia.py
    python scripts/dy_vs_pythia.py --windows 66 116 500 1500 --events 400000 --pt 25 --eta 2.4
"""

from __future__ import annotations

import argparse

import numpy as np

from obsforge.pdffit.collider import pythia_drell_yan
from obsforge.pdffit.drell_yan import (
    DYInputs,
    LeptonCuts,
    dy_bin_cross_sections,
    photon_bin_cross_sections,
)
from obsforge.pdffit.reference import reference_file, reference_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", nargs="+", type=float, default=[66, 116, 116, 150, 500, 1500])
    parser.add_argument("--sqrt-s", type=float, default=8000.0)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--pt", type=float, default=40.0, help="p_T cut on both muons (GeV)")
    parser.add_argument("--eta", type=float, default=2.5, help="|eta| cut on both muons")
    args = parser.parse_args()
    if len(args.windows) % 2:
        raise SystemExit(f"--windows {args.windows}: needs pairs of masses (low high ...)")
    # PYTHIA fixes alpha at alpha(M_Z); sin^2 theta_W, M_Z, Gamma_Z as PYTHIA's defaults
    inputs = DYInputs(alpha=0.00781751, sin2w=0.2312, m_z=91.188, gamma_z=2.4952)
    cuts = LeptonCuts(args.pt, args.eta)
    grid = reference_grid()
    print(f"{'window [GeV]':>14} {'PYTHIA [pb]':>20} {'ours':>11} {'ratio':>7} "
          f"{'PYTHIA, cuts':>20} {'ours, cuts':>11} {'ratio':>7}")  # fmt: skip
    for low, high in zip(args.windows[::2], args.windows[1::2], strict=True):
        p = pythia_drell_yan(reference_file(), args.sqrt_s, (low, high), cuts, inputs,
                             args.events)  # fmt: skip
        bins = np.array([[low, high]]), np.array([[-10.0, 10.0]])
        total = dy_bin_cross_sections(grid.xfxq, *bins, args.sqrt_s, LeptonCuts(), inputs)[0]
        fiducial = dy_bin_cross_sections(grid.xfxq, *bins, args.sqrt_s, cuts, inputs)[0]
        s, e = p["sigma_pb"], p["sigma_err_pb"]
        fs = s * p["fraction"]
        fe = np.hypot(e * p["fraction"], s * p["fraction_err"])
        print(f"{low:6.0f}-{high:<7.0f} {s:11.4g} +- {e:<6.2g} {total:11.4g} {total / s:7.4f} "
              f"{fs:11.4g} +- {fe:<6.2g} {fiducial:11.4g} {fiducial / fs:7.4f}")  # fmt: skip
    print(f"gamma gamma -> mu mu inside the cuts: {'PYTHIA [pb]':>20} {'ours':>11} {'ratio':>7}")
    for low, high in zip(args.windows[::2], args.windows[1::2], strict=True):
        p = pythia_drell_yan(reference_file(), args.sqrt_s, (low, high), cuts, inputs,
                             args.events, photon=True)  # fmt: skip
        bins = np.array([[low, high]]), np.array([[-10.0, 10.0]])
        ours = photon_bin_cross_sections(grid.xfxq, *bins, args.sqrt_s, cuts, inputs.alpha)[0]
        fs = p["sigma_pb"] * p["fraction"]
        fe = np.hypot(p["sigma_err_pb"] * p["fraction"], p["sigma_pb"] * p["fraction_err"])
        print(f"{low:6.0f}-{high:<7.0f} {'':29} {fs:11.4g} +- {fe:<6.2g} {ours:11.4g} "
              f"{ours / fs:7.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
