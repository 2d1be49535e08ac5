"""``Tasks``' stale-result keys: a result for something no longer shown never reaches its callback."""

import threading

import pytest

from conftest import WAIT_MS


@pytest.fixture
def tasks(qapp):
    from voicestudio.ui.tasks import Tasks

    errors = []
    tasks = Tasks(on_error=errors.append)
    tasks.errors = errors
    yield tasks
    tasks.shutdown()


def held(release: threading.Event, value):
    def work(*_):
        assert release.wait(WAIT_MS / 1000)
        return value
    return work


def test_a_result_submitted_before_a_bump_is_dropped_and_one_after_is_delivered(qtbot, tasks):
    release, results = threading.Event(), []
    tasks.submit(held(release, "old project"), on_done=results.append, current=("project",))
    tasks.bump("project")
    tasks.submit(held(release, "new project"), on_done=results.append, current=("project",))
    tasks.submit(held(release, "any project"), on_done=results.append)  # no key: always delivered
    release.set()
    qtbot.waitUntil(lambda: len(results) == 2, timeout=WAIT_MS)
    assert sorted(results) == ["any project", "new project"]


def test_only_the_named_kinds_make_a_result_stale(qtbot, tasks):
    results = []
    tasks.bump("audit")
    tasks.submit(lambda: "audit of the project", on_done=results.append, current=("project",))
    qtbot.waitUntil(lambda: results == ["audit of the project"], timeout=WAIT_MS)


def test_a_stale_failure_is_still_reported(qtbot, tasks):
    release = threading.Event()

    def failing():
        release.wait(WAIT_MS / 1000)
        raise OSError("disk full")

    tasks.submit(failing, on_done=lambda _: pytest.fail("a stale result was delivered"), current=("project",))
    tasks.bump("project")
    release.set()
    qtbot.waitUntil(lambda: bool(tasks.errors), timeout=WAIT_MS)
    assert str(tasks.errors[0]) == "disk full"


def test_a_stale_job_ends_without_its_callback(qtbot, tasks):
    release, results = threading.Event(), []
    job = tasks.start_job("scoring", held(release, "scores"), on_done=results.append, current=("model",))
    assert tasks.jobs == [job]
    tasks.bump("model")
    with qtbot.waitSignal(tasks.job_finished, timeout=WAIT_MS):
        release.set()
    assert tasks.jobs == [] and results == []
