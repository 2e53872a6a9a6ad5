"""e+e- -> W+W- -> l nu q q' at a Higgs factory as PYTHIA 8 simulates it, with its backgrounds.

Processes (PYTHIA 8.3 process switches; ISR from the electron structure function,
``PDF:lepton = on``, final-state showers, hadronisation and hadron decays on):

=========  ===========================================  ==========================================
name       PYTHIA                                       what it is here
=========  ===========================================  ==========================================
ww         ``WeakDoubleBoson:ffbar2WW``                 W pairs; the l nu q q' (l = e, mu) events
                                                        are signal (``truth``), the rest (tau nu q
                                                        q', fully hadronic, fully leptonic)
                                                        background
zz         ``ffbar2gmZgmZ``, ``WeakZ0:gmZmode = 2``     Z pairs, all decays
ffbar      ``WeakSingleBoson:ffbar2gmZ``                q qbar (gamma) and l l (gamma): s-channel
                                                        gamma*/Z with ISR, radiative return
zh         ``HiggsSM:ffbar2HZ``                         Higgsstrahlung, all decays
=========  ===========================================  ==========================================

The signal is the l nu q q' part of ``ww``. Its hard-process momenta (:func:`hard_momenta`)
give the analytic amplitudes of :mod:`obsforge.events.ww` and so the score of every PYTHIA
event, while its hadrons go through the detector and the selection.

PYTHIA has no e+e- -> e nu W (single W; a four-fermion process that needs a generator such as
WHIZARD), so it is not among them. Events are visible final states
(:func:`obsforge.events.pythia.visible_particles`) with PYTHIA's cross section; each sample
is a fixed seed, so a background is reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import awkward as ak
import numpy as np

from obsforge.events.pythia import derive_seed, pythia_batches, seed_settings, visible_particles

__all__ = [
    "PROCESSES",
    "background_batches",
    "background_settings",
    "hard_momenta",
    "semileptonic_truth",
]

PROCESSES: dict[str, list[str]] = {
    "ww": ["WeakDoubleBoson:ffbar2WW = on"],
    "zz": ["WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 2"],
    "ffbar": ["WeakSingleBoson:ffbar2gmZ = on"],
    "zh": ["HiggsSM:ffbar2HZ = on"],
}


def _check(process: str) -> None:
    if process not in PROCESSES:
        raise ValueError(f"process = {process!r}: allowed are {sorted(PROCESSES)}")


def background_settings(process: str, sqrt_s: float, seed: int) -> list[str]:
    """PYTHIA settings for ``process`` (a key of :data:`PROCESSES`) in e+e- at ``sqrt_s``, with
    ISR at Q^2 = s_hat (as :mod:`obsforge.events.ww_beams`), showers and hadronisation. No beam
    energy spread: with ``Beams:allowMomentumSpread`` PYTHIA 8.317 reports a W-pair cross
    section a third too small (10.9 pb instead of 16.3 pb at 240 GeV with a 0.1% spread)."""
    _check(process)
    return [
        "Beams:idA = 11",
        "Beams:idB = -11",
        f"Beams:eCM = {sqrt_s!r}",
        "PDF:lepton = on",
        "SigmaProcess:factorScale2 = 4",
        *PROCESSES[process],
        *seed_settings(seed),
    ]


def semileptonic_truth(batch: Any) -> np.ndarray:
    """(B,) bool: the hard process is l nu q q' with l = e or mu (one such lepton and two quarks
    among PYTHIA's outgoing hard-process particles, |status| = 23)."""
    hard = abs(batch.prt.id[abs(batch.prt.status) == 23])
    leptons = ak.sum((hard == 11) | (hard == 13), axis=1)
    quarks = ak.sum(hard <= 5, axis=1)
    return np.asarray((leptons == 1) & (quarks == 2))


def background_batches(
    process: str,
    n_events: int,
    sqrt_s: float,
    seed: int,
    info: dict[str, Any],
    batch_size: int = 20_000,
) -> Iterator[tuple[Any, ak.Array, np.ndarray]]:
    """``n_events`` PYTHIA events of ``process`` in batches of at most ``batch_size`` (memory
    bounded by a batch): (the PYTHIA batch, its visible particles, the semileptonic truth (B,),
    false outside ``ww``) per batch. ``info`` gets PYTHIA's cross section (``sigma_pb``,
    ``sigma_err_pb``) after the last batch. The PYTHIA seed is derived from ``seed`` and the
    process."""
    _check(process)
    pythia_seed = derive_seed(seed, sorted(PROCESSES).index(process))
    settings = background_settings(process, sqrt_s, pythia_seed)
    for batch in pythia_batches(settings, n_events, batch_size, info):
        truth = semileptonic_truth(batch) if process == "ww" else np.zeros(len(batch), bool)
        yield batch, visible_particles(batch), truth


def _massless(p: np.ndarray) -> np.ndarray:
    out = p.copy()
    out[:, 0] = np.linalg.norm(p[:, 1:], axis=1)
    return out


def hard_momenta(batch: Any) -> dict[str, np.ndarray]:
    """The hard process of PYTHIA W-pair events as :func:`obsforge.events.ww.amplitudes` reads
    it: the incoming ``electron``, ``positron`` (after ISR), ``f1``, ``fbar2`` from the W- and
    ``f3``, ``fbar4`` from the W+ (fermion: PDG id > 0), and ``w_minus`` = f1 + fbar2,
    ``w_plus`` = f3 + fbar4; (B, 4) each, (E, px, py, pz) in the lab; and ``leptonic_minus``
    (B,) bool, the W- decayed to leptons (for :func:`obsforge.events.ww.swap_quarks`). Fermion
    masses (c, b, mu) are dropped (E = |p|), as the amplitudes are for massless fermions."""
    prt = batch.prt

    def four(rows) -> np.ndarray:
        p = rows.p
        return _massless(
            np.stack([np.asarray(ak.firsts(p[k])) for k in ("e", "px", "py", "pz")], 1)
        )

    incoming = prt[prt.status == -21]
    out = {
        "electron": four(incoming[incoming.id == 11]),
        "positron": four(incoming[incoming.id == -11]),
    }
    parent = prt.id[prt.mother1]
    outgoing = abs(prt.status) == 23
    for name, w, sign in (("f1", -24, 1), ("fbar2", -24, -1), ("f3", 24, 1), ("fbar4", 24, -1)):
        out[name] = four(prt[outgoing & (parent == w) & (np.sign(prt.id) == sign)])
    f1_id = abs(prt.id[outgoing & (parent == -24) & (prt.id > 0)])
    out["leptonic_minus"] = np.asarray(ak.fill_none(ak.firsts(f1_id), 0) >= 11)
    out["w_minus"] = out["f1"] + out["fbar2"]
    out["w_plus"] = out["f3"] + out["fbar4"]
    return out
