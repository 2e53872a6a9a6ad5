"""A neural-network PDF at the input scale Q0, all Monte Carlo replicas in one batched model.

Parametrisation (NNPDF4.0, arXiv:2109.02653, section 3): in the evolution basis
k in (Sigma, g, V, V3, V8, T3, T8, T15),

    x f_k(x, Q0) = A_k x^(1 - alpha_k) (1 - x)^beta_k NN_k(x, ln x),

one network 2-25-20-8 (tanh, linear output) per replica; the replicas' weights are stacked
into batched tensors so that R replicas train as one model (``torch.bmm``). The preprocessing
exponents alpha_k, beta_k are drawn per replica from fixed ranges and kept fixed, as in NNPDF's
fits with fixed preprocessing. The normalisations enforce the sum rules exactly:

    int_0^1 dx x (Sigma + g) = 1,  int V = int V8 = 3,  int V3 = 1,

computed on a fixed integration grid in ln x on [x_min, 1] (x_min = 1e-9) by Gauss-Legendre
quadrature; A_g, A_V, A_V3, A_V8 are the only normalisations, the others are 1.
Assumptions at Q0 = 1.65 GeV (nf = 4): c = cbar (so V15 = V), b = t = 0.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = [
    "BASIS",
    "PDFModel",
    "SUM_RULES",
    "evolution_to_flavour",
    "flavour_to_evolution",
]

BASIS = ("Sigma", "g", "V", "V3", "V8", "T3", "T8", "T15")
SUM_RULES = {"V": 3.0, "V3": 1.0, "V8": 3.0}  # int f dx; momentum: int x (Sigma + g) dx = 1
# Preprocessing ranges (alpha: small x, beta: large x), NNPDF4.0-like.
ALPHA_RANGE = {
    "Sigma": (1.05, 1.19), "g": (1.05, 1.19), "V": (0.35, 0.75), "V3": (0.35, 0.75),
    "V8": (0.35, 0.75), "T3": (0.7, 1.05), "T8": (0.7, 1.05), "T15": (1.0, 1.15),
}  # fmt: skip
BETA_RANGE = {
    "Sigma": (1.5, 3.5), "g": (3.0, 7.0), "V": (2.5, 4.5), "V3": (2.5, 4.5),
    "V8": (2.5, 4.5), "T3": (2.5, 5.0), "T8": (2.5, 5.0), "T15": (2.5, 5.0),
}  # fmt: skip
X_MIN = 1e-9


def _quadrature(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x and weights w with sum w f(x) = int_{x_min}^1 f(x) dx, Gauss-Legendre in ln x
    on three intervals (the small-x tail, the bulk, the valence region)."""
    edges = np.log([X_MIN, 1e-3, 0.1, 1.0])
    nodes, weights = [], []
    for lo, hi, m in zip(edges[:-1], edges[1:], (n // 4, n // 2, n // 4), strict=True):
        t, w = np.polynomial.legendre.leggauss(m)
        log_x = 0.5 * (hi - lo) * t + 0.5 * (hi + lo)
        nodes.append(np.exp(log_x))
        weights.append(0.5 * (hi - lo) * w * np.exp(log_x))  # dx = x d ln x
    return np.concatenate(nodes), np.concatenate(weights)


class PDFModel(nn.Module):
    """R replicas of x f_k(x) at Q0, k over :data:`BASIS`.

    ``forward(x)`` takes x of shape (N,) and returns (R, N, 8). The first call of
    :meth:`normalisations` (done in every forward pass) imposes the sum rules.
    """

    def __init__(self, replicas: int, seed: int = 0, hidden: tuple[int, int] = (25, 20)):
        super().__init__()
        if replicas < 1:
            raise ValueError(f"replicas = {replicas}: need at least one replica")
        generator = torch.Generator().manual_seed(seed)
        sizes = (2, *hidden, len(BASIS))
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = np.sqrt(6.0 / (n_in + n_out))  # Glorot uniform, as in n3fit
            w = (torch.rand(replicas, n_in, n_out, generator=generator) * 2 - 1) * bound
            self.weights.append(nn.Parameter(w.double()))
            self.biases.append(nn.Parameter(torch.zeros(replicas, 1, n_out, dtype=torch.float64)))
        rng = np.random.default_rng(seed)
        alpha = np.stack([rng.uniform(*ALPHA_RANGE[k], replicas) for k in BASIS], axis=1)
        beta = np.stack([rng.uniform(*BETA_RANGE[k], replicas) for k in BASIS], axis=1)
        self.register_buffer("alpha", torch.as_tensor(alpha))  # (R, 8)
        self.register_buffer("beta", torch.as_tensor(beta))
        nodes, weights = _quadrature()
        self.register_buffer("quad_x", torch.as_tensor(nodes))
        self.register_buffer("quad_w", torch.as_tensor(weights))
        self.replicas = replicas

    def _raw(self, x: torch.Tensor) -> torch.Tensor:
        """x f_k without normalisation: (R, N, 8)."""
        inputs = torch.stack([x, torch.log(x)], dim=-1).expand(self.replicas, -1, -1)
        h = inputs
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = torch.tanh(h)
        xx = x[None, :, None]
        pre = xx ** (1 - self.alpha[:, None, :]) * (1 - xx) ** self.beta[:, None, :]
        return pre * h

    def normalisations(self) -> torch.Tensor:
        """A_k per replica (R, 8) from the sum rules on the quadrature grid."""
        raw = self._raw(self.quad_x)  # x f
        w = self.quad_w[None, :, None]
        number = (raw / self.quad_x[None, :, None] * w).sum(1)  # int f dx
        momentum = (raw * w).sum(1)  # int x f dx
        norm = torch.ones_like(number)
        i = {k: BASIS.index(k) for k in BASIS}
        norm[:, i["g"]] = (1 - momentum[:, i["Sigma"]]) / momentum[:, i["g"]]
        for k, value in SUM_RULES.items():
            norm[:, i[k]] = value / number[:, i[k]]
        return norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalisations()[:, None, :] * self._raw(x)

    def sum_rules(self, n: int = 4000) -> dict[str, np.ndarray]:
        """The sum rules per replica on an independent, finer quadrature (for checks)."""
        nodes, weights = _quadrature(n)
        with torch.no_grad():
            xf = self(torch.as_tensor(nodes)).numpy()
        i = {k: BASIS.index(k) for k in BASIS}
        w = weights[None, :]
        out = {"momentum": ((xf[..., i["Sigma"]] + xf[..., i["g"]]) * w).sum(1)}
        for k in SUM_RULES:
            out[k] = (xf[..., i[k]] / nodes[None, :] * w).sum(1)
        return out


def evolution_to_flavour() -> np.ndarray:
    """Matrix M (13, 8): x f_pid = M @ x f_evol for pid order (-6..-1, 21, 1..6) at Q0,
    with c = cbar and b = t = 0 (nf = 4 at Q0)."""
    # q+ and q- of u, d, s, c in terms of the basis (inverse of the definitions
    # Sigma = sum q+, V = sum q-, V3 = u- - d-, V8 = u- + d- - 2 s-,
    # T3 = u+ - d+, T8 = u+ + d+ - 2 s+, T15 = u+ + d+ + s+ - 3 c+, c- = 0).
    plus = np.zeros((4, 8))  # rows u, d, s, c; columns BASIS
    s, t3, t8, t15 = BASIS.index("Sigma"), BASIS.index("T3"), BASIS.index("T8"), BASIS.index("T15")
    plus[0, [s, t3, t8, t15]] = [1 / 4, 1 / 2, 1 / 6, 1 / 12]
    plus[1, [s, t3, t8, t15]] = [1 / 4, -1 / 2, 1 / 6, 1 / 12]
    plus[2, [s, t8, t15]] = [1 / 4, -1 / 3, 1 / 12]
    plus[3, [s, t15]] = [1 / 4, -1 / 4]
    minus = np.zeros((4, 8))
    v, v3, v8 = BASIS.index("V"), BASIS.index("V3"), BASIS.index("V8")
    minus[0, [v, v3, v8]] = [1 / 3, 1 / 2, 1 / 6]
    minus[1, [v, v3, v8]] = [1 / 3, -1 / 2, 1 / 6]
    minus[2, [v, v8]] = [1 / 3, -1 / 3]
    matrix = np.zeros((13, 8))
    for q in range(4):  # pid q+1 at row 7 + q, anti at row 5 - q
        matrix[7 + q] = 0.5 * (plus[q] + minus[q])
        matrix[5 - q] = 0.5 * (plus[q] - minus[q])
    matrix[6, BASIS.index("g")] = 1.0
    return matrix


def flavour_to_evolution(xf: np.ndarray) -> np.ndarray:
    """Evolution-basis combinations (..., 8) from x f per flavour (..., 13), pid order
    (-6..-1, 21, 1..6): Sigma, g, V, V3, V8, T3, T8, T15 (their definitions at nf = 4)."""
    xf = np.asarray(xf, dtype=np.float64)
    quark = xf[..., 7:11]  # u, d, s, c
    anti = xf[..., [5, 4, 3, 2]]  # ubar, dbar, sbar, cbar
    plus, minus = quark + anti, quark - anti
    u, d, s, c = (plus[..., i] for i in range(4))
    um, dm, sm = (minus[..., i] for i in range(3))
    return np.stack(
        [
            plus.sum(-1), xf[..., 6], minus.sum(-1), um - dm, um + dm - 2 * sm,
            u - d, u + d - 2 * s, u + d + s - 3 * c,
        ],
        axis=-1,
    )  # fmt: skip
