"""One computation per long prediction in a process.

Opening a long recording predicts it in the background (``cliploading.predict_and_store``),
and the scoring of a newly opened project may reach the same recording at the same time
(``scoring.score_project``). Whoever starts first computes it; the other waits for that
result instead of running the interpreter over the same hour again.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_running: dict[Hashable, Future] = {}


def once(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or the result of the call with the same ``key`` already under way."""
    with _lock:
        future = _running.get(key)
        owner = future is None
        if owner:
            future = _running[key] = Future()
    if not owner:
        return future.result()  # raises what the owner's computation raised
    try:
        value = compute()
    except BaseException as exc:
        future.set_exception(exc)
        raise
    else:
        future.set_result(value)
        return value
    finally:
        with _lock:
            _running.pop(key, None)


def prediction_key(project, model_id: int | None, clip_id: int) -> tuple:
    return (project.label, model_id, clip_id)
