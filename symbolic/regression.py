"""Symbolic regression of a learned CP-odd observable into a closed formula.

One interface (:class:`SymbolicBackend`: ``fit(x, y, names) -> Pareto front``), two backends:

- ``operon`` (default): Operon (Burlacu, Kronberger, Kommenda, GECCO 2020) through its scikit-learn
  wrapper ``pyoperon``: genetic programming with Levenberg-Marquardt fitting of the constants,
  multi-objective (fidelity R^2 vs expression length), returning its Pareto front.
- ``pysr``: PySR (Cranmer 2023), optional; it needs a Julia installation, so it is imported only
  when asked for and fails with instructions when it is missing.

CP-oddness is imposed by construction: every candidate g(x) becomes O(x) = [g(x) - g(CP x)] / 2,
an exactly odd function (CP x flips the CP-odd features), and :func:`is_cp_odd` proves it with
sympy: O(x) + O(CP x) simplifies to 0. The target is the antisymmetrised classifier log-odds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import sympy
from pydantic import Field, model_validator

from obsforge.config import MAX_COUNT, Config
from obsforge.symbolic.features import PARITY, validate_features

__all__ = [
    "Candidate",
    "DistilledObservable",
    "OperonBackend",
    "PySRBackend",
    "SymbolicConfig",
    "antisymmetrise",
    "distil",
    "get_backend",
    "is_cp_odd",
]

OPERATORS = {"add", "sub", "mul", "div", "sin", "cos", "exp", "log", "sqrt", "square"}
PYSR_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
PYSR_UNARY = {
    "sin": "sin",
    "cos": "cos",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "square": "square",
}


class SymbolicConfig(Config):
    """Symbolic-regression settings (the Operon defaults were chosen for stability across
    seeds: see docs/symbolic.md)."""

    backend: Literal["operon", "pysr"] = "operon"
    operators: list[str] = Field(["add", "sub", "mul", "div", "sin", "cos"], min_length=1)
    samples: int = Field(
        4000, ge=50, le=MAX_COUNT, description="events the regression is fitted on"
    )
    population_size: int = Field(1000, ge=10)
    generations: int = Field(200, ge=1)
    max_evaluations: int = Field(1_000_000, ge=1000, le=MAX_COUNT)
    max_length: int = Field(30, ge=3, description="largest expression (nodes)")
    threads: int = Field(2, ge=1)
    seed: int = Field(0, ge=0)
    tolerance: float = Field(
        0.03, ge=0, lt=1, description="choose the simplest formula with R^2 >= (1 - tol) R^2_best"
    )

    @model_validator(mode="after")
    def _known_operators(self) -> SymbolicConfig:
        unknown = sorted(set(self.operators) - OPERATORS)
        if unknown:
            raise ValueError(f"operators: {unknown} not allowed; choose from {sorted(OPERATORS)}")
        return self


@dataclass(frozen=True)
class Candidate:
    """One point of a Pareto front: a sympy expression in the feature symbols."""

    expression: sympy.Expr
    complexity: int


class SymbolicBackend(Protocol):
    def fit(self, x: np.ndarray, y: np.ndarray, names: list[str]) -> list[Candidate]: ...


def _sympify(text: str, names: list[str]) -> sympy.Expr:
    symbols = {name: sympy.Symbol(name, real=True) for name in names}
    return sympy.sympify(text.replace("^", "**"), locals=symbols)


class OperonBackend:
    """Operon's multi-objective GP; the Pareto front in (R^2, length)."""

    def __init__(self, config: SymbolicConfig):
        self.config = config

    def fit(self, x: np.ndarray, y: np.ndarray, names: list[str]) -> list[Candidate]:
        from pyoperon.sklearn import SymbolicRegressor

        c = self.config
        regressor = SymbolicRegressor(
            allowed_symbols=",".join(["constant", "variable", *c.operators]),
            objectives=["r2", "length"],
            population_size=c.population_size,
            pool_size=c.population_size,
            generations=c.generations,
            max_evaluations=c.max_evaluations,
            max_length=c.max_length,
            optimizer_iterations=10,
            n_threads=c.threads,
            random_state=c.seed,
        )
        regressor.fit(x, y)
        front = []
        for model in regressor.pareto_front_:
            text = regressor.get_model_string(model["tree"], 6, names)
            front.append(Candidate(_sympify(text, names), int(model["complexity"])))
        return front


class PySRBackend:
    """PySR's regressor (optional; needs Julia). Its hall of fame is the Pareto front."""

    def __init__(self, config: SymbolicConfig):
        self.config = config

    def fit(self, x: np.ndarray, y: np.ndarray, names: list[str]) -> list[Candidate]:
        try:
            from pysr import PySRRegressor
        except Exception as exc:  # ImportError, or juliacall failing to find/install Julia
            raise RuntimeError(
                "symbolic.backend = 'pysr' needs PySR and a Julia installation: "
                "pip install 'obsforge[pysr]' and make Julia available (juliacall downloads it "
                "on first import, which needs internet access), or use the default "
                f"backend 'operon'. Import failed with: {exc}"
            ) from exc
        c = self.config
        regressor = PySRRegressor(
            binary_operators=[PYSR_BINARY[o] for o in c.operators if o in PYSR_BINARY],
            unary_operators=[PYSR_UNARY[o] for o in c.operators if o in PYSR_UNARY],
            population_size=min(c.population_size, 100),
            niterations=c.generations,
            maxsize=c.max_length,
            random_state=c.seed,
            deterministic=True,
            parallelism="serial",
        )
        regressor.fit(x, y, variable_names=names)
        return [
            Candidate(_sympify(str(row["sympy_format"]), names), int(row["complexity"]))
            for _, row in regressor.equations_.iterrows()
        ]


BACKENDS = {"operon": OperonBackend, "pysr": PySRBackend}


def get_backend(config: SymbolicConfig) -> SymbolicBackend:
    """The backend named by ``config.backend``."""
    try:
        return BACKENDS[config.backend](config)
    except KeyError:
        raise ValueError(
            f"symbolic.backend = {config.backend!r}: allowed are {sorted(BACKENDS)}"
        ) from None


def _cp_substitution(names: list[str]) -> dict[sympy.Symbol, sympy.Expr]:
    return {sympy.Symbol(n, real=True): -sympy.Symbol(n, real=True) for n in names if PARITY[n] < 0}


def antisymmetrise(expression: sympy.Expr, names: list[str]) -> sympy.Expr:
    """[g(x) - g(CP x)] / 2: the CP-odd part of g."""
    image = expression.xreplace(_cp_substitution(names))
    return sympy.expand((expression - image) / 2)


def is_cp_odd(expression: sympy.Expr, names: list[str]) -> bool:
    """Symbolic proof that O(CP x) = -O(x): O + O(CP x) simplifies to exactly zero."""
    image = expression.xreplace(_cp_substitution(names))
    total = sympy.expand(expression + image)
    return total == 0 or sympy.simplify(total) == 0


@dataclass
class DistilledObservable:
    """The chosen CP-odd formula and the Pareto front it was chosen from."""

    expression: sympy.Expr
    names: list[str]
    pareto: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[sympy.Expr] = field(default_factory=list)  # the front's formulas, in order

    @property
    def latex(self) -> str:
        return sympy.latex(self.rounded())

    def rounded(self, digits: int = 3) -> sympy.Expr:
        """The formula with its constants rounded to ``digits`` significant digits (display)."""
        floats = self.expression.atoms(sympy.Float)
        return self.expression.xreplace({f: sympy.Float(f"{float(f):.{digits}g}") for f in floats})

    def __call__(self, x: np.ndarray) -> np.ndarray:
        symbols = [sympy.Symbol(n, real=True) for n in self.names]
        function = sympy.lambdify(symbols, self.expression, "numpy")
        value = function(*np.asarray(x, dtype=np.float64).T)
        return np.broadcast_to(np.asarray(value, dtype=np.float64), (len(x),)).copy()

    def to_json(self) -> dict[str, Any]:
        return {
            "expression": str(self.expression),
            "latex": self.latex,
            "features": self.names,
            "cp_odd_verified": is_cp_odd(self.expression, self.names),
            "pareto": self.pareto,
        }


def _r2(prediction: np.ndarray, target: np.ndarray) -> float:
    """Fidelity with the optimal affine rescaling (a formula is defined up to a*O + b)."""
    if np.std(prediction) == 0:
        return 0.0
    return float(np.corrcoef(prediction, target)[0, 1] ** 2)


def distil(
    x: np.ndarray, target: np.ndarray, names: list[str], config: SymbolicConfig
) -> DistilledObservable:
    """Fit the target on ``config.samples`` events, antisymmetrise every Pareto candidate,
    score it (R^2 against the target on the other events) and pick the simplest one within
    ``tolerance`` of the best."""
    names = list(names)
    x = validate_features(x, names)
    target = np.asarray(target, dtype=np.float64)
    if target.shape != (len(x),) or not np.isfinite(target).all():
        raise ValueError(f"target: expected {len(x)} finite values, got shape {target.shape}")
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(x))
    fit_rows = order[: min(config.samples, len(x) // 2)]
    check_rows = order[len(fit_rows) :]
    front = get_backend(config).fit(x[fit_rows], target[fit_rows], names)
    rows = []
    for candidate in front:
        odd = antisymmetrise(candidate.expression, names)
        observable = DistilledObservable(odd, names)
        r2 = _r2(observable(x[check_rows]), target[check_rows])
        rows.append(
            {"complexity": candidate.complexity, "r2": r2, "expression": str(odd), "_expr": odd}
        )
    rows.sort(key=lambda r: r["complexity"])
    best = max(r["r2"] for r in rows)
    chosen = next(r for r in rows if r["r2"] >= (1 - config.tolerance) * best)
    pareto = [{k: v for k, v in r.items() if k != "_expr"} for r in rows]
    return DistilledObservable(chosen["_expr"], names, pareto, [r["_expr"] for r in rows])
