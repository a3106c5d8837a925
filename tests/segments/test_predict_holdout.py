"""BG/NBD beats the naive baseline on the CDNOW holdout (errors printed; see cdnow_holdout)."""

from __future__ import annotations

from tests.segments.cdnow_holdout import holdout


def test_bgnbd_beats_the_naive_baseline_on_the_cdnow_holdout() -> None:
    result = holdout()
    print("\n" + "\n".join(result.lines()))
    assert len(result.actual) == 23_570
    assert result.model.report.converged
    model, baseline = result.errors(result.predicted), result.errors(result.baseline)
    assert model["mae"] < baseline["mae"]
    assert model["rmse"] < baseline["rmse"]
    assert model["aggregate_error"] < baseline["aggregate_error"]
