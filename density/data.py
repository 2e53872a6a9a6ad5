"""Training data for the EEEC surrogates: jet-level splits and importance subsampling.

A top jet has thousands of triplets whose weights span many orders of magnitude. Keeping each
triplet with probability p_i = min(1, w_i / w_cut) and giving it the weight w_i / p_i leaves
every weighted expectation unbiased, keeps all heavy triplets, and bounds the weights from below
by w_cut -- so a few hundred thousand triplets carry the information of tens of millions.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from pydantic import Field, model_validator

from obsforge.config import MAX_COUNT, Config
from obsforge.observables.shapes import TriangleShape, in_shape

__all__ = [
    "SampleConfig",
    "bootstrap_counts",
    "importance_subsample",
    "stream_training_arrays",
    "training_arrays",
    "jet_groups",
    "jet_split",
    "jet_uniform",
    "weight_cut",
]

TRAIN, VALIDATION, TEST = 0, 1, 2


class SampleConfig(Config):
    """How the triplets of the PYTHIA jets are split and subsampled for training."""

    triplets_per_mass: int = Field(
        200_000, ge=100, le=MAX_COUNT, description="train + validation per mass"
    )
    validation_fraction: float = Field(0.2, gt=0, lt=1, description="of the training jets")
    test_fraction: float = Field(0.25, ge=0, lt=1, description="jets kept aside for closure")
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _fractions(self) -> SampleConfig:
        if self.validation_fraction + self.test_fraction >= 1:
            raise ValueError("validation_fraction + test_fraction must leave jets for training")
        return self


def jet_split(jet_id: np.ndarray, config: SampleConfig) -> np.ndarray:
    """Assign every jet (and so all its triplets) to train (0), validation (1) or test (2).

    A hash of (jet id, seed) makes the split stateless: the same jet lands in the same set in
    every chunk and every run.
    """
    u = jet_uniform(jet_id, config.seed)
    split = np.full(len(u), TRAIN, dtype=np.int8)
    split[u < config.test_fraction + config.validation_fraction * (1 - config.test_fraction)] = (
        VALIDATION
    )
    split[u < config.test_fraction] = TEST
    return split


def jet_groups(jet_id: np.ndarray, n_groups: int, seed: int) -> np.ndarray:
    """Group floor(u G) in [0, G) of every jet, from the same hash as :func:`jet_split`: with
    the split's seed, the groups g < f G hold exactly the jets of the first fraction f (the test
    jets when f = test_fraction and f G is whole), so moments kept per group give the moments of
    any split, and resampling groups is a bootstrap over jets.

    >>> ids = np.arange(100_000)
    >>> config = SampleConfig(test_fraction=0.25, seed=3)
    >>> bool(np.all((jet_groups(ids, 20, 3) < 5) == (jet_split(ids, config) == TEST)))
    True
    """
    return np.minimum((jet_uniform(jet_id, seed) * n_groups).astype(np.int64), n_groups - 1)


def jet_uniform(jet_id: np.ndarray, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per jet from a stateless hash of (jet id, seed)."""
    mixed = np.asarray(jet_id, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    mixed ^= np.uint64((seed * 0xBF58476D1CE4E5B9) % 2**64)
    mixed ^= mixed >> np.uint64(31)
    mixed *= np.uint64(0x94D049BB133111EB)
    mixed ^= mixed >> np.uint64(29)
    return (mixed >> np.uint64(11)).astype(np.float64) / 2.0**53


def bootstrap_counts(jet_id: np.ndarray, replica: int) -> np.ndarray:
    """Poisson(1) multiplicities per jet (the Poisson bootstrap, Hanley & MacGibbon 2006),
    stateless in (jet id, replica): multiplying every triplet weight of a jet by its count
    resamples the jets, the independent units, with replacement."""
    from scipy.stats import poisson

    cdf = poisson.cdf(np.arange(20), 1.0)
    return np.searchsorted(cdf, jet_uniform(jet_id, 1_000_003 + replica), side="right")


def weight_cut(weights: np.ndarray, n_target: float) -> float:
    """w_cut with sum_i min(1, w_i / w_cut) = n_target (0 if all triplets can be kept)."""
    if n_target >= len(weights):
        return 0.0
    w = np.sort(np.asarray(weights, dtype=np.float64))[::-1]
    tail = np.cumsum(w[::-1])[::-1]  # tail[k] = sum of w[k:]
    k = np.arange(len(w))  # keep the k heaviest with certainty
    with np.errstate(divide="ignore"):
        cut = tail / (n_target - k)
    # The consistent k: the (k+1)-th heaviest is lighter than the cut, the k-th heavier.
    ok = (n_target - k > 0) & (w <= cut) & ((k == 0) | (np.roll(w, 1) >= cut))
    return float(cut[np.flatnonzero(ok)[0]])


def importance_subsample(
    weights: np.ndarray, n_target: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the kept triplets and their new weights w / p, with p = min(1, w / w_cut).

    >>> rng = np.random.default_rng(0)
    >>> w = rng.exponential(size=100_000) ** 3
    >>> keep, new = importance_subsample(w, 5_000, rng)
    >>> bool(abs(new.sum() / w.sum() - 1) < 0.03), bool(abs(len(keep) - 5_000) < 300)
    (True, True)
    """
    weights = np.asarray(weights, dtype=np.float64)
    cut = weight_cut(weights, n_target)
    if cut == 0.0:
        return np.arange(len(weights)), weights.copy()
    p = np.minimum(1.0, weights / cut)
    keep = np.flatnonzero(rng.random(len(weights)) < p)
    return keep, weights[keep] / p[keep]


KINDS = ("weighted", "unweighted")


def training_arrays(
    chunks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray, float]],
    config: SampleConfig,
    train_masses: set[float],
    chunks_per_mass: dict[float, int],
    closure_shapes: list[TriangleShape],
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], dict[float, float]]:
    """The training and closure arrays from chunks of triplets (zeta (T, 3), weight (T,),
    jet_id (T,), m_top), read once, chunk by chunk.

    Jets of a training mass are split by :func:`jet_split`; every jet of another mass (a hold-
    out) is a test jet. Training: per chunk, ``triplets_per_mass / chunks`` triplets of the
    train + validation jets, importance-subsampled for the energy-weighted loss (``weighted_*``)
    and uniformly for the unweighted one (``unweighted_*``), each with zeta, weight, split,
    m_top and jet_id. Test: the triplets of test jets inside any closure shape (``test_*``).
    Returns the arrays and the total EEEC weight of the test jets per mass (the closure's
    normalisation).
    """
    train_parts: dict[str, list[tuple[np.ndarray, ...]]] = {kind: [] for kind in KINDS}
    test_parts, totals = [], {}
    for zeta, weight, jet_id, m_top in chunks:
        trained = m_top in train_masses
        split = jet_split(jet_id, config) if trained else np.full(len(jet_id), TEST, dtype=np.int8)
        is_test = split == TEST
        totals[m_top] = totals.get(m_top, 0.0) + float(weight[is_test].sum())
        in_any = np.zeros(len(weight), dtype=bool)
        for shape in closure_shapes:
            in_any |= in_shape(zeta, shape)
        keep = is_test & in_any
        test_parts.append((zeta[keep], weight[keep], jet_id[keep], np.full(keep.sum(), m_top)))
        if trained:
            fit = np.flatnonzero(~is_test)  # indices: the big arrays are never copied whole
            n_target = config.triplets_per_mass / chunks_per_mass[m_top]
            index, new_weight = importance_subsample(weight[fit], n_target, rng)
            # Unweighted training must see the plain triplet density: subsample uniformly.
            uniform = rng.choice(len(fit), size=min(int(n_target), len(fit)), replace=False)
            for kind, idx, w in (
                ("weighted", index, new_weight),
                ("unweighted", np.sort(uniform), np.ones(len(uniform))),
            ):
                rows = fit[idx]
                train_parts[kind].append(
                    (zeta[rows], w, split[rows], np.full(len(idx), m_top), jet_id[rows])
                )
    arrays: dict[str, np.ndarray] = {}
    for kind, parts in train_parts.items():
        for i, name in enumerate(("zeta", "weight", "split", "m_top", "jet_id")):
            arrays[f"{kind}_{name}"] = np.concatenate([p[i] for p in parts])
    for i, key in enumerate(("test_zeta", "test_weight", "test_jet_id", "test_m_top")):
        arrays[key] = np.concatenate([p[i] for p in test_parts])
    return arrays, totals


def stream_training_arrays(
    sample: dict[str, np.ndarray],
    config: SampleConfig,
    train_masses: list[float],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """The energy-weighted training arrays (``weighted_*``, as in :func:`training_arrays`) from
    the importance-subsampled triplets of a streamed sample (zeta1, zeta2, zeta3, weight = w / p,
    m_top, jet_id of :func:`~obsforge.stream_files.load_sample`).

    Only the train and validation jets of the ``train_masses`` enter (:func:`jet_split`); the
    test jets and every other mass are left for the closure, which reads the streamed moments of
    all their triplets. Per mass at most ``triplets_per_mass`` triplets are kept, subsampled
    again with :func:`importance_subsample` (unbiased for weights w / p as for any weights).
    One pass per mass over index arrays: no loop over triplets.
    """
    zeta = np.stack([sample["zeta1"], sample["zeta2"], sample["zeta3"]], axis=-1)
    m_top = np.asarray(sample["m_top"], dtype=np.float64)
    split = jet_split(sample["jet_id"], config)
    parts = []
    for mass in train_masses:
        # m_top is stored as float32: a mass matches to 1 MeV.
        rows = np.flatnonzero((np.abs(m_top - mass) < 1e-3) & (split != TEST))
        if len(rows) == 0:
            raise ValueError(f"m_top = {mass} GeV: no training triplets in the streamed sample")
        keep, weight = importance_subsample(sample["weight"][rows], config.triplets_per_mass, rng)
        parts.append((rows[keep], weight, np.full(len(keep), mass)))
    rows = np.concatenate([r for r, _, _ in parts])
    return {
        "weighted_zeta": zeta[rows],
        "weighted_weight": np.concatenate([w for _, w, _ in parts]),
        "weighted_split": split[rows],
        "weighted_m_top": np.concatenate([m for _, _, m in parts]),
        "weighted_jet_id": np.asarray(sample["jet_id"])[rows],
    }
