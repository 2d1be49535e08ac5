"""The clip's four views on one time axis: waveform, spectrogram, MFCC, prediction track.

Drawing cost follows the screen: the waveform uses pyqtgraph's peak
downsampling and clip-to-view, images arrive with at most a screen's width of
columns (see ``voicestudio.audio.display``) and explicit levels. A clip that
cannot be shown replaces the views with a panel saying why.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget

from voicestudio.audio.display import (
    DEFAULT_VIEW,
    VOICE_BAND_HZ,
    Detail,
    Envelope,
    ViewSettings,
    mfcc_image,
    peak_envelope,
)
from voicestudio.ui.overview import Overview
from voicestudio.ui.region_items import RegionLayer, SpanDragViewBox
from voicestudio.ui.time_axis import TimeAxis, clock

pg.setConfigOptions(antialias=False, imageAxisOrder="col-major", background="#1b1d21", foreground="#c9ccd1")

LEFT_AXIS_WIDTH = 58
OVERVIEW_BINS = 2000  # a short clip's overview: peaks over this many bins
RANGE_SETTLE_MS = 120  # a zoom or pan must rest this long before detail is reloaded
MFCC_LEVELS = (-1.0, 1.0)  # display.mfcc_image scales the MFCC to this, fixed or per screen
LUT_NAMES = {"grey": "CET-L1"}  # colour-map names the settings use -> pyqtgraph's
# Labels drawn over data sit on a dark plate, so they read over any colour under them.
LABEL_FILL = pg.mkBrush(20, 22, 26, 190)
HUMAN_BRUSH, OTHER_BRUSH, SILENT_BRUSH = pg.mkBrush(46, 160, 67, 220), pg.mkBrush(90, 110, 140, 220), pg.mkBrush(120, 120, 120, 60)
CURSOR_PEN = pg.mkPen("#ffd33d", width=1.5)


def _lut(name: str) -> np.ndarray:
    return pg.colormap.get(LUT_NAMES.get(name, name)).getLookupTable(nPts=256)


class ClipViews(QStackedWidget):
    seek_requested = Signal(float)  # seconds from the clip's start
    range_settled = Signal(float, float)  # the visible range after zooming or panning stopped
    threshold_dragged = Signal(float)
    readout_changed = Signal(str)  # what is under the mouse: time, and frequency/level or probability
    region_drawn = Signal(float, float)  # a span was dragged out on a view (seconds in the clip)
    region_adjusted = Signal(float, float)  # the region's edges were dragged to here

    def __init__(self, parent=None):
        super().__init__(parent)
        self.duration_s = 0.0
        self.detail: Detail | None = None
        self._prediction = None  # (centres, probs, silent, hop, clip score) of the clip shown
        self.view = DEFAULT_VIEW  # spectrogram range, colours and MFCC scale (View ▸ Spectrogram settings…)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setSpacing(2)
        self.wave = self._plot(0, "amplitude", 2.0)
        self.spec = self._plot(1, "Hz", 3.0)
        self.mfcc = self._plot(2, "MFCC", 1.6)
        self.pred = self._plot(3, "P(human)", 1.4, TimeAxis())
        self.plots = (self.wave, self.spec, self.mfcc, self.pred)
        for plot in self.plots[1:]:
            plot.setXLink(self.wave)
        for plot in self.plots[:-1]:
            plot.getAxis("bottom").setStyle(showValues=False)
        self.pred.setLabel("bottom", "time (s, m:ss, h:mm:ss)")

        self.envelope_curve = pg.PlotDataItem(connect="pairs", pen=pg.mkPen("#3d6fa8"))
        self.wave_curve = pg.PlotDataItem(pen=pg.mkPen("#7fb3ff"))
        self.wave_curve.setDownsampling(auto=True, method="peak")
        self.wave_curve.setClipToView(True)
        self.wave.addItem(self.envelope_curve)
        self.wave.addItem(self.wave_curve)
        self.wave.setYRange(-1, 1, padding=0.1)  # room for the ±1.0 tick labels inside the plot

        self.spec_image = pg.ImageItem()
        self.spec_image.setLookupTable(_lut("inferno"))
        self.spec.addItem(self.spec_image)
        for hz in VOICE_BAND_HZ:
            line = pg.InfiniteLine(hz, angle=0, pen=pg.mkPen("#55e0ff", width=1, style=Qt.PenStyle.DashLine))
            self.spec.addItem(line)
        self.band_label = pg.TextItem("voice band", color="#55e0ff", anchor=(0, 1), fill=LABEL_FILL)
        self.spec.addItem(self.band_label, ignoreBounds=True)
        self.detail_hint = pg.TextItem("zoom in to see the spectrogram and MFCC", color="#c9ccd1", anchor=(0.5, 0.5))
        self.spec.addItem(self.detail_hint, ignoreBounds=True)
        self.detail_hint.hide()

        self.mfcc_image = pg.ImageItem()
        self.mfcc_image.setLookupTable(_lut("viridis"))
        self.mfcc.addItem(self.mfcc_image)

        self.bars = {kind: pg.BarGraphItem(x=[], height=[], width=1, brush=brush, pen=None)
                     for kind, brush in (("human", HUMAN_BRUSH), ("other", OTHER_BRUSH), ("silent", SILENT_BRUSH))}
        for item in self.bars.values():
            self.pred.addItem(item)
        self.threshold_line = pg.InfiniteLine(0.5, angle=0, movable=True, pen=pg.mkPen("#ffa657", width=1.5),
                                              bounds=(0, 1), label="threshold {value:.3f}",
                                              labelOpts={"position": 0.97, "color": "#ffa657", "anchors": [(1, 1), (1, 1)],
                                                         "fill": LABEL_FILL})
        self.threshold_line.sigPositionChangeFinished.connect(self._threshold_moved)
        self.pred.addItem(self.threshold_line)
        self.score_label = pg.TextItem("", color="#e6edf3", anchor=(0, 0), fill=LABEL_FILL)
        self.pred.addItem(self.score_label, ignoreBounds=True)
        self.pred.setYRange(0, 1.05, padding=0)

        self.cursors = []
        for plot in self.plots:
            cursor = pg.InfiniteLine(0, angle=90, pen=CURSOR_PEN)
            cursor.hide()
            plot.addItem(cursor, ignoreBounds=True)
            self.cursors.append(cursor)
        self.region = pg.LinearRegionItem(brush=pg.mkBrush(255, 211, 61, 40))
        self.region.setZValue(15)
        self.region.hide()
        self.region.sigRegionChangeFinished.connect(self._region_moved)
        self.wave.addItem(self.region, ignoreBounds=True)
        self._drawing_region = False  # a drag is drawing the region: its moves are not adjustments
        self.overview = Overview(self.graphics, len(self.plots), LEFT_AXIS_WIDTH)
        self.regions = RegionLayer([*self.plots, self.overview.plot], regions_only=[self.overview.plot])
        self.overview.centre_requested.connect(self._overview_clicked)
        self.overview.window_moved.connect(lambda low, high: self.wave.setXRange(low, high, padding=0))
        self.wave.sigXRangeChanged.connect(lambda *_: self.overview.set_visible_range(*self.wave.viewRange()[0]))

        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet("QLabel { font-size: 15px; padding: 40px; }")
        self.addWidget(self.graphics)
        self.addWidget(self.message)

        self._settle = QTimer(self, singleShot=True, interval=RANGE_SETTLE_MS)
        self._settle.timeout.connect(self._emit_range)
        self.wave.sigXRangeChanged.connect(lambda *_: self._settle.start())
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)

    def _plot(self, row: int, label: str, stretch: float, time_axis=None):
        plot = self.graphics.addPlot(row=row, col=0, axisItems={"bottom": time_axis} if time_axis else None,
                                     viewBox=SpanDragViewBox(self._span_dragged))
        plot.setMouseEnabled(x=True, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        # A tick label may not reach past its own plot: "-1.0" of the waveform was cut by the spectrogram's top one.
        plot.getAxis("left").setStyle(hideOverlappingLabels=True)
        plot.setLabel("left", label)
        self.graphics.ci.layout.setRowStretchFactor(row, int(stretch * 10))
        return plot

    # Showing -------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Replace the views with a message (a clip that cannot be shown, or nothing to show)."""
        self.message.setText(text)
        self.setCurrentWidget(self.message)

    def show_clip(self, duration_s: float, detail: Detail, envelope: Envelope | None) -> None:
        """A newly opened clip: its first screen of detail, whole-clip envelope if known."""
        self.setCurrentWidget(self.graphics)
        self.duration_s = max(duration_s, 1e-3)
        self.region.hide()
        self.set_cursor(None)
        self.wave.setLimits(xMin=0, xMax=self.duration_s, minXRange=min(0.01, self.duration_s))
        self.overview.show_clip(self.duration_s)
        self.regions.clear()
        self.set_envelope(envelope)
        self.set_detail(detail)
        if envelope is None:  # a short clip: its samples are all here, the overview is their peaks
            mins, maxs = peak_envelope(detail.samples, OVERVIEW_BINS)
            self.overview.set_envelope(detail.start_s, len(detail.samples) / detail.sample_rate / len(mins),
                                       np.maximum(np.abs(mins), np.abs(maxs)))
        self.wave.setXRange(detail.start_s, detail.end_s, padding=0)
        self._settle.stop()  # a new clip's first range is not a user's zoom
        self.spec.setYRange(0, detail.max_hz, padding=0)
        self.band_label.setPos(0, VOICE_BAND_HZ[1])

    def set_envelope(self, envelope: Envelope | None) -> None:
        if envelope is None:
            self.envelope_curve.setData([], [])
            return
        x = envelope.start_s + (np.arange(len(envelope.mins)) + 0.5) * envelope.bin_s
        self.envelope_curve.setData(np.repeat(x, 2), np.column_stack([envelope.mins, envelope.maxs]).ravel())
        self.overview.set_envelope(envelope.start_s, envelope.bin_s,
                                   np.maximum(np.abs(envelope.mins), np.abs(envelope.maxs)))

    def set_detail(self, detail: Detail) -> None:
        self.detail = detail
        self.wave_curve.setData(detail.start_s + np.arange(len(detail.samples)) / detail.sample_rate, detail.samples)
        columns, bins = detail.spectrogram_db.shape
        left = detail.start_s - detail.column_s / 2
        view = self.view
        self.spec_image.setImage(detail.spectrogram_db, levels=(view.floor_db, view.top_db), autoLevels=False)
        self.spec_image.setRect(QRectF(left, 0, columns * detail.column_s, detail.max_hz))
        self.spec.setYRange(0, detail.max_hz, padding=0)
        mfcc = detail.mfcc
        self.mfcc_image.setImage(mfcc_image(mfcc, detail.mfcc_scale, view.mfcc_scale), levels=MFCC_LEVELS,
                                 autoLevels=False)
        self.mfcc_image.setRect(QRectF(left, 0, columns * detail.column_s, mfcc.shape[1]))
        self.mfcc.setYRange(0, mfcc.shape[1], padding=0)
        self.detail_hint.hide()

    def set_view(self, view: ViewSettings) -> None:
        """New spectrogram/MFCC settings: colours, levels and MFCC scale apply to the detail shown now;
        a new frequency range or FFT size arrives with the next detail (``ClipControl`` computes it)."""
        self.view = view
        self.spec_image.setLookupTable(_lut(view.colour_map))
        if self.detail is not None:
            zoomed_out = self.detail_hint.isVisible()
            self.set_detail(self.detail)
            self.detail_hint.setVisible(zoomed_out)

    def set_mfcc_muted(self, muted: bool) -> None:
        """Grey MFCC under a map drawn over it (Model ▸ Inside's occlusion), so the map's colours stand out."""
        self.mfcc_image.setLookupTable(_lut("grey" if muted else "viridis"))

    def set_prediction(self, prediction, threshold: float) -> None:
        """Per-window bars (silent windows grey, full height) and the clip score; None clears."""
        if prediction is None:
            self._prediction = None
            for item in self.bars.values():
                item.setOpts(x=[], height=[])
            self.overview.set_prediction(None, None, 0.0)
            self.score_label.setText("no prediction yet")
            self.score_label.setPos(0, 1.05)
            self.set_threshold(threshold)
            return
        starts = np.asarray(prediction.window_starts_s, np.float64)
        probs = np.asarray(prediction.window_probs, np.float64)
        hop = float(np.median(np.diff(starts))) if len(starts) > 1 else prediction.window_s
        centres = starts + prediction.window_s / 2
        silent = np.isnan(probs)
        self._prediction = (centres, probs, silent, hop, prediction.clip_score)
        self.overview.set_prediction(starts, probs, prediction.window_s)
        self.bars["silent"].setOpts(x=centres[silent], height=np.ones(silent.sum()), width=hop * 0.95)
        self.set_threshold(threshold)

    def set_threshold(self, threshold: float) -> None:
        self.threshold_line.setValue(threshold)  # only a drag's end reports back (sigPositionChangeFinished)
        # Its label sits above the line, or under it near the top, where above would be cut off.
        self.threshold_line.label.anchors = [(1, 0), (1, 0)] if threshold > 0.7 else [(1, 1), (1, 1)]
        self.threshold_line.label.updatePosition()
        prediction = self._prediction
        if prediction is None:
            return
        centres, probs, silent, hop, score = prediction
        human = ~silent & (probs >= threshold)
        other = ~silent & ~human
        self.bars["human"].setOpts(x=centres[human], height=probs[human], width=hop * 0.95)
        self.bars["other"].setOpts(x=centres[other], height=probs[other], width=hop * 0.95)
        verdict = "human" if score >= threshold else "non-human"
        self.score_label.setText(f"clip score {score:.3f} → {verdict}")
        self.score_label.setPos(self.wave.viewRange()[0][0], 1.05)

    def show_detail_hint(self) -> None:
        """Zoomed out beyond the detail range of a long clip: the overview only."""
        self.detail_hint.setPos(sum(self.wave.viewRange()[0]) / 2, self.detail.max_hz / 2)
        self.detail_hint.show()

    # Readouts -------------------------------------------------------------------
    def readout(self, plot, seconds: float, y: float) -> str:
        """What the views hold at ``seconds`` (and height ``y`` in ``plot``), in words."""
        detail, text = self.detail, clock(seconds, 0.001)
        if detail is None or not 0 <= seconds <= self.duration_s:
            return ""
        column = int((seconds - detail.start_s) / detail.column_s + 0.5)
        inside = 0 <= column < detail.spectrogram_db.shape[0]
        if plot is self.wave:
            index = int(round((seconds - detail.start_s) * detail.sample_rate))
            if 0 <= index < len(detail.samples):
                text += f" s · amplitude {detail.samples[index]:+.3f}"
        elif plot is self.spec and inside and 0 <= y <= detail.max_hz:
            bins = detail.spectrogram_db.shape[1]
            row = min(bins - 1, int(y / detail.max_hz * bins))
            text += f" s · {y:,.0f} Hz · {detail.spectrogram_db[column, row]:.1f} dB"
        elif plot is self.mfcc and inside and 0 <= y < detail.mfcc.shape[1]:
            text += f" s · MFCC {int(y)}: {detail.mfcc[column, int(y)]:.1f}"
        elif plot is self.pred and self._prediction is not None:
            centres, probs, silent, hop, _ = self._prediction
            nearest = int(np.argmin(np.abs(centres - seconds))) if len(centres) else -1
            if nearest >= 0 and abs(centres[nearest] - seconds) <= hop / 2:
                what = "silent (skipped)" if silent[nearest] else f"P(human) {probs[nearest]:.3f}"
                text += f" s · window at {clock(centres[nearest], 0.01)} s: {what}"
        else:
            text += " s"
        return text

    def _mouse_moved(self, position) -> None:
        for plot in self.plots:
            box = plot.getViewBox()
            if box.sceneBoundingRect().contains(position):
                point = box.mapSceneToView(position)
                self.readout_changed.emit(self.readout(plot, point.x(), point.y()))
                return
        self.readout_changed.emit("")

    # Cursor, region, zoom ------------------------------------------------------
    def set_cursor(self, seconds: float | None) -> None:
        for cursor in self.cursors:
            if seconds is None:
                cursor.hide()
            else:
                cursor.setValue(seconds)
                cursor.show()

    def visible_range(self) -> tuple[float, float]:
        low, high = self.wave.viewRange()[0]
        return max(0.0, low), min(self.duration_s, high)

    def zoom(self, factor: float) -> None:
        low, high = self.visible_range()
        self.wave.getViewBox().scaleBy(x=factor, center=((low + high) / 2, 0))

    def pan(self, fraction: float) -> None:
        low, high = self.visible_range()
        self.wave.getViewBox().translateBy(x=(high - low) * fraction)

    def zoom_fit(self) -> None:
        self.wave.setXRange(0, self.duration_s, padding=0)

    def toggle_region(self) -> tuple[float, float] | None:
        """Show a region over the middle of the view (or hide it); returns it when shown."""
        if self.region.isVisible():
            self.region.hide()
            return None
        low, high = self.visible_range()
        third = (high - low) / 3
        self.place_region(low + third, high - third)
        return self.region.getRegion()

    def loop_region(self) -> tuple[float, float] | None:
        return tuple(self.region.getRegion()) if self.region.isVisible() else None

    def place_region(self, low: float, high: float) -> None:
        """Show the region (the handle H/N/U label and L loops) at ``low..high``; not an adjustment."""
        self._drawing_region = True
        self.region.setBounds((0, self.duration_s))
        self.region.setRegion((max(0.0, low), min(self.duration_s, high)))
        self.region.show()
        self._drawing_region = False

    def hide_region(self) -> None:
        self.region.hide()

    def centre_on(self, low: float, high: float | None = None) -> None:
        """Move the views so ``low`` (or the span ``low..high``) is in the middle, keeping the zoom
        unless the span does not fit."""
        view_low, view_high = self.wave.viewRange()[0]
        width = view_high - view_low
        if high is not None and high - low > width * 0.9:
            width = (high - low) / 0.8
        middle = low if high is None else (low + high) / 2
        start = min(max(0.0, middle - width / 2), max(0.0, self.duration_s - width))
        self.wave.setXRange(start, start + width, padding=0)

    def _span_dragged(self, low: float, high: float, finished: bool) -> None:
        low, high = max(0.0, low), min(self.duration_s, high)
        if high - low <= 0:
            return
        self.place_region(low, high)
        if finished:
            self.region_drawn.emit(low, high)

    def _region_moved(self) -> None:
        if not self._drawing_region and self.region.isVisible():
            self.region_adjusted.emit(*self.region.getRegion())

    def _overview_clicked(self, seconds: float) -> None:
        self.centre_on(seconds)
        self.seek_requested.emit(seconds)

    def _threshold_moved(self, line) -> None:
        self.threshold_dragged.emit(float(line.value()))

    def _emit_range(self) -> None:
        self.range_settled.emit(*self.visible_range())

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.duration_s <= 0:
            return
        position = event.scenePos()
        for plot in self.plots:
            if plot.getViewBox().sceneBoundingRect().contains(position):
                seconds = plot.getViewBox().mapSceneToView(position).x()
                self.seek_requested.emit(float(min(max(seconds, 0.0), self.duration_s)))
                return
