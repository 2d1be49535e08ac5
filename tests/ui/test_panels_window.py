"""Panels and polish (issue 17, items 17 and 21): the View menu hides and shows each panel,
the history reads local time, and opening a project says nothing about "labels elsewhere"
that were already in it."""

import time


from voicestudio.ui.label_panel import local_time


def test_view_menu_hides_and_shows_every_panel(qtbot, open_window, project_file):
    window = open_window(project_file)
    for dock in (window.list_dock, window.label_dock, window.audit_dock, window.model_dock, window.devices_dock):
        toggle = dock.toggleViewAction()
        assert toggle.isEnabled(), dock.windowTitle()
        was_visible = not dock.isHidden()
        toggle.trigger()
        assert dock.isHidden() == was_visible
        toggle.trigger()
        assert dock.isHidden() != was_visible


def test_history_shows_local_time(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+5:30, no daylight saving
    time.tzset()
    try:
        assert local_time("2026-12-02T07:00:00+00:00") == "2026-12-02 12:30:00"
        assert local_time("2026-12-02T07:00:00") == "2026-12-02 12:30:00"  # stored naive = UTC
        assert local_time("not a time") == "not a time"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_opening_a_labelled_project_reports_nothing_labelled_elsewhere(qtbot, open_window, project_file):
    from voicestudio.dataset.labels import label_clip
    from voicestudio.store.project import open_project

    with open_project(project_file) as project:  # this annotator's labels from an earlier day
        for clip_id in (1, 2, 3):
            label_clip(project, clip_id, "human", annotator="tester")
    window = open_window(project_file)
    reports = []
    window.labels_refreshed.connect(reports.append)
    qtbot.wait(5000)  # two polls of other programs' writes
    assert reports == []
    assert "elsewhere" not in window.statusBar().currentMessage()


def test_at_1280_by_720_the_views_keep_half_the_width(qtbot, open_window, project_file):
    window = open_window(project_file)
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.views.width() >= 0.45 * 1280, timeout=5000)
    assert window.list_dock.width() <= 0.3 * 1280 and window.label_dock.width() <= 0.25 * 1280
    window.resize(1920, 1080)  # a wide screen: the panels may grow again, the views too
    qtbot.waitUntil(lambda: window.views.width() >= 0.45 * 1920, timeout=5000)


def test_a_narrow_clip_list_keeps_the_names_readable(qtbot, open_window, project_file):
    window = open_window(project_file)
    window.resize(1280, 720)
    header = window.clip_list.view.horizontalHeader()
    qtbot.waitUntil(lambda: header.sectionSize(0) >= window.clip_list._name_min, timeout=5000)
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: header.sectionSize(0) >= window.clip_list._name_min, timeout=5000)
