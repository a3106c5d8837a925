"""What the push tests need from each platform: its simulator, the shop's truth, a mirror.

A platform joins the push suite by adding a factory to `PLATFORMS`: a context manager that
starts its simulator on 127.0.0.1 with a small synthetic shop and yields a `PushShop`. The
tests drive `sync.pull` and `sync.push` against a real temporary mirror and read the shop's
truth from the simulator; nothing of loyalsync's own is mocked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from loyalsync.connectors import build_connector
from loyalsync.connectors.base import Connector
from loyalsync.core.config import Config, PushConfig, SegmentationConfig, ShopConfig
from loyalsync.core.mirror import Mirror, db_time
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.pull import pull_entity, refresh_state
from tests.contract.harness import FakeClock

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


class PushShop(Protocol):
    platform: str
    shop: ShopConfig
    mirror: Mirror
    clock: FakeClock
    default_group: str  # name
    protected_group: str  # name of a group whose members must never change

    def connector(self) -> Connector: ...
    def config(self, push: PushConfig, **segmentation: Any) -> Config: ...

    # the shop's truth
    def customer_ids(self) -> list[str]: ...  # registered (not guest) customers, sorted
    def group_of(self, customer_id: str) -> str: ...  # group name
    def tags_of(self, customer_id: str) -> set[str]: ...  # tag names
    def country_of(self, customer_id: str) -> str | None: ...  # ISO code of the address
    def snapshot(self, customer_id: str) -> Any: ...  # everything a push could change
    def group_names(self) -> list[str]: ...  # duplicates visible
    def tag_names(self) -> list[str]: ...
    def codes_of(self, campaign: str) -> dict[str, list[str]]: ...  # customer -> codes
    def write_requests(self) -> int: ...  # write calls that reached the shop so far
    def writes(self) -> int: ...  # rows the shop applied so far (its write log)

    # changes behind loyalsync's back
    def delete_customer(self, customer_id: str) -> None: ...


def pull(shop: PushShop) -> None:
    """A full pull of groups, tags, customers and orders into the shop's mirror."""
    connector = shop.connector()
    refresh_state(connector, shop.mirror, shop.shop.name)
    for entity in ("customers", "orders"):
        pull_entity(connector, shop.mirror, shop.shop.name, entity)


def set_members(shop: PushShop, members: Mapping[str, set[str]], as_of: datetime) -> None:
    """Replace the stored segment membership (what segmentation writes) with `members`."""
    # arranging the world: the segmentation engine's own writer is not what is under test here
    rows = [
        (shop.shop.name, cid, seg, db_time(as_of))
        for cid, segments in members.items()
        for seg in segments
    ]
    with shop.mirror.transaction() as conn:
        conn.execute("DELETE FROM segment_members WHERE shop = ?", (shop.shop.name,))
        conn.executemany(
            "INSERT INTO segment_members (shop, customer_id, segment, since) VALUES (?, ?, ?, ?)",
            rows,
        )


# ---------------------------------------------------------------------------------------------
# Shopware


@dataclass
class ShopwareShop:
    sim: Any
    mirror: Mirror
    clock: FakeClock
    sleeps: list[float] = field(default_factory=list)
    platform: str = "shopware"
    default_group: str = "Standard customer group"
    protected_group: str = "B2B / Händler"

    @property
    def shop(self) -> ShopConfig:
        return ShopConfig(
            name="sw-push",
            platform="shopware",
            url=self.sim.url,
            credentials={"client_id": self.sim.client_id, "client_secret": self.sim.client_secret},
            requests_per_second=10_000,
            page_size=100,
            protected_groups=(self.protected_group,),
        )

    def connector(self) -> Connector:
        return build_connector(self.shop, sleep=self.sleeps.append, now=self.clock)

    def config(self, push: PushConfig, **segmentation: Any) -> Config:
        seg = replace(SegmentationConfig(), min_age_days=0, **segmentation)
        return Config(shops=(self.shop,), push=push, segmentation=seg)

    def customer_ids(self) -> list[str]:
        return sorted(c.id for c in self.sim.customers.values() if not c.rec.is_guest)

    def _names(self, entity: str) -> dict[str, str]:
        return {rid: row["name"] for rid, row in self.sim.table(entity).items()}

    def group_of(self, customer_id: str) -> str:
        return self._names("customer_group")[self.sim.customers[customer_id].group_id]

    def tags_of(self, customer_id: str) -> set[str]:
        names = self._names("tag")
        return {names[t] for t in self.sim.customers[customer_id].tag_ids}

    def country_of(self, customer_id: str) -> str | None:
        return self.sim.customers[customer_id].rec.country

    def snapshot(self, customer_id: str) -> Any:
        from loyalsync.connectors.shopware.sim_render import customer_json

        row = self.sim.customers[customer_id]
        promotions = sorted(p for p, c in self.sim.persona if c == customer_id)
        return customer_json(row, {}, self.sim.store.tables), promotions

    def group_names(self) -> list[str]:
        return sorted(self._names("customer_group").values())

    def tag_names(self) -> list[str]:
        return sorted(self._names("tag").values())

    def codes_of(self, campaign: str) -> dict[str, list[str]]:
        # Shopware codes belong to the promotion; the customer binding is the persona list
        # plus the connector's deterministic code id (connectors/shopware/sync_plan.py)
        from loyalsync.connectors.shopware.sync_plan import campaign_id, code_id

        pid = campaign_id(campaign)
        rows = [
            r
            for r in self.sim.table("promotion_individual_code").values()
            if r["promotionId"] == pid
        ]
        persona = [c for p, c in self.sim.persona if p == pid]
        found: dict[str, list[str]] = {}
        for row in rows:
            owner = next(
                (c for c in persona if code_id(campaign, c, row["code"]) == row["id"]), "?"
            )
            found.setdefault(owner, []).append(row["code"])
        return found

    def write_requests(self) -> int:
        return sum(
            1
            for r in self.sim.request_log
            if r.method in ("POST", "PATCH", "DELETE")
            and not r.path.startswith(("/api/search", "/api/oauth"))
        )

    def writes(self) -> int:
        return len(self.sim.write_log)

    def delete_customer(self, customer_id: str) -> None:
        self.sim.delete_customers([customer_id])


@contextmanager
def shopware_shop(tmp: Path, customers: int = 250, seed: int = 7) -> Iterator[ShopwareShop]:
    from loyalsync.connectors.shopware.simulator import ShopwareSimulator

    clock = FakeClock(AS_OF + timedelta(hours=12))
    spec = SynthSpec(customers=customers, seed=seed, as_of=AS_OF, b2b_share=0.08)
    sim = ShopwareSimulator.from_spec(spec, clock=clock)
    sim.start()
    mirror = Mirror.open(tmp / "mirror.db")
    try:
        yield ShopwareShop(sim, mirror, clock)
    finally:
        mirror.close()
        sim.stop()


PLATFORMS: dict[str, Callable[[Path], Any]] = {"shopware": shopware_shop}


# ---------------------------------------------------------------------------------------------
# PrestaShop (groups are a `many` slot and there are no tags: tests/push/test_prestashop.py)


@dataclass
class PrestaShopShop:
    sim: Any
    mirror: Mirror
    clock: FakeClock
    sleeps: list[float] = field(default_factory=list)
    platform: str = "prestashop"
    default_group: str = "Customer"
    protected_group: str = "B2B / Händler"

    @property
    def shop(self) -> ShopConfig:
        return ShopConfig(
            name=f"ps-push-{self.sim.version}",
            platform="prestashop",
            url=self.sim.url,
            credentials={"api_key": self.sim.key},
            requests_per_second=10_000,
            protected_groups=(self.protected_group,),
            page_size=100,
        )

    def connector(self) -> Connector:
        return build_connector(self.shop, sleep=self.sleeps.append, now=self.clock)

    def config(self, push: PushConfig, **segmentation: Any) -> Config:
        seg = replace(SegmentationConfig(), min_age_days=0, **segmentation)
        return Config(shops=(self.shop,), push=push, segmentation=seg)

    def customer_ids(self) -> list[str]:
        rows = self.sim.table("customers")
        live = self.sim.store.live_customers()
        return sorted((str(i) for i in live if rows[i]["is_guest"] == "0"), key=int)

    def _names(self) -> dict[str, str]:
        return {str(gid): row["name"][1] for gid, row in self.sim.table("groups").items()}

    def groups_of(self, customer_id: str) -> set[str]:
        names = self._names()
        row = self.sim.table("customers")[int(customer_id)]
        return {names[g] for g in row["associations"]["groups"]}

    def group_of(self, customer_id: str) -> str:
        groups = self.groups_of(customer_id)
        if self.protected_group in groups:
            return self.protected_group
        ids = self.sim.table("customers")[int(customer_id)]["associations"]["groups"]
        return self._names()[max(ids, key=int)]

    def default_of(self, customer_id: str) -> str:
        return self._names()[self.sim.table("customers")[int(customer_id)]["id_default_group"]]

    def tags_of(self, customer_id: str) -> set[str]:
        return set()  # PrestaShop has no customer tags

    def country_of(self, customer_id: str) -> str | None:
        countries = {str(i): r["iso_code"] for i, r in self.sim.table("countries").items()}
        for row in self.sim.table("addresses").values():
            if row["id_customer"] == customer_id and row["deleted"] == "0":
                return countries.get(row["id_country"])
        return None

    def snapshot(self, customer_id: str) -> Any:
        import copy

        rules = [
            r for r in self.sim.table("cart_rules").values() if r["id_customer"] == customer_id
        ]
        return copy.deepcopy(self.sim.table("customers")[int(customer_id)]), rules

    def group_names(self) -> list[str]:
        return sorted(self._names().values())

    def tag_names(self) -> list[str]:
        return []

    def codes_of(self, campaign: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for row in self.sim.table("cart_rules").values():
            if row.get("description") == f"loyalsync {campaign}":
                found.setdefault(row["id_customer"], []).append(row["code"])
        return found

    def write_requests(self) -> int:
        return sum(
            1 for r in self.sim.request_log if r.method in ("POST", "PUT", "PATCH", "DELETE")
        )

    def writes(self) -> int:
        return len(self.sim.write_log)

    def delete_customer(self, customer_id: str) -> None:
        self.sim.delete_customers([int(customer_id)])


@contextmanager
def prestashop_shop(
    tmp: Path, version: str = "8.1", customers: int = 250, seed: int = 7
) -> Iterator[PrestaShopShop]:
    from loyalsync.connectors.prestashop.simulator import PrestaShopSimulator

    clock = FakeClock(AS_OF + timedelta(hours=12))
    spec = SynthSpec(customers=customers, seed=seed, as_of=AS_OF, b2b_share=0.08)
    sim = PrestaShopSimulator.from_spec(spec, version=version, clock=clock)
    sim.start()
    mirror = Mirror.open(tmp / "mirror.db")
    try:
        yield PrestaShopShop(sim, mirror, clock)
    finally:
        mirror.close()
        sim.stop()


# PrestaShop runs its own push tests (no tags; several groups per customer), per version
PRESTASHOP: dict[str, Callable[[Path], Any]] = {
    f"prestashop-{v}": (lambda tmp, v=v: prestashop_shop(tmp, v)) for v in ("1.7.8", "9.0")
}
