"""What the Shopware connector knows of a shop besides its records, typed: groups, tags, the
default group, storefront sales channels and each group's price display; and the narrow view
of the connector the writer works through (so writer and client do not import each other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from loyalsync.connectors.base import CurrentState
from loyalsync.core.config import ShopConfig
from loyalsync.core.records import GROUPS, SlotValue


@dataclass(frozen=True)
class ShopwareState:
    groups: tuple[SlotValue, ...] = ()
    tags: tuple[SlotValue, ...] = ()
    default_group_id: str | None = None  # the storefront's group: where customers return to
    storefronts: tuple[str, ...] = ()  # ids of the storefront sales channels
    channel_names: Mapping[str, str | None] = field(default_factory=dict)  # id -> name
    display_gross: Mapping[str, bool] = field(default_factory=dict)  # group id -> displayGross

    def current(self) -> CurrentState:
        """The platform-neutral part: the values of both slots and the default group."""
        defaults = ((GROUPS, self.default_group_id),) if self.default_group_id else ()
        return CurrentState(values=(*self.groups, *self.tags), defaults=defaults)


class SyncTarget(Protocol):
    """What `writer.apply_ops` needs of the connector."""

    shop: ShopConfig

    def shop_state(self) -> ShopwareState: ...

    def search(self, entity: str, body: dict[str, Any]) -> Any: ...

    def call(self, method: str, path: str, **kwargs: Any) -> Any: ...
