"""BG/NBD, Pareto/NBD and Gamma-Gamma: Retentio's `predict` package against `lifetimes`.

Run: .venv/bin/python benchmarks/clv.py [--customers 1000000] [--repeat 3]
(`lifetimes` comes with the `bench` extra: pip install -e '.[bench]').

Prints, in one run:
1. CDNOW (2,357 customers, weeks): parameters, log-likelihood and seconds of each fit and of
   the predictions (P(alive), expected purchases in the 39-week holdout, 12-month CLV at 1 %
   a month) for both libraries, and the largest difference between their predictions;
2. synthetic customers drawn from known BG/NBD parameters (days, ages 1..730 whole days, the
   time of the last purchase floored to a whole day, as a shop's daily data would be): the
   BG/NBD fit of both libraries, the log-likelihood each reaches, evaluated by the same
   function, and the speed-up. Times are medians of --repeat runs, wall clock and CPU.

lifetimes 0.11.3 (its last release, 2020) imports and runs with numpy 2.4, scipy 1.17 and
pandas 3.1 as they are; no shim is needed. Its fits are given the same data as plain arrays.
"""

# T (the customer's age) keeps the papers' name, as in the literature and in lifetimes.
# ruff: noqa: N806

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from retentio.predict import bgnbd, gammagamma, paretonbd

R = TypeVar("R")

CDNOW = "shared/data/cdnow/cdnow_customers_summary_with_transactions.csv"
TRUTH = bgnbd.BgNbdParams(r=0.25, alpha=30.0, a=0.8, b=2.5)
_CPU: list[float] = []  # CPU seconds of each `_timed` call, in order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2005)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # lifetimes' pandas FutureWarnings
    import lifetimes

    print(f"lifetimes {lifetimes.__version__}, numpy {np.__version__}")
    cdnow(args.repeat)
    synthetic(args.customers, args.repeat, args.seed)


def cdnow(repeat: int) -> None:
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    data = np.loadtxt(_find(CDNOW), delimiter=",", skiprows=1)
    x, t_x, T, zbar = data[:, 1], data[:, 2], data[:, 3], data[:, 4]
    buyers = x > 0
    print(f"\n== CDNOW: {x.size} customers, time in weeks ==")

    ours_bg, s = _timed(lambda: bgnbd.fit(x, t_x, T), repeat)
    theirs_bg, s_l = _timed(lambda: BetaGeoFitter().fit(x, t_x, T), repeat)
    p = ours_bg.params
    lp = theirs_bg.params_
    lp_bg = bgnbd.BgNbdParams(lp["r"], lp["alpha"], lp["a"], lp["b"])
    _row("BG/NBD", "retentio", _fmt(p), ours_bg.log_likelihood, s)
    _row("BG/NBD", "lifetimes", _fmt(lp_bg), _ll(bgnbd.log_likelihood, lp_bg, x, t_x, T), s_l)
    print("   published: r=0.243 alpha=4.414 a=0.793 b=2.426 LL=-9582.4")

    ours_pn, s = _timed(lambda: paretonbd.fit(x, t_x, T), repeat)
    theirs_pn, s_l = _timed(lambda: ParetoNBDFitter().fit(x, t_x, T), repeat)
    lq = theirs_pn.params_
    lp_pn = paretonbd.ParetoNbdParams(lq["r"], lq["alpha"], lq["s"], lq["beta"])
    _row("Pareto/NBD", "retentio", _fmt(ours_pn.params), ours_pn.log_likelihood, s)
    _row(
        "Pareto/NBD", "lifetimes", _fmt(lp_pn), _ll(paretonbd.log_likelihood, lp_pn, x, t_x, T), s_l
    )
    print("   published: r=0.553 alpha=10.578 s=0.606 beta=11.669 LL=-9595.0")

    ours_gg, s = _timed(lambda: gammagamma.fit(x, zbar), repeat)
    theirs_gg, s_l = _timed(lambda: GammaGammaFitter().fit(x[buyers], zbar[buyers]), repeat)
    lg = theirs_gg.params_
    lp_gg = gammagamma.GammaGammaParams(lg["p"], lg["q"], lg["v"])
    ll_gg = _ll(gammagamma.log_likelihood, lp_gg, x[buyers], zbar[buyers])
    _row("Gamma-Gamma", "retentio", _fmt(ours_gg.params), ours_gg.log_likelihood, s)
    _row("Gamma-Gamma", "lifetimes", _fmt(lp_gg), ll_gg, s_l)
    print("   published: p=6.25 q=3.74 gamma=15.44")

    def ours_predict() -> tuple[np.ndarray[Any, Any], ...]:
        alive = bgnbd.p_alive(p, x, t_x, T)
        holdout = bgnbd.conditional_expected_purchases(p, 39.0, x, t_x, T)
        spend = gammagamma.conditional_expected_spend(ours_gg.params, x, zbar)
        clv = gammagamma.customer_lifetime_value(
            p, x, t_x, T, spend, periods=12, period_length=4.345, discount_rate=0.01
        )
        return alive, holdout, clv

    def theirs_predict() -> tuple[np.ndarray[Any, Any], ...]:
        alive = theirs_bg.conditional_probability_alive(x, t_x, T)
        holdout = theirs_bg.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T)
        clv = theirs_gg.customer_lifetime_value(
            theirs_bg, _series(x), _series(t_x), _series(T), _series(zbar),
            time=12, discount_rate=0.01, freq="W",
        )  # fmt: skip
        return np.asarray(alive), np.asarray(holdout), np.asarray(clv)

    ours, s = _timed(ours_predict, repeat)
    theirs, s_l = _timed(theirs_predict, repeat)
    print(f"   predictions (P(alive), E[Y(39)], CLV 12 months): retentio {s:.4f} s, "
          f"lifetimes {s_l:.4f} s")  # fmt: skip
    for name, a, b in zip(("P(alive)", "E[Y(39)]", "CLV"), ours, theirs, strict=True):
        print(f"   {name:9s} max |retentio - lifetimes| = {np.max(np.abs(a - b)):.2e}"
              f" (values up to {np.max(np.abs(a)):.3g})")  # fmt: skip


def synthetic(customers: int, repeat: int, seed: int) -> None:
    from lifetimes import BetaGeoFitter

    rng = np.random.default_rng(seed)
    T = rng.integers(1, 731, customers).astype(np.float64)
    x, t_x = bgnbd.simulate(TRUTH, T, rng=rng)
    t_x = np.floor(t_x)
    print(f"\n== synthetic: {customers:,} customers, days, truth {_fmt(TRUTH)} ==")
    ours, s = _timed(lambda: bgnbd.fit(x, t_x, T), repeat)
    theirs, s_l = _timed(lambda: BetaGeoFitter().fit(x, t_x, T), repeat)
    lp = theirs.params_
    lp_bg = bgnbd.BgNbdParams(lp["r"], lp["alpha"], lp["a"], lp["b"])
    ll_ours = _ll(bgnbd.log_likelihood, ours.params, x, t_x, T)
    ll_theirs = _ll(bgnbd.log_likelihood, lp_bg, x, t_x, T)
    _row("BG/NBD", "retentio", _fmt(ours.params), ll_ours, s)
    _row("BG/NBD", "lifetimes", _fmt(lp_bg), ll_theirs, s_l)
    print(f"   distinct (x, t_x, T) rows fitted: {ours.rows:,}")
    gap = (ll_ours - ll_theirs) / abs(ll_theirs)
    print(f"   LL(retentio) - LL(lifetimes), relative: {gap:+.2e} (positive: retentio higher)")
    cpu, cpu_l = _CPU[-2], _CPU[-1]
    print(f"   speed-up: {s_l / s:.1f}x wall clock ({s:.3f} s vs {s_l:.3f} s), "
          f"{cpu_l / cpu:.1f}x CPU time ({cpu:.3f} s vs {cpu_l:.3f} s)")  # fmt: skip


def _timed(work: Callable[[], R], repeat: int) -> tuple[R, float]:
    """The result of `work` and the median wall-clock seconds of `repeat` runs of it.

    The CPU seconds of the process (all its threads) are kept too, in `_CPU`: on a shared
    2-core box whose load comes and goes they are the steadier figure.
    """
    seconds, cpu = [], []
    for _ in range(max(repeat, 1)):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = work()
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    _CPU.append(statistics.median(cpu))
    return result, statistics.median(seconds)


def _ll(function: Callable[..., np.ndarray[Any, Any]], params: object, *arrays: Any) -> float:
    return float(np.sum(function(params, *arrays)))


def _row(model: str, who: str, params: str, ll: float, seconds: float) -> None:
    print(f"   {model:11s} {who:9s} {params:48s} LL={ll:14.4f}  {seconds:8.4f} s")


def _fmt(params: object) -> str:
    fields = getattr(params, "__dataclass_fields__", {})
    return " ".join(f"{k}={getattr(params, k):.4f}" for k in fields)


def _series(values: np.ndarray[Any, Any]) -> Any:
    import pandas as pd

    return pd.Series(values)


def _find(relative: str) -> Path:
    for folder in Path(__file__).resolve().parents:
        if (folder / relative).exists():
            return folder / relative
    sys.exit(f"cannot find {relative} above {Path(__file__).parent}")


if __name__ == "__main__":
    main()
