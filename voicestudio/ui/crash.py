"""Qt's messages into the log, and one clear dialog instead of a stack trace when something breaks.

An exception nobody caught (PySide6 hands those raised in slots to ``sys.excepthook``)
is logged with its traceback; the first one of a session also shows a dialog that says
labels are safe (each is written when it is shown) and where the log is. Later ones are
only logged, so a failing timer never buries the user in dialogs. A hard crash of native
code is written to ``crash.log`` beside the log by ``faulthandler``.
"""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading
from pathlib import Path

from PySide6.QtCore import Qt, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
log = logging.getLogger("voicestudio.crash")
# Qt warnings that say only what VoiceStudio chose: no media-player backend (playback uses
# QAudioSink), optional system libraries (VA-API, PipeWire) absent. Logged at INFO.
EXPECTED_QT_WARNINGS = ("No QtMultimedia backends found", "Couldn't load", "Couldn't resolve")


def _qt_message(mode, context, message) -> None:
    category = getattr(context, "category", None) or "default"
    name = "qt" if category == "default" else f"qt.{category}".replace("qt.qt.", "qt.")
    level = QT_LEVELS.get(mode, logging.WARNING)
    if level == logging.WARNING and message.startswith(EXPECTED_QT_WARNINGS):
        level = logging.INFO
    logging.getLogger(name).log(level, "%s", message)


def route_qt_messages() -> None:
    """Qt's warnings (and worse) go to the log, not to a terminal nobody reads."""
    qInstallMessageHandler(_qt_message)


class CrashReporter:
    """``sys.excepthook`` (and ``threading.excepthook``) for the window."""

    def __init__(self, log_path: Path | None):
        self.log_path = log_path
        self.shown = False
        self.show_dialog = self._dialog  # tests replace it

    def __call__(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.critical("unexpected error: %s: %s", exc_type.__name__, exc, exc_info=(exc_type, exc, tb))
        if self.shown or QApplication.instance() is None:
            return
        self.shown = True
        where = str(self.log_path) if self.log_path else "the terminal (the log folder could not be written)"
        self.show_dialog(f"VoiceStudio hit an unexpected error and may not work as it should:\n\n"
                         f"{exc_type.__name__}: {exc}\n\nYour labels are safe: each one is saved when it is shown. "
                         f"Please save your work, restart VoiceStudio, and send this file with a note of what you "
                         f"were doing:\n\n{where}")

    def thread_hook(self, args) -> None:
        self(args.exc_type, args.exc_value, args.exc_traceback)

    def _dialog(self, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, "VoiceStudio: unexpected error", text)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # the path can be copied
        box.exec()


def install(log_path: Path | None) -> CrashReporter:
    """Route Qt messages, catch uncaught exceptions, and record native crashes next to the log."""
    route_qt_messages()
    reporter = CrashReporter(log_path)
    sys.excepthook = reporter
    threading.excepthook = reporter.thread_hook
    if log_path is not None:
        try:
            reporter.fault_file = open(log_path.with_name("crash.log"), "a", encoding="utf-8")
            faulthandler.enable(reporter.fault_file)
        except OSError:
            pass
    return reporter
