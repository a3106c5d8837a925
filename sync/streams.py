"""Page streams fetched ahead: each connector iterator runs in a producer thread of its own, a
bounded number of pages ahead of the one consumer that saves them.

Owns the threads, the bounded prefetch and the hand-over of pages, stream ends and errors to
the consumer. Knows nothing of pages' contents, the mirror or any platform. The consumer (the
thread that iterates, the caller of `sync.pull`) is the only one that touches the mirror, so
SQLite stays single-threaded and each page still commits with its cursor in one transaction:
pages fetched ahead but never saved are simply fetched again by the next run.

A producer holds one of its stream's `depth` slots from the moment it asks for a page until the
consumer is done with that page: with the default of 2, one page is being saved while the next
one is fetched. An exception in a producer (after the connector's own retries) is raised in the
consumer as it was, traceback and cause included, once the pages before it were handed over.
Closing (normally, on an error, or when a stop was asked for) tells the producers to stop and
waits briefly for them: a producer in the middle of a request finishes it and drops the page.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_DEPTH = 2
JOIN_SECONDS = 5.0  # how long closing waits for a producer still in a request


class StreamEnd:
    """Handed to the consumer in place of a page when a stream has no more pages."""

    def __repr__(self) -> str:
        return "END"


END = StreamEnd()


class PageStreams(Generic[T]):
    """`with PageStreams({"customers": it1, "orders": it2}) as streams: for name, page in
    streams: ...` yields every stream's pages in their order (streams interleaved as their
    pages arrive) and `(name, END)` once per finished stream."""

    def __init__(self, streams: Mapping[str, Iterator[T]], *, depth: int = DEFAULT_DEPTH) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._handed: queue.Queue[tuple[str, T | StreamEnd | BaseException]] = queue.Queue()
        self._slots = {name: threading.Semaphore(depth) for name in streams}
        self._stop = threading.Event()
        self._open = len(streams)
        self._threads = [
            threading.Thread(
                target=self._produce,
                args=(name, iterator),
                name=f"loyalsync-fetch-{name}",
                daemon=True,  # never keeps the process alive after the consumer gave up
            )
            for name, iterator in streams.items()
        ]

    def __enter__(self) -> PageStreams[T]:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[tuple[str, T | StreamEnd]]:
        while self._open:
            name, item = self._handed.get()
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, StreamEnd):
                self._open -= 1
                yield name, item
                continue
            try:
                yield name, item
            finally:
                self._slots[name].release()  # the consumer is done with it: fetch another

    def close(self) -> None:
        """Stop the producers (each wakes up, drops what it holds) and wait briefly."""
        self._stop.set()
        for slot in self._slots.values():
            slot.release()
        current = threading.current_thread()
        for thread in self._threads:
            if thread.is_alive() and thread is not current:
                thread.join(JOIN_SECONDS)

    def _produce(self, name: str, iterator: Iterator[T]) -> None:
        try:
            while True:
                self._slots[name].acquire()
                if self._stop.is_set():
                    return
                try:
                    item = next(iterator)
                except StopIteration:
                    self._handed.put((name, END))
                    return
                if self._stop.is_set():
                    return
                self._handed.put((name, item))
        except BaseException as exc:  # handed to the consumer, raised there
            self._handed.put((name, exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a generator's finally blocks run here, in its own thread
