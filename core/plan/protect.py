"""Protected values: which slots `protected_groups` names values of, and the check that every
entry names a value the shop has.

A typo (`B2B/Haendler` for `B2B / Händler`) would otherwise protect nobody, and the plan would
move those customers. Entries match a group's name or id exactly (the planner matches the same
way). Pure: the shop's groups come in as (id, name) pairs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from loyalsync.core.errors import ConfigError
from loyalsync.core.records import Slot


def protection_slots(slots: Sequence[Slot]) -> list[Slot]:
    """The slots whose values `protected_groups` names: those that drive prices (customer
    groups), or every slot when the platform marks none. A customer holding a protected value
    is never modified, whatever the kind of slot the change is in."""
    return [s for s in slots if s.prices] or list(slots)


def protected_group_problems(
    protected: Iterable[str], groups: Iterable[tuple[str, str]]
) -> list[str]:
    """One message per entry that is neither the name nor the id of a shop group."""
    pairs = list(groups)
    names = sorted({name for _, name in pairs})
    known = {value for pair in pairs for value in pair}
    listing = ", ".join(repr(n) for n in names) if names else "none (pull the shop first)"
    problems = []
    for entry in protected:
        if entry in known:
            continue
        folded = {n.casefold(): n for n in names}
        close = difflib.get_close_matches(entry.casefold(), list(folded), n=1, cutoff=0.5)
        hint = f" (did you mean {folded[close[0]]!r}?)" if close else ""
        problems.append(
            f"protected_groups: the shop has no group {entry!r}{hint}; its groups: {listing}"
        )
    return problems


def check_protected_groups(
    shop: str, protected: Iterable[str], groups: Iterable[tuple[str, str]]
) -> None:
    """Raise ConfigError (nothing is planned or written) when an entry names no group."""
    problems = protected_group_problems(protected, groups)
    if problems:
        raise ConfigError(
            "refusing to go on: a protected group is not in the shop, so its customers would "
            "not be protected:\n" + "\n".join(f"  - {p}" for p in problems),
            shop=shop,
            problems=problems,
        )
