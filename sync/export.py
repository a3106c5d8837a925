"""`customers` as an export: the newsletter consent column, `--consented-only`, the extra sort
keys and `--columns`. Plain frame work on what `sync.segment.customer_table` returned and
what `core.mirror` stores about consent; the command itself is in commands_data.py."""

from __future__ import annotations

import difflib

import click
import pandas as pd

from loyalsync.core.errors import LoyalsyncError

# CLI sort name -> (column, highest/most recent first); the older names pass straight through
# to customer_table (city, country, postcode, email, last_name, clv, contact_due)
EXTRA_SORTS = {"last_order": ("last_order_at", True), "revenue": ("revenue", True),
               "orders": ("orders", True)}  # fmt: skip
CONSENT = "newsletter"


class NoConsentData(LoyalsyncError):
    """`--consented-only` on a shop whose mirror holds no newsletter consent: a newsletter list
    cannot be made safely, so nothing is exported. Exits 2, like a refused option."""

    exit_code = 2


def with_consent(frame: pd.DataFrame, consent: pd.DataFrame) -> pd.DataFrame:
    """The frame with a `newsletter` column: True / False where the mirror knows, else None."""
    known = dict(zip(consent["customer_id"].astype(str), consent["newsletter"], strict=True))
    values = [known.get(str(c)) for c in frame["customer_id"]]
    return frame.assign(**{CONSENT: pd.Series(values, index=frame.index, dtype=object)})


def consented_only(frame: pd.DataFrame, shop: str, has_consent: bool) -> pd.DataFrame:
    if not has_consent:
        raise NoConsentData(
            f"no newsletter consent data in the mirror for shop {shop!r} (the platform's "
            "payload does not carry it): refusing to make a newsletter list; export without "
            "--consented-only and check consent in the shop"
        )
    return frame.loc[frame[CONSENT].map(lambda v: v is True)].reset_index(drop=True)


def sorted_export(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    column, descending = EXTRA_SORTS[sort]
    return frame.sort_values(
        column, ascending=not descending, kind="stable", na_position="last"
    ).reset_index(drop=True)


def chosen_columns(text: str, available: list[str]) -> list[str]:
    """`--columns email,first_name,newsletter` -> the names, each checked (did-you-mean)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise click.BadParameter("name at least one column", param_hint="'--columns'")
    for name in names:
        if name not in available:
            close = difflib.get_close_matches(name, available, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise click.BadParameter(
                f"unknown column {name!r}{hint}; columns: {', '.join(available)}",
                param_hint="'--columns'",
            )
    return names
