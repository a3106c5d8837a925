"""What the Shopware connector knows of a shop besides its records, typed: groups, tags, the
default group, storefront sales channels, each group's price display and the group and tag
rows it could not map; and the narrow view
of the connector the writer works through (so writer and client do not import each other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from loyalsync.connectors.base import CurrentState
from loyalsync.core.config import ShopConfig
from loyalsync.core.records import GROUPS, Quarantined, SlotValue

if TYPE_CHECKING:
    from loyalsync.connectors.http import HttpClient


@dataclass(frozen=True)
class ShopwareState:
    groups: tuple[SlotValue, ...] = ()
    tags: tuple[SlotValue, ...] = ()
    default_group_id: str | None = None  # the storefront's group: where customers return to
    storefronts: tuple[str, ...] = ()  # ids of the storefront sales channels
    channel_names: Mapping[str, str | None] = field(default_factory=dict)  # id -> name
    display_gross: Mapping[str, bool] = field(default_factory=dict)  # group id -> displayGross
    quarantined: tuple[Quarantined, ...] = ()  # group and tag rows that could not be mapped

    def current(self) -> CurrentState:
        """The platform-neutral part: the values of both slots and the default group."""
        defaults = ((GROUPS, self.default_group_id),) if self.default_group_id else ()
        return CurrentState(
            values=(*self.groups, *self.tags), defaults=defaults, quarantined=self.quarantined
        )


class SyncTarget(Protocol):
    """What `writer.apply_ops` needs of the connector."""

    shop: ShopConfig
    http: HttpClient

    def shop_state(self) -> ShopwareState: ...

    def search(self, entity: str, body: dict[str, Any]) -> Any: ...

    def call(self, method: str, path: str, **kwargs: Any) -> Any: ...
