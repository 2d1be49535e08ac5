"""Work off the main thread, results back on it.

Core functions are synchronous; the window hands them to ``Tasks`` and gets a
callback on the main thread when they finish. Three lanes keep the kinds of
work from queueing behind each other:

- ``view``: opening and prefetching clips, detail for a zoomed range (2 threads);
- ``write``: label writes, one at a time, in the order they were made;
- ``background``: long jobs with progress and cancel (import, scoring a project);
- ``recording``: the long recording on screen (its overview and prediction track), so it
  never waits behind the scoring of a whole project.

Stale results are dropped by key: the window ``bump``s a kind ("project",
"model", …) when what it shows changes, a submit names the kinds its result
depends on (``current=("project",)``), and an ``on_done`` whose kinds moved on
meanwhile is not called (errors still are: a failure is never silently lost).
Callbacks run on the main thread and never after ``shutdown``.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable

from PySide6.QtCore import QObject, Signal

from voicestudio.progress import Progress

log = logging.getLogger(__name__)

LANES = {"view": 2, "write": 1, "background": 1, "recording": 1}
PROGRESS_INTERVAL_S = 0.05  # at most 20 progress updates a second reach the main thread


@dataclass
class Job:
    """A long task the user can watch and cancel."""

    title: str
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None
    _last_emit: float = 0.0


class Tasks(QObject):
    finished = Signal(object)  # internal: (future, on_done, on_error) from a worker
    job_started = Signal(object)  # Job
    job_progress = Signal(object)  # Job
    job_finished = Signal(object)  # Job

    def __init__(self, on_error: Callable[[BaseException], None], parent=None):
        super().__init__(parent)
        self._pools = {name: ThreadPoolExecutor(n, thread_name_prefix=f"voicestudio-{name}")
                       for name, n in LANES.items()}
        self._default_error = on_error
        self._closed = False
        self.jobs: list[Job] = []
        self._generations: dict[str, int] = {}
        self.finished.connect(self._deliver)

    # Stale-result keys -------------------------------------------------------------
    def bump(self, kind: str) -> None:
        """What ``kind`` results are for has changed: results submitted before are stale."""
        self._generations[kind] = self._generations.get(kind, 0) + 1

    def key(self, kinds: Iterable[str]) -> tuple[tuple[str, int], ...]:
        """The current generation of each kind: a result is current while its key is."""
        return tuple((kind, self._generations.get(kind, 0)) for kind in kinds)

    def is_current(self, key: tuple[tuple[str, int], ...]) -> bool:
        return all(self._generations.get(kind, 0) == generation for kind, generation in key)

    def submit(self, fn, *args, lane: str = "view", on_done=None, on_error=None,
               current: Iterable[str] = (), **kwargs) -> Future | None:
        """Run ``fn(*args, **kwargs)`` on a lane; ``on_done(result)`` or ``on_error(exc)`` on the main thread.

        ``on_done`` is dropped when a kind in ``current`` was bumped meanwhile.
        After ``shutdown`` nothing runs (a timer may still fire while the window closes): returns None.
        """
        if self._closed:
            return None
        if current:
            on_done = self._unless_stale(self.key(current), on_done)
        future = self._pools[lane].submit(fn, *args, **kwargs)
        future.add_done_callback(lambda f: self._emit(f, on_done, on_error))
        return future

    def _unless_stale(self, key, on_done):
        def deliver(result):
            if not self.is_current(key):
                log.debug("dropped a stale result (%s)", key)
            elif on_done is not None:
                on_done(result)
        return deliver

    def start_job(self, title: str, fn, *, on_done=None, on_error=None, current: Iterable[str] = (),
                  lane: str = "background") -> Job:
        """Run ``fn(progress, cancel)`` on a lane (background unless said), reporting progress to the status bar."""
        job = Job(title)
        self.jobs.append(job)
        self.job_started.emit(job)

        def progress(p: Progress) -> None:
            now = time.monotonic()
            job.progress = p
            if now - job._last_emit >= PROGRESS_INTERVAL_S or p.done == p.total:
                job._last_emit = now
                if not self._closed:
                    self.job_progress.emit(job)

        if current:
            on_done = self._unless_stale(self.key(current), on_done)

        def done(result):
            self._end(job)  # a stale job still ends
            if on_done is not None:
                on_done(result)

        def failed(exc):
            self._end(job)
            (on_error or self._default_error)(exc)

        self.submit(fn, progress, job.cancel, lane=lane, on_done=done, on_error=failed)
        return job

    def _end(self, job: Job) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        self.job_finished.emit(job)

    def _emit(self, future: Future, on_done, on_error) -> None:
        if not self._closed and not future.cancelled():
            self.finished.emit((future, on_done, on_error))

    def _deliver(self, item) -> None:
        future, on_done, on_error = item
        if self._closed:
            return
        exc = future.exception()
        if exc is not None:
            if not isinstance(exc, Exception):
                raise exc
            log.debug("task failed", exc_info=exc)
            (on_error or self._default_error)(exc)
        elif on_done is not None:
            on_done(future.result())

    def shutdown(self) -> None:
        """Cancel jobs and queued work, wait for running work; no callback runs afterwards."""
        self._closed = True
        for job in self.jobs:
            job.cancel.set()
        for name, pool in self._pools.items():
            pool.shutdown(wait=True, cancel_futures=name != "write")  # a label written is never dropped


class MainThreadGC(QObject):
    """Python's cycle collector, run only here on the main thread while the window is open.

    A reference cycle that holds a Qt object may otherwise be collected on whichever thread
    happens to allocate at that moment: a worker. The object's C++ destructor then wants the
    GIL while holding Qt's lock, and the main thread, holding the GIL, wants that lock: a
    deadlock (seen in the tests). So automatic collection is off and a timer collects,
    generation by generation, as Python would have.
    """

    def __init__(self, interval_ms: int = 500, parent=None):
        super().__init__(parent)
        import gc

        self._gc = gc
        self._threshold = gc.get_threshold()
        gc.disable()
        from PySide6.QtCore import QTimer

        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(self.collect)
        self._timer.start()

    def collect(self) -> None:
        counts, threshold = self._gc.get_count(), self._threshold
        if counts[0] > threshold[0]:
            generation = 2 if counts[2] > threshold[2] and counts[1] > threshold[1] else 1 if counts[1] > threshold[1] else 0
            self._gc.collect(generation)

    def stop(self) -> None:
        """Back to automatic collection (the window is closing), after a last full collection here."""
        self._timer.stop()
        self._gc.collect()
        self._gc.enable()
