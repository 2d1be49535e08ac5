"""Errors that need attention: a banner above the views that stays until dismissed.

Routine news ("Loop off", "Imported 3 clips") goes to the status bar and fades;
an error ("the label was not saved") must not look like that, so it stays here
until the user closes it. Errors arriving meanwhile stack: the newest is shown
with a count of the others, and every one is in the tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

MAX_KEPT = 50  # a storm of errors keeps only the newest, with the count of all


class ErrorBanner(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setStyleSheet("#errorBanner { background: #5c1f1f; border-bottom: 1px solid #a33; }"
                           "#errorBanner QLabel { color: #fdd; }")
        self.messages: list[str] = []
        self.count = 0
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.more = QLabel("")
        self.dismiss_button = QToolButton()
        self.dismiss_button.setText("Dismiss")
        self.dismiss_button.setToolTip("Hide these errors (they are in the log too)")
        self.dismiss_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(QLabel("⚠"))
        layout.addWidget(self.text, 1)
        layout.addWidget(self.more)
        layout.addWidget(self.dismiss_button)
        self.hide()

    def add(self, message: str) -> None:
        self.count += 1
        self.messages = (self.messages + [message])[-MAX_KEPT:]
        self.text.setText(message)
        earlier = self.count - 1
        self.more.setText(f"+{earlier} earlier" if earlier else "")
        self.setToolTip("\n".join(self.messages))
        self.show()

    def dismiss(self) -> None:
        self.messages.clear()
        self.count = 0
        self.hide()
