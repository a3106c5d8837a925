"""The `lifetimes` side of bench/bench_predict.py, run by bench/.venv-lifetimes/bin/python (the
benchmark's own environment: lifetimes is never a project dependency).

    bench/.venv-lifetimes/bin/python bench/lifetimes_side.py DATA.npz

DATA.npz holds frequency, recency, T and monetary (the arrays loyalsync fitted); prints one
JSON line: seconds to fit BG/NBD, to score (P(alive), expected orders), to fit Gamma-Gamma,
and the fitted parameters (bench_predict.py computes their log-likelihood).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter


def main(path: str) -> None:
    warnings.simplefilter("ignore")
    data = np.load(path)
    x, tx, age, m = (pd.Series(data[k]) for k in ("frequency", "recency", "T", "monetary"))
    horizon = float(data["horizon"])
    out: dict[str, object] = {}
    started = time.perf_counter()
    bg = BetaGeoFitter().fit(x, tx, age)
    out["fit"] = time.perf_counter() - started
    started = time.perf_counter()
    bg.conditional_probability_alive(x, tx, age)
    bg.conditional_expected_number_of_purchases_up_to_time(horizon, x, tx, age)
    out["score"] = time.perf_counter() - started
    repeat = (x > 0) & (m > 0)
    started = time.perf_counter()
    gg = GammaGammaFitter().fit(x[repeat], m[repeat])
    out["fit_gg"] = time.perf_counter() - started
    out["params"] = {k: float(v) for k, v in bg.params_.items()}
    out["gg_params"] = {k: float(v) for k, v in gg.params_.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
