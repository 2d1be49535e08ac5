"""The rotating log, Qt messages in it, and the one crash dialog."""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading

import pytest
from PySide6.QtCore import QTimer, qCritical, qInstallMessageHandler, qWarning

from voicestudio.logs import LOG_FILE, setup_logging
from voicestudio.ui import crash


@pytest.fixture
def logged(monkeypatch):
    """setup_logging() in the test's own folders; the root logger and hooks restored afterwards."""
    root = logging.getLogger()
    before = list(root.handlers), root.level
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    yield setup_logging
    faulthandler.enable(sys.__stderr__)  # crash.install pointed it at the test's crash.log
    for handler in root.handlers:
        if handler not in before[0]:
            handler.close()
    root.handlers[:] = before[0]
    root.setLevel(before[1])
    qInstallMessageHandler(None)


def test_the_log_rotates_in_the_user_log_folder(logged, isolated_dirs):
    path = logged()
    assert path == isolated_dirs / "xdg_state_home" / "VoiceStudio" / "log" / LOG_FILE
    assert logged() == path  # set up twice: still one handler
    ours = [h for h in logging.getLogger().handlers if getattr(h, "voicestudio", False)]
    assert len(ours) == 1 and ours[0].maxBytes == 2 * 1024 * 1024 and ours[0].backupCount == 4
    logging.getLogger("voicestudio.test").warning("a warning for the file")
    text = path.read_text()
    assert "INFO voicestudio: VoiceStudio" in text and "starting (from source" in text
    assert "WARNING voicestudio.test: a warning for the file" in text


def test_an_unwritable_log_folder_falls_back_to_stderr(logged, isolated_dirs, monkeypatch, capsys):
    blocker = isolated_dirs / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    assert logged() is None
    assert "cannot write the log" in capsys.readouterr().err


def test_qt_messages_and_uncaught_errors_go_to_the_log_with_one_dialog(logged, qtbot, qapp):
    path = logged()
    reporter = crash.install(path)
    dialogs = []
    reporter.show_dialog = dialogs.append
    qWarning("a Qt warning")
    qCritical("a Qt critical message")

    def broken_slot():
        raise ZeroDivisionError("the slot divided by zero")

    for _ in range(2):
        QTimer.singleShot(0, broken_slot)
        qtbot.wait(50)
    text = path.read_text()
    assert "WARNING qt: a Qt warning" in text and "ERROR qt: a Qt critical message" in text
    assert text.count("CRITICAL voicestudio.crash: unexpected error: ZeroDivisionError") == 2
    assert "Traceback" in text and "broken_slot" in text  # the trace is in the log, not on screen
    assert len(dialogs) == 1  # one dialog per session
    assert str(path) in dialogs[0] and "labels are safe" in dialogs[0] and "Traceback" not in dialogs[0]
    assert (path.parent / "crash.log").exists()  # native crashes land next to the log
    reporter.fault_file.close()
