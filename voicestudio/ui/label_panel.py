"""The label panel: the clip's labels, the model's verdict, a note, history and session progress."""

from __future__ import annotations

import html
from datetime import datetime, timezone

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from voicestudio.dataset.cliploading import LoadedClip
from voicestudio.dataset.session import SessionProgress
from voicestudio.ui.clip_list import LABEL_COLOURS, LABEL_TEXT


def local_time(utc_iso: str) -> str:
    """A stored UTC time (ISO 8601) as this machine's local time, to the second."""
    try:
        moment = datetime.fromisoformat(utc_iso)
    except ValueError:
        return utc_iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class LabelPanel(QWidget):
    def __init__(self, actions: dict, parent=None):
        super().__init__(parent)
        self.title = QLabel("No clip")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_verdict = QLabel("")
        self.model_verdict.setWordWrap(True)  # a model failure's reason is a long line
        self.mine = QLabel("")
        self.others = QLabel("")
        self.others.setWordWrap(True)

        buttons = QGridLayout()  # two by two: the panel stays narrow enough for a 1280-pixel screen
        for index, name in enumerate(("label_human", "label_nonhuman", "label_unsure", "undo_label")):
            button = QToolButton()
            button.setDefaultAction(actions[name])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setMinimumHeight(34)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(button, index // 2, index % 2)

        self.note = QLineEdit()
        self.note.setPlaceholderText("Note for the next label (E)")
        self.history = QListWidget()
        self.history.setMinimumHeight(90)
        self.session = QLabel("")

        form = QFormLayout()
        form.addRow("Model:", self.model_verdict)
        form.addRow("You:", self.mine)
        form.addRow("Others:", self.others)
        labels = QGroupBox("Labels")
        inner = QVBoxLayout(labels)
        inner.addLayout(form)
        inner.addLayout(buttons)
        inner.addWidget(self.note)
        history = QGroupBox("History")
        QVBoxLayout(history).addWidget(self.history)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(labels)
        layout.addWidget(history, 1)
        layout.addWidget(self.session)

    def take_note(self) -> str | None:
        text = self.note.text().strip()
        self.note.clear()
        return text or None

    def show_clip(self, loaded: LoadedClip | None, annotator: str) -> None:
        if loaded is None:
            self.title.setText("No clip")
            self.mine.setText("")
            self.others.setText("")
            self.history.clear()
            return
        clip = loaded.clip
        self.title.setText(f"<b>{html.escape(clip.path)}</b><br>{clip.start_s:.2f}–{clip.end_s:.2f} s "
                           f"({clip.duration_s:.2f} s) · clip {clip.id}")
        current: dict[str, str | None] = {}
        self.history.clear()
        for record in loaded.history:
            current[record.annotator] = record.value
            what = LABEL_TEXT[record.value] or "cleared"
            undo = f" (undo of {record.undoes_id})" if record.undoes_id else ""
            note = f" — {record.note}" if record.note and not record.undoes_id else ""
            self.history.insertItem(0, f"{local_time(record.created_at)}  {record.annotator}: {what}{undo}{note}")
        self.mine.setText(self._badge(current.get(annotator)) if annotator else "(name asked at the first label)")
        others = [f"{html.escape(who)}: {self._badge(value)}" for who, value in current.items()
                  if who != annotator and value]
        self.others.setText(", ".join(others) or "—")

    def show_verdict(self, prediction, threshold: float, failure: str | None = None) -> None:
        """The model's verdict, or why the model failed on this clip (``failure``)."""
        if failure is not None:
            self.model_verdict.setText(html.escape(failure))  # "the model failed on this audio (…)"
            self.model_verdict.setToolTip(failure)
            return
        self.model_verdict.setToolTip("")
        if prediction is None:
            self.model_verdict.setText("scoring…")
            return
        verdict = "human" if prediction.clip_score >= threshold else "nonhuman"
        relation = "≥" if verdict == "human" else "&lt;"
        self.model_verdict.setText(f"{self._badge(verdict)} {prediction.clip_score:.3f} ({relation} {threshold:.3f})")

    def show_session(self, session: SessionProgress, remaining: int) -> None:
        self.session.setText(f"This session: {session.labelled} labelled · {remaining} left in queue · "
                             f"{session.rate_per_hour():.0f}/h")

    @staticmethod
    def _badge(value: str | None) -> str:
        if not value:
            return "—"
        colour = LABEL_COLOURS[value].name()
        return f"<b style='color:{colour}'>{LABEL_TEXT[value]}</b>"
