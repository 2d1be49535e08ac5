"""The audit panel: label counts, agreement, the model against the labels, and a threshold picker.

It only shows an ``Audit`` (computed off the main thread by the window) and
says what the user asked for: a confusion cell to list, a consensus rule, a
threshold goal, a threshold to use or to write into the model's card.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from voicestudio.dataset.audit import Audit
from voicestudio.dataset.consensus import CONSENSUS_RULES, Consensus
from voicestudio.metrics import ThresholdGoal, ThresholdPick
from voicestudio.ui.audit_plots import ConfusionMatrix, CurvePlot, HistogramPlot

GOAL_TEXT = {"best-f1": "Best F1", "precision": "Precision at least", "recall": "Recall at least"}


PLOT_MIN_HEIGHT = 120  # three of them, stacked, fit the dock of a 1280x720 window
WRITE_CARD_TIP = "Save the threshold in the model's .json card, with how it was chosen"


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


class AuditPanel(QWidget):
    cell_clicked = Signal(str)  # tp, fp, fn or tn: list those clips
    settings_changed = Signal()  # consensus or threshold goal: audit again
    threshold_chosen = Signal(float)  # use this threshold in the window
    write_card_requested = Signal(object)  # a ThresholdPick to write into the model's card

    def __init__(self, parent=None):
        super().__init__(parent)
        self.audit: Audit | None = None
        self.consensus_box = QComboBox()
        for rule in CONSENSUS_RULES:
            self.consensus_box.addItem(rule, rule)
        self.consensus_box.setToolTip("Which label counts when annotators differ")
        self.consensus_box.currentIndexChanged.connect(self.settings_changed)

        self.summary = QLabel("No project")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.pairs = QTableWidget(0, 4)
        self.pairs.setHorizontalHeaderLabels(["Annotators", "Clips", "Same", "Cohen κ"])
        self.pairs.verticalHeader().hide()
        self.pairs.horizontalHeader().setStretchLastSection(True)
        self.pairs.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.pairs.setMaximumHeight(110)

        self.matrix = ConfusionMatrix()
        self.matrix.cell_clicked.connect(self.cell_clicked)
        self.model_summary = QLabel("")
        self.model_summary.setWordWrap(True)
        # A tab page does not pass height-for-width on: reserve the lines a narrow dock wraps it into.
        self.model_summary.setMinimumHeight(5 * self.model_summary.fontMetrics().lineSpacing())

        # The three plots share one page, stacked: a 1280x720 screen shows them all without scrolling.
        self.plots = QWidget()
        self.roc, self.pr, self.histogram = CurvePlot("roc"), CurvePlot("pr"), HistogramPlot()
        self.histogram.threshold_dragged.connect(self.threshold_chosen)
        plots_layout = QVBoxLayout(self.plots)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.setSpacing(4)
        for widget in (self.histogram, self.roc, self.pr):
            widget.setMinimumHeight(PLOT_MIN_HEIGHT)
            plots_layout.addWidget(widget, 1)

        self.goal_box = QComboBox()
        for kind, text in GOAL_TEXT.items():
            self.goal_box.addItem(text, kind)
        self.target_box = QDoubleSpinBox()
        self.target_box.setRange(0.5, 1.0)
        self.target_box.setDecimals(3)
        self.target_box.setSingleStep(0.01)
        self.target_box.setValue(0.95)
        self.target_box.setKeyboardTracking(False)
        self.target_box.setEnabled(False)
        self.goal_box.currentIndexChanged.connect(self._goal_changed)
        self.target_box.valueChanged.connect(self.settings_changed)
        self.pick_text = QLabel("")
        self.pick_text.setWordWrap(True)
        self.pick_text.setMinimumHeight(3 * self.pick_text.fontMetrics().lineSpacing())
        self.use_button = QPushButton("Use this threshold")
        self.use_button.clicked.connect(self._use_pick)
        self.write_button = QPushButton("Write to model card")
        self.write_button.setToolTip(WRITE_CARD_TIP)
        self.card_writable = True
        self.write_button.clicked.connect(self._write_pick)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(QLabel("Consensus:"))
        top.addWidget(self.consensus_box, 1)
        layout.addLayout(top)
        # Two pages, so each fits a 1280x720 screen: the numbers and the threshold, then the plots.
        self.pages = QTabWidget()
        summary = QWidget()
        summary_layout = QVBoxLayout(summary)
        summary_layout.setContentsMargins(2, 4, 2, 2)
        self.pages.addTab(summary, "Summary")
        self.pages.addTab(self.plots, "Plots")
        layout.addWidget(self.pages, 1)
        labels_box = QGroupBox("Labels")
        labels_layout = QVBoxLayout(labels_box)
        labels_layout.addWidget(self.summary)
        labels_layout.addWidget(self.pairs)
        labels_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        summary_layout.addWidget(labels_box)
        model_box = QGroupBox("Model against the labels")
        model_layout = QVBoxLayout(model_box)
        model_layout.addWidget(self.matrix)
        model_layout.addWidget(self.model_summary)
        summary_layout.addWidget(model_box)
        pick_box = QGroupBox("Threshold")
        pick_layout = QFormLayout(pick_box)
        goal_row = QHBoxLayout()
        goal_row.addWidget(self.goal_box, 1)
        goal_row.addWidget(self.target_box)
        pick_layout.addRow("Goal:", goal_row)
        pick_layout.addRow(self.pick_text)
        buttons = QVBoxLayout()  # stacked: side by side they would not fit a narrow dock
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.write_button)
        pick_layout.addRow(buttons)
        summary_layout.addWidget(pick_box)
        summary_layout.addStretch(1)
        self.show_audit(None)

    # What the user chose ---------------------------------------------------------------
    def set_card_writable(self, writable: bool) -> None:
        """The built-in model's card is part of the installation: never offered for writing."""
        self.card_writable = writable
        self._show_write_button()

    def _show_write_button(self) -> None:
        """Enabled with a pick and a writable card; its text names the threshold it would write."""
        pick = self.pick()
        usable = pick is not None and pick.threshold is not None
        self.write_button.setText(f"Write {pick.threshold:.3f} to the model card" if usable else "Write to model card")
        self.write_button.setEnabled(usable and self.card_writable)
        self.write_button.setToolTip(WRITE_CARD_TIP if self.card_writable else "The built-in model's card is "
                                     "read-only: open a copy of the model to write its threshold")

    def consensus(self) -> Consensus:
        return Consensus(self.consensus_box.currentData())

    def goal(self) -> ThresholdGoal:
        kind = self.goal_box.currentData()
        return ThresholdGoal(kind, None if kind == "best-f1" else round(self.target_box.value(), 4))

    def _goal_changed(self) -> None:
        self.target_box.setEnabled(self.goal_box.currentData() != "best-f1")
        self.settings_changed.emit()

    def pick(self) -> ThresholdPick | None:
        model = self.audit.model if self.audit is not None else None
        return model.picks[0] if model is not None and model.picks else None

    def _use_pick(self) -> None:
        pick = self.pick()
        if pick is not None and pick.threshold is not None:
            self.threshold_chosen.emit(pick.threshold)

    def _write_pick(self) -> None:
        pick = self.pick()
        if pick is not None and pick.threshold is not None:
            self.write_card_requested.emit(pick)

    # Showing --------------------------------------------------------------------------------
    def show_audit(self, audit: Audit | None) -> None:
        self.audit = audit
        self._show_labels(audit)
        model = audit.model if audit is not None else None
        self.matrix.show_counts(model)
        for plot in (self.roc, self.pr, self.histogram):
            plot.show_audit(model)
        self._show_model(audit)
        pick = self.pick()
        usable = pick is not None and pick.threshold is not None
        self.use_button.setEnabled(usable)
        self._show_write_button()
        if pick is None:
            self.pick_text.setText("Needs model scores and labels of both classes.")
        elif pick.threshold is None:
            self.pick_text.setText(html.escape(pick.reason))
        else:
            c = pick.confusion
            self.pick_text.setText(f"Suggested <b>{pick.threshold:g}</b>: precision {_fmt(c.precision)}, "
                                   f"recall {_fmt(c.recall)}, F1 {_fmt(c.f1)}")

    def _show_labels(self, audit: Audit | None) -> None:
        if audit is None:
            self.summary.setText("No project")
            self.pairs.setRowCount(0)
            return
        counts = ", ".join(f"{n} {label}" for label, n in audit.by_label.items()) or "none yet"
        lines = [f"<b>{audit.labelled}</b> of {audit.clips} clips labelled: {html.escape(counts)}"]
        for who, values in audit.by_annotator.items():
            lines.append(f"{html.escape(who)}: " + ", ".join(f"{n} {v}" for v, n in values.items()))
        agree = audit.agreement
        if agree.multi_labelled:
            lines.append(f"{agree.multi_labelled} clips labelled by two or more; Fleiss κ "
                         f"<b>{_fmt(agree.fleiss_kappa)}</b>; {len(agree.conflicts)} in conflict")
        self.summary.setText("<br>".join(lines))
        pairs = [p for p in agree.pairs if p.clips]
        self.pairs.setVisible(bool(pairs))
        self.pairs.setRowCount(len(pairs))
        for row, pair in enumerate(pairs):
            cells = (f"{pair.first} / {pair.second}", str(pair.clips), f"{pair.observed:.0%}", _fmt(pair.kappa))
            for column, text in enumerate(cells):
                self.pairs.setItem(row, column, QTableWidgetItem(text))
        self.pairs.resizeColumnsToContents()

    def _show_model(self, audit: Audit | None) -> None:
        model = audit.model if audit is not None else None
        if model is None:
            self.model_summary.setText("No model scores yet." if audit is not None else "")
            return
        c = model.confusion
        text = (f"At threshold {model.threshold:g} on {c.n} clips: precision {_fmt(c.precision)}, "
                f"recall {_fmt(c.recall)}, F1 {_fmt(c.f1)}, balanced accuracy {_fmt(c.balanced_accuracy)}. "
                f"ROC AUC {_fmt(model.roc.area)}, average precision {_fmt(model.pr.area)}.")
        if model.labelled_unscored:
            text += f" ({model.labelled_unscored} labelled clips not scored yet.)"
        self.model_summary.setText(text)


def scrolling(panel: QWidget) -> QScrollArea:
    """The panel in a scroll area, for a narrow dock."""
    area = QScrollArea()
    area.setWidget(panel)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area
