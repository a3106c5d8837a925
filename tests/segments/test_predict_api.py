"""The API names issue 15 gives are contracts: functions, arguments, attributes and methods."""

from __future__ import annotations

import inspect

import numpy as np

from loyalsync.core.segments.predict import fit_bgnbd, fit_gamma_gamma


def positional(function: object) -> list[str]:
    params = inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    return [p.name for p in params if p.default is inspect.Parameter.empty]


def test_bgnbd_names() -> None:
    assert positional(fit_bgnbd) == ["frequency", "recency", "T"]
    x, tx, age = np.array([0.0, 1, 2, 3]), np.array([0.0, 2, 5, 7]), np.array([8.0, 8, 9, 10])
    model = fit_bgnbd(frequency=x, recency=tx, T=age)
    for name in ("r", "alpha", "a", "b", "log_likelihood"):
        assert isinstance(getattr(model, name), float), name
    assert positional(model.probability_alive) == ["frequency", "recency", "T"]
    assert positional(model.expected_orders) == ["t", "frequency", "recency", "T"]
    alive = model.probability_alive(frequency=x, recency=tx, T=age)
    expected = model.expected_orders(t=4.0, frequency=x, recency=tx, T=age)
    assert alive.shape == expected.shape == (4,)


def test_gamma_gamma_names() -> None:
    assert positional(fit_gamma_gamma) == ["frequency", "monetary"]
    x, m = np.array([1.0, 2, 3, 1, 4]), np.array([10.0, 20, 15, 30, 12])
    model = fit_gamma_gamma(frequency=x, monetary=m)
    assert all(isinstance(getattr(model, n), float) for n in ("p", "q", "v"))
    assert positional(model.expected_spend) == ["frequency", "monetary"]
    assert model.expected_spend(frequency=x, monetary=m).shape == (5,)
