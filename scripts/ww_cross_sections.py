"""sigma(e+e- -> W+W-): obsforge against PYTHIA 8's ``WeakDoubleBoson:ffbar2WW`` (Breit-Wigner
W line shapes) with the same electroweak inputs: on shell, off shell, and off shell with ISR
(PYTHIA with ``PDF:lepton = on`` at Q^2 = s_hat).

    python scripts/ww_cross_sections.py --energies 161 240 365 --pythia-events 200000

Prints one line per energy and setting: PYTHIA's sigma with its error, ours with its error
(the spread of ``--seeds`` independent estimates: the off-shell weights are heavy-tailed, so
their naive error is too small), and the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pythia8mc

from obsforge.events.ww import WWConfig, born_cross_section, pythia_ww_settings

# PYTHIA's own electroweak inputs (alpha(M_Z) as PYTHIA uses it at these energies).
INPUTS = {"m_w": 80.385, "alpha": 7.830e-3, "sin2w": 0.2312}


def pythia_sigma(sqrt_s: float, events: int, isr: bool) -> tuple[float, float, float]:
    """PYTHIA's estimated cross section and its error in pb, and the seconds it took."""
    pythia = pythia8mc.Pythia("", False)
    for line in [*pythia_ww_settings(sqrt_s, resonance_decays=False, isr=isr),
                 "Random:setSeed = on", "Random:seed = 7", "Next:numberCount = 0"]:  # fmt: skip
        pythia.readString(line)
    pythia.init()
    start = time.perf_counter()
    pythia.nextBatch(events, "fail")
    info = pythia.infoPython()
    return info.sigmaGen() * 1e9, info.sigmaErr() * 1e9, time.perf_counter() - start


def ours(config: WWConfig, samples: int, seeds: int) -> tuple[float, float]:
    values = [born_cross_section(config, n=samples, seed=seed)[0] for seed in range(seeds)]
    return float(np.mean(values)), float(np.std(values, ddof=1) / np.sqrt(seeds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--energies", type=float, nargs="+", default=[161.0, 240.0, 365.0])
    parser.add_argument("--pythia-events", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=200_000, help="our points per seed")
    parser.add_argument("--seeds", type=int, default=4, help="independent estimates of ours")
    args = parser.parse_args()
    if args.seeds < 2:
        raise SystemExit(f"--seeds {args.seeds}: need at least 2 for an error")
    for sqrt_s in args.energies:
        for isr in (False, True):
            reference, reference_err, _ = pythia_sigma(sqrt_s, args.pythia_events, isr)
            settings = [("off shell", {"off_shell": True})]
            if not isr and sqrt_s > 2 * INPUTS["m_w"]:
                settings.insert(0, ("on shell", {}))
            for name, options in settings:
                config = WWConfig(sqrt_s=sqrt_s, inputs=INPUTS, isr=isr, **options)
                value, error = ours(config, args.samples, args.seeds)
                print(
                    f"sqrt(s) = {sqrt_s:g} GeV, {'ISR' if isr else 'no ISR'}: PYTHIA "
                    f"{reference:.3f} +- {reference_err:.3f} pb, obsforge ({name}) {value:.3f} "
                    f"+- {error:.3f} pb, ours / PYTHIA - 1 = {100 * (value / reference - 1):+.2f}"
                    f" +- {100 * np.hypot(error, reference_err) / reference:.2f} %",
                    flush=True,
                )


if __name__ == "__main__":
    main()
