"""Rich progress bars for pulls: one bar per entity with records, rate and ETA (the ETA comes
from the shop's total when the platform tells it). Display only; holds no state that matters."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from loyalsync.connectors.base import Page
from loyalsync.core.mirror import UpsertCounts


class PullProgress:
    def __init__(self, console: Console, shop: str, *, quiet: bool = False) -> None:
        self.shop = shop
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=quiet or not console.is_terminal,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> PullProgress:
        self.progress.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def on_page(self, entity: str, page: Page, counts: UpsertCounts) -> None:
        task = self.tasks.get(entity)
        if task is None:
            task = self.progress.add_task(f"{self.shop} {entity}", total=page.total, rate="")
            self.tasks[entity] = task
        done = len(page.records) + len(page.quarantined)
        self.progress.update(task, advance=done, total=page.total)
        speed = self.progress.tasks[self.tasks[entity]].speed
        self.progress.update(task, rate=f"{speed:,.0f}/s" if speed else "")
