"""A neural-network PDF at the input scale Q0, all Monte Carlo replicas in one batched model.

Parametrisation (NNPDF4.0, arXiv:2109.02653, section 3): in the evolution basis
k in (Sigma, g, V, V3, V8, T3, T8, T15),

    x f_k(x, Q0) = A_k x^(1 - alpha_k) (1 - x)^beta_k NN_k(x, ln x),

one network 2-25-20-8 (tanh, linear output) per replica; the replicas' weights are stacked
into batched tensors so that R replicas train as one model (``torch.bmm``). The preprocessing
exponents alpha_k, beta_k are drawn per replica, uniformly in ranges (default: those of
NNPDF4.0 NLO), and either kept fixed (as in NNPDF4.0's final fits) or trained within their
ranges with a hard wall at each end (n3fit's trainable preprocessing). The normalisations
enforce the sum rules exactly:

    int_0^1 dx x (Sigma + g) = 1,  int V = int V8 = 3,  int V3 = 1,

computed on a fixed integration grid in ln x on [x_min, 1] (x_min = 1e-9) by Gauss-Legendre
quadrature; A_g, A_V, A_V3, A_V8 are the only normalisations, the others are 1.
Assumptions at Q0 = 1.65 GeV (nf = 4): c = cbar (so V15 = V), b = t = 0.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from obsforge.pdffit.flavours import flavour_row

__all__ = [
    "BASIS",
    "PDFModel",
    "PREPROCESSING",
    "check_preprocessing",
    "SUM_RULES",
    "evolution_to_flavour",
    "flavour_to_evolution",
]

BASIS = ("Sigma", "g", "V", "V3", "V8", "T3", "T8", "T15")
SUM_RULES = {"V": 3.0, "V3": 1.0, "V8": 3.0}  # int f dx; momentum: int x (Sigma + g) dx = 1
# Preprocessing ranges ((alpha_min, alpha_max), (beta_min, beta_max)); alpha rules small x,
# beta large x. Defaults: NNPDF4.0 NLO, fitted charm, theory 208 (the n3fit runcard
# reproduce_nnpdf40/NNPDF40_nlo_as_01180.yml of the NNPDF code).
PREPROCESSING = {
    "Sigma": ((1.121, 1.154), (1.498, 3.138)),
    "g": ((0.9224, 1.149), (3.266, 6.214)),
    "V": ((0.5279, 0.8017), (1.6, 3.588)),
    "V3": ((0.2011, 0.4374), (1.761, 3.427)),
    "V8": ((0.5775, 0.8357), (1.589, 3.378)),
    "T3": ((-0.484, 1.0), (1.763, 3.397)),
    "T8": ((0.6714, 0.9197), (1.572, 3.496)),
    "T15": ((1.073, 1.164), (1.503, 3.636)),
}
# Integrability: alpha < 1 where int f dx is a sum rule, alpha < 2 where int x f dx is.
ALPHA_MAX = {"V": 1.0, "V3": 1.0, "V8": 1.0, "Sigma": 2.0, "g": 2.0}
X_MIN = 1e-9
QUARK_PIDS = (2, 1, 3, 4)  # u, d, s, c: the PDG codes, in the order of the definitions below


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

    def __init__(
        self,
        replicas: int,
        seed: int = 0,
        hidden: tuple[int, int] = (25, 20),
        preprocessing: dict | None = None,
        trainable_preprocessing: bool = False,
    ):
        super().__init__()
        if replicas < 1:
            raise ValueError(f"replicas = {replicas}: need at least one replica")
        ranges = check_preprocessing({**PREPROCESSING, **(preprocessing or {})})
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
        bounds = torch.as_tensor([[ranges[k][0], ranges[k][1]] for k in BASIS])  # (8, 2, 2)
        self.register_buffer("bounds", bounds.double())
        start = [
            np.stack([rng.uniform(*ranges[k][i], replicas) for k in BASIS], axis=1) for i in (0, 1)
        ]
        for name, value in zip(("alpha", "beta"), start, strict=True):  # (R, 8) each
            if trainable_preprocessing:
                setattr(self, name, nn.Parameter(torch.as_tensor(value)))
            else:
                self.register_buffer(name, torch.as_tensor(value))
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

    @torch.no_grad()
    def clip_preprocessing(self) -> None:
        """Hard walls: trained exponents are put back into their ranges after every step."""
        for i, exponent in enumerate((self.alpha, self.beta)):
            exponent.copy_(exponent.clamp(self.bounds[:, i, 0], self.bounds[:, i, 1]))

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


def check_preprocessing(ranges: dict) -> dict[str, tuple[tuple[float, float], ...]]:
    """Validate preprocessing ranges {basis name: ((alpha_min, alpha_max), (beta_min,
    beta_max))}: known names, min <= max, beta >= 0 and integrable sum rules."""
    out = {}
    for name, value in ranges.items():
        if name not in BASIS:
            raise ValueError(f"preprocessing: unknown basis function {name!r}; allowed: {BASIS}")
        try:
            (a_lo, a_hi), (b_lo, b_hi) = ((float(v) for v in pair) for pair in value)
        except (TypeError, ValueError):
            raise ValueError(
                f"preprocessing.{name} = {value!r}: expected [[alpha_min, alpha_max], "
                "[beta_min, beta_max]]"
            ) from None
        if not (a_lo <= a_hi and 0 <= b_lo <= b_hi):
            raise ValueError(
                f"preprocessing.{name} = {value!r}: need alpha_min <= alpha_max and "
                "0 <= beta_min <= beta_max"
            )
        if name in ALPHA_MAX and a_hi >= ALPHA_MAX[name]:
            raise ValueError(
                f"preprocessing.{name}: alpha_max = {a_hi} makes its sum rule diverge at "
                f"small x; allowed: alpha < {ALPHA_MAX[name]}"
            )
        out[name] = ((a_lo, a_hi), (b_lo, b_hi))
    return out


def evolution_to_flavour() -> np.ndarray:
    """Matrix M (13, 8): x f_pid = M @ x f_evol at Q0, rows in the order of
    :data:`~obsforge.pdffit.flavours.FLAVOURS`, with c = cbar and b = t = 0 (nf = 4 at Q0)."""
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
    for q, pid in enumerate(QUARK_PIDS):
        matrix[flavour_row(pid)] = 0.5 * (plus[q] + minus[q])
        matrix[flavour_row(-pid)] = 0.5 * (plus[q] - minus[q])
    matrix[flavour_row(21), BASIS.index("g")] = 1.0
    return matrix


def flavour_to_evolution(xf: np.ndarray) -> np.ndarray:
    """Evolution-basis combinations (..., 8) from x f per flavour (..., 13), pid order
    (-6..-1, 21, 1..6): Sigma, g, V, V3, V8, T3, T8, T15 (their definitions at nf = 4)."""
    xf = np.asarray(xf, dtype=np.float64)
    quark = xf[..., [flavour_row(p) for p in QUARK_PIDS]]  # u, d, s, c
    anti = xf[..., [flavour_row(-p) for p in QUARK_PIDS]]  # ubar, dbar, sbar, cbar
    plus, minus = quark + anti, quark - anti
    u, d, s, c = (plus[..., i] for i in range(4))
    um, dm, sm = (minus[..., i] for i in range(3))
    return np.stack(
        [
            plus.sum(-1), xf[..., flavour_row(21)], minus.sum(-1), um - dm, um + dm - 2 * sm,
            u - d, u + d - 2 * s, u + d + s - 3 * c,
        ],
        axis=-1,
    )  # fmt: skip
