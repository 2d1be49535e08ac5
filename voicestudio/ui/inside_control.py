"""Model ▸ Inside for the clip on screen: which window, computing it off the main thread, the
cache, and the occlusion map drawn over the MFCC view.

The window looked at is the one that decided the clip score (the most probable) when a clip
opens, the one under a click on the views afterwards, or the next/previous with the panel's
buttons. Results are cached per clip, window, model and layer; the ``.tflite`` reader that keeps
intermediate tensors is built once per model on a worker.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtWidgets import QGraphicsRectItem

from voicestudio.audio.features import n_frames, window_starts
from voicestudio.model.inside import look_inside, window_image
from voicestudio.model.tensors import TfliteReader

CACHE_SIZE = 64  # windows kept (an activation map is at most a few hundred kB)
OVERLAY_OPACITY = 0.9
FRAME_PEN = pg.mkPen("#ffd33d", width=1.5, style=Qt.PenStyle.DashLine)  # the window looked at


def diverging_lut() -> np.ndarray:
    """Blue (P(human) rises when hidden) through transparent to red (it falls): alpha grows with |value|."""
    x = np.linspace(-1.0, 1.0, 256)
    lut = np.zeros((256, 4), np.ubyte)
    lut[:, 0] = np.where(x > 0, 255, 40)
    lut[:, 1] = np.where(x > 0, 60, 140)
    lut[:, 2] = np.where(x > 0, 40, 255)
    lut[:, 3] = (np.abs(x) ** 0.7 * 230).astype(np.ubyte)
    return lut


class InsideControl(QObject):
    def __init__(self, window, panel, dock):
        super().__init__(window)
        self.window, self.panel, self.dock = window, panel, dock
        self.starts: np.ndarray = np.zeros(0)  # the windows of the clip on screen (s from its start)
        self.index = 0
        self._readers: dict[str, TfliteReader] = {}  # model sha256 -> reader
        self._cache: OrderedDict = OrderedDict()
        self._wanted = None  # the key of the newest request
        self.overlay = pg.ImageItem()
        self.overlay.setLookupTable(diverging_lut())
        self.overlay.setOpacity(OVERLAY_OPACITY)
        self.overlay.setZValue(10)
        self.overlay.hide()
        self.frame = QGraphicsRectItem()
        self.frame.setPen(FRAME_PEN)
        self.frame.setZValue(11)
        self.frame.hide()
        window.views.mfcc.addItem(self.overlay, ignoreBounds=True)
        window.views.mfcc.addItem(self.frame, ignoreBounds=True)
        self.shown = None  # the WindowInside drawn

        window.clip_shown.connect(self.clip_shown)
        window.views.seek_requested.connect(self.seek)
        dock.visibilityChanged.connect(lambda visible: self.refresh() if visible else self._hide_overlay())
        panel.layer_chosen.connect(lambda _: self.refresh())
        panel.step_requested.connect(self.step)
        panel.occlusion_toggled.connect(lambda _: self._draw_overlay())

    # Which window ------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return not self.dock.visibleRegion().isEmpty()  # a tab behind another is "visible" but unseen

    def show(self) -> None:
        self.dock.show()
        self.dock.raise_()
        self.refresh()

    def clip_shown(self, clip_id: int) -> None:
        loaded = self.window.clips.loaded
        self.shown = None
        self._hide_overlay()
        if loaded is None or loaded.error is not None or self.window.session.detector is None:
            self.starts = np.zeros(0)
            self.panel.show_message("No window to look at: open a clip the model can read")
            return
        prediction = loaded.prediction
        if prediction is not None and len(prediction.window_starts_s):
            self.starts = np.asarray(prediction.window_starts_s, np.float64)
            probs = np.asarray(prediction.window_probs, np.float64)
            self.index = int(np.nanargmax(probs)) if np.isfinite(probs).any() else 0
        else:
            spec = self.window.session.detector.spec
            frames = n_frames(int(max(loaded.clip.duration_s, spec.window_s) * spec.sample_rate), spec)
            self.starts = window_starts(frames, spec) * spec.hop_length / spec.sample_rate
            self.index = 0
        self.refresh()

    def seek(self, seconds: float) -> None:
        if len(self.starts):
            self.index = max(0, int(np.searchsorted(self.starts, seconds, side="right")) - 1)
            self.refresh()

    def step(self, direction: int) -> None:
        if len(self.starts):
            self.index = int(np.clip(self.index + direction, 0, len(self.starts) - 1))
            self.window.views.centre_on(self.starts[self.index])
            self.refresh()

    # Computing ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the chosen window of the clip on screen (from the cache, else computed on a worker)."""
        window, session = self.window, self.window.session
        loaded = window.clips.loaded
        if not self.active or session is None or session.detector is None or loaded is None or not len(self.starts):
            return
        detector, clip = session.detector, loaded.clip
        start = float(self.starts[self.index])
        layer = self.panel.layer()
        key = (clip.id, round(start, 4), detector.sha256, layer)
        self._wanted = key
        if key in self._cache:
            self._cache.move_to_end(key)
            self._show(key, self._cache[key])
            return
        reader = self._readers.get(detector.sha256)
        self.panel.info.setText(f"Looking inside for the window at {start:.2f} s…")

        def compute():
            found_reader = reader or TfliteReader(detector.path)
            image = window_image(clip.path, clip.start_s, clip.end_s, start, detector.spec)
            inside = look_inside(image, detector.card, detector.invoke_images, reader=found_reader,
                                 layer=layer, start_s=start)
            return found_reader, inside

        window.tasks.submit(compute, on_done=lambda result: self._computed(key, detector.sha256, result),
                            on_error=lambda exc: self._failed(key, exc), current=("project", "model"))

    def _computed(self, key, sha256: str, result) -> None:
        reader, inside = result
        if sha256 not in self._readers:
            self._readers = {sha256: reader}  # one model at a time: the old reader's memory goes
            self.panel.set_layers(reader.activations)
        self._cache[key] = inside
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        self._show(key, inside)

    def _failed(self, key, exc) -> None:
        if key == self._wanted:
            self.panel.show_message(f"⚠ {exc}")

    def _show(self, key, inside) -> None:
        if key != self._wanted:
            return  # an older request
        loaded = self.window.clips.loaded
        self.shown = inside
        self.panel.show_inside(inside, Path(loaded.clip.path).name, len(self.starts), self.index)
        self._draw_overlay()

    def _draw_overlay(self) -> None:
        inside, views = self.shown, self.window.views
        if inside is None or not self.active or views.detail is None:
            self._hide_overlay()
            return
        rect = QRectF(inside.start_s, 0, inside.window_s, views.detail.mfcc.shape[1])  # over the view's rows
        self.frame.setRect(rect)
        self.frame.show()
        if not self.panel.occlusion.isChecked():
            self.overlay.hide()
            views.set_mfcc_muted(False)
            return
        strongest = max(inside.occlusion.strongest, 1e-6)
        self.overlay.setImage(inside.occlusion.drop, levels=(-strongest, strongest), autoLevels=False)
        self.overlay.setRect(rect)
        self.overlay.show()
        views.set_mfcc_muted(True)

    def _hide_overlay(self) -> None:
        self.overlay.hide()
        self.frame.hide()
        self.window.views.set_mfcc_muted(False)
