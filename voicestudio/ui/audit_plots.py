"""The audit drawn where people look: confusion matrix, ROC and PR curves, score histograms.

The same widgets serve the window's audit panel and ``stats --plots DIR``
(``save_plots`` renders them offscreen to PNG), so a plot in a report is the
plot on screen.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QGridLayout, QLabel, QPushButton, QWidget

from voicestudio.dataset.audit import Audit, ModelAudit

CELL_TEXT = {"tp": "human, said human", "fn": "human, said non-human",
             "fp": "non-human, said human", "tn": "non-human, said non-human"}
CURVE_PEN = pg.mkPen("#7fb3ff", width=2)
CHANCE_PEN = pg.mkPen("#666a70", width=1, style=Qt.PenStyle.DashLine)
MARK_BRUSH = pg.mkBrush("#ffd33d")
HISTOGRAM_COLOURS = {"human": (46, 160, 67, 170), "nonhuman": (207, 34, 46, 170), "unlabelled": (140, 140, 140, 110)}
PLOT_SIZE = (640, 480)


class ConfusionMatrix(QWidget):
    """Four buttons, label rows by model columns; clicking one lists its clips."""

    cell_clicked = Signal(str)  # tp, fp, fn or tn

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)  # it sits in a group box with margins of its own
        grid.setSpacing(3)
        grid.addWidget(QLabel("<b>label \\ model</b>"), 0, 0)
        grid.addWidget(QLabel("human", alignment=Qt.AlignmentFlag.AlignCenter), 0, 1)
        grid.addWidget(QLabel("non-human", alignment=Qt.AlignmentFlag.AlignCenter), 0, 2)
        grid.addWidget(QLabel("human"), 1, 0)
        grid.addWidget(QLabel("non-human"), 2, 0)
        self.buttons: dict[str, QPushButton] = {}
        for name, (row, column) in {"tp": (1, 1), "fn": (1, 2), "fp": (2, 1), "tn": (2, 2)}.items():
            button = QPushButton("–")
            button.setMinimumSize(64, 40)  # two columns fit a narrow dock beside the row names
            button.setToolTip(f"{CELL_TEXT[name]}: click to list these clips")
            button.clicked.connect(self._clicked)
            button.setProperty("cell", name)
            grid.addWidget(button, row, column)
            self.buttons[name] = button

    def _clicked(self) -> None:
        self.cell_clicked.emit(self.sender().property("cell"))

    def show_counts(self, model: ModelAudit | None) -> None:
        counts = {} if model is None else {name: len(rows) for name, rows in model.cell_rows.items()}
        total = max(1, sum(counts.values()))
        for name, button in self.buttons.items():
            n = counts.get(name)
            button.setText("–" if n is None else f"{n}\n{n / total:.0%}")
            button.setEnabled(bool(n))
            right = name in ("tp", "tn")
            strength = 0 if n is None else 40 + int(170 * n / total)
            colour = QColor(46, 160, 67, strength) if right else QColor(207, 34, 46, strength)
            button.setStyleSheet(f"QPushButton {{ background: rgba({colour.red()},{colour.green()},{colour.blue()},"
                                 f"{colour.alpha()}); font-weight: bold; }}")


def _plot(title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(title=title)
    widget.setLabel("bottom", x_label)
    widget.setLabel("left", y_label)
    widget.showGrid(x=True, y=True, alpha=0.2)
    widget.setMouseEnabled(x=False, y=False)
    widget.setMenuEnabled(False)
    return widget


def _nearest(thresholds: np.ndarray, threshold: float) -> int | None:
    """The curve point whose threshold is the operating point (the lowest at or above it)."""
    finite = np.isfinite(thresholds)
    at_or_above = np.flatnonzero(finite & (thresholds >= threshold))
    if len(at_or_above):
        return int(at_or_above[np.argmin(thresholds[at_or_above])])
    return None


class CurvePlot(pg.PlotWidget):
    """A ROC or PR curve with the operating point at the threshold marked."""

    def __init__(self, kind: str, parent=None):
        super().__init__(parent)
        self.kind = kind
        is_roc = kind == "roc"
        self.setTitle("ROC" if is_roc else "Precision / recall")
        self.setLabel("bottom", "false positive rate" if is_roc else "recall")
        self.setLabel("left", "true positive rate" if is_roc else "precision")
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
        if is_roc:
            self.plot([0, 1], [0, 1], pen=CHANCE_PEN)
        self.curve = self.plot([], [], pen=CURVE_PEN)
        self.mark = pg.ScatterPlotItem(size=11, brush=MARK_BRUSH, pen=pg.mkPen("k"))
        self.addItem(self.mark)

    def show_audit(self, model: ModelAudit | None) -> None:
        curve = None if model is None else (model.roc if self.kind == "roc" else model.pr)
        if curve is None or not len(curve.x):
            self.curve.setData([], [])
            self.mark.setData([], [])
            self.setTitle(f"{'ROC' if self.kind == 'roc' else 'Precision / recall'}: needs human and non-human labels")
            return
        self.curve.setData(curve.x, curve.y)
        name = "ROC AUC" if self.kind == "roc" else "average precision"
        self.setTitle(f"{name} {curve.area:.3f}" if curve.area is not None else name)
        point = _nearest(curve.thresholds, model.threshold)
        self.mark.setData([] if point is None else [curve.x[point]], [] if point is None else [curve.y[point]])


class HistogramPlot(pg.PlotWidget):
    """Clip scores per label, stacked side by side, with the threshold line."""

    threshold_dragged = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setTitle("Clip scores by label")
        self.setLabel("bottom", "score")
        self.setLabel("left", "clips")
        self.showGrid(x=False, y=True, alpha=0.2)
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.addLegend(offset=(-10, 10))
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.line = pg.InfiniteLine(0.5, angle=90, movable=True, pen=pg.mkPen("#ffd33d", width=2))
        self.line.sigPositionChangeFinished.connect(self._line_moved)
        self.addItem(self.line)

    def _line_moved(self) -> None:
        self.threshold_dragged.emit(float(np.clip(self.line.value(), 0.0, 1.0)))

    def show_audit(self, model: ModelAudit | None) -> None:
        for item in self.bars.values():
            self.removeItem(item)
        self.bars.clear()
        if self.plotItem.legend is not None:
            self.plotItem.legend.clear()
        if model is None:
            return
        histogram = model.histogram
        shown = [(label, counts) for label, counts in histogram.counts.items() if counts.sum()]
        width = np.diff(histogram.edges)[0] / max(1, len(shown))
        for i, (label, counts) in enumerate(shown):
            x = histogram.edges[:-1] + width * (i + 0.5)
            bars = pg.BarGraphItem(x=x, height=counts, width=width * 0.95, brush=pg.mkBrush(*HISTOGRAM_COLOURS[label]),
                                   pen=pg.mkPen(None), name=f"{label} ({int(counts.sum())})")
            self.addItem(bars)
            self.bars[label] = bars
        self.line.setValue(model.threshold)
        self.setXRange(0, 1, padding=0.02)


def _ensure_app():
    """A QApplication for drawing: the running one, or a new offscreen one (the CLI has no window)."""
    app = QApplication.instance()
    if app is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QApplication([])
    return app


def save_plots(audit: Audit, folder) -> list[Path]:
    """PNG files of the audit's plots in ``folder``: confusion, ROC, PR, histogram (those that apply)."""
    app = _ensure_app()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = audit.model
    if model is None:
        raise ValueError("no model scores in the project: nothing to plot (run score first)")
    matrix = ConfusionMatrix()
    matrix.show_counts(model)
    widgets = {"confusion": matrix, "roc": CurvePlot("roc"), "pr": CurvePlot("pr"), "histogram": HistogramPlot()}
    for name in ("roc", "pr", "histogram"):
        widgets[name].show_audit(model)
    saved = []
    for name, widget in widgets.items():
        widget.resize(*PLOT_SIZE if name != "confusion" else (360, 180))
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)  # laid out and drawn, never on screen
        widget.show()
        app.processEvents()
        path = folder / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise OSError(f"{path}: could not write the image")
        saved.append(path)
        widget.close()
        widget.deleteLater()
    return saved


COMPARE_PENS = (pg.mkPen("#58a6ff", width=2), pg.mkPen("#ffa657", width=2, style=Qt.PenStyle.DashLine))


def curves_plot(kind: str, named_curves) -> pg.PlotWidget:
    """ROC or PR curves of several models on one plot, each with its area in the legend."""
    is_roc = kind == "roc"
    widget = _plot("ROC" if is_roc else "Precision / recall", "false positive rate" if is_roc else "recall",
                   "true positive rate" if is_roc else "precision")
    widget.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
    widget.addLegend(offset=(-10, -10) if is_roc else (-10, 10))
    if is_roc:
        widget.plot([0, 1], [0, 1], pen=CHANCE_PEN)
    for (name, curve), pen in zip(named_curves, COMPARE_PENS * len(named_curves)):
        area = "" if curve is None or curve.area is None else f" ({'AUC' if is_roc else 'AP'} {curve.area:.3f})"
        widget.plot([] if curve is None else curve.x, [] if curve is None else curve.y, pen=pen, name=name + area)
    return widget


def save_curves(path, kind: str, named_curves) -> Path:
    """A PNG of ``curves_plot`` (the CLI's ``compare --plots``)."""
    app = _ensure_app()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    widget = curves_plot(kind, named_curves)
    widget.resize(*PLOT_SIZE)
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    widget.show()
    app.processEvents()
    try:
        if not widget.grab().save(str(path)):
            raise OSError(f"{path}: could not write the image")
    finally:
        widget.close()
        widget.deleteLater()
    return path
