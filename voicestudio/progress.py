"""Progress reporting and cancellation shared by the CLI and the window.

Long core functions take ``progress`` (a callable receiving ``Progress``) and
``cancel`` (anything with ``is_set()``, e.g. ``threading.Event``). The CLI
draws a bar on a terminal; the window forwards to a progress widget.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from voicestudio.terminal import one_line, raw_stream


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None
    message: str = ""


ProgressCallback = Callable[[Progress], None]


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


def report(progress: ProgressCallback | None, done: int, total: int | None, message: str = "") -> None:
    if progress is not None:
        progress(Progress(done, total, message))


class TerminalBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str, stream=None, min_interval_s: float = 0.1):
        self.label = label
        self.stream = raw_stream(stream or sys.stderr)  # it draws with \r and ESC[K on purpose
        self.enabled = self.stream.isatty()
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._drawn = False

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.min_interval_s and p.done != p.total:
            return
        self._last = now
        if p.total:
            filled = int(30 * p.done / p.total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {p.done}/{p.total}"
        else:
            bar = f"{p.done}"
        message = one_line(p.message[-40:])
        self.stream.write(f"\r{self.label} {bar} {message}\033[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()


def run_ahead(pool, fn, items, ahead: int, cancel: CancelToken | None = None):
    """Yield ``(item, future)`` in order while ``pool`` runs ``fn(item)`` at most ``ahead`` items ahead.

    Memory stays bounded on any number of items; once ``cancel`` is set no new
    item starts and the ones already running are still yielded.
    """
    from collections import deque

    running: deque = deque()
    pending = iter(items)
    while True:
        while len(running) < ahead and not (cancel is not None and cancel.is_set()):
            item = next(pending, None)
            if item is None:
                break
            running.append((item, pool.submit(fn, item)))
        if not running:
            return
        yield running.popleft()
