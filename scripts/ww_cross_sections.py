"""sigma(e+e- -> W+W-): obsforge's on-shell Born cross section against PYTHIA 8's
``WeakDoubleBoson:ffbar2WW`` (Breit-Wigner W line shapes) with the same electroweak inputs.

    python scripts/ww_cross_sections.py --energies 200 240 --pythia-events 20000

Prints one line per energy: PYTHIA's sigma with its error, ours with its error, and the ratio.
"""

from __future__ import annotations

import argparse

import pythia8mc

from obsforge.events.ww import WWConfig, born_cross_section, pythia_ww_settings

# PYTHIA's own electroweak inputs (alpha(M_Z) as PYTHIA uses it at these energies).
INPUTS = {"m_w": 80.385, "alpha": 7.830e-3, "sin2w": 0.2312}


def pythia_sigma(sqrt_s: float, events: int) -> tuple[float, float]:
    """PYTHIA's estimated cross section and its error in pb."""
    pythia = pythia8mc.Pythia("", False)
    for line in [*pythia_ww_settings(sqrt_s, resonance_decays=False), "Random:setSeed = on",
                 "Random:seed = 7"]:  # fmt: skip
        pythia.readString(line)
    pythia.init()
    for _ in range(events):
        pythia.next()
    info = pythia.infoPython()
    return info.sigmaGen() * 1e9, info.sigmaErr() * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--energies", type=float, nargs="+", default=[200.0, 240.0])
    parser.add_argument("--pythia-events", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=400_000, help="our phase-space points")
    args = parser.parse_args()
    for sqrt_s in args.energies:
        reference, reference_err = pythia_sigma(sqrt_s, args.pythia_events)
        ours, ours_err = born_cross_section(WWConfig(sqrt_s=sqrt_s, inputs=INPUTS), n=args.samples)
        print(
            f"sqrt(s) = {sqrt_s:g} GeV: PYTHIA {reference:.2f} +- {reference_err:.2f} pb, "
            f"obsforge (on shell) {ours:.2f} +- {ours_err:.2f} pb, "
            f"ours / PYTHIA - 1 = {100 * (ours / reference - 1):.1f} %"
        )


if __name__ == "__main__":
    main()
