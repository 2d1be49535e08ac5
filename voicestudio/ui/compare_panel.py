"""The Audit tab's Compare page: the window's model (A) against another (B) on the labelled clips.

It only shows a ``CompareOutcome`` (computed off the main thread by ``CompareControl``) and says
what the user asked for: compare with this B, cancel, list the clips the models disagree on,
make B the project's default, time B on a device.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from voicestudio.dataset.compare import Comparison
from voicestudio.dataset.compare_run import ModelOption
from voicestudio.ui.audit_plots import curves_plot

OTHER_FILE = "\0other"  # the combo's "Other file…" entry
SPLIT_TEXT = {"test": "Test split", "all": "Every labelled clip"}
SPLIT_TIP = ("Test split: the labelled clips an export puts in its test split (a model trained on the project's "
             "train split never heard them). Every labelled clip: all of them.")
PLOT_MIN_HEIGHT = 170


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


# The figures table: one row per figure (short names: the dock is narrow; tooltips say more), columns A and B.
ROWS = (
    ("Threshold", lambda m: f"{m.threshold:g}",
     "Each model decides at its own card's threshold"),
    ("ROC AUC", lambda m: _fmt(m.auc), "Area under the ROC curve"),
    ("Avg precision", lambda m: _fmt(m.average_precision), "Average precision: the area under the PR curve"),
    ("Balanced acc.", lambda m: _fmt(m.balanced_accuracy),
     "Balanced accuracy at the model's threshold: the mean of the recall of each class"),
    ("Human ✓ / ✗", lambda m: f"{m.confusion.tp} / {m.confusion.fn}",
     "The confusion matrix at the model's threshold, clips labelled human: "
     "said human (true positives) / said non-human (false negatives)"),
    ("Non-human ✓ / ✗", lambda m: f"{m.confusion.tn} / {m.confusion.fp}",
     "The confusion matrix at the model's threshold, clips labelled non-human: "
     "said non-human (true negatives) / said human (false positives)"),
    ("ms/window", lambda m: "–" if m.speed is None else f"{m.speed.single_ms:.3f}",
     "On this machine: milliseconds per window, one window per call (as when streaming)"),
    ("ms/window ×64", lambda m: "–" if m.speed is None else f"{m.speed.batched_ms:.4f}",
     "On this machine: milliseconds per window in a batch of 64 (as when scoring a project)"),
)


class ComparePanel(QWidget):
    compare_requested = Signal(str, str)  # model B's path, split
    cancel_requested = Signal()
    list_disagreements = Signal()  # show the Models disagree queue
    adopt_requested = Signal(str)  # B's path: make it the project's default
    time_requested = Signal(str)  # B's path: time it on the selected device

    def __init__(self, parent=None):
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.running = False
        self.model_a = QLabel("–")
        self.model_a.setWordWrap(True)
        self.model_b = QComboBox()
        self.model_b.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_b.setMinimumContentsLength(12)
        self.model_b.setToolTip("The project's models; Other file… opens any .tflite model")
        self.model_b.activated.connect(self._model_activated)
        self.split = QComboBox()
        for split, text in SPLIT_TEXT.items():
            self.split.addItem(text, split)
        self.split.setToolTip(SPLIT_TIP)
        self.run_button = QPushButton("Compare")
        self.run_button.clicked.connect(self._run_clicked)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setTextVisible(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        self.figures = QTableWidget(len(ROWS), 2)
        self.figures.setHorizontalHeaderLabels(["A", "B"])
        self.figures.setVerticalHeaderLabels([label for label, _, _ in ROWS])
        for row, (_, _, tip) in enumerate(ROWS):
            self.figures.verticalHeaderItem(row).setToolTip(tip)
        self.figures.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.figures.setWordWrap(False)
        self.figures.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.figures.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.figures.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.figures.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.figures.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rows_height = sum(self.figures.rowHeight(r) for r in range(len(ROWS)))
        self.figures.setFixedHeight(rows_height + self.figures.horizontalHeader().sizeHint().height() + 4)
        self.mcnemar = QLabel("")
        self.mcnemar.setWordWrap(True)
        self.mcnemar.setTextFormat(Qt.TextFormat.RichText)
        self.disagree_button = QPushButton("List the clips they disagree on")
        self.disagree_button.setToolTip("The clip list's Models disagree queue, the largest score gap first")
        self.disagree_button.clicked.connect(self.list_disagreements)

        self.plots = QWidget()
        self.plots_layout = QVBoxLayout(self.plots)
        self.plots_layout.setContentsMargins(0, 0, 0, 0)
        self.roc = self.pr = None
        self._show_curves(None)

        self.adopt_button = QPushButton("Use B for the project")
        self.adopt_button.setToolTip("Make B the project's default model (for everyone who opens the project) "
                                     "and predict with it now")
        self.adopt_button.clicked.connect(lambda: self.adopt_requested.emit(self.model_b_path() or ""))
        self.time_button = QPushButton("Time B on a device")
        self.time_button.setToolTip("The Devices tab, with B chosen, timing it on the selected device")
        self.time_button.clicked.connect(lambda: self.time_requested.emit(self.model_b_path() or ""))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 4, 2, 2)
        choose = QGroupBox("Models")
        form = QFormLayout(choose)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("A:", self.model_a)
        form.addRow("B:", self.model_b)
        form.addRow("Clips:", self.split)
        form.addRow(self.run_button)
        form.addRow(self.progress)
        form.addRow(self.status)
        choose.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout.addWidget(choose)
        results = QGroupBox("A against B on the labelled clips")
        results_layout = QVBoxLayout(results)
        results_layout.addWidget(self.figures)
        results_layout.addWidget(self.mcnemar)
        results_layout.addWidget(self.disagree_button)
        # What to do about it, above the curves so it is seen without scrolling; stacked for a narrow dock.
        results_layout.addWidget(self.adopt_button)
        results_layout.addWidget(self.time_button)
        results_layout.addWidget(self.plots, 1)
        layout.addWidget(results, 1)
        self.show_outcome(None)

    # What the user chose ------------------------------------------------------------------
    def set_models(self, model_a: str, options: list[ModelOption], model_a_path: str | None = None) -> None:
        """Model A's name, and the project's other models offered as B (the choice kept while it is not A)."""
        self.model_a.setText(model_a)
        chosen = self.model_b_path()
        if chosen and model_a_path and Path(chosen).resolve() == Path(model_a_path).resolve():
            chosen = None  # B became A (adopted): choose another
        self.model_b.clear()
        for option in options:
            self.model_b.addItem(option.text, option.path)
            self.model_b.setItemData(self.model_b.count() - 1, option.path, Qt.ItemDataRole.ToolTipRole)
        if chosen and self.model_b.findData(chosen) < 0 and Path(chosen).is_file():
            self.add_model_file(chosen)
        self.model_b.addItem("Other file…", OTHER_FILE)
        if chosen and self.model_b.findData(chosen) >= 0:
            self.model_b.setCurrentIndex(self.model_b.findData(chosen))
        self._enable()

    def add_model_file(self, path: str) -> None:
        """A model file chosen outside the project's list: offered (and chosen) as B."""
        index = self.model_b.findData(path)
        if index < 0:
            at = max(0, self.model_b.findData(OTHER_FILE))
            self.model_b.insertItem(at, Path(path).name, path)
            self.model_b.setItemData(at, path, Qt.ItemDataRole.ToolTipRole)
            index = at
        self.model_b.setCurrentIndex(index)
        self._enable()

    def _model_activated(self, _index: int) -> None:
        if self.model_b.currentData() == OTHER_FILE:
            path, _ = QFileDialog.getOpenFileName(self, "Model B", str(Path.home()),
                                                  "TensorFlow Lite models (*.tflite);;All files (*)")
            if path:
                self.add_model_file(path)
            else:
                self.model_b.setCurrentIndex(0 if self.model_b.count() > 1 else -1)
        self._enable()

    def model_b_path(self) -> str | None:
        data = self.model_b.currentData()
        return data if data and data != OTHER_FILE else None

    def choose_model_b(self, path: str) -> None:
        self.add_model_file(path)

    def split_name(self) -> str:
        return self.split.currentData()

    def _run_clicked(self) -> None:
        if self.running:
            self.cancel_requested.emit()
        elif self.model_b_path():
            self.compare_requested.emit(self.model_b_path(), self.split_name())

    def _enable(self) -> None:
        has_b = self.model_b_path() is not None
        self.run_button.setEnabled(self.running or has_b)
        self.adopt_button.setEnabled(has_b and not self.running)
        self.time_button.setEnabled(has_b)

    # Showing ---------------------------------------------------------------------------------
    def set_running(self, running: bool, text: str = "") -> None:
        self.running = running
        self.run_button.setText("Cancel" if running else "Compare")
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the first progress report
        if text:
            self.status.setText(text)
        self._enable()

    def show_progress(self, done: int, total: int | None, what: str = "") -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        if what:
            self.progress.setFormat(f"{what} %p%" if total else what)

    def show_outcome(self, comparison: Comparison | None) -> None:
        """The figures, McNemar's sentence and the curves of one comparison (None: nothing shown)."""
        self.comparison = comparison
        models = (comparison.a, comparison.b) if comparison else (None, None)
        for column, (letter, model) in enumerate(zip("AB", models)):
            header = self.figures.horizontalHeaderItem(column)
            header.setToolTip("" if model is None else f"{letter}: {model.name}\n{model.path}")
            for row, (_, value, _) in enumerate(ROWS):
                item = QTableWidgetItem("–" if model is None else value(model))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.figures.setItem(row, column, item)
        self._show_curves(comparison)
        if comparison is None:
            self.mcnemar.setText("")
            self.disagree_button.setVisible(False)
            return
        where = "the test split" if comparison.split == "test" else "every labelled clip"
        humans = int(comparison.truth.sum())
        text = (f"On {len(comparison.clip_ids)} clips ({where}: {humans} human, "
                f"{len(comparison.clip_ids) - humans} non-human; {html.escape(comparison.consensus.describe())}):"
                f"<br><b>{html.escape(comparison.mcnemar.sentence())}</b>.")
        if comparison.unscored:
            text += f"<br>{comparison.unscored} labelled clips left out: a model could not score them."
        self.mcnemar.setText(text)
        count = len(comparison.disagreements)
        self.disagree_button.setVisible(bool(count))
        self.disagree_button.setText(f"List the {count} clip{'s' * (count != 1)} they disagree on")

    def _show_curves(self, comparison: Comparison | None) -> None:
        """curves_plot makes new plots: the old ones are replaced."""
        for plot in (self.roc, self.pr):
            if plot is not None:
                self.plots_layout.removeWidget(plot)
                plot.deleteLater()
        models = (comparison.a, comparison.b) if comparison else ()
        names = ("A", "B")
        for kind in ("roc", "pr"):
            curves = [(f"{name}: {m.name}", m.roc if kind == "roc" else m.pr) for name, m in zip(names, models)]
            plot = curves_plot(kind, curves)
            plot.setMinimumHeight(PLOT_MIN_HEIGHT)
            self.plots_layout.addWidget(plot, 1)
            setattr(self, kind, plot)
