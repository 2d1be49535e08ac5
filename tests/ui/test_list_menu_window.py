"""The clip list's row menu, Note and Start columns, search by label or note, and grouping a
recording's segments (issue 17, items 15 and 6), driven with the mouse and keys on a real window;
labels are read back from the project file."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QMenu

from audiofiles import speechlike, write
from conftest import SR, WAIT_MS, scoring_done


@pytest.fixture
def segmented_project(tmp_path, project_file, clip_folder):
    """The four clips, plus a 3 s recording imported as three 1 s segments."""
    from voicestudio.dataset.importer import SegmentRule, import_paths
    from voicestudio.store.project import open_project

    recording = tmp_path / "recordings" / "long-take.wav"
    recording.parent.mkdir()
    write(recording, speechlike(SR, 3.0, seed=7), SR)
    with open_project(project_file) as project:
        assert import_paths(project, [recording], rule=SegmentRule("fixed", 1.0)).clips_added == 3
    return project_file


def stored(project_file, annotator="tester") -> dict[int, tuple[str, str | None]]:
    """(value, note) of the annotator's current labels, read from the project file."""
    from voicestudio.store.labels import current_labels
    from voicestudio.store.project import open_project
    from voicestudio.store.schema import LabelEvent

    with open_project(project_file) as project, project.session() as session:
        return {clip: (label.value, session.get(LabelEvent, label.event_id).note)
                for clip, label in current_labels(session, annotator).items()}


def row_rect(window, row: int):
    return window.clip_list.view.visualRect(window.clip_list.model.index(row, 0))


def click_row(qtbot, window, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    view = window.clip_list.view
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, row_rect(window, row).center())


def choose_from_row_menu(qtbot, window, row: int, text: str) -> list[str]:
    """Right-click ``row`` and pick the entry whose text starts with ``text`` with the keyboard;
    returns every entry's text."""
    entries = []

    def pick():
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(10, pick)
            return
        entries.extend(a.text() for a in menu.actions())
        action = next(a for a in menu.actions() if a.text().replace("&", "").startswith(text))
        menu.setActiveAction(action)
        qtbot.keyClick(menu, Qt.Key.Key_Return)

    QTimer.singleShot(0, pick)
    view = window.clip_list.view
    point = row_rect(window, row).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=point)
    # What the window system sends after a right click (QTest's click alone sends none).
    QApplication.sendEvent(view.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point,
                                                              view.viewport().mapToGlobal(point)))
    qtbot.waitUntil(lambda: bool(entries) and QApplication.activePopupWidget() is None, timeout=WAIT_MS)
    return entries


def listed(window) -> list[int]:
    model = window.clip_list.model
    return [model.clip_id(r) for r in range(model.rowCount())]


def cell(window, row: int, column: str) -> str:
    from voicestudio.dataset.cliptable import COLUMNS

    model = window.clip_list.model
    return model.data(model.index(row, COLUMNS.index(column)))


def test_the_row_menu_labels_the_selection_shows_copies_and_opens_the_folder(qtbot, open_window, project_file,
                                                                          clip_folder, monkeypatch):
    window = open_window(project_file, auto_advance=False)
    scoring_done(qtbot, window)
    written = []
    window.label_written.connect(written.append)
    click_row(qtbot, window, 1)
    click_row(qtbot, window, 2, Qt.KeyboardModifier.ShiftModifier)
    chosen = window.clip_list.selected_clip_ids()
    assert len(chosen) == 2

    entries = choose_from_row_menu(qtbot, window, 2, "Label non-human")  # right-click inside the selection
    assert "2 clips selected" in entries and "&Open the containing folder" in entries
    qtbot.waitUntil(lambda: len(written) == 2, timeout=WAIT_MS)
    assert stored(project_file) == {c: ("nonhuman", None) for c in chosen}
    assert "Labelled 2 clips nonhuman" in window.statusBar().currentMessage()

    choose_from_row_menu(qtbot, window, 3, "Copy path")  # a right-click outside the selection selects its row
    assert window.clip_list.selected_clip_ids() == [listed(window)[3]]
    assert QGuiApplication.clipboard().text() == str(clip_folder / "d-noise.wav")

    choose_from_row_menu(qtbot, window, 0, "Show in the views")
    qtbot.waitUntil(lambda: window.clips.loaded is not None and window.clips.loaded.clip_id == listed(window)[0],
                    timeout=WAIT_MS)
    assert window.clip_list.current_row() == 0

    # Offscreen, no program opens folders: the window says so and copies the folder's path, no crash, no wait.
    choose_from_row_menu(qtbot, window, 0, "Open the containing folder")
    assert "No program here opens folders" in window.statusBar().currentMessage()
    assert QGuiApplication.clipboard().text() == str(clip_folder)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    choose_from_row_menu(qtbot, window, 1, "Open the containing folder")
    assert [os.path.normpath(p) for p in opened] == [str(clip_folder)]


def test_notes_show_in_the_note_column_and_the_filter_finds_labels_and_notes(qtbot, open_window, project_file):
    window = open_window(project_file, auto_advance=False)
    scoring_done(qtbot, window)
    written = []
    window.label_written.connect(written.append)
    view, note = window.clip_list.view, window.label_panel.note
    first = listed(window)[0]

    qtbot.mouseClick(note, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(note, "too quiet, a man")
    qtbot.keyClick(note, Qt.Key.Key_Return)  # back to the list
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view, timeout=WAIT_MS)
    qtbot.keyClick(view, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: len(written) == 1, timeout=WAIT_MS)
    assert written[0]["note"] == "too quiet, a man"
    assert cell(window, 0, "note") == "too quiet, a man"
    click_row(qtbot, window, 1)
    qtbot.keyClick(view, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: len(written) == 2, timeout=WAIT_MS)
    second = listed(window)[1]

    window.clip_list.set_queue_name("all")
    box = window.clip_list.filter
    assert "label:" in box.toolTip() and "note:" in box.toolTip() and "note:" in box.placeholderText()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(box, "note:quiet")
    qtbot.waitUntil(lambda: listed(window) == [first], timeout=WAIT_MS)
    box.clear()
    qtbot.keyClicks(box, "label:nonhuman")
    qtbot.waitUntil(lambda: listed(window) == [second], timeout=WAIT_MS)
    box.clear()
    qtbot.keyClicks(box, "label:none")
    qtbot.waitUntil(lambda: len(listed(window)) == 2 and first not in listed(window), timeout=WAIT_MS)
    box.clear()
    qtbot.keyClicks(box, 'voice label:human note:"a man"')
    qtbot.waitUntil(lambda: listed(window) == [first], timeout=WAIT_MS)
    assert stored(project_file) == {first: ("human", "too quiet, a man"), second: ("nonhuman", None)}

    # Z takes the noted label back: the note goes with it.
    box.clear()
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view, timeout=WAIT_MS)
    for count in (3, 4):  # the second label, then the first (the one with the note)
        qtbot.keyClick(view, Qt.Key.Key_Z)
        qtbot.waitUntil(lambda: len(written) == count, timeout=WAIT_MS)
    assert cell(window, listed(window).index(first), "note") == ""


def test_segments_show_their_start_sort_by_it_and_group_by_recording(qtbot, open_window, segmented_project):
    window = open_window(segmented_project)
    window.clip_list.set_queue_name("all")
    qtbot.waitUntil(lambda: len(listed(window)) == 7, timeout=WAIT_MS)
    starts = [cell(window, r, "start") for r in range(7)]
    assert starts == ["", "", "", "", "0:00.0", "0:01.0", "0:02.0"]  # whole files leave it empty
    table = window.session.table

    def recordings():
        return [os.path.basename(table.paths[table.row_of(c)]) for c in listed(window)]

    header = window.clip_list.view.horizontalHeader()
    from voicestudio.dataset.cliptable import COLUMNS

    start_column = COLUMNS.index("start")
    header.setSortIndicator(start_column, Qt.SortOrder.DescendingOrder)  # what a header click does
    assert [cell(window, r, "start") for r in range(3)] == ["0:02.0", "0:01.0", "0:00.0"]
    header.setSortIndicator(COLUMNS.index("duration"), Qt.SortOrder.DescendingOrder)
    assert recordings() != sorted(recordings())  # by length, the segments are scattered

    current = listed(window)[0]  # the right-clicked row becomes the current one
    choose_from_row_menu(qtbot, window, 0, "Group segments by recording")
    assert window.clip_list.group_action.isChecked()
    assert recordings() == sorted(recordings())  # each recording's rows together...
    segments = [cell(window, r, "start") for r, name in enumerate(recordings()) if name == "long-take.wav"]
    assert segments == ["0:00.0", "0:01.0", "0:02.0"]  # ...in time order
    assert window.clip_list.model.clip_id(window.clip_list.current_row()) == current  # the place is kept

    window.clip_list.filter.setText("long")  # grouping holds through the filter
    qtbot.waitUntil(lambda: len(listed(window)) == 3, timeout=WAIT_MS)
    assert [cell(window, r, "start") for r in range(3)] == ["0:00.0", "0:01.0", "0:02.0"]
    window.clip_list.filter.clear()
    qtbot.waitUntil(lambda: len(listed(window)) == 7, timeout=WAIT_MS)
    current = window.clip_list.model.clip_id(window.clip_list.current_row())
    x = header.sectionViewportPosition(start_column) + header.sectionSize(start_column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))
    assert not window.clip_list.group_action.isChecked()  # a column sort ends the grouping
    assert window.clip_list.model.sort_column == "start"
    assert window.clip_list.model.clip_id(window.clip_list.current_row()) == current  # the place is kept
