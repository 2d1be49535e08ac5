"""Keyboard focus that never traps the analyst in a field."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

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


DIALOG_QUIET_S = 0.3  # after a dialog closes, single-key shortcuts wait this long (a key already in flight)
# Widgets the analyst types into: a single-key shortcut never fires while one has focus.
TYPING_WIDGETS = (QLineEdit, QAbstractSpinBox, QComboBox, QTextEdit, QPlainTextEdit)


def is_single_key(sequence: QKeySequence) -> bool:
    """H, 0, +, ?, Space: one character key, Shift at most (Ctrl+Z, F5 and the arrows are not)."""
    if sequence.count() != 1:
        return False
    combination = sequence[0]
    extra = combination.keyboardModifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
    return extra == Qt.KeyboardModifier.NoModifier and combination.key().value < Qt.Key.Key_Escape.value


def typing_widget(widget: QWidget | None) -> bool:
    """The widget, or the spin box or combo box it is part of, takes typed text."""
    while widget is not None and not widget.isWindow():
        if isinstance(widget, TYPING_WIDGETS):
            return True
        widget = widget.parentWidget()
    return isinstance(widget, TYPING_WIDGETS)


class KeyGuard(QObject):
    """Single-key shortcuts (H, N, U, R, L, Z, E, digits, +/-) do nothing while the analyst types
    into a field, spin box or combo box, while a dialog is up, and just after one closes: a key
    pressed as a dialog opens or closes must not label a clip.

    It watches each action's Shortcut event (a menu click is not one, so menus always work) and
    the window's WindowBlocked/WindowUnblocked (a modal dialog shown, then gone).
    """

    def __init__(self, window: QWidget, actions):
        super().__init__(window)
        self.window = window
        self.unblocked_at = -1e9
        self.refused = 0  # shortcuts refused so far (the tests read it)
        window.installEventFilter(self)
        for action in actions:
            action.installEventFilter(self)

    def quiet(self) -> bool:
        """A dialog is up, or closed a moment ago."""
        return (QApplication.activeModalWidget() is not None
                or time.monotonic() - self.unblocked_at < DIALOG_QUIET_S)

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Shortcut:
            if is_single_key(event.key()) and (self.quiet() or typing_widget(self.window.focusWidget())):
                self.refused += 1
                return True  # the key is spent: no label, and no "h" half-typed elsewhere
        elif watched is self.window and kind in (QEvent.Type.WindowUnblocked, QEvent.Type.WindowBlocked):
            self.unblocked_at = time.monotonic()  # both: a key pressed as the dialog opens counts too
        return False
