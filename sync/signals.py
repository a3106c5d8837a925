"""SIGTERM and Ctrl-C during a pull: the first one asks the pull to stop after the page it is
saving (pages commit with their cursor, so nothing is lost and the next run resumes after it);
a second Ctrl-C interrupts at once. Only the main thread installs handlers; the previous
handlers come back on exit."""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

from loyalsync.sync.exits import EXIT_INTERRUPTED, EXIT_TERMINATED

SIGNAL_NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "Ctrl-C"}


class StopOnSignal:
    """`with StopOnSignal() as stop: pull_shop(..., should_stop=stop)`."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.received is not None

    @property
    def name(self) -> str:
        return SIGNAL_NAMES.get(signal.Signals(self.received or signal.SIGTERM), "a signal")

    @property
    def exit_code(self) -> int:
        return EXIT_TERMINATED if self.received == signal.SIGTERM else EXIT_INTERRUPTED

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, the open page rolls back
        self.received = signum

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNAL_NAMES:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
