"""Model ▸ Train from labels…: what to train (the form), before the job runs.

The form's choices are a ``TrainRequest``; ``TrainingControl`` runs it. The equivalent command
is shown under the form, so what the window does can be repeated from a terminal.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
)

SPLIT_SEED = 0  # the export's and Compare's: the test clips the new model is judged on are the ones it never saw
BASES = (("builtin", "the built-in model (fine-tune)"), ("current", "the window's current model (fine-tune)"),
         ("none", "nothing (train the network from scratch)"))


@dataclass(frozen=True)
class TrainRequest:
    out: Path
    base: str  # "builtin", "none" or a model file
    epochs: int
    seed: int
    consensus: str  # the rule's name, as --consensus takes it

    def command(self, db: str) -> str:
        parts = ["voicestudio", "--db", db, "train", "--from-project", str(self.out), "--base", self.base,
                 "--epochs", str(self.epochs), "--seed", str(self.seed), "--consensus", self.consensus]
        return shlex.join(parts)


class TrainDialog(QDialog):
    def __init__(self, out: Path | None, current_model: str | None, consensus: str, db: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Train from labels")
        self.setMinimumWidth(640)
        self.current_model, self.consensus, self.db = current_model, consensus, db
        self.out = QLineEdit("" if out is None else str(out))
        self.out.setToolTip("The new model; its int8 twin and both cards are written beside it")
        self.base = QComboBox()
        for key, text in BASES:
            if key != "current" or current_model:
                self.base.addItem(text, key)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 200)
        self.epochs.setValue(10)
        form = QFormLayout()
        form.addRow("Write the model to", self.out)
        form.addRow("Start from", self.base)
        form.addRow("Epochs", self.epochs)
        form.addRow("Labels", QLabel(f"consensus: {consensus} (the Audit tab's rule)"))
        self.command = QLabel()
        self.command.setWordWrap(True)
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Train")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("The same from a terminal:"))
        layout.addWidget(self.command)
        layout.addWidget(buttons)
        for signal in (self.out.textChanged, self.base.currentIndexChanged, self.epochs.valueChanged):
            signal.connect(self._show_command)
        self._show_command()

    def _accept(self) -> None:
        out = self.out.text().strip()
        if not out.endswith(".tflite"):
            self.command.setText("⚠ the model's file name must end in .tflite")
            return
        self.accept()

    def request(self) -> TrainRequest:
        base = self.base.currentData()
        return TrainRequest(Path(self.out.text().strip()), self.current_model if base == "current" else base,
                            self.epochs.value(), SPLIT_SEED, self.consensus)

    def _show_command(self) -> None:
        self.command.setText(self.request().command(self.db))
