"""At most one job scheduled per window per process, so a burst of triggers costs one run."""

from __future__ import annotations

import threading
import time


class Debounce:
    """`first()` is True for the first trigger of each window: that caller schedules the job
    to run when the window ends. Triggers inside the window are covered by that run, since it
    starts after they happened."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._until = 0.0
        self._lock = threading.Lock()

    def first(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now < self._until:
                return False
            self._until = now + self.seconds
            return True
