"""Keyboard shortcuts as data, and the ``?`` overlay that lists them.

The main window turns each entry into a QAction (auto-repeat off) bound to
its method of the same name, so the overlay, the menus and the bindings can
never disagree.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


@dataclass(frozen=True)
class Shortcut:
    action: str  # the MainWindow method it calls
    keys: tuple[str, ...]  # QKeySequence strings, the first is shown in menus
    text: str
    group: str


SHORTCUTS = (
    Shortcut("label_human", ("H",), "Label human", "Label"),
    Shortcut("label_nonhuman", ("N",), "Label non-human", "Label"),
    Shortcut("label_unsure", ("U",), "Label unsure", "Label"),
    Shortcut("undo_label", ("Z", "Ctrl+Z"), "Undo your last label (a new event)", "Label"),
    Shortcut("edit_note", ("E",), "Write a note for the next label", "Label"),
    Shortcut("next_clip", ("Right",), "Next clip in the queue", "Move"),
    Shortcut("previous_clip", ("Left",), "Previous clip", "Move"),
    Shortcut("toggle_play", ("Space",), "Play / pause", "Listen"),
    Shortcut("toggle_region", ("R",), "Select a region (drag its edges)", "Listen"),
    Shortcut("toggle_loop", ("L",), "Loop the region while playing", "Listen"),
    Shortcut("zoom_in", ("+", "="), "Zoom in", "View"),
    Shortcut("zoom_out", ("-",), "Zoom out", "View"),
    Shortcut("zoom_fit", ("0",), "Show the whole clip", "View"),
    Shortcut("pan_left", ("Shift+Left",), "Pan left", "View"),
    Shortcut("pan_right", ("Shift+Right",), "Pan right", "View"),
    Shortcut("show_shortcuts", ("?", "F1"), "Show or hide this list", "Help"),
)


def key_sequences(shortcut: Shortcut) -> list[QKeySequence]:
    return [QKeySequence(k) for k in shortcut.keys]


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
        for s in SHORTCUTS:
            if s.group != group:
                group = s.group
                rows.append(f"<tr><td colspan=2><b>{html.escape(group)}</b></td></tr>")
            keys = " / ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in s.keys)
            rows.append(f"<tr><td style='padding-right:18px'><tt>{html.escape(keys)}</tt></td>"
                        f"<td>{html.escape(s.text)}</td></tr>")
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
