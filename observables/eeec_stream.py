"""The EEEC of a batch of jets in one compiled pass: shape moments, per-jet sums and a weighted
triplet subsample, without ever holding the triplets.

For every jet j and every triangle shape s of a :class:`ShapeSet` the kernel forms the jet's
energy-weighted histogram of zeta1 in the shape's window (fine bins b),

    h_jsb = sum_{i<k<l in s, zeta1 in b} x_i x_k x_l,        W_j = sum_{i<k<l} x_i x_k x_l,

(the conventions of :mod:`~obsforge.observables.eeec`: distinct triples, sides sorted, weights
E_i E_k E_l / E_jet^3), and adds it to streaming moments

    sum_j h_jsb,   sum_j h_jsb W_j,   sum_j h_jsb h_jsb',   sum_j W_j,   sum_j W_j^2,   N,

from which the mean and jet-to-jet covariance of any merge of the fine bins of any shape follow
(:mod:`~obsforge.search.moments`). The first two and the weight sums are kept per *group* of jets
(a stateless hash of the jet id, so that the groups are random halves, tenths, ... of the jets):
resampling groups is a bootstrap over jets. Each jet also gets its total weight and the two sums
of the longest-side peak estimator (:mod:`~obsforge.observables.longest_side`), and every triplet
is kept for the training subsample with probability p = min(1, w / w_cut) and weight w / p,
decided by a stateless hash of (jet id, triple, seed) -- unbiased, and the same for any batching.

The loops are compiled with numba: a triple loop over subjets is the natural form of the EEEC, and
numba compiles it on first use from plain Python (cached on disk), with no build step and no
compiler in CI. One jet's histograms live in a scratch array; only the shapes a jet touched are
added to the moments and cleared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numba
import numpy as np

from obsforge.observables.longest_side import PEAK_WINDOW, ZETA3_EDGES
from obsforge.observables.shapes import TriangleShape

__all__ = [
    "FINE_EDGES",
    "ChunkStream",
    "ShapeSet",
    "StreamMoments",
    "eeec_longest_side",
    "eeec_stream",
    "eeec_triplets_compiled",
    "jet_arrays",
    "triplet_weights",
]

# Fine zeta1 bins of every shape: 32 log bins over [1e-3, 0.5]. C/A subjets of r = 0.1 sit at
# zeta >~ 2.5e-3 from each other, and zeta3 <= 1 bounds zeta1 <= 1/n2; coarser observables are
# merges of these bins.
FINE_EDGES = np.geomspace(1e-3, 0.5, 33)


@dataclass(frozen=True)
class ShapeSet:
    """Shapes (n1, n2) with a common band delta, arranged for the kernel's lookup.

    n1, n2: (S,) in the caller's order. The kernel finds a triplet's shapes by binary search over
    the distinct n1 values and, within each, the sorted n2 values, then applies exactly the
    comparisons of :func:`~obsforge.observables.shapes.in_shape`.
    """

    n1: np.ndarray
    n2: np.ndarray
    delta: float

    @classmethod
    def of(cls, shapes: list[TriangleShape]) -> ShapeSet:
        deltas = {s.delta for s in shapes}
        if len(deltas) != 1:
            raise ValueError(f"shapes have band widths {sorted(deltas)}; one common delta needed")
        pairs = [(s.n1, s.n2) for s in shapes]
        if len(set(pairs)) != len(pairs):
            raise ValueError("shapes must be distinct")
        n1, n2 = (np.array(v, dtype=np.float64) for v in zip(*pairs, strict=True))
        return cls(n1, n2, deltas.pop())

    def __len__(self) -> int:
        return len(self.n1)

    def lookup(self) -> tuple[np.ndarray, ...]:
        """(u1, row_start, n2_sorted, shape_of): distinct n1 values; for row r the shapes
        row_start[r]:row_start[r+1] of n2_sorted (increasing) with their indices shape_of."""
        order = np.lexsort((self.n2, self.n1))
        u1, first = np.unique(self.n1[order], return_index=True)
        row_start = np.append(first, len(order)).astype(np.int64)
        return u1, row_start, self.n2[order].copy(), order.astype(np.int64)


@dataclass
class StreamMoments:
    """Moments of the per-jet shape histograms of a set of jets (sums over jets; they add).

    sum_h, sum_hw: (G, S, K) per group; sum_hh: (S, K, K) over all jets;
    sum_w, sum_w2, n_jets: (G,) per group.
    """

    sum_h: np.ndarray
    sum_hw: np.ndarray
    sum_hh: np.ndarray
    sum_w: np.ndarray
    sum_w2: np.ndarray
    n_jets: np.ndarray

    @classmethod
    def zeros(cls, n_groups: int, n_shapes: int, n_bins: int) -> StreamMoments:
        g, s, k = n_groups, n_shapes, n_bins
        return cls(
            np.zeros((g, s, k)),
            np.zeros((g, s, k)),
            np.zeros((s, k, k)),
            np.zeros(g),
            np.zeros(g),
            np.zeros(g, dtype=np.int64),
        )

    def __iadd__(self, other: StreamMoments) -> StreamMoments:
        for name in self.__dataclass_fields__:
            getattr(self, name).__iadd__(getattr(other, name))
        return self

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def save(self, path: str | Path) -> None:
        """A compressed .npz of the six arrays (plain arrays: no pickles)."""
        with open(path, "wb") as handle:
            np.savez_compressed(handle, **self.arrays())

    @classmethod
    def load(cls, paths: str | Path | list) -> StreamMoments:
        """The moments of one file, or the sum of several (chunks of the same jets' kind)."""
        total = None
        for path in [paths] if isinstance(paths, str | Path) else paths:
            with np.load(path, allow_pickle=False) as data:
                moments = cls(**{name: data[name] for name in cls.__dataclass_fields__})
            total = moments if total is None else total.__iadd__(moments)
        if total is None:
            raise ValueError("no moments file given")
        return total


def jet_arrays(subjets: ak.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat (momenta (n, 3) float64, energies (n,), offsets (J + 1,)) of ``[jet][subjet]``."""
    counts = ak.to_numpy(ak.num(subjets, axis=1)).astype(np.int64)
    flat = ak.flatten(subjets, axis=1)
    momenta = np.stack([ak.to_numpy(flat[c]).astype(np.float64) for c in ("px", "py", "pz")], -1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return np.ascontiguousarray(momenta), ak.to_numpy(flat.E).astype(np.float64), offsets


# -- compiled pieces -------------------------------------------------------------------------------
@numba.njit(cache=True)
def _pair_zeta(momenta, start, n, out):
    """out[a, b] = |n_a - n_b|^2 / 4 for the n subjets from ``start`` (as pair_zeta)."""
    unit = np.empty((n, 3))
    for a in range(n):
        p = momenta[start + a]
        norm = np.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
        for c in range(3):
            unit[a, c] = p[c] / norm
    for a in range(n):
        out[a, a] = 0.0
        for b in range(a + 1, n):
            d0 = unit[a, 0] - unit[b, 0]
            d1 = unit[a, 1] - unit[b, 1]
            d2 = unit[a, 2] - unit[b, 2]
            z = (d0 * d0 + d1 * d1 + d2 * d2) / 4.0
            out[a, b] = z
            out[b, a] = z


@numba.njit(cache=True, inline="always")
def _sort3(a, b, c):
    low, high = min(a, b), max(a, b)
    return min(low, c), max(low, min(high, c)), max(high, c)


@numba.njit(cache=True, inline="always")
def _mix(x):
    """splitmix64 finaliser (uint64 -> uint64)."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


@numba.njit(cache=True, inline="always")
def _uniform(jet_key, triple):
    """A uniform number in [0, 1) from (jet key, triple index), stateless."""
    x = _mix(jet_key ^ _mix(np.uint64(triple) + np.uint64(0x9E3779B97F4A7C15)))
    return np.float64(x >> np.uint64(11)) / 9007199254740992.0


@numba.njit(cache=True)
def _bin(edges, value):
    """searchsorted(edges, value, 'right') - 1, or -1 outside [edges[0], edges[-1])."""
    if value < edges[0] or value >= edges[-1]:
        return -1
    return np.searchsorted(edges, value, side="right") - 1


@numba.njit(cache=True)
def _triplets(momenta, energies, offsets, out_zeta, out_weight, out_jet):
    zeta = np.empty((1, 1))
    t = 0
    for jet in range(len(offsets) - 1):
        start, n = offsets[jet], offsets[jet + 1] - offsets[jet]
        if n < 3:
            continue
        if zeta.shape[0] < n:
            zeta = np.empty((n, n))
        _pair_zeta(momenta, start, n, zeta)
        e_jet = 0.0
        for a in range(n):
            e_jet += energies[start + a]
        for i in range(n):
            xi = energies[start + i] / e_jet
            for j in range(i + 1, n):
                xij = xi * (energies[start + j] / e_jet)
                for k in range(j + 1, n):
                    z1, z2, z3 = _sort3(zeta[i, j], zeta[i, k], zeta[j, k])
                    out_zeta[t, 0] = z1
                    out_zeta[t, 1] = z2
                    out_zeta[t, 2] = z3
                    out_weight[t] = xij * (energies[start + k] / e_jet)
                    out_jet[t] = jet
                    t += 1


@numba.njit(cache=True)
def _longest_side(momenta, energies, offsets, edges, hist, sumw2):
    """Energy-weighted histogram of the longest side (and its per-jet sum of squares)."""
    n_bins = len(edges) - 1
    per_jet = np.zeros(n_bins)
    zeta = np.empty((1, 1))
    bins = np.empty((1, 1), dtype=np.int64)
    x = np.empty(1)
    for jet in range(len(offsets) - 1):
        start, n = offsets[jet], offsets[jet + 1] - offsets[jet]
        if n < 3:
            continue
        if zeta.shape[0] < n:
            zeta, bins, x = np.empty((n, n)), np.empty((n, n), dtype=np.int64), np.empty(n)
        _pair_zeta(momenta, start, n, zeta)
        e_jet = 0.0
        for a in range(n):
            e_jet += energies[start + a]
        for a in range(n):
            x[a] = energies[start + a] / e_jet
            for c in range(a + 1, n):
                bins[a, c] = _bin(edges, zeta[a, c])
        for i in range(n):
            for j in range(i + 1, n):
                xij, zij = x[i] * x[j], zeta[i, j]
                for k in range(j + 1, n):
                    zik, zjk = zeta[i, k], zeta[j, k]
                    if zij >= zik and zij >= zjk:
                        b = bins[i, j]
                    elif zik >= zjk:
                        b = bins[i, k]
                    else:
                        b = bins[j, k]
                    if b >= 0:
                        per_jet[b] += xij * x[k]
        for b in range(n_bins):
            hist[b] += per_jet[b]
            sumw2[b] += per_jet[b] * per_jet[b]
            per_jet[b] = 0.0


@numba.njit(cache=True)
def _stream(
    momenta,
    energies,
    offsets,
    jet_keys,
    groups,
    u1,
    row_start,
    n2_sorted,
    shape_of,
    delta,
    fine_edges,
    peak_lo,
    peak_hi,
    zeta3_edges,
    w_cut,
    sum_h,
    sum_hw,
    sum_hh,
    sum_w,
    sum_w2,
    n_jets,
    jet_w,
    jet_peak,
    zeta3_hist,
    zeta3_sumw2,
):
    n_shapes, n_bins = sum_hh.shape[0], sum_hh.shape[1]
    n_z3 = len(zeta3_edges) - 1
    h = np.zeros((n_shapes, n_bins))
    touched = np.zeros(n_shapes, dtype=np.bool_)
    touched_list = np.empty(n_shapes, dtype=np.int64)
    z3_jet = np.zeros(n_z3)
    zeta = np.empty((1, 1))
    capacity = 1024
    keep_zeta = np.empty((capacity, 3))
    keep_weight = np.empty(capacity)
    keep_jet = np.empty(capacity, dtype=np.int64)
    n_keep = 0
    max_n1, min_n1 = u1[-1], u1[0]
    log_z = np.empty((1, 1))
    bin3 = np.empty((1, 1), dtype=np.int64)
    bin1 = np.empty((1, 1), dtype=np.int64)
    x = np.empty(1)
    for jet in range(len(offsets) - 1):
        start, n = offsets[jet], offsets[jet + 1] - offsets[jet]
        if zeta.shape[0] < n:
            zeta = np.empty((n, n))
            log_z = np.empty((n, n))
            bin3 = np.empty((n, n), dtype=np.int64)
            bin1 = np.empty((n, n), dtype=np.int64)
        if n >= 3:
            # Everything that depends on one side only is computed per pair (N^2), not per triple.
            _pair_zeta(momenta, start, n, zeta)
            for a in range(n):
                for c in range(a + 1, n):
                    z = zeta[a, c]
                    log_z[a, c] = np.log(z) if z > 0.0 else -np.inf
                    bin3[a, c] = _bin(zeta3_edges, z)
                    bin1[a, c] = _bin(fine_edges, z)
        if x.shape[0] < n:
            x = np.empty(n)
        e_jet = 0.0
        for a in range(n):
            e_jet += energies[start + a]
        for a in range(n):
            x[a] = energies[start + a] / e_jet
        w_total, w_peak, s_peak = 0.0, 0.0, 0.0
        n_touched = 0
        key = _mix(np.uint64(jet_keys[jet]))
        triple = 0
        for i in range(n):
            for j in range(i + 1, n):
                xij = x[i] * x[j]
                zij = zeta[i, j]
                for k in range(j + 1, n):
                    zik, zjk = zeta[i, k], zeta[j, k]
                    w = xij * x[k]
                    w_total += w
                    # The sides sorted, remembering which pairs are the longest and shortest.
                    if zij >= zik and zij >= zjk:
                        l3, m3 = i, j
                        z3, z2, z1 = zij, max(zik, zjk), min(zik, zjk)
                        l1, m1 = (i, k) if zik <= zjk else (j, k)
                    elif zik >= zjk:
                        l3, m3 = i, k
                        z3, z2, z1 = zik, max(zij, zjk), min(zij, zjk)
                        l1, m1 = (i, j) if zij <= zjk else (j, k)
                    else:
                        l3, m3 = j, k
                        z3, z2, z1 = zjk, max(zij, zik), min(zij, zik)
                        l1, m1 = (i, j) if zij <= zik else (i, k)
                    # Longest side: the peak estimator's sums and the per-jet histogram.
                    if z3 >= peak_lo and z3 < peak_hi:
                        w_peak += w
                        s_peak += w * log_z[l3, m3]
                    b3 = bin3[l3, m3]
                    if b3 >= 0:
                        z3_jet[b3] += w
                    # Training subsample: keep with p = min(1, w / w_cut), weight w / p.
                    if w_cut >= 0.0:
                        p = 1.0 if w >= w_cut else w / w_cut
                        if _uniform(key, triple) < p:
                            if n_keep == capacity:
                                capacity *= 2
                                new_zeta = np.empty((capacity, 3))
                                new_zeta[:n_keep] = keep_zeta[:n_keep]
                                keep_zeta = new_zeta
                                new_weight = np.empty(capacity)
                                new_weight[:n_keep] = keep_weight[:n_keep]
                                keep_weight = new_weight
                                new_jet = np.empty(capacity, dtype=np.int64)
                                new_jet[:n_keep] = keep_jet[:n_keep]
                                keep_jet = new_jet
                            keep_zeta[n_keep, 0] = z1
                            keep_zeta[n_keep, 1] = z2
                            keep_zeta[n_keep, 2] = z3
                            keep_weight[n_keep] = w / p
                            keep_jet[n_keep] = jet
                            n_keep += 1
                    triple += 1
                    # Shapes: the fine zeta1 bin, then the n1 rows and n2 entries in the window.
                    b = bin1[l1, m1]
                    if b < 0:
                        continue
                    # No n1 with n1 z1 <= z2 <= n1 z1 + delta: skip without dividing.
                    if z2 - delta > max_n1 * z1 * (1 + 1e-12) or z2 < min_n1 * z1 * (1 - 1e-12):
                        continue
                    reach = delta / z1
                    r2, r3 = z2 / z1, z3 / z1
                    lo = np.searchsorted(u1, (r2 - reach) * (1 - 1e-12), side="left")
                    for r in range(lo, len(u1)):
                        n1 = u1[r]
                        if n1 > r2 * (1 + 1e-12):
                            break
                        low2 = n1 * z1
                        if not (z2 >= low2 and z2 <= low2 + delta):
                            continue
                        first, last = row_start[r], row_start[r + 1]
                        c = first + np.searchsorted(
                            n2_sorted[first:last], (r3 - reach) * (1 - 1e-12), side="left"
                        )
                        while c < last:
                            n2 = n2_sorted[c]
                            if n2 > r3 * (1 + 1e-12):
                                break
                            low3 = n2 * z1
                            if z3 >= low3 and z3 <= low3 + delta:
                                s = shape_of[c]
                                h[s, b] += w
                                if not touched[s]:
                                    touched[s] = True
                                    touched_list[n_touched] = s
                                    n_touched += 1
                            c += 1
        # End of the jet: add its histograms to the moments and clear what it touched.
        g = groups[jet]
        jet_w[jet] = w_total
        jet_peak[jet, 0] = w_peak
        jet_peak[jet, 1] = s_peak
        sum_w[g] += w_total
        sum_w2[g] += w_total * w_total
        n_jets[g] += 1
        for b3 in range(n_z3):
            zeta3_hist[b3] += z3_jet[b3]
            zeta3_sumw2[b3] += z3_jet[b3] * z3_jet[b3]
            z3_jet[b3] = 0.0
        for t in range(n_touched):
            s = touched_list[t]
            for a in range(n_bins):
                ha = h[s, a]
                if ha == 0.0:
                    continue
                sum_h[g, s, a] += ha
                sum_hw[g, s, a] += ha * w_total
                for c2 in range(n_bins):
                    sum_hh[s, a, c2] += ha * h[s, c2]
            for a in range(n_bins):
                h[s, a] = 0.0
            touched[s] = False
    return keep_zeta[:n_keep].copy(), keep_weight[:n_keep].copy(), keep_jet[:n_keep].copy()


# -- public functions ------------------------------------------------------------------------------
def eeec_triplets_compiled(subjets: ak.Array) -> dict[str, np.ndarray]:
    """The EEEC triplets of a batch of jets, as :func:`~obsforge.observables.eeec.eeec_triplets`
    returns them (float64), computed by the compiled loop."""
    momenta, energies, offsets = jet_arrays(subjets)
    counts = np.diff(offsets)
    n_triplets = int((counts * (counts - 1) * (counts - 2) // 6).sum())
    zeta, weight = np.empty((n_triplets, 3)), np.empty(n_triplets)
    jet = np.empty(n_triplets, dtype=np.int64)
    _triplets(momenta, energies, offsets, zeta, weight, jet)
    return {
        "zeta1": zeta[:, 0],
        "zeta2": zeta[:, 1],
        "zeta3": zeta[:, 2],
        "weight": weight,
        "jet": jet,
    }


def eeec_longest_side(subjets: ak.Array, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energy-weighted histogram of the EEEC's longest side zeta3 over ``edges`` summed over the
    jets, and the sum over jets of the squared per-jet contents (its variance): the quantity of
    the ``eec`` package's EECLongestSide (N = 3), compiled, without holding the triplets."""
    momenta, energies, offsets = jet_arrays(subjets)
    edges = np.asarray(edges, dtype=np.float64)
    hist, sumw2 = np.zeros(len(edges) - 1), np.zeros(len(edges) - 1)
    _longest_side(momenta, energies, offsets, edges, hist, sumw2)
    return hist, sumw2


def triplet_weights(subjets: ak.Array) -> np.ndarray:
    """All triplet weights of a batch of jets (to choose the subsample's w_cut on a pilot batch)."""
    return eeec_triplets_compiled(subjets)["weight"]


def eeec_stream(
    subjets: ak.Array,
    jet_ids: np.ndarray,
    groups: np.ndarray,
    shapes: ShapeSet,
    moments: StreamMoments,
    w_cut: float | None,
    *,
    fine_edges: np.ndarray = FINE_EDGES,
    peak_window: tuple[float, float] = PEAK_WINDOW,
    zeta3_edges: np.ndarray = ZETA3_EDGES,
) -> dict[str, np.ndarray]:
    """One pass of the compiled kernel over a batch of jets; adds to ``moments`` in place.

    subjets: ``[jet][subjet]`` (px, py, pz, E). jet_ids: (J,) int64, unique in the study (they
    seed the subsample's decisions). groups: (J,) in [0, G). w_cut: the subsample's cut
    (None: keep no triplet; 0: keep every triplet with its weight).

    Returns per-jet arrays ``weight_sum`` (J,), ``peak_w``, ``peak_s`` (J,) (the sums of
    :func:`~obsforge.observables.longest_side.peak_sums`), ``zeta3_hist`` and ``zeta3_sumw2``
    (the batch's energy-weighted histogram of the longest side and its sum over jets of squared
    per-jet contents, over ``zeta3_edges``), and the kept triplets ``zeta`` (T, 3), ``weight``
    (T,) = w / p and ``jet`` (T,) (index into the batch).
    """
    zeta3_edges = np.asarray(zeta3_edges, np.float64)
    n_groups, n_shapes, n_bins = moments.sum_h.shape
    if n_shapes != len(shapes) or n_bins != len(fine_edges) - 1:
        raise ValueError(
            f"moments are ({n_shapes} shapes, {n_bins} bins); the kernel was given "
            f"{len(shapes)} shapes and {len(fine_edges) - 1} bins"
        )
    momenta, energies, offsets = jet_arrays(subjets)
    n = len(offsets) - 1
    groups = np.asarray(groups, dtype=np.int64)
    if len(jet_ids) != n or len(groups) != n:
        raise ValueError(f"{n} jets but {len(jet_ids)} ids and {len(groups)} groups")
    if n and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"groups must lie in [0, {n_groups})")
    jet_w, jet_peak = np.zeros(n), np.zeros((n, 2))
    hist, sumw2 = np.zeros(len(zeta3_edges) - 1), np.zeros(len(zeta3_edges) - 1)
    u1, row_start, n2_sorted, shape_of = shapes.lookup()
    zeta, weight, jet = _stream(
        momenta,
        energies,
        offsets,
        np.asarray(jet_ids, dtype=np.int64),
        groups,
        u1,
        row_start,
        n2_sorted,
        shape_of,
        float(shapes.delta),
        np.asarray(fine_edges, dtype=np.float64),
        float(peak_window[0]),
        float(peak_window[1]),
        zeta3_edges,
        -1.0 if w_cut is None else float(w_cut),
        moments.sum_h,
        moments.sum_hw,
        moments.sum_hh,
        moments.sum_w,
        moments.sum_w2,
        moments.n_jets,
        jet_w,
        jet_peak,
        hist,
        sumw2,
    )
    return {
        "weight_sum": jet_w,
        "peak_w": jet_peak[:, 0],
        "peak_s": jet_peak[:, 1],
        "zeta3_hist": hist,
        "zeta3_sumw2": sumw2,
        "zeta": zeta,
        "weight": weight,
        "jet": jet,
    }


class ChunkStream:
    """What a chunk of jets streams into, batch by batch: the shape moments, the training
    subsample (float32 columns and the jet ids), one row per jet, the longest-side histogram
    and the number of triplets seen."""

    def __init__(self, shapes: ShapeSet, n_groups: int) -> None:
        self.shapes = shapes
        self.moments = StreamMoments.zeros(n_groups, len(shapes), len(FINE_EDGES) - 1)
        self.zeta3_hist = np.zeros(len(ZETA3_EDGES) - 1)
        self.zeta3_sumw2 = np.zeros(len(ZETA3_EDGES) - 1)
        self.n_triplets = 0
        self._samples: list[dict[str, np.ndarray]] = []
        self._rows: list[dict[str, np.ndarray]] = []

    def add(
        self,
        subjets: ak.Array,
        ids: np.ndarray,
        groups: np.ndarray,
        w_cut: float | None,
        columns: dict[str, np.ndarray],
    ) -> None:
        """One batch: jets ``subjets`` with ids, groups and per-jet ``columns`` to keep."""
        out = eeec_stream(subjets, ids, groups, self.shapes, self.moments, w_cut)
        counts = ak.to_numpy(ak.num(subjets, axis=1)).astype(np.int64)
        self.n_triplets += int((counts * (counts - 1) * (counts - 2) // 6).sum())
        self.zeta3_hist += out["zeta3_hist"]
        self.zeta3_sumw2 += out["zeta3_sumw2"]
        zeta = out["zeta"].astype(np.float32)
        self._samples.append(
            {
                "zeta1": zeta[:, 0],
                "zeta2": zeta[:, 1],
                "zeta3": zeta[:, 2],
                "weight": out["weight"].astype(np.float32),
                "jet_id": ids[out["jet"]],
            }
        )
        self._rows.append(
            {
                **columns,
                "jet_id": ids,
                "weight_sum": out["weight_sum"],
                "peak_w": out["peak_w"],
                "peak_s": out["peak_s"],
            }
        )

    def sample(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([s[k] for s in self._samples]) for k in self._samples[0]}

    def jets(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([r[k] for r in self._rows]) for k in self._rows[0]}
