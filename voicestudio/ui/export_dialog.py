"""The export dialog: the ``voicestudio export`` options as a form.

It returns the target folder and an ``ExportOptions``; the window runs the
export as a job (progress, cancel) and the dialog shows the equivalent
command so the same export can be repeated from a terminal.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from voicestudio.dataset.consensus import CONSENSUS_RULES, Consensus
from voicestudio.dataset.export import AUDIO_FORMATS, FEATURE_KINDS, GROUP_BY, LAYOUTS, ExportOptions, check_target
from voicestudio.errors import VoiceStudioError

LAYOUT_TEXT = {"folders": "Class folders (Keras, voicestudio train)", "csv": "Audio + manifest CSV",
               "hf": "Hugging Face audiofolder"}
RATES = ("keep (at most 32 kHz)", "8000", "16000", "22050", "32000", "44100", "48000")


class ExportDialog(QDialog):
    def __init__(self, project_label: str, annotators: list[str], consensus: Consensus, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export the labelled set")
        self.project_label = project_label
        self.folder = QLineEdit(str(Path.home() / "voice-dataset"))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        self.layout_box = self._combo(LAYOUTS, LAYOUT_TEXT)
        self.consensus_box = self._combo(CONSENSUS_RULES)
        self.consensus_box.setCurrentIndex(CONSENSUS_RULES.index(consensus.rule))
        self.annotator_box = QComboBox()
        self.annotator_box.addItem("all annotators", None)
        for name in annotators:
            self.annotator_box.addItem(name, name)
        self.include_unsure = QCheckBox("Include unsure clips (as a third class)")
        self.fractions = [self._fraction(v) for v in (0.8, 0.1, 0.1)]
        self.group_box = self._combo(GROUP_BY, {"source": "recording", "folder": "folder", "none": "nothing (clip by clip)"})
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.rate_box = QComboBox()
        self.rate_box.addItems(RATES)
        self.rate_box.setCurrentText("16000")
        self.audio_box = self._combo(AUDIO_FORMATS, {"wav": "WAV, 16-bit", "flac": "FLAC, 16-bit"})
        self.features_box = QComboBox()
        self.features_box.addItem("none", None)
        for kind in FEATURE_KINDS:
            self.features_box.addItem(kind, kind)
        self.force = QCheckBox("Replace an earlier export in this folder")
        self.command = QLabel("")
        self.command.setWordWrap(True)
        self.command.setStyleSheet("font-family: monospace; color: #8b949e;")
        self.error = QLabel("")
        self.error.setStyleSheet("color: #f85149;")
        self.error.setWordWrap(True)

        form = QFormLayout()
        target = QHBoxLayout()
        target.addWidget(self.folder, 1)
        target.addWidget(browse)
        form.addRow("Folder:", target)
        form.addRow("Layout:", self.layout_box)
        form.addRow("Label rule:", self.consensus_box)
        form.addRow("Labels of:", self.annotator_box)
        form.addRow("", self.include_unsure)
        split = QHBoxLayout()
        for name, box in zip(("train", "val", "test"), self.fractions):
            split.addWidget(QLabel(name))
            split.addWidget(box)
        form.addRow("Split:", split)
        form.addRow("Keep together:", self.group_box)
        form.addRow("Seed:", self.seed)
        form.addRow("Sample rate:", self.rate_box)
        form.addRow("Audio:", self.audio_box)
        form.addRow("Features:", self.features_box)
        form.addRow("", self.force)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Same export from a terminal:"))
        layout.addWidget(self.command)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        for box in (self.layout_box, self.consensus_box, self.annotator_box, self.group_box, self.rate_box,
                    self.audio_box, self.features_box):
            box.currentIndexChanged.connect(self._update_command)
        for widget in (*self.fractions, self.seed):
            widget.valueChanged.connect(self._update_command)
        for check in (self.include_unsure, self.force):
            check.toggled.connect(self._update_command)
        self.folder.textChanged.connect(self._update_command)
        self._update_command()

    @staticmethod
    def _combo(values, text=None) -> QComboBox:
        box = QComboBox()
        for value in values:
            box.addItem((text or {}).get(value, value), value)
        return box

    @staticmethod
    def _fraction(value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(0.0, 1.0)
        box.setSingleStep(0.05)
        box.setDecimals(2)
        box.setValue(value)
        return box

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def options(self) -> ExportOptions:
        """The options as chosen; ValueError says what is wrong with them."""
        rate = self.rate_box.currentText()
        return ExportOptions(
            layout=self.layout_box.currentData(),
            consensus=Consensus(self.consensus_box.currentData(), self.annotator_box.currentData(),
                                self.include_unsure.isChecked()),
            fractions=tuple(round(box.value(), 4) for box in self.fractions),
            group_by=self.group_box.currentData(), seed=self.seed.value(),
            rate=int(rate) if rate.isdigit() else None, audio_format=self.audio_box.currentData(),
            features=self.features_box.currentData(), force=self.force.isChecked(),
        )

    def target(self) -> Path:
        return Path(self.folder.text().strip()).expanduser()

    def _update_command(self) -> None:
        try:
            self.command.setText(self.options().command(self.project_label).replace(" OUT ", f" {shlex.quote(str(self.target()))} ", 1))
            self.error.setText("")
        except ValueError as exc:
            self.command.setText("")
            self.error.setText(str(exc))

    def _accept(self) -> None:
        try:
            self.options()
            if not self.folder.text().strip():
                raise ValueError("choose a folder to export into")
            check_target(self.target(), self.force.isChecked(), check_content=False)  # quick: the job reads the clips
        except (ValueError, VoiceStudioError) as exc:
            # The core speaks the command line's language; here the box below is the way.
            self.error.setText(str(exc).replace("use --force", f"tick “{self.force.text()}”"))
            return
        self.accept()
