"""Keyboard focus that never traps the analyst in a field."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QWidget

RETURN_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)


class ReturnFocus(QObject):
    """Enter or Esc in one of ``fields`` hands the keyboard back to ``target`` (the clip list).

    The field still gets the key first (a spin box commits its value on Enter); then the next
    H labels the clip instead of typing "h" into the filter.
    """

    def __init__(self, target: QWidget, *fields: QWidget):
        super().__init__(target)
        self.target = target
        for field in fields:
            field.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() in RETURN_KEYS:
            QTimer.singleShot(0, self.target.setFocus)
        return False
