"""Regions and suggested regions drawn as spans on every view and on the overview.

A region is filled in its label's colour. The annotator's own regions have an
outline of the same colour; other annotators' have a dashed outline in a colour
of their own (the same name always gets the same colour), so overlapping
regions by two people stay apart. Suggestions from the model are a dashed
white outline with almost no fill: not a label yet.
"""

from __future__ import annotations

import zlib

import pyqtgraph as pg
from PySide6.QtCore import Qt

from voicestudio.dataset.cliptable import clock_text

VALUE_RGB = {"human": (46, 190, 80), "nonhuman": (80, 130, 220), "unsure": (230, 190, 40)}
ANNOTATOR_RGB = ((255, 120, 200), (120, 230, 230), (255, 160, 80), (190, 150, 255), (160, 220, 90), (255, 90, 90))
FILL_ALPHA, SUGGESTION_ALPHA = 55, 12
Z_VALUE = 5  # above images and curves, below the cursor and the handle being dragged


def annotator_rgb(name: str) -> tuple[int, int, int]:
    return ANNOTATOR_RGB[zlib.crc32(name.encode("utf-8")) % len(ANNOTATOR_RGB)]


def _span_item(low: float, high: float, fill, pen, tooltip: str) -> pg.LinearRegionItem:
    item = pg.LinearRegionItem((low, high), movable=False, brush=fill, pen=pen)
    item.setZValue(Z_VALUE)
    item.setToolTip(tooltip)
    for line in item.lines:  # not draggable, and not hiding the pointer's readout
        line.setPen(pen)
        line.setHoverPen(pen)
    item.setAcceptHoverEvents(False)
    return item


class RegionLayer:
    """The spans of one clip's regions and suggestions on a set of plots (times relative to the clip).

    Drawing again only adds and removes what changed: a new region costs a few items, not a redraw.
    """

    def __init__(self, plots, *, regions_only=()):
        self.plots = list(plots)
        self.regions_only = tuple(regions_only)  # plots that leave suggestions out (the overview: too many)
        self._items: dict[tuple, list[tuple[object, pg.LinearRegionItem]]] = {}

    def clear(self) -> None:
        for placed in self._items.values():
            for plot, item in placed:
                plot.removeItem(item)
        self._items.clear()

    def draw(self, regions, suggestions, *, offset_s: float, me: str) -> None:
        """``regions``: dataset.regions.Region; ``suggestions``: model.segments.Segment; file times."""
        wanted = {("region", r.clip_id, r.annotator, r.start_s, r.end_s, r.value, r.note, r.annotator == me, offset_s): r
                  for r in regions}
        wanted.update({("suggestion", s.start_s, s.end_s, s.peak, offset_s): s for s in suggestions})
        for key in [k for k in self._items if k not in wanted]:
            for plot, item in self._items.pop(key):
                plot.removeItem(item)
        for key, what in wanted.items():
            if key not in self._items:
                self._items[key] = self._place(what, key[0] == "region" and key[-2], offset_s)

    def _place(self, what, mine: bool, offset_s: float):
        if hasattr(what, "annotator"):
            rgb = VALUE_RGB.get(what.value, (200, 200, 200))
            pen = pg.mkPen(*rgb, width=1.5) if mine else \
                pg.mkPen(*annotator_rgb(what.annotator), width=1.5, style=Qt.PenStyle.DashLine)
            tip = (f"{what.value} by {'you' if mine else what.annotator}: {clock_text(what.start_s, 2)}–"
                   f"{clock_text(what.end_s, 2)}" + (f"\n{what.note}" if what.note else ""))
            fill = pg.mkBrush(*rgb, FILL_ALPHA)
        else:
            pen = pg.mkPen(235, 235, 235, width=1, style=Qt.PenStyle.DashLine)
            tip = (f"suggested speech (peak {what.peak:.2f}): {clock_text(what.start_s, 2)}–"
                   f"{clock_text(what.end_s, 2)}\nH accepts, N rejects, drag the edges to adjust")
            fill = pg.mkBrush(255, 255, 255, SUGGESTION_ALPHA)
        placed = []
        for plot in self.plots:
            if plot in self.regions_only and not hasattr(what, "annotator"):
                continue
            item = _span_item(what.start_s - offset_s, what.end_s - offset_s, fill, pen, tip)
            plot.addItem(item, ignoreBounds=True)
            placed.append((plot, item))
        return placed

    def items_on(self, plot) -> list[pg.LinearRegionItem]:
        return [item for placed in self._items.values() for p, item in placed if p is plot]

    def __len__(self) -> int:
        return len(self._items)


class SpanDragViewBox(pg.ViewBox):
    """A view box where a left drag marks a span (the region to label) and Shift- or middle-drag pans.

    ``on_span(low, high, finished)`` is called while dragging and once at the end.
    """

    def __init__(self, on_span, **kwargs):
        super().__init__(**kwargs)
        self.on_span = on_span

    def mouseDragEvent(self, ev, axis=None) -> None:
        pans = ev.button() != Qt.MouseButton.LeftButton or ev.modifiers() & Qt.KeyboardModifier.ShiftModifier
        if pans or axis is not None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        start = self.mapToView(ev.buttonDownPos()).x()
        here = self.mapToView(ev.pos()).x()
        self.on_span(min(start, here), max(start, here), ev.isFinish())
