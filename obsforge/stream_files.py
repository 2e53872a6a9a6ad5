"""The files of the streamed sample (stage ``eeec-stream``): the name of each chunk's files,
and reading a finished stage back by mass.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from obsforge.observables.eeec_stream import StreamMoments
from obsforge.results import StageResult

__all__ = ["chunk_stem", "load_moments", "load_sample"]


def chunk_stem(m_top: float, chunk: int) -> str:
    """The stem of a chunk's files, ``m<mass>-c<chunk>``, which :func:`load_moments` parses.

    >>> chunk_stem(172.5, 3)
    'm172.500-c0003'
    """
    return f"m{m_top:.3f}-c{chunk:04d}"


def _files(result: StageResult, kind: str, masses: tuple[float, float] | None) -> dict[float, list]:
    """The ``kind`` files of a finished stage by mass, for masses in [low, high] (all: None)."""
    by_mass: dict[float, list[Path]] = {}
    for name in sorted(result.manifest["outputs"]):
        if not name.startswith(f"{kind}-m"):
            continue
        m_top = float(name[len(kind) + 2 :].split("-c")[0])
        if masses is None or masses[0] - 1e-9 <= m_top <= masses[1] + 1e-9:
            by_mass.setdefault(m_top, []).append(result.path / name)
    return dict(sorted(by_mass.items()))


def load_moments(
    result: StageResult, masses: tuple[float, float] | None = None
) -> tuple[np.ndarray, list[StreamMoments]]:
    """The shape moments of every mass in [low, high] (all: None), chunks of a mass summed:
    (masses (M,), [StreamMoments per mass])."""
    files = _files(result, "moments", masses)
    return np.array(list(files)), [StreamMoments.load(paths) for paths in files.values()]


def load_sample(
    result: StageResult, masses: tuple[float, float] | None = None
) -> dict[str, np.ndarray]:
    """The training subsample of the masses in [low, high] (all: None) as flat arrays:
    zeta1, zeta2, zeta3, weight (float32, weight = w / p), m_top (float32), jet_id (int64)."""
    paths = [p for group in _files(result, "sample", masses).values() for p in group]
    merged = ak.concatenate([ak.from_parquet(p) for p in paths])
    return {name: ak.to_numpy(merged[name]) for name in merged.fields}
