"""Redo (issue 17, item 15) on the real window: Z takes labels back, Ctrl+Shift+Z puts them back as
new events, a batch with one key each way, and a new label empties the redo stack."""

from __future__ import annotations

from PySide6.QtCore import Qt

from conftest import WAIT_MS, scoring_done

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def stored(project_file, annotator="tester") -> dict[int, str]:
    """The annotator's current labels, read from the project file on a connection of its own."""
    from voicestudio.store.labels import current_labels
    from voicestudio.store.project import open_project

    with open_project(project_file) as project, project.session() as session:
        return {clip: label.value for clip, label in current_labels(session, annotator).items()}


def event_count(project_file) -> int:
    from voicestudio.store.labels import count_events
    from voicestudio.store.project import open_project

    with open_project(project_file) as project, project.session() as session:
        return count_events(session)


def test_ctrl_shift_z_redoes_what_z_undid_and_a_new_label_empties_the_stack(qtbot, open_window, project_file):
    window = open_window(project_file, auto_advance=False)
    scoring_done(qtbot, window)
    labels_menu = [a.text() for a in window.menuBar().actions()[1].menu().actions()]
    assert labels_menu.index("&Redo what the last undo took back") == labels_menu.index(
        "Und&o your last label (a new event)") + 1
    written = []
    window.label_written.connect(written.append)
    view = window.clip_list.view
    view.setFocus()
    first = window.clips.loaded.clip_id

    qtbot.keyClick(view, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: len(written) == 1, timeout=WAIT_MS)
    qtbot.keyClick(view, Qt.Key.Key_Z)
    qtbot.waitUntil(lambda: len(written) == 2, timeout=WAIT_MS)
    assert stored(project_file) == {}
    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL_SHIFT)
    qtbot.waitUntil(lambda: len(written) == 3, timeout=WAIT_MS)
    assert stored(project_file) == {first: "human"}
    assert event_count(project_file) == 3  # label, undo, redo: appended, nothing rewritten
    assert "Redid a-voice.wav: human" in window.statusBar().currentMessage()
    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL_SHIFT)  # nothing more to redo
    qtbot.wait(100)
    assert len(written) == 3 and "Nothing to redo" in window.statusBar().currentMessage()

    # A batch: three rows labelled with one N, undone with one Z, redone with one Ctrl+Shift+Z.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(window.clip_list.model.index(1, 0)).center())
    rect = view.visualRect(window.clip_list.model.index(3, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, rect.center())
    chosen = window.clip_list.selected_clip_ids()
    assert len(chosen) == 3
    qtbot.keyClick(view, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: len(written) == 6, timeout=WAIT_MS)
    qtbot.keyClick(view, Qt.Key.Key_Z)
    qtbot.waitUntil(lambda: len(written) == 9, timeout=WAIT_MS)
    assert stored(project_file) == {first: "human"}
    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL_SHIFT)
    qtbot.waitUntil(lambda: len(written) == 12, timeout=WAIT_MS)
    assert stored(project_file) == {first: "human", **{c: "nonhuman" for c in chosen}}
    assert "Redid 3 labels" in window.statusBar().currentMessage()
    table = window.session.table
    assert all(table.mine[table.row_of(c)] for c in chosen)  # the list shows them again

    # Z takes the redone batch back in one; then a new label empties the redo stack.
    qtbot.keyClick(view, Qt.Key.Key_Z)
    qtbot.waitUntil(lambda: len(written) == 15, timeout=WAIT_MS)
    assert stored(project_file) == {first: "human"}
    window.clip_list.select_row(0)
    qtbot.waitUntil(lambda: window.clips.loaded is not None and window.clips.loaded.clip_id == first, timeout=WAIT_MS)
    qtbot.keyClick(view, Qt.Key.Key_U)
    qtbot.waitUntil(lambda: len(written) == 16, timeout=WAIT_MS)
    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL_SHIFT)
    qtbot.wait(100)
    assert len(written) == 16 and "Nothing to redo" in window.statusBar().currentMessage()
    assert stored(project_file) == {first: "unsure"}
