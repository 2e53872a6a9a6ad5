"""Running PYTHIA 8 (``pythia8mc``) in batches: settings, seeds, the batch and its cross section.

Every generator in :mod:`obsforge.events` goes through :func:`run_pythia`, so the seed rules,
the error on a refused setting and the cross-section bookkeeping are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import awkward as ak
import numpy as np

__all__ = [
    "MAX_PYTHIA_SEED",
    "check_settings",
    "derive_seed",
    "pythia_batches",
    "run_pythia",
    "seed_settings",
    "visible_particles",
]

NEUTRINOS = (12, 14, 16)

MAX_PYTHIA_SEED = 900_000_000  # PYTHIA accepts Random:seed in [0, 900000000]
MILLIBARN_TO_PICOBARN = 1e9


def seed_settings(seed: int) -> list[str]:
    """PYTHIA settings that fix the random stream (and silence the banner and counters)."""
    if not 0 <= seed <= MAX_PYTHIA_SEED:
        raise ValueError(f"seed = {seed}: PYTHIA allows 0 <= seed <= {MAX_PYTHIA_SEED}")
    return [
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Print:quiet = on",
        "Next:numberCount = 0",
    ]


def derive_seed(*entropy: int) -> int:
    """A PYTHIA seed derived from integers with numpy's SeedSequence: distinct tuples give
    statistically independent streams, the same tuple always the same seed."""
    state = np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0]
    return int(state) % MAX_PYTHIA_SEED + 1


def check_settings(settings: list[str]) -> list[str]:
    """``settings`` if PYTHIA accepts every one of them, else ValueError naming the first it
    refuses (checked on a fresh instance, PYTHIA's own messages silenced)."""
    import contextlib
    import os

    import pythia8mc

    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        pythia = pythia8mc.Pythia("", False)
    for setting in settings:
        fd = os.dup(1)  # PYTHIA prints from C++: silence the process's stdout itself
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                accepted = pythia.readString(setting)
        finally:
            os.dup2(fd, 1)
            os.close(fd)
        if not accepted:
            raise ValueError(
                f"PYTHIA setting {setting!r} is not accepted (unknown key or invalid value); "
                "allowed: 'Key = value' lines of the PYTHIA 8.3 manual"
            )
    return settings


def _initialised(settings: list[str]) -> Any:
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for setting in settings:
        if not pythia.readString(setting):
            raise RuntimeError(f"PYTHIA refused the setting {setting!r}")
    if not pythia.init():
        raise RuntimeError(f"PYTHIA failed to initialise with settings {settings}")
    return pythia


def _cross_section(pythia: Any) -> dict[str, Any]:
    info = pythia.infoPython()
    codes = [int(c) for c in info.codesHard()]
    return {
        "sigma_pb": info.sigmaGen() * MILLIBARN_TO_PICOBARN,
        "sigma_err_pb": info.sigmaErr() * MILLIBARN_TO_PICOBARN,
        "sigma_by_code_pb": {c: info.sigmaGen(c) * MILLIBARN_TO_PICOBARN for c in codes},
        "n_tried": int(info.nTried()),
    }


def run_pythia(settings: list[str], n_events: int) -> tuple[Any, dict[str, Any]]:
    """Initialise PYTHIA with ``settings`` and generate ``n_events`` events in one batch.

    Returns ``(batch, info)``: the awkward batch of ``Pythia.nextBatch`` (fields ``prt``, the
    event record, and ``info``) and PYTHIA's cross-section estimate: ``sigma_pb`` and
    ``sigma_err_pb`` in total and ``sigma_by_code_pb`` per process code, and ``n_tried``.
    """
    if n_events <= 0:
        raise ValueError(f"n_events = {n_events}: must be a positive number of events")
    pythia = _initialised(settings)
    batch = pythia.nextBatch(n_events, "fail")
    return batch, _cross_section(pythia)


def pythia_batches(
    settings: list[str], n_events: int, batch_size: int, info: dict[str, Any]
) -> Iterator[Any]:
    """One PYTHIA run of ``n_events`` events delivered in batches of at most ``batch_size``
    (memory bounded by a batch; the same events as one :func:`run_pythia` call of the same
    settings). ``info`` is filled with the cross-section estimate after the last batch."""
    if n_events <= 0 or batch_size <= 0:
        raise ValueError(f"n_events = {n_events}, batch_size = {batch_size}: must be positive")
    pythia = _initialised(settings)
    for start in range(0, n_events, batch_size):
        yield pythia.nextBatch(min(batch_size, n_events - start), "fail")
    info.update(_cross_section(pythia))


def visible_particles(batch: Any) -> ak.Array:
    """Final-state particles other than neutrinos of a PYTHIA batch, ``[event][particle]`` with
    px, py, pz, E (GeV) and pid."""
    prt = batch.prt
    keep = prt.status > 0
    for pid in NEUTRINOS:
        keep = keep & (abs(prt.id) != pid)
    visible = prt[keep]
    particles = ak.zip(
        {
            "px": visible.p.px,
            "py": visible.p.py,
            "pz": visible.p.pz,
            "E": visible.p.e,
            "pid": ak.values_astype(visible.id, np.int32),
        }
    )
    return ak.to_packed(particles)
