"""The overview strip under the views: the whole recording at once, to find your way in an hour.

It draws the envelope (peak level), the prediction track as a line, the
regions and suggestions (ClipViews' ``RegionLayer`` includes it), and the part the views
show as a box. Dragging the box or clicking the strip moves the views; the
strip itself never zooms or pans: it always holds the whole clip.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal

from voicestudio.ui.time_axis import TimeAxis

STRETCH = 6  # its share of the views' height, against the waveform's 20
ENVELOPE_BRUSH = pg.mkBrush(110, 140, 180, 150)
PREDICTION_PEN = pg.mkPen("#ffa657", width=1)


class Overview(QObject):
    centre_requested = Signal(float)  # seconds: show the views around this time
    window_moved = Signal(float, float)  # the box was dragged to this range

    def __init__(self, graphics: pg.GraphicsLayoutWidget, row: int, left_axis_width: int):
        super().__init__()
        self.plot = graphics.addPlot(row=row, col=0, axisItems={"bottom": TimeAxis()})
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.getAxis("left").setWidth(left_axis_width)
        self.plot.getAxis("left").setTicks([[]])
        self.plot.setLabel("left", "overview")
        self.plot.setYRange(0, 1.05, padding=0)
        graphics.ci.layout.setRowStretchFactor(row, STRETCH)
        self.duration_s = 1.0
        self.envelope = pg.PlotDataItem(fillLevel=0, brush=ENVELOPE_BRUSH, pen=None)
        self.prediction = pg.PlotDataItem(pen=PREDICTION_PEN, stepMode="center")
        self.plot.addItem(self.envelope)
        self.plot.addItem(self.prediction)
        self.window = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 35), pen=pg.mkPen("#e6edf3", width=1))
        self.window.setZValue(20)
        self.window.sigRegionChanged.connect(self._window_dragged)
        self.plot.addItem(self.window, ignoreBounds=True)
        self._updating = False
        self.plot.scene().sigMouseClicked.connect(self._clicked)

    def show_clip(self, duration_s: float) -> None:
        self.duration_s = max(duration_s, 1e-3)
        # The limits first: the last clip's would clamp a longer clip's range to the last clip's length
        self.plot.setLimits(xMin=0, xMax=self.duration_s)
        self.plot.setXRange(0, self.duration_s, padding=0)
        self.window.setBounds((0, self.duration_s))
        self.envelope.setData([], [])
        self.prediction.setData([], [])

    def set_envelope(self, start_s: float, bin_s: float, peaks: np.ndarray) -> None:
        """Peak level per bin from ``start_s``, drawn relative to the loudest (a quiet recording still
        shows where its sound is)."""
        if len(peaks) == 0:
            self.envelope.setData([], [])
            return
        x = start_s + np.arange(len(peaks)) * bin_s
        loudest = float(np.max(peaks))
        self.envelope.setData(x, peaks / loudest if loudest > 0 else peaks)

    def set_prediction(self, starts_s, probs, window_s: float) -> None:
        if starts_s is None or len(starts_s) == 0:
            self.prediction.setData([], [])
            return
        starts = np.asarray(starts_s, np.float64)
        values = np.nan_to_num(np.asarray(probs, np.float64), nan=0.0)
        self.prediction.setData(np.append(starts, starts[-1] + window_s), values, stepMode="center")

    def set_visible_range(self, low: float, high: float) -> None:
        self._updating = True
        self.window.setRegion((low, high))
        self._updating = False

    def _window_dragged(self) -> None:
        if not self._updating:
            self.window_moved.emit(*self.window.getRegion())

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        box = self.plot.getViewBox()
        if box.sceneBoundingRect().contains(event.scenePos()):
            seconds = box.mapSceneToView(event.scenePos()).x()
            self.centre_requested.emit(float(min(max(seconds, 0.0), self.duration_s)))
            event.accept()
