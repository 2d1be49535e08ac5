"""View ▸ Spectrogram settings…: the spectrogram's top frequency, FFT size, dB range and colours,
and the MFCC's colour scale. The values live in ``Settings``; ``ViewSettings`` is what the
views and ``voicestudio.audio.display`` use."""

from __future__ import annotations

from dataclasses import fields, replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
)

from voicestudio.audio.display import COLOUR_MAPS, DEFAULT_VIEW, FFT_SIZES, MAX_VIEW_HZ, ViewSettings
from voicestudio.settings import Settings

# ViewSettings field -> Settings field
SETTINGS_FIELDS = {"max_hz": "spectrogram_max_hz", "n_fft": "spectrogram_fft", "floor_db": "spectrogram_floor_db",
                   "top_db": "spectrogram_top_db", "colour_map": "colour_map", "mfcc_scale": "mfcc_scale"}
MFCC_SCALE_TEXT = {"fixed": "Fixed (silence dark, loud sound bright)",
                   "per-screen": "Per-screen contrast (each coefficient stretched over what is shown)"}


def view_from_settings(settings: Settings) -> ViewSettings:
    """The saved view settings; a value that does not fit (a hand-edited file) keeps its default."""
    view = DEFAULT_VIEW
    for field in fields(ViewSettings):
        candidate = replace(view, **{field.name: getattr(settings, SETTINGS_FIELDS[field.name])})
        if not candidate.problems():
            view = candidate
    return view


def store_view(settings: Settings, view: ViewSettings) -> None:
    for name, setting in SETTINGS_FIELDS.items():
        setattr(settings, setting, getattr(view, name))


class ViewSettingsDialog(QDialog):
    """Applies as the values change (the views redraw behind it); Cancel restores what was there."""

    changed = Signal(object)  # ViewSettings

    def __init__(self, view: ViewSettings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Spectrogram settings")
        self.original = view
        self.max_hz = QSpinBox()
        self.max_hz.setRange(1000, int(MAX_VIEW_HZ))
        self.max_hz.setSingleStep(1000)
        self.max_hz.setSuffix(" Hz")
        self.max_hz.setToolTip("Each clip stops at its own Nyquist frequency (half its sample rate), "
                               f"and never above {MAX_VIEW_HZ:,.0f} Hz")
        self.fft = QComboBox()
        for size in FFT_SIZES:
            self.fft.addItem(f"{size} points", size)
        self.fft.setToolTip("Larger: finer frequency detail, coarser timing")
        self.floor_db, self.top_db = QDoubleSpinBox(), QDoubleSpinBox()
        for box in (self.floor_db, self.top_db):
            box.setRange(-200.0, 40.0)
            box.setDecimals(0)
            box.setSingleStep(5.0)
            box.setSuffix(" dB")
        self.colours = QComboBox()
        for name in COLOUR_MAPS:
            self.colours.addItem(name, name)
        self.mfcc_scale = QComboBox()
        for name, text in MFCC_SCALE_TEXT.items():
            self.mfcc_scale.addItem(text, name)
        self.problem = QLabel("")
        self.problem.setStyleSheet("QLabel { color: #ff7b72; }")
        self._show(view)

        levels = QHBoxLayout()
        levels.addWidget(self.floor_db)
        levels.addWidget(QLabel("to"))
        levels.addWidget(self.top_db)
        form = QFormLayout(self)
        form.addRow("Maximum frequency:", self.max_hz)
        form.addRow("FFT size:", self.fft)
        form.addRow("Levels (dBFS):", levels)
        form.addRow("Colour map:", self.colours)
        form.addRow("MFCC colours:", self.mfcc_scale)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(lambda: self._show(DEFAULT_VIEW))
        form.addRow(buttons)
        self.buttons = buttons
        for box in (self.max_hz, self.floor_db, self.top_db):
            box.setKeyboardTracking(False)  # typing "16000" is one change, not five
            box.valueChanged.connect(self._changed)
        for combo in (self.fft, self.colours, self.mfcc_scale):
            combo.currentIndexChanged.connect(self._changed)

    def _show(self, view: ViewSettings) -> None:
        self.max_hz.setValue(int(view.max_hz))
        self.fft.setCurrentIndex(self.fft.findData(view.n_fft))
        self.floor_db.setValue(view.floor_db)
        self.top_db.setValue(view.top_db)
        self.colours.setCurrentIndex(self.colours.findData(view.colour_map))
        self.mfcc_scale.setCurrentIndex(self.mfcc_scale.findData(view.mfcc_scale))

    def view(self) -> ViewSettings:
        return ViewSettings(max_hz=float(self.max_hz.value()), n_fft=self.fft.currentData(),
                            floor_db=self.floor_db.value(), top_db=self.top_db.value(),
                            colour_map=self.colours.currentData(), mfcc_scale=self.mfcc_scale.currentData())

    def _changed(self) -> None:
        view = self.view()
        problems = view.problems()
        self.problem.setText("; ".join(problems))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)
        if not problems:
            self.changed.emit(view)
