"""What the PrestaShop connector knows of a shop besides its records, typed: the groups (the
values of the `groups` slot) with every language's name, the group new customers get
(`PS_CUSTOMER_GROUP`, the slot's default), the built-in groups, the protected group ids and each
group's price display. Read once per plan/push by `PrestaShopConnector.shop_state()`, refreshed
by the writer after it creates a group. Pure data plus lookups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loyalsync.connectors.base import CurrentState
from loyalsync.connectors.prestashop import parse
from loyalsync.connectors.prestashop.mapping import row_id
from loyalsync.core.errors import RecordError
from loyalsync.core.records import GROUPS, Quarantined, SlotValue

BUILTIN_GROUPS = ("1", "2", "3")  # Visitor, Guest, Customer in a default install


@dataclass(frozen=True)
class PrestaShopState:
    groups: tuple[SlotValue, ...] = ()  # by id, names in the shop's default language
    names: Mapping[str, str] = field(default_factory=dict)  # a name in any language -> id
    default_group_id: str | None = None  # PS_CUSTOMER_GROUP: the group new customers get
    builtin: frozenset[str] = frozenset()  # Visitor, Guest, Customer ids
    protected: frozenset[str] = frozenset()  # ids of the shop's protected_groups
    price_display: Mapping[str, str] = field(default_factory=dict)  # id -> price_display_method
    quarantined: tuple[Quarantined, ...] = ()  # group rows that are no group (no id, no object)

    def current(self) -> CurrentState:
        """The platform-neutral part: the values of the groups slot and its default."""
        defaults = ((GROUPS, self.default_group_id),) if self.default_group_id else ()
        return CurrentState(values=self.groups, defaults=defaults, quarantined=self.quarantined)

    def group_id(self, name: str) -> str | None:
        """The id of the group with this name in any language (or this id)."""
        if name in self.names:
            return self.names[name]
        return name if any(g.id == name for g in self.groups) else None


def build_state(
    rows: list[dict[str, Any]],
    language: str | None,
    config: Mapping[str, str],
    protected: frozenset[str],
    quarantined: Sequence[Quarantined] = (),
) -> PrestaShopState:
    """The state from `GET /api/groups?display=full` rows and the PS_* configuration; a row
    without a valid id joins `quarantined` (list entries that were not objects) with the reason."""
    groups, names, display = [], {}, {}
    bad = list(quarantined)
    for row in rows:
        try:
            gid = row_id(row, "group")
        except RecordError as exc:
            bad.append(Quarantined("groups", None, exc.message, row))
            continue
        name = parse.language_text(row.get("name"), language) or gid
        groups.append(SlotValue(GROUPS, gid, name, raw=row))
        for text in all_names(row.get("name")):
            names.setdefault(text, gid)
        display[gid] = parse.text(row.get("price_display_method")) or "0"
    groups.sort(key=lambda g: (int(g.id) if g.id.isdigit() else 0, g.id))
    builtin = {config.get(k) for k in ("PS_UNIDENTIFIED_GROUP", "PS_GUEST_GROUP")}
    builtin |= {config.get("PS_CUSTOMER_GROUP"), *BUILTIN_GROUPS}
    return PrestaShopState(
        groups=tuple(groups),
        names=names,
        default_group_id=config.get("PS_CUSTOMER_GROUP") or "3",
        builtin=frozenset(b for b in builtin if b),
        protected=protected,
        price_display=display,
        quarantined=tuple(bad),
    )


def all_names(value: Any) -> list[str]:
    """Every language's name of a multilingual field (or the one plain name)."""
    if isinstance(value, list):
        return [t for v in value if isinstance(v, dict) and (t := parse.text(v.get("value")))]
    found = parse.language_text(value)
    return [found] if found else []
