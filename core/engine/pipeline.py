"""Run each stage of a generator chain in its own thread behind a bounded queue.

Decode, model and encode overlap this way (PyAV, OpenCV and torch release the
GIL in their heavy parts), and the bounded queues keep memory flat: a fast
stage blocks until the slow one catches up. Exceptions travel downstream and are
re-raised in the consumer; closing the consumer stops the producers.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _AnyEvent:
    """Set when any of several events is set: a job's own halt plus its caller's cancel."""

    def __init__(self, events: Sequence[threading.Event]) -> None:
        self._events = tuple(events)

    def is_set(self) -> bool:
        return any(event.is_set() for event in self._events)

    def set(self) -> None:
        self._events[0].set()


class BackgroundIterator(Iterator[T]):
    """Iterate ``source`` in a daemon thread, at most ``maxsize`` items ahead of the consumer.

    ``stop`` is one event or several (the first is the one :meth:`close` sets); the
    producer stops as soon as any is set.
    """

    def __init__(self, source: Iterable[T], maxsize: int, name: str,
                 stop: threading.Event | Sequence[threading.Event] | None = None) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=maxsize)
        if stop is None:
            stop = threading.Event()
        self._stop: threading.Event | _AnyEvent = stop if isinstance(stop, threading.Event) else _AnyEvent(stop)
        self._finished = False
        self._thread = threading.Thread(target=self._run, args=(source,), name=f"stsr-{name}", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source: Iterable[T]) -> None:
        iterator = iter(source)
        try:
            for item in iterator:
                if not self._put(item):
                    break
            else:
                self._put(_DONE)
        except BaseException as error:
            self._put(_Failure(error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        while True:
            try:
                item = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if self._stop.is_set() or (not self._thread.is_alive() and self._queue.empty()):
                    self._finished = True
                    raise StopIteration from None
        if item is _DONE:
            self._finished = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._finished = True
            raise item.error
        return item  # type: ignore[return-value]

    def close(self, timeout: float | None = 5.0) -> None:
        """Stop the producer thread and wait for it (at most ``timeout`` seconds; None: until it stops)."""
        self._stop.set()
        self._finished = True
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def buffered(self) -> int:
        return self._queue.qsize()

    def __del__(self) -> None:
        self._stop.set()
