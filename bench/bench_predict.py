"""Benchmark: BG/NBD + Gamma-Gamma fit and score times, side by side with `lifetimes`, and the
whole daily segmentation with predictions.

    make bench-predict                                      # builds bench/.venv-lifetimes
    .venv/bin/python -m bench.bench_predict --sizes 100000  # smaller synthetic size

Data: the full CDNOW transactions (tests/fixtures/cdnow, 23,570 customers, 39 calibration weeks;
the holdout errors are printed too) and synthetic customers drawn from known parameters by
`predict_sample.py` (in days, rounded to whole days as `predictions.py` does). For each data
set: loyalsync's fit (BG/NBD, then Gamma-Gamma on the repeat buyers) and score (P(alive),
expected orders, expected spend, 12-month CLV), then, with `--lifetimes PYTHON` (the python of
an environment with lifetimes installed), lifetimes' fit and score of the same arrays in a
subprocess (bench/lifetimes_side.py), the log-likelihood of both fits and the speed-up.
`--segment-size N` runs `segment_shop` (predictions on) on bench_segments' cached synthetic
mirror: a first run, then the daily run one day later, each in its own process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalsync.core.segments.predict import (  # noqa: E402
    _bgnbd_terms,
    customer_lifetime_value,
    fit_bgnbd,
    fit_gamma_gamma,
)
from loyalsync.core.segments.predict_sample import sample_bgnbd  # noqa: E402

OUT = ROOT / "bench" / "out"
TRUTH = (0.6, 60.0, 0.8, 2.5)  # r, alpha (days), a, b
SPEND = (6.0, 4.0, 15.0)  # p, q, v


def synthetic(customers: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261101)
    age = np.round(rng.uniform(30, 1095, customers))
    h = sample_bgnbd(rng, age, *TRUTH, spend=SPEND)
    return {"frequency": h.frequency, "recency": np.round(h.recency), "T": h.T,
            "monetary": np.nan_to_num(h.monetary), "horizon": np.array(365.0)}  # fmt: skip


def cdnow() -> dict[str, np.ndarray]:
    from tests.segments.cdnow_holdout import holdout

    started = time.perf_counter()
    result = holdout()
    print(f"CDNOW holdout (load, summarise, fit, predict) {time.perf_counter() - started:.2f} s")
    print("\n".join(result.lines()))
    h = result.inputs
    return {**h, "horizon": np.array(39.0)}


def ours(data: dict[str, np.ndarray]) -> dict[str, object]:
    x, tx, age, m = data["frequency"], data["recency"], data["T"], data["monetary"]
    started = time.perf_counter()
    model = fit_bgnbd(x, tx, age)
    fit = time.perf_counter() - started
    repeat = (x > 0) & (m > 0)
    started = time.perf_counter()
    spend_model = fit_gamma_gamma(x[repeat], m[repeat])
    fit_gg = time.perf_counter() - started
    started = time.perf_counter()
    model.probability_alive(x, tx, age)
    model.expected_orders(float(data["horizon"]), x, tx, age)
    score = time.perf_counter() - started
    started = time.perf_counter()
    spend = spend_model.expected_spend(x, m)
    month = float(data["horizon"]) / 12
    customer_lifetime_value(model, spend, x, tx, age, months=12, month_length=month,
                            monthly_discount=0.01)  # fmt: skip
    clv = time.perf_counter() - started
    params = {"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b}
    gg = {"p": spend_model.p, "q": spend_model.q, "v": spend_model.v}
    return {
        "fit": fit, "fit_gg": fit_gg, "score": score, "clv": clv, "params": params, "gg_params": gg,
        "log_likelihood": model.log_likelihood, "converged": model.report.converged,
    }  # fmt: skip


def log_likelihood(params: dict[str, float], data: dict[str, np.ndarray]) -> float:
    """The BG/NBD log-likelihood of `params` on the data (the same function for both fits)."""
    theta = np.log([params["r"], params["alpha"], params["a"], params["b"]])
    xs, index = np.unique(data["frequency"], return_inverse=True)
    weights = np.ones(len(index))
    return _bgnbd_terms(theta, xs, index, data["recency"], data["T"], weights)[0]


def theirs(python: str, data: dict[str, np.ndarray], name: str) -> dict[str, object] | None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"predict_{name}.npz"
    np.savez(path, **data)
    side = ROOT / "bench" / "lifetimes_side.py"
    done = subprocess.run(
        [python, str(side), str(path)], check=False, capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"  lifetimes failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def compare(name: str, data: dict[str, np.ndarray], python: str | None) -> None:
    n, repeat = len(data["frequency"]), int(np.count_nonzero(data["frequency"] > 0))
    print(f"\n{name}: {n:,} customers, {repeat:,} repeat buyers")
    rows = [("loyalsync", ours(data))]
    if python:
        got = theirs(python, data, name)
        if got is not None:
            got["log_likelihood"] = log_likelihood(got["params"], data)  # type: ignore[arg-type]
            rows.append(("lifetimes", got))
    for label, r in rows:
        bg = " ".join(f"{k} {v:.4g}" for k, v in r["params"].items())  # type: ignore[attr-defined]
        gg = " ".join(f"{k} {v:.4g}" for k, v in r["gg_params"].items())  # type: ignore[attr-defined]
        gg_time = f" (+ Gamma-Gamma {r['fit_gg']:.2f} s)"
        clv = f"  (+ spend and 12-month CLV {r['clv']:.2f} s)" if "clv" in r else ""
        print(f"  {label:<9} fit {r['fit']:6.2f} s{gg_time}  score {r['score']:6.2f} s{clv}")
        print(f"            LL {r['log_likelihood']:,.1f}  BG/NBD {bg}  Gamma-Gamma {gg}")
    if len(rows) == 2:
        mine, other = rows[0][1], rows[1][1]
        t = {k: (float(mine[k]), float(other[k])) for k in ("fit", "fit_gg", "score")}  # type: ignore[arg-type]
        ratio = {k: theirs_s / ours_s for k, (ours_s, theirs_s) in t.items()}
        both = (t["fit"][1] + t["fit_gg"][1]) / (t["fit"][0] + t["fit_gg"][0])
        print(
            f"  speed-up: BG/NBD fit {ratio['fit']:.1f}x, Gamma-Gamma fit {ratio['fit_gg']:.1f}x, "
            f"both {both:.1f}x; score (P(alive), expected orders) {ratio['score']:.1f}x"
        )


def segmentation(customers: int) -> None:
    from bench.bench_segments import build_mirror, clear_membership, run_child

    path = build_mirror(customers)
    clear_membership(path)
    print(f"\nsegmentation with predictions, {customers:,} customers (bench_segments' mirror)")
    for label, days in (("first", 0), ("next day", 1)):
        r = run_child(path, days)
        phases = " ".join(f"{k} {v:.1f}" for k, v in r["phases"].items())  # type: ignore[union-attr]
        print(
            f"  {label:<9} wall {r['wall']:6.1f} s  cpu {r['cpu']:6.1f} s  "
            f"peak {r['peak_mb']:6.0f} MB  | {phases} | {r['members']:,} memberships"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--lifetimes", metavar="PYTHON", help="python of a lifetimes venv")
    parser.add_argument("--segment-size", type=int, default=0)
    args = parser.parse_args()
    compare("CDNOW", cdnow(), args.lifetimes)
    for size in args.sizes:
        compare(f"synthetic_{size}", synthetic(size), args.lifetimes)
    if args.segment_size:
        segmentation(args.segment_size)


if __name__ == "__main__":
    main()
