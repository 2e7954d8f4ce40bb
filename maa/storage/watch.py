"""Process-wide change callbacks: every Folder object for the same folder shares them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable


class WatcherRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: dict[Hashable, list[Callable[[], None]]] = {}

    def add(self, key: Hashable, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._callbacks.setdefault(key, []).append(callback)

        def unsubscribe() -> None:
            with self._lock:
                callbacks = self._callbacks.get(key, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._callbacks.pop(key, None)

        return unsubscribe

    def notify(self, key: Hashable) -> None:
        with self._lock:
            callbacks = list(self._callbacks.get(key, ()))
        for callback in callbacks:
            callback()

    def move(self, old: Hashable, new: Hashable) -> None:
        """Keep watchers attached when a folder is renamed."""
        with self._lock:
            callbacks = self._callbacks.pop(old, None)
            if callbacks:
                self._callbacks.setdefault(new, []).extend(callbacks)


WATCHERS = WatcherRegistry()
