"""Single-key shortcuts never label while the analyst types, nor from a key that arrives as a
dialog opens or closes (issue 17, item 16): keys typed into the real window, the project file
read back to prove no label was stored."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox

from conftest import WAIT_MS


def stored_events(project_file) -> list[tuple[int, str, str | None]]:
    """(clip, annotator, value) of every label event in the project file, oldest first."""
    from sqlalchemy import select

    from voicestudio.store.project import open_project
    from voicestudio.store.schema import LabelEvent

    with open_project(project_file) as project, project.session() as session:
        return [tuple(row) for row in session.execute(
            select(LabelEvent.clip_id, LabelEvent.annotator, LabelEvent.value).order_by(LabelEvent.id))]


def test_letters_typed_into_the_filter_the_threshold_and_the_queue_label_nothing(qtbot, open_window, project_file):
    window = open_window(project_file)
    written = []
    window.label_written.connect(written.append)

    box = window.clip_list.filter
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(box, "hnu")
    assert box.text() == "hnu"
    box.clear()

    spin = window.threshold_box
    qtbot.mouseClick(spin, Qt.MouseButton.LeftButton)
    assert QApplication.focusWidget() in (spin, spin.findChild(QLineEdit))
    threshold = spin.value()
    for key in (Qt.Key.Key_H, Qt.Key.Key_N, Qt.Key.Key_U, Qt.Key.Key_Z, Qt.Key.Key_R, Qt.Key.Key_E):
        qtbot.keyClick(spin, key)
    assert spin.value() == threshold

    queue = window.clip_list.queue
    queue.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is queue, timeout=WAIT_MS)
    chosen = queue.currentIndex()
    for key in (Qt.Key.Key_H, Qt.Key.Key_N, Qt.Key.Key_U, Qt.Key.Key_0, Qt.Key.Key_Plus, Qt.Key.Key_Minus):
        qtbot.keyClick(queue, key)
    assert queue.currentIndex() == chosen  # the key is spent: no label and no jump to "Human, model said…"
    assert window.key_guard.refused >= 6

    qtbot.wait(300)  # a label write would have landed by now
    assert not written and stored_events(project_file) == []

    # Back in the list, H labels again.
    window.clip_list.view.setFocus()
    qtbot.keyClick(window.clip_list.view, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: len(written) == 1, timeout=WAIT_MS)
    assert [value for _, _, value in stored_events(project_file)] == ["human"]


def activate(qtbot, window) -> None:
    """The main window active again, as the window manager makes it once a dialog is gone."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)


def test_keys_as_a_dialog_opens_and_just_after_it_closes_label_nothing(qtbot, open_window, project_file):
    from voicestudio.ui.focus import DIALOG_QUIET_S

    window = open_window(project_file)
    view = window.clip_list.view
    written = []
    window.label_written.connect(written.append)
    dialog = QMessageBox(QMessageBox.Icon.Information, "Done", "The export finished.", parent=window)

    def press_then_close():
        if not dialog.isVisible():
            QTimer.singleShot(10, press_then_close)
            return
        qtbot.keyClick(view, Qt.Key.Key_N)  # a key meant for the list, as the dialog opens
        qtbot.keyClick(dialog, Qt.Key.Key_Return)  # Enter closes it

    QTimer.singleShot(0, press_then_close)
    dialog.exec()
    activate(qtbot, window)
    view.setFocus()
    refused = window.key_guard.refused
    qtbot.keyClick(view, Qt.Key.Key_H)  # the next key, already in flight as the dialog closed
    assert window.key_guard.refused == refused + 1
    qtbot.wait(300)
    assert not written and stored_events(project_file) == []

    qtbot.wait(int(DIALOG_QUIET_S * 1000))  # a moment later the keys label again
    qtbot.keyClick(view, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: len(written) == 1, timeout=WAIT_MS)
    assert [value for _, _, value in stored_events(project_file)] == ["human"]


def test_the_h_that_asks_for_the_name_labels_once_and_no_key_reopens_the_dialog(qtbot, open_window, project_file):
    """H asks the annotator's name first (a modal dialog); keys pressed while it is up and just
    after it closes must not label, nor ask again, and the H that opened it labels once."""
    window = open_window(project_file, annotator="")
    view = window.clip_list.view
    view.setFocus()
    first = window.clips.loaded.clip_id
    seen = {}

    def answer():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            return
        if seen.get("dialog"):  # a second dialog, opened by a key that got through: refuse it, fail below
            seen["extra"] = seen.get("extra", 0) + 1
            dialog.reject()
            return
        seen["dialog"] = True
        qtbot.keyClick(view, Qt.Key.Key_N)  # a key pressed as the dialog opens
        dialog.setTextValue("dana")
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
        QTimer.singleShot(0, in_flight)

    def in_flight():
        activate(qtbot, window)
        seen["refused"] = window.key_guard.refused
        qtbot.keyClick(view, Qt.Key.Key_U)  # the key already in flight as it closes
        seen["after"] = window.key_guard.refused

    poll = QTimer(window, interval=20)
    poll.timeout.connect(answer)
    poll.start()
    written = []
    window.label_written.connect(written.append)
    qtbot.keyClick(view, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: len(written) == 1 and "after" in seen, timeout=WAIT_MS)
    poll.stop()
    assert seen.get("dialog") and not seen.get("extra")
    assert seen["after"] == seen["refused"] + 1  # the in-flight key reached the guard and was refused
    qtbot.wait(300)
    assert stored_events(project_file) == [(first, "dana", "human")]  # only the H that asked for the name
