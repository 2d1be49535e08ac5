"""The analyst's place in the clip list (issue 17, items 2-5 and 16), driven with keys and the
mouse on a real window and project: sorting, the threshold, the filter box and focus."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from audiofiles import noise, speechlike, tone, write
from conftest import SR, WAIT_MS, scoring_done

NAMES = [f"voice-{i:02d}.wav" for i in range(6)] + [f"tone-{i:02d}.wav" for i in range(6)]


@pytest.fixture
def twelve_clips(tmp_path):
    """Twelve clips of different lengths under a folder whose name contains "voice"."""
    from voicestudio.dataset.importer import import_paths
    from voicestudio.store.project import open_project

    folder = tmp_path / "voicestudio-data"
    folder.mkdir()
    for i, name in enumerate(NAMES):
        seconds = 0.5 + ((i * 7) % 12) * 0.1  # lengths out of name order
        audio = speechlike(SR, seconds, seed=i) if name.startswith("voice") else (
            tone(SR, seconds) if i % 2 else noise(SR, seconds))
        write(folder / name, audio, SR)
    path = tmp_path / "twelve.vsproj"
    with open_project(path) as project:
        assert import_paths(project, [folder]).clips_added == 12
    return path


def click_row(qtbot, window, row: int) -> None:
    view = window.clip_list.view
    rect = view.visualRect(window.clip_list.model.index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def click_header(qtbot, window, column: int) -> None:
    header = window.clip_list.view.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def shown_clip(window) -> int | None:
    return window.clips.loaded.clip_id if window.clips.loaded is not None else None


def listed_clip(window) -> int | None:
    return window.clip_list.model.clip_id(window.clip_list.current_row())


def test_sorting_keeps_the_clip_and_n_labels_it_then_moves_to_the_next_row_shown(qtbot, open_window, twelve_clips):
    window = open_window(twelve_clips)
    click_row(qtbot, window, 8)
    qtbot.waitUntil(lambda: shown_clip(window) == listed_clip(window) and window.clip_list.current_row() == 8,
                    timeout=WAIT_MS)
    chosen = shown_clip(window)
    for column in (4, 1):  # Score, then Length
        click_header(qtbot, window, column)
        assert listed_clip(window) == chosen == shown_clip(window)  # the highlight stayed on the clip
    row = window.clip_list.current_row()
    expected_next = window.clip_list.model.clip_id(row + 1)

    written = []
    window.label_written.connect(written.append)
    window.clip_list.view.setFocus()
    qtbot.keyClick(window.clip_list.view, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: bool(written) and shown_clip(window) == expected_next, timeout=WAIT_MS)
    assert written[0]["clip_id"] == chosen and written[0]["value"] == "nonhuman"
    assert window.clip_list.current_row() == row + 1  # "next" is the next row as displayed


def test_moving_the_threshold_keeps_the_unlabelled_queue_as_it_is(qtbot, open_window, twelve_clips):
    window = open_window(twelve_clips)
    written = []
    window.label_written.connect(written.append)
    first = shown_clip(window)
    window.clip_list.view.setFocus()
    qtbot.keyClick(window.clip_list.view, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: len(written) == 1, timeout=WAIT_MS)
    listed = [window.clip_list.model.clip_id(r) for r in range(window.clip_list.model.rowCount())]
    assert first in listed and len(listed) == 12  # a labelled row stays until the queue is chosen again

    box = window.threshold_box
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    box.selectAll()
    qtbot.keyClicks(box.lineEdit(), "0.123")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.session.threshold == pytest.approx(0.123), timeout=WAIT_MS)
    qtbot.wait(400)  # the queue timer (150 ms) has fired
    assert [window.clip_list.model.clip_id(r) for r in range(window.clip_list.model.rowCount())] == listed
    assert window.clip_list.model.request.threshold == pytest.approx(0.123)


def test_enter_in_a_field_returns_the_keyboard_and_h_labels_instead_of_typing(qtbot, open_window, twelve_clips):
    window = open_window(twelve_clips)
    written = []
    window.label_written.connect(written.append)
    box = window.clip_list.filter
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(box, "tone")
    assert not written  # typing h-less text, and no letter labelled anything
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.clip_list.view, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: shown_clip(window) is not None and "tone" in window.clips.loaded.clip.path,
                    timeout=WAIT_MS)
    qtbot.keyClick(window.clip_list.view, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: len(written) == 1, timeout=WAIT_MS)
    assert box.text() == "tone"  # no "h" typed into the filter

    note = window.label_panel.note
    qtbot.mouseClick(note, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(note, "hush now")  # h, n and u typed into a text field label nothing
    qtbot.wait(200)
    assert len(written) == 1 and note.text() == "hush now"
    qtbot.keyClick(note, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.clip_list.view, timeout=WAIT_MS)


def test_the_filter_matches_names_and_says_when_it_hides_everything(qtbot, open_window, twelve_clips):
    window = open_window(twelve_clips)
    box, model = window.clip_list.filter, window.clip_list.model
    box.setText("voice")  # every clip lives under .../voicestudio-data/: only the voice-* files match
    qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=WAIT_MS)
    assert all(window.session.table.name(int(r)).startswith("voice") for r in model.rows)
    box.setText("tone-0")  # names only: the folder above them all is not part of the match
    qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=WAIT_MS)
    box.setText("path:voicestudio")  # the whole path, when asked
    qtbot.waitUntil(lambda: model.rowCount() == 12, timeout=WAIT_MS)

    box.setText("no such clip")
    qtbot.waitUntil(lambda: model.rowCount() == 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.clips.loaded is None, timeout=WAIT_MS)
    assert "matches the filter “no such clip”" in window.views.message.text()
    assert window.label_panel.title.text() == "No clip"
    assert not np.asarray(window.player.samples).size  # Space plays nothing that is not listed


def test_a_shift_click_selection_is_labelled_with_one_key_and_undone_with_one(qtbot, open_window, twelve_clips):
    from voicestudio.dataset.cliptable import NO_LABEL

    window = open_window(twelve_clips, auto_advance=False)
    scoring_done(qtbot, window)  # its "Scored 12 clips" would replace the message read below
    written = []
    window.label_written.connect(written.append)
    click_row(qtbot, window, 2)
    view = window.clip_list.view
    rect = view.visualRect(window.clip_list.model.index(6, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, rect.center())
    chosen = window.clip_list.selected_clip_ids()
    assert len(chosen) == 5

    qtbot.keyClick(view, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: len(written) == 5, timeout=WAIT_MS)
    assert {e["clip_id"] for e in written} == set(chosen) and {e["value"] for e in written} == {"nonhuman"}
    table = window.session.table
    assert all(table.mine[table.row_of(c)] != NO_LABEL for c in chosen)
    assert "Labelled 5 clips nonhuman" in window.statusBar().currentMessage()
    assert window.session.progress.labelled == 5

    qtbot.keyClick(view, Qt.Key.Key_Z)  # one undo for the whole batch
    qtbot.waitUntil(lambda: len(written) == 10, timeout=WAIT_MS)
    assert all(table.mine[table.row_of(c)] == NO_LABEL for c in chosen)
    assert window.session.progress.labelled == 0
    assert "Undid 5 labels" in window.statusBar().currentMessage()
