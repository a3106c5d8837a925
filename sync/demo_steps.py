"""The steps of `loyalsync demo`, run through the same functions as the real commands, with
output worded for a shop admin."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rich.console import Console

from loyalsync.core.mirror import managed_view
from loyalsync.core.records import TAGS, Slot, utcnow
from loyalsync.sync.context import AppContext
from loyalsync.sync.cycle import segment_recorded
from loyalsync.sync.lock import MirrorLock
from loyalsync.sync.output import number, print_rows
from loyalsync.sync.progress import PullProgress
from loyalsync.sync.pull import pull_shop
from loyalsync.sync.push import plan_shop, push_shop
from loyalsync.sync.render import print_plan, print_segments
from loyalsync.sync.report import write_report


class DemoRun:
    def __init__(self, config_path: Path, out: Console, verbosity: int = 0) -> None:
        self.app = AppContext(config_path=str(config_path), verbosity=verbosity)
        self.out = out
        self.directory = config_path.parent

    def step(self, text: str) -> None:
        self.out.print(f"\n[bold cyan]==> {text}[/bold cyan]")

    def run(self, as_of: datetime | None = None) -> None:
        logger = logging.getLogger("loyalsync")
        level = logger.level
        if self.app.verbosity <= 0:  # the demo narrates itself; per-run log lines are noise
            logger.setLevel(logging.WARNING)
        app = self.app
        config = app.config
        shop = config.shops[0]
        moment = as_of or utcnow()
        lock = MirrorLock(config.database, "demo").acquire()
        try:
            self._run(shop, moment)
        finally:
            app.close()
            lock.release(remove=True)  # the demo's own directory: leave no lock file behind
            logger.setLevel(level)

    def _run(self, shop: object, moment: datetime) -> None:
        from loyalsync.core.config import ShopConfig

        if not isinstance(shop, ShopConfig):
            raise TypeError(f"demo step needs a ShopConfig, got {type(shop).__name__}")
        app, out = self.app, self.out
        connector = app.connector(shop)
        self.step(f"1. backfill: reading the shop's whole history into {app.config.database}")
        with PullProgress(Console(stderr=True), shop.name) as progress:
            pulled = pull_shop(connector, app.mirror, shop, backfill=True,
                               on_page=progress.on_page)  # fmt: skip
        for entity, counts in pulled.entities.items():
            out.print(f"   {entity}: {counts.new:,} read in {counts.pages} pages")
        self.step("2. segment: every customer's segments as of today")
        result = segment_recorded(app, shop, moment)
        print_segments(out, result, families=("abc", "loyalty", "rfm_segment", "lifecycle",
                                              "inactive", "country"))  # fmt: skip
        self.step("3. plan: what loyalsync would change in the shop (nothing written yet)")
        plan = plan_shop(connector, app.mirror, shop, app.config, as_of=moment)
        print_plan(out, shop.name, plan)
        self.step("4. push: writing groups, tags and personal codes to the shop")
        if plan.over_limit:
            out.print(
                "   a first push changes more customers than push.max_changes allows, so a "
                "real `loyalsync push` would stop and ask for --force; the demo confirms it"
            )
        pushed = push_shop(connector, app.mirror, shop, app.config, as_of=moment, force=True)
        out.print(f"   {pushed.summary()}")
        for reason, n in pushed.reasons():
            out.print(f"   [red]{n} rejected by the shop:[/red] {reason}")
        self._show_shop(shop.name, connector.slots)
        self.step("5. a second push right away: nothing left to do, zero writes")
        again = push_shop(connector, app.mirror, shop, app.config, as_of=moment)
        out.print(f"   {again.summary()}")
        report = write_report(app.mirror, app.config, (shop,), moment,
                              str(self.directory / "report.html"))  # fmt: skip
        self.step("where things are")
        out.print(f"   mirror (SQLite, mode 0600): {app.config.database}", markup=False)
        out.print(f"   HTML report: {report}", markup=False)
        out.print(f"   config: {app.config.source}", markup=False)

    def _show_shop(self, shop: str, slots: Sequence[Slot]) -> None:
        view = managed_view(self.app.mirror, shop)
        prefix = self.app.config.push.tag_prefix
        ours = f" ({prefix} ones are managed by loyalsync)" if prefix else ""
        shown = [
            (f"customers per {s.label}{ours if s.name == TAGS else ''}:", s.name, s.label)
            for s in slots
        ]
        for title, key, column in (*shown, ("personal discount codes:", "codes", "campaign")):
            if view.get(key):
                self.out.print(f"   {title}", markup=False)
                rows = [(name, number(n)) for name, n in view[key]]
                print_rows(self.out, (column, "count"), rows, right=("count",))
