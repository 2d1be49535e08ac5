"""Model ▸ Inside: one window of the clip on screen as the model sees it.

A layer's activations as images, one per channel, each scaled to its own range (time runs
left to right, coefficients bottom to top, as on the MFCC view), and a switch for the occlusion
map that ``InsideControl`` draws over the MFCC view.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from voicestudio.model.inside import WindowInside
from voicestudio.model.tensors import TensorEntry

MAX_CHANNELS = 64  # images drawn for one layer; the caption says when there are more
INPUT_LAYER = ""  # the combo's entry for the feature image itself


class InsidePanel(QWidget):
    layer_chosen = Signal(str)  # tensor name, INPUT_LAYER for the feature image
    step_requested = Signal(int)  # -1: the previous window, +1: the next
    occlusion_toggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.info = QLabel("Open a clip to look inside the model")
        self.info.setWordWrap(True)
        previous = QPushButton("◀ Window")
        previous.setToolTip("The previous window of the clip (click the views to pick one)")
        previous.clicked.connect(lambda: self.step_requested.emit(-1))
        following = QPushButton("Window ▶")
        following.clicked.connect(lambda: self.step_requested.emit(1))
        steps = QHBoxLayout()
        steps.addWidget(previous)
        steps.addWidget(following)

        self.layers = QComboBox()
        self.layers.setToolTip("The layer whose activations are drawn below")
        self.layers.currentIndexChanged.connect(lambda _: self.layer_chosen.emit(self.layer()))
        layer_row = QHBoxLayout()
        layer_row.addWidget(QLabel("Layer:"))
        layer_row.addWidget(self.layers, 1)

        self.occlusion = QCheckBox("Occlusion map on the MFCC view")
        self.occlusion.setChecked(True)
        self.occlusion.setToolTip("Each patch of the window greyed out in turn: red where hiding it lowers "
                                  "P(human), blue where it raises it")
        self.occlusion.toggled.connect(self.occlusion_toggled)
        self.occlusion_note = QLabel("")
        self.occlusion_note.setWordWrap(True)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.grid = pg.GraphicsLayoutWidget()
        self.grid.setMinimumHeight(220)
        self._images: list[pg.ImageItem] = []

        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addLayout(steps)
        layout.addWidget(self.occlusion)
        layout.addWidget(self.occlusion_note)
        layout.addLayout(layer_row)
        layout.addWidget(self.caption)
        layout.addWidget(self.grid, 1)

    # Layers -------------------------------------------------------------------------
    def layer(self) -> str:
        return self.layers.currentData() or INPUT_LAYER

    def set_layers(self, entries: list[TensorEntry]) -> None:
        """The model's layers (the current choice kept when the new model has it)."""
        keep = self.layer()
        self.layers.blockSignals(True)
        self.layers.clear()
        self.layers.addItem("input: the feature image", INPUT_LAYER)
        for entry in entries:
            shape = "×".join(str(d) for d in entry.shape[1:]) or "1"
            self.layers.addItem(f"{entry.short_name.split('/')[-2] if '/' in entry.short_name else entry.short_name}"
                                f" · {entry.op} · {shape}", entry.name)
            self.layers.setItemData(self.layers.count() - 1, entry.name, pg.QtCore.Qt.ItemDataRole.ToolTipRole)
        index = self.layers.findData(keep)
        self.layers.setCurrentIndex(max(0, index))
        self.layers.blockSignals(False)

    # Showing ------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.info.setText(text)
        self.caption.setText("")
        self.occlusion_note.setText("")
        self._draw([])

    def show_inside(self, inside: WindowInside, clip_name: str, windows: int, index: int) -> None:
        self.info.setText(f"{clip_name} · window {index + 1} of {windows}: {inside.start_s:.2f}–"
                          f"{inside.start_s + inside.window_s:.2f} s · P(human) {inside.probability:.3f}")
        strongest = inside.occlusion.strongest
        frames, coeffs = inside.occlusion.patch
        self.occlusion_note.setText(
            f"Red: hiding the patch lowers P(human), it spoke for a voice; blue: hiding it raises P(human). "
            f"Patches of {frames} frames × {coeffs} coefficients; the largest change: {strongest:.3f}"
            if strongest > 0 else "Hiding any one patch changes nothing")
        if inside.activation is None:  # each coefficient standardised, as the MFCC view's per-screen scale
            image = inside.image
            channels = [(image - image.mean(axis=0)) / np.maximum(image.std(axis=0), 1e-6)]
            what = "the feature image the model is given, each coefficient standardised"
        else:
            channels, what = channel_images(inside.activation)
        shown = channels[:MAX_CHANNELS]
        more = f" (the first {len(shown)} of {len(channels)})" if len(channels) > len(shown) else ""
        self.caption.setText(f"{what}{more}" + ("; each scaled to its own range" if len(shown) > 1 else ""))
        self._draw(shown)

    def _draw(self, channels: list[np.ndarray]) -> None:
        if len(channels) != len(self._images):
            self.grid.clear()
            self._images = []
            columns = max(1, math.ceil(math.sqrt(len(channels))))
            for i in range(len(channels)):
                box = self.grid.addViewBox(row=i // columns, col=i % columns, lockAspect=False, enableMouse=False)
                box.setMenuEnabled(False)
                image = pg.ImageItem()
                image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
                box.addItem(image)
                self._images.append(image)
        for image, values in zip(self._images, channels):
            low, high = float(values.min()), float(values.max())
            image.setImage(values, levels=(low, high if high > low else low + 1.0), autoLevels=False)
            image.getViewBox().autoRange(padding=0.02)


def channel_images(activation: np.ndarray) -> tuple[list[np.ndarray], str]:
    """A layer's values as 2-D images (time, coefficient): one per channel of a (time, coeff,
    channel) map, one strip for a vector."""
    values = np.asarray(activation, np.float32)
    if values.ndim == 3:
        return [values[:, :, c] for c in range(values.shape[2])], (
            f"{values.shape[2]} channels of {values.shape[0]} time steps × {values.shape[1]}")
    if values.ndim == 2:
        return [values], f"one map of {values.shape[0]} × {values.shape[1]}"
    flat = values.reshape(-1, 1)
    return [flat], f"{flat.shape[0]} values"
