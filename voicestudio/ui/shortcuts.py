"""The ``?`` overlay: every command that has keys, read from the command table."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from voicestudio.ui.actions import COMMANDS, Command


def with_keys(commands=COMMANDS) -> list[Command]:
    """The commands the overlay lists, grouped by menu (keyboard-only ones last)."""
    keyed = [c for c in commands if c.keys]
    return sorted(keyed, key=lambda c: c.menu is None)  # sorted() is stable: table order within a menu


class ShortcutOverlay(QFrame):
    """A translucent panel over the views listing every shortcut; any key or click hides it."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("shortcutOverlay")
        self.setStyleSheet(
            "#shortcutOverlay { background: rgba(20, 20, 24, 225); border-radius: 10px; }"
            "QLabel { color: #eee; font-size: 13px; }"
        )
        layout = QVBoxLayout(self)
        label = QLabel(self._table())
        label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(label)
        self.hide()

    @staticmethod
    def _table() -> str:
        rows, group = [], None
        for command in with_keys():
            if command.menu != group:
                group = command.menu
                rows.append(f"<tr><td colspan=2><b>{html.escape(group or 'Keyboard')}</b></td></tr>")
            keys = " / ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in command.keys)
            rows.append(f"<tr><td style='padding-right:18px'><tt>{html.escape(keys)}</tt></td>"
                        f"<td>{html.escape(command.plain_text)}</td></tr>")
        return "<table cellspacing=3>" + "".join(rows) + "</table>"

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
            return
        self.adjustSize()
        parent = self.parentWidget()
        self.move(max(0, (parent.width() - self.width()) // 2), max(0, (parent.height() - self.height()) // 2))
        self.raise_()
        self.show()

    def mousePressEvent(self, event) -> None:
        self.hide()
