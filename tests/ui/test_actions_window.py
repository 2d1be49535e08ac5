"""Issue 15, the window: one command table, errors that stay until read, results that arrive too late.

A real window offscreen on real project files; labels go through the real store.
"""

import threading

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from conftest import WAIT_MS
from test_project_access import read_only
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project


def label_events(path):
    with open_project(path) as project, project.session() as session:
        return [(e.clip_id, e.annotator, e.value) for e in session.query(label_store.LabelEvent)]


def overlay_text(window) -> str:
    from PySide6.QtWidgets import QLabel

    return window.overlay.findChild(QLabel).text().replace("&amp;", "&")


# One command table ----------------------------------------------------------------------------------
def test_menus_shortcuts_and_overlay_come_from_one_table(qtbot, open_window, project_file):
    from voicestudio.ui.actions import COMMANDS

    window = open_window(project_file)
    in_menus = {action for menu in window.menuBar().actions() for action in menu.menu().actions()}
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert window.overlay.isVisible()
    text = overlay_text(window)
    for command in COMMANDS:
        action = window.actions_by_name[command.id]
        assert action.text() == command.text  # never overridden after the fact
        assert [s.toString() for s in action.shortcuts()] == [QKeySequence(k).toString() for k in command.keys]
        assert not action.autoRepeat()
        assert (action in in_menus) == (command.menu is not None), command.id
        if command.keys:
            assert command.plain_text in text, command.id
    for keys in ("Ctrl+E", "Ctrl+I", "F5", "Ctrl+O", "Ctrl+Shift+N", "Ctrl+M", "Ctrl+Q"):  # missing before
        assert keys in text
    # The label panel's buttons are the same actions, with their short text.
    from PySide6.QtWidgets import QToolButton

    buttons = window.label_panel.findChildren(QToolButton)
    assert [b.text() for b in buttons] == ["Human (H)", "Non-human (N)", "Unsure (U)", "Undo (Z)"]
    assert buttons[0].defaultAction() is window.actions_by_name["label_human"]


def test_commands_are_enabled_by_what_is_open(qtbot, open_window, project_file, tmp_path):
    from voicestudio.settings import Settings
    from voicestudio.ui.main_window import MainWindow

    idle = MainWindow(Settings(annotator="tester"), settings_file=tmp_path / "idle.json")
    qtbot.addWidget(idle)
    for name in ("label_human", "undo_label", "export", "import_files", "refresh"):
        assert not idle.actions_by_name[name].isEnabled(), name
    assert idle.actions_by_name["open_project"].isEnabled()
    idle.close()

    window = open_window(project_file)  # the built-in model, whose card is part of the installation
    for name in ("label_human", "undo_label", "export", "import_files", "refresh"):
        assert window.actions_by_name[name].isEnabled(), name
    assert window.window_state().builtin_model
    qtbot.waitUntil(lambda: window.audit_panel.audit is not None, timeout=WAIT_MS)
    assert not window.audit_panel.write_button.isEnabled()


def test_a_read_only_project_offers_no_import(qtbot, open_window, project_file):
    with read_only(project_file.parent):
        window = open_window(project_file)
        assert not window.actions_by_name["import_files"].isEnabled()
        assert window.actions_by_name["export"].isEnabled() and window.actions_by_name["label_human"].isEnabled()
        window.close()


# Errors that stay until read ------------------------------------------------------------------------
def test_a_failed_label_stays_on_screen_until_dismissed(qtbot, open_window, project_file):
    with read_only(project_file.parent):
        window = open_window(project_file)
        banner = window.error_banner
        # Scoring and saving settings fail here too (the folder is read-only): read, then dismissed.
        qtbot.waitUntil(lambda: not window.tasks.jobs, timeout=WAIT_MS)
        assert banner.isVisible() and banner.count >= 1
        banner.dismiss()
        assert not banner.isVisible()
        qtbot.keyClick(window, Qt.Key.Key_H)
        qtbot.waitUntil(banner.isVisible, timeout=WAIT_MS)
        assert "the label was not saved: read-only" in banner.text.text()
        # Routine news replaces the status bar line; the error stays where it is.
        qtbot.keyClick(window, Qt.Key.Key_L)
        assert window.statusBar().currentMessage().startswith("Loop on")
        qtbot.wait(50)
        assert banner.isVisible() and "the label was not saved" in banner.text.text()
        # A second error stacks on it, counted.
        qtbot.waitUntil(lambda: not window.labels.write_in_flight, timeout=WAIT_MS)
        qtbot.keyClick(window, Qt.Key.Key_N)
        qtbot.waitUntil(lambda: banner.count == 2, timeout=WAIT_MS)
        assert banner.more.text() == "+1 earlier"
        assert [m.startswith("the label was not saved") for m in banner.messages] == [True, True]
        qtbot.mouseClick(banner.dismiss_button, Qt.MouseButton.LeftButton)
        assert not banner.isVisible() and banner.messages == []
        assert label_events(project_file) == []
        window.close()


# Results that arrive for a project no longer open ---------------------------------------------------------
def test_a_label_written_after_another_project_opened_leaves_its_table_alone(
        qtbot, open_window, project_file, clip_folder, tmp_path, monkeypatch):
    import voicestudio.ui.label_control as label_control
    from voicestudio.dataset.importer import import_paths

    other = tmp_path / "other.vsproj"
    with open_project(other) as project:
        assert import_paths(project, [clip_folder]).clips_added == 4  # the same clip ids as project A

    release, writing = threading.Event(), threading.Event()
    real_label_clip = label_control.label_clip

    def held_label_clip(*args, **kwargs):
        writing.set()
        assert release.wait(WAIT_MS / 1000)
        return real_label_clip(*args, **kwargs)

    monkeypatch.setattr(label_control, "label_clip", held_label_clip)
    window = open_window(project_file)
    labelled = window.session.current_clip_id
    written = []
    window.label_written.connect(written.append)
    qtbot.keyClick(window, Qt.Key.Key_H)
    assert writing.wait(WAIT_MS / 1000)
    after_the_label = []  # the write lane is one thread: this callback comes right after the label's
    window.tasks.submit(lambda: None, lane="write", on_done=after_the_label.append)

    with qtbot.waitSignal(window.project_opened, timeout=WAIT_MS):
        window.open_project(str(other))
    qtbot.waitUntil(lambda: window.clips.loaded is not None, timeout=WAIT_MS)
    before = window.session.table.snapshot()
    release.set()
    qtbot.waitUntil(lambda: bool(after_the_label), timeout=WAIT_MS)  # the label's result has arrived and was dropped

    assert label_events(project_file) == [(labelled, "tester", "human")]  # the write itself is never lost
    assert label_events(other) == []
    table = window.session.table
    assert np.array_equal(table.label, before.label) and table.votes == before.votes
    assert written == [] and not window.labels.write_in_flight
    qtbot.keyClick(window, Qt.Key.Key_N)  # project B labels as usual afterwards
    qtbot.waitUntil(lambda: bool(written), timeout=WAIT_MS)
    assert [e[2] for e in label_events(other)] == ["nonhuman"]
