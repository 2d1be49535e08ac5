"""A long prediction asked for twice at once is computed once (dataset/inflight.py)."""

import threading
import time

import pytest

from voicestudio.dataset import inflight


def test_a_second_caller_waits_for_the_first_result():
    calls, started = [], threading.Event()

    def slow():
        calls.append(1)
        started.set()
        time.sleep(0.3)
        return "track"

    results = []
    first = threading.Thread(target=lambda: results.append(inflight.once(("p", 1, 7), slow)))
    first.start()
    assert started.wait(5)
    results.append(inflight.once(("p", 1, 7), slow))  # arrives while the first is computing
    first.join()
    assert results == ["track", "track"] and len(calls) == 1
    assert inflight.once(("p", 1, 7), lambda: "again") == "again"  # finished keys are computed anew


def test_the_first_callers_error_reaches_the_waiting_one():
    started, release = threading.Event(), threading.Event()

    def failing():
        started.set()
        release.wait(5)
        raise ValueError("the interpreter failed")

    errors = []

    def call():
        try:
            inflight.once("k", failing)
        except ValueError as exc:
            errors.append(str(exc))

    first = threading.Thread(target=call)
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=call)
    second.start()
    time.sleep(0.1)
    release.set()
    first.join()
    second.join()
    assert errors == ["the interpreter failed"] * 2
    with pytest.raises(ValueError):
        inflight.once("k", failing)  # not remembered: a later call tries again
