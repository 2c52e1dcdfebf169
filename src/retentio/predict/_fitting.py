"""Maximum likelihood on log-parameters with L-BFGS-B, shared by every model.

Optimising log-parameters keeps each parameter positive without constraints and puts
parameters of very different scales (alpha in days ~30, r ~0.2) on a common footing; the
objective is the *mean* log-likelihood per customer so that the stopping tolerances mean the
same for 2,000 and for 1,000,000 customers. Bounds of +-30 on the log-parameters only stop a
degenerate data set (say, nobody ever buying again) from running a parameter off to inf.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from scipy import optimize

from retentio.predict._arrays import FloatArray

__all__ = ["FitResult", "Fitted", "Optimum", "minimise"]

P = TypeVar("P")
Q = TypeVar("Q")

_LOG_BOUND = 30.0


@dataclass(frozen=True, slots=True)
class FitResult(Generic[P]):
    """A fitted model: its parameters and how the fit went.

    `log_likelihood` is the total over customers (weighted), comparable with published
    figures; `rows` is the number of distinct summaries the likelihood was evaluated on.
    """

    params: P
    log_likelihood: float
    customers: float
    rows: int
    iterations: int
    converged: bool
    message: str


@dataclass(frozen=True, slots=True)
class Optimum:
    log_params: FloatArray
    mean_log_likelihood: float
    iterations: int
    converged: bool
    message: str


@dataclass(frozen=True, slots=True)
class Fitted(Generic[Q]):
    """A model's raw optimum, before its module wraps the parameters in their own class."""

    params: Q
    optimum: Optimum
    customers: float
    rows: int

    def result(self, params: P) -> FitResult[P]:
        return FitResult(
            params=params,
            log_likelihood=self.optimum.mean_log_likelihood * self.customers,
            customers=self.customers,
            rows=self.rows,
            iterations=self.optimum.iterations,
            converged=self.optimum.converged,
            message=self.optimum.message,
        )


def minimise(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    start: FloatArray,
    *,
    max_iterations: int = 2_000,
) -> Optimum:
    """Minimise `objective` (value and gradient, in log-parameters) from `start`."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * start.size
    result = optimize.minimize(
        objective,
        np.clip(start, -_LOG_BOUND, _LOG_BOUND),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iterations, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20},
    )
    return Optimum(
        log_params=np.asarray(result.x, dtype=np.float64),
        mean_log_likelihood=-float(result.fun),
        iterations=int(result.nit),
        converged=bool(result.success),
        message=str(result.message),
    )
