"""Pulling a shop into the mirror: backfill (whole history, resumable) and incremental pulls.

Owns the loop "ask the connector for the next page, save it with its cursor in one
transaction". Knows nothing about any platform's API (that is the connector's) and performs no
SQLite I/O itself (that is core.mirror's). Because every page and its cursor commit together,
an interruption at any point (Ctrl-C, SIGTERM, SIGKILL, a lost network) loses nothing: the
next run resumes after the last committed page, and re-read rows are upserted harmlessly.
Pipelined (the default; the shop option `pipeline: false` turns it off): the connector's
iterators run in producer threads (sync.streams), a page ahead of the save, customers and
orders side by side; this thread alone saves, so all of the above holds unchanged.

Cursor keys in `_sync_state`: `customers` / `orders` are the incremental cursors of a shop in
daily use; `backfill:customers` / `backfill:orders` belong to a running backfill, which never
touches the incremental ones except to hand over when the shop has none yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from loyalsync.connectors.base import Connector, Page
from loyalsync.core import plausible
from loyalsync.core.config import ShopConfig
from loyalsync.core.mirror import Mirror, UpsertCounts
from loyalsync.core.records import Cursor, utcnow
from loyalsync.sync.runs import RunRecord, recorded_run
from loyalsync.sync.streams import PageStreams, StreamEnd

log = logging.getLogger("loyalsync.pull")

ENTITIES = ("customers", "orders")
DELETION_SCAN_KEY = "deletion_scan"

PageCallback = Callable[[str, Page, UpsertCounts], None]


class StopRequested(BaseException):
    """Raised between pages (after the page committed) when SIGTERM/SIGINT asked us to stop."""


@dataclass
class EntityCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    pages: int = 0
    total: int | None = None

    def add(self, page: Page, counts: UpsertCounts) -> None:
        self.new += counts.new
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.quarantined += len(page.quarantined)
        self.pages += 1
        if page.total is not None:
            self.total = page.total

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "pages": self.pages,
        }


@dataclass
class PullResult:
    shop: str
    entities: dict[str, EntityCounts] = field(default_factory=dict)
    deleted: int = 0
    run_id: int | None = None

    @property
    def quarantined(self) -> int:
        return sum(c.quarantined for c in self.entities.values())

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {k: v.as_dict() for k, v in self.entities.items()}
        data["deleted"] = self.deleted
        return data


def _iterate(connector: Connector, entity: str, cursor: Cursor) -> Any:
    if entity == "customers":
        return connector.iter_customers(cursor)
    if entity == "orders":
        return connector.iter_orders(cursor)
    raise ValueError(f"unknown entity {entity!r}")


def pull_entity(
    connector: Connector,
    mirror: Mirror,
    shop: str,
    entity: str,
    *,
    backfill: bool = False,
    since: datetime | None = None,
    run_id: int | None = None,
    on_page: PageCallback | None = None,
    now: Callable[[], datetime] = utcnow,
    pipeline: bool = True,
) -> EntityCounts:
    """Pull one entity page by page, committing each page with its cursor. Every page passes
    `core.plausible` first: values to question are quarantined (or clamped) with a reason.
    `pipeline`: fetch the next page while this one is saved (see `pull_entities`)."""
    return pull_entities(
        connector, mirror, shop, (entity,), backfill=backfill, since=since, run_id=run_id,
        on_page=on_page, now=now, pipeline=pipeline,
    )[entity]  # fmt: skip


def pull_entities(
    connector: Connector,
    mirror: Mirror,
    shop: str,
    entities: Sequence[str] = ENTITIES,
    *,
    backfill: bool = False,
    since: datetime | None = None,
    run_id: int | None = None,
    on_page: PageCallback | None = None,
    on_done: Callable[[str, EntityCounts], None] | None = None,
    now: Callable[[], datetime] = utcnow,
    pipeline: bool = True,
) -> dict[str, EntityCounts]:
    """Pull several entities, each page committed with its cursor (in this thread, the only
    one touching the mirror). With `pipeline` every entity's pages are fetched by a thread of
    its own, a page ahead of the save (sync.streams): fetching page n+1 overlaps saving page n,
    and the entities are pulled side by side, all through the connector's one HTTP client and
    so within the shop's rate limit. Without it: one entity after the other, one page at a
    time. Either way the stored result is the same, and so is what a crash leaves behind.
    `on_done(entity, counts)` is called as each entity's pass finishes."""
    streams = {
        entity: _Stream.start(mirror, shop, entity, backfill=backfill, since=since)
        for entity in entities
    }
    offer_known(connector, mirror, shop)
    horizon = plausible.horizon_of(now())
    save = _Saver(mirror, shop, horizon, run_id, on_page)

    def finish(stream: _Stream) -> None:
        _finish_pass(mirror, shop, stream.entity, stream.key, stream.cursor, backfill)
        if on_done:
            on_done(stream.entity, stream.counts)

    if not pipeline:
        for stream in streams.values():
            for pulled in _iterate(connector, stream.entity, stream.cursor):
                save(stream, pulled)
            finish(stream)
    else:
        # the iterators are made here, so a connector reads its arguments in this thread
        iterators = {e: _iterate(connector, e, s.cursor) for e, s in streams.items()}
        with PageStreams(iterators) as fetched:
            for entity, item in fetched:
                if isinstance(item, StreamEnd):
                    finish(streams[entity])
                else:
                    save(streams[entity], item)
    return {entity: streams[entity].counts for entity in entities}


@dataclass
class _Stream:
    """One entity being pulled: its cursor key, the last committed cursor, its counts."""

    entity: str
    key: str
    cursor: Cursor
    counts: EntityCounts = field(default_factory=EntityCounts)

    @classmethod
    def start(
        cls, mirror: Mirror, shop: str, entity: str, *, backfill: bool, since: datetime | None
    ) -> _Stream:
        key = f"backfill:{entity}" if backfill else entity
        cursor = mirror.get_cursor(shop, key)
        if cursor is None:
            cursor = Cursor(since=since if backfill else None)
        elif cursor.after is None:
            cursor = replace(cursor, high=None, started=None)  # a new pass: the connector asks
        return cls(entity, key, cursor)


@dataclass
class _Saver:
    """Questions one pulled page and saves it with its cursor (one transaction)."""

    mirror: Mirror
    shop: str
    horizon: datetime
    run_id: int | None
    on_page: PageCallback | None

    def __call__(self, stream: _Stream, pulled: Page) -> None:
        entity = stream.entity
        page, clamps = plausible.question_page(pulled, entity, self.horizon, stream.cursor)
        for clamp in clamps:
            log.warning(
                "[%s] %s %s: %s clamped from %s to %s characters",
                self.shop, entity, clamp.id, clamp.field, f"{clamp.length:,}",
                f"{plausible.MAX_RAW_TEXT:,}",
            )  # fmt: skip
        saved = self.mirror.save_page(
            self.shop,
            entity,
            page.records,
            page.cursor,
            quarantined=page.quarantined,
            run_id=self.run_id,
            cursor_entity=stream.key,
        )
        stream.counts.add(page, saved)
        stream.cursor = page.cursor
        if self.on_page:
            self.on_page(entity, page, saved)


def offer_known(connector: Connector, mirror: Mirror, shop: str) -> None:
    """Hand a connector that asks for it (the optional `use_known`, connectors/base.py) a
    look-up of the raw payloads this mirror holds, so a fresh process skips per-record
    follow-up requests for records the mirror already has unchanged."""
    use_known = getattr(connector, "use_known", None)
    if callable(use_known):
        use_known(lambda entity, ids: mirror.raw_payloads(shop, entity, ids))


def _finish_pass(
    mirror: Mirror, shop: str, entity: str, key: str, cursor: Cursor, backfill: bool
) -> None:
    if not backfill:
        mirror.save_cursor(shop, key, cursor.finished())
        return
    # hand over to the incremental cursor only when the shop has none yet: a shop already in
    # daily use keeps its own window; changes during the backfill are caught by it anyway
    if mirror.get_cursor(shop, entity) is None:
        mirror.save_cursor(shop, entity, Cursor(since=cursor.next_since()))
    mirror.delete_cursor(shop, key)


def deletion_scan_due(mirror: Mirror, shop: str, every_days: int, now: datetime) -> bool:
    last = mirror.get_cursor(shop, DELETION_SCAN_KEY)
    if last is None or last.since is None:
        return True
    return now - last.since >= timedelta(days=every_days)


def scan_deletions(connector: Connector, mirror: Mirror, shop: str, now: datetime) -> int:
    """Full id scan: customers the shop no longer lists are marked deleted and anonymised."""
    live: set[str] = set()
    for ids in connector.iter_customer_ids():
        live.update(ids)
    deleted = mirror.mark_deleted(shop, live, now)
    mirror.save_cursor(shop, DELETION_SCAN_KEY, Cursor(since=now))
    return deleted


def refresh_state(connector: Connector, mirror: Mirror, shop: str) -> None:
    """Mirror the values of every membership slot (groups, tags, ...) as the shop has them."""
    state = connector.current_state()
    mirror.replace_values(shop, state.values, state.defaults)
    if state.quarantined:
        mirror.save_quarantined(shop, state.quarantined)


def pull_shop(
    connector: Connector,
    mirror: Mirror,
    shop: ShopConfig,
    *,
    backfill: bool = False,
    since: datetime | None = None,
    deletion_scan: bool | None = None,
    on_page: PageCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    now: Callable[[], datetime] = utcnow,
    pipeline: bool | None = None,
) -> PullResult:
    """One pull of one shop: customers, orders, and (incremental pulls, when due or asked for)
    the deletion scan. Recorded in `_runs` with its counts and outcome.

    Cheap on the shop's API: the values of the membership slots (groups, tags) are read by the
    first pull or backfill of a shop (so segmentation knows their names) and by every plan and
    push, not by every pull. A first full backfill lists every customer: it counts as the
    deletion scan. `pipeline` (default: the shop's `pipeline` option) pulls customers and
    orders side by side, each a page ahead of the save (see `pull_entities`)."""
    kind = "backfill" if backfill else "pull"
    with recorded_run(mirror, shop.name, kind) as run:
        result = PullResult(shop=shop.name, run_id=run.id)
        saved: dict[str, int] = {}
        run.counts = lambda: _counts_so_far(result, saved)
        on_page = _beating(on_page, run, saved)
        if should_stop is not None:
            on_page = _stopping(on_page, should_stop)
        began = now()
        # the shop's first backfill: no pass of it has ever finished (a resumed one still counts)
        first = backfill and since is None and mirror.get_cursor(shop.name, "orders") is None
        if connector.slots and (first or not mirror.count("slot_values", shop.name)):
            refresh_state(connector, mirror, shop.name)
        pulled = pull_entities(
            connector, mirror, shop.name, ENTITIES, backfill=backfill, since=since,
            run_id=run.id, on_page=on_page, on_done=result.entities.__setitem__, now=now,
            pipeline=shop.pipeline if pipeline is None else pipeline,
        )  # fmt: skip
        result.entities = pulled  # in ENTITIES order, whichever finished first
        scan = deletion_scan
        if scan is None:
            scan = not backfill and deletion_scan_due(
                mirror, shop.name, shop.deletion_scan_days, now()
            )
        if scan and connector.capabilities.deletion_scan:
            result.deleted = scan_deletions(connector, mirror, shop.name, now())
        elif first and deletion_scan is None:
            # every customer the shop lists was just read into an empty mirror: nothing to mark
            mirror.save_cursor(shop.name, DELETION_SCAN_KEY, Cursor(since=began))
        run.outcome = "partial" if result.quarantined else "ok"
    log.info(
        "[%s] %s done: %s",
        shop.name,
        kind,
        ", ".join(f"{k} +{v.new:,} ~{v.updated:,}" for k, v in result.entities.items()),
    )
    return result


def _counts_so_far(result: PullResult, saved: dict[str, int]) -> dict[str, Any]:
    """The run's counts; an entity still being pulled shows the records saved so far."""
    pending = {e: n for e, n in saved.items() if e not in result.entities}
    return result.as_dict() | ({"in_progress": pending} if pending else {})


def _beating(on_page: PageCallback | None, run: RunRecord, saved: dict[str, int]) -> PageCallback:
    def callback(entity: str, page: Page, counts: UpsertCounts) -> None:
        saved[entity] = saved.get(entity, 0) + len(page.records)
        if on_page:
            on_page(entity, page, counts)
        run.heartbeat()

    return callback


def _stopping(on_page: PageCallback | None, should_stop: Callable[[], bool]) -> PageCallback:
    def callback(entity: str, page: Page, counts: UpsertCounts) -> None:
        if on_page:
            on_page(entity, page, counts)
        if should_stop():
            raise StopRequested(f"stopped after a committed page of {entity}")

    return callback
