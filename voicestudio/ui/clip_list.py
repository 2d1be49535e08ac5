"""The clip list: a table model over the core ``ClipTable`` and its queues.

Rows are an array of table row numbers (the queue, sorted and filtered);
``data`` formats a cell only when Qt asks for it, so 100,000 clips cost an
int64 array, not 100,000 objects. A label changes one row in place.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QDesktopServices, QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from voicestudio import pathmap
from voicestudio.dataset.cliptable import (
    ANNOTATORS_DISAGREE,
    COLUMNS,
    COMPARE_COLUMNS,
    FILTER_SYNTAX,
    MODEL_DISAGREES,
    MODELS_DISAGREE,
    QUEUE_NAMES,
    RECORDING_ORDER,
    THRESHOLD_QUEUES,
    VALUES,
    ClipTable,
    QueueRequest,
    queue_rows,
    sort_rows,
)

HEADERS = {"name": "Clip", "duration": "Length", "label": "Label", "annotators": "By",
           "score": "Score", "score_a": "A score", "score_b": "B score", "disagreement": "Disagrees", "start": "Start", "note": "Note"}
LABEL_TEXT = {"human": "human", "nonhuman": "non-human", "unsure": "unsure", None: ""}
LABEL_COLOURS = {"human": QColor(46, 160, 67), "nonhuman": QColor(207, 34, 46), "unsure": QColor(191, 135, 0)}
DISAGREEMENT_TEXT = {MODEL_DISAGREES: "model", ANNOTATORS_DISAGREE: "annotators"}
QUEUE_TEXT = {"unlabelled": "Unlabelled (mine)", "uncertain": "Uncertain (near threshold)",
              "disagreements": "Disagreements (model or annotators)", "mistakes": "Model mistakes (confident first)",
              "conflicts": "Annotators disagree", "all": "All clips",
              "tp": "Human, model said human", "fp": "Non-human, model said human",
              "fn": "Human, model said non-human", "tn": "Non-human, model said non-human",
              MODELS_DISAGREE: "Models disagree (A vs B, largest gap first)"}


COLUMN_CHARS = {"duration": 6, "label": 9, "score_a": 7, "score_b": 7, "annotators": 3, "score": 6,
                "disagreement": 9, "start": 9, "note": 16}  # the name column stretches
NAME_MIN_CHARS = 22  # the clip column never gets narrower than this (a segment's start and most names)
_ROLES = frozenset({Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole,
                    Qt.ItemDataRole.TextAlignmentRole})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class ClipListModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.table: ClipTable | None = None
        self.rows = np.zeros(0, np.int64)  # table row per list row
        self.request = QueueRequest()
        self.sort_column: str | None = None
        self.descending = False
        self._disagreement = np.zeros(0, np.int8)

    # Loading -----------------------------------------------------------------
    def set_table(self, table: ClipTable, request: QueueRequest) -> None:
        self.beginResetModel()
        self.table = table
        self._compute(request)
        self.endResetModel()

    def set_request(self, request: QueueRequest) -> None:
        """Recompute the queue (queue, threshold or filter changed).

        Only the threshold moved, and the queue does not depend on it (Unlabelled, All,
        Conflicts): the rows stay as they are -- labelled rows included, which stay listed until
        the queue is chosen again -- and only the Disagrees column follows.
        """
        if self.table is None:
            self.request = request
            return
        if request.name not in THRESHOLD_QUEUES and request == replace(self.request, threshold=request.threshold):
            self.request = request
            self.refresh_scores()
            return
        self.beginResetModel()
        self._compute(request)
        self.endResetModel()

    @property
    def grouped(self) -> bool:
        return self.sort_column == RECORDING_ORDER

    def set_grouped(self, grouped: bool) -> None:
        """Rows by (recording, start): a recording's segments together; off, back to queue order."""
        if grouped == self.grouped or self.table is None:
            return
        self.sort_column, self.descending = (RECORDING_ORDER if grouped else None), False
        rows = queue_rows(self.table, self.request)
        self._reorder(sort_rows(self.table, rows, RECORDING_ORDER, False, self.request.threshold) if grouped else rows)

    def _compute(self, request: QueueRequest) -> None:
        self.request = request
        self._disagreement = self.table.disagreement(request.threshold)
        rows = queue_rows(self.table, request)
        if self.sort_column is not None:
            rows = sort_rows(self.table, rows, self.sort_column, self.descending, request.threshold)
        self.rows = rows

    def refresh_scores(self) -> None:
        """The score column changed for many clips (a model was switched or scored)."""
        if self.table is None:
            return
        self._disagreement = self.table.disagreement(self.request.threshold)
        self._changed(0, len(self.rows) - 1)

    def row_updated(self, table_row: int) -> None:
        """One clip's labels changed: redraw its row only."""
        self._disagreement[table_row] = self.table.row_disagreement(table_row, self.request.threshold)
        for row in np.flatnonzero(self.rows == table_row):
            self._changed(int(row), int(row))

    def _changed(self, first: int, last: int) -> None:
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    # Lookups -----------------------------------------------------------------
    def clip_id(self, row: int) -> int | None:
        if 0 <= row < len(self.rows):
            return int(self.table.ids[self.rows[row]])
        return None

    def row_of_clip(self, clip_id: int) -> int | None:
        table_row = self.table.row_of(clip_id) if self.table is not None else None
        if table_row is None:
            return None
        hits = np.flatnonzero(self.rows == table_row)
        return int(hits[0]) if len(hits) else None

    def remaining(self) -> int:
        """Clips in this queue the annotator has not labelled."""
        if self.table is None:
            return 0
        return int(np.count_nonzero(self.table.mine[self.rows] == 0))

    def next_row(self, row: int, *, skip_labelled: bool) -> int | None:
        """The list row after ``row``; with ``skip_labelled``, the next one this annotator has not labelled."""
        later = np.arange(row + 1, len(self.rows))
        if skip_labelled and len(later):
            unlabelled = later[self.table.mine[self.rows[later]] == 0]
            if len(unlabelled):
                return int(unlabelled[0])
        return int(later[0]) if len(later) else None

    # Qt model ----------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[COLUMNS[section]]
        compared = self.table.comparison if self.table is not None else None
        if role == Qt.ItemDataRole.ToolTipRole and compared is not None and COLUMNS[section] in COMPARE_COLUMNS:
            which = "A" if COLUMNS[section] == "score_a" else "B"
            name, threshold = ((compared.name_a, compared.threshold_a) if which == "A"
                               else (compared.name_b, compared.threshold_b))
            return f"Model {which}: {name} (decides at {threshold:g})"
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        # Qt asks for about ten roles per visible cell on every repaint: unused ones return first.
        if role not in _ROLES or self.table is None:
            return None
        t, row, column = self.table, int(self.rows[index.row()]), COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "name":
                return t.name(row)
            if column == "duration":
                return f"{t.ends[row] - t.starts[row]:.1f} s"
            if column == "label":
                return LABEL_TEXT[VALUES[int(t.label[row])]]
            if column == "annotators":
                return str(int(t.n_annotators[row])) if t.n_annotators[row] else ""
            if column == "score":
                return "" if np.isnan(t.score[row]) else f"{t.score[row]:.3f}"
            if column in COMPARE_COLUMNS:
                values = getattr(t, column)
                return "" if values is None or np.isnan(values[row]) else f"{values[row]:.3f}"
            if column == "start":
                return t.start_text(row)
            if column == "note":
                return t.note(row)
            return DISAGREEMENT_TEXT.get(int(self._disagreement[row]), "")
        if role == Qt.ItemDataRole.ForegroundRole and column == "label":
            colour = LABEL_COLOURS.get(VALUES[int(t.label[row])])
            return QBrush(colour) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole and column == "name":
            return f"{t.paths[row]}\n{t.starts[row]:.2f}–{t.ends[row]:.2f} s"
        if role == Qt.ItemDataRole.ToolTipRole and column == "note":
            return t.note(row) or None  # the whole note, when the column cuts it short
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("duration", "score", "annotators", "start",
                                                                     *COMPARE_COLUMNS):
            return _RIGHT
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort the listed rows; the selection (Qt's persistent indexes) follows its clips."""
        if self.table is None:
            return
        self.sort_column = COLUMNS[column]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self._reorder(sort_rows(self.table, self.rows, self.sort_column, self.descending, self.request.threshold))

    def _reorder(self, rows: np.ndarray) -> None:
        """The same rows in another order; the selection (Qt's persistent indexes) follows its clips."""
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        table_rows = [int(self.rows[index.row()]) for index in before]
        self.rows = rows
        position = {int(table_row): row for row, table_row in enumerate(self.rows)}
        after = [self.index(position[t], index.column()) for t, index in zip(table_rows, before)]
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()


class ClipList(QWidget):
    """Queue picker, filter box and the table of clips."""

    clip_selected = Signal(int)  # clip id
    request_changed = Signal()
    message = Signal(str)  # for the status bar (the row menu's outcomes)

    def __init__(self, actions: dict[str, QAction] | None = None, parent=None):
        super().__init__(parent)
        self.actions = actions or {}  # the window's commands: the row menu labels through them, as H/N/U do
        self.model = ClipListModel(self)
        self.queue = QComboBox()
        for name in QUEUE_NAMES:
            self.queue.addItem(QUEUE_TEXT[name], name)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: name, label:human, note:text, path:…")
        self.filter.setToolTip(FILTER_SYNTAX + "\nEnter or Esc goes back to the list.")
        self.filter.setClearButtonEnabled(True)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Shift/Ctrl-click select several rows: H/N/U then label them all (one undo for the batch).
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicatorShown(False)  # until the user sorts, queue order
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        # Fixed row heights: Qt never measures 100,000 rows.
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Fixed widths: ResizeToContents would measure every visible cell on each scroll.
        digit = self.fontMetrics().horizontalAdvance("0")
        for column, name in enumerate(COLUMNS[1:], start=1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, digit * COLUMN_CHARS[name] + 12)
        for name in COMPARE_COLUMNS:  # shown only while two models are compared (show_comparison)
            self.view.setColumnHidden(COLUMNS.index(name), True)
        header.sectionClicked.connect(self._header_clicked)
        header.sortIndicatorChanged.connect(self._sorted_by_column)
        self._name_min = digit * NAME_MIN_CHARS

        top = QHBoxLayout()
        top.addWidget(self.queue, 1)
        top.addWidget(self.filter, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view)

        self.group_action = QAction("&Group segments by recording", self, checkable=True)
        self.group_action.setToolTip("Sort rows by recording, then start time, so a recording's segments sit together")
        self.group_action.toggled.connect(self.set_grouped)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._show_row_menu)

        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        # Slots are methods, not lambdas returning emit()'s bool (PySide6 mishandles such return values).
        self.queue.currentIndexChanged.connect(self._request_changed)
        # Keyboard-first: the list has the keys from the start, and gets them back once a queue is
        # chosen (single-key shortcuts do nothing while the queue box has focus).
        self.queue.activated.connect(lambda _: self.view.setFocus())
        self._focused_once = False
        self.filter.textChanged.connect(self._request_changed)

    def showEvent(self, event) -> None:
        """Shown the first time: the table takes the keys (Qt would give them to the queue box)."""
        super().showEvent(event)
        if not self._focused_once:
            self._focused_once = True
            QTimer.singleShot(0, self._take_first_focus)

    def _take_first_focus(self) -> None:
        if QApplication.focusWidget() in (None, self.queue):
            self.view.setFocus()

    def resizeEvent(self, event) -> None:
        """The name column stretches; when the panel is too narrow for every column, the name keeps
        its width and the other columns scroll sideways (Qt would squeeze the name to "…")."""
        super().resizeEvent(event)
        header = self.view.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(1, header.count()) if not header.isSectionHidden(c))
        squeezed = self.view.viewport().width() - others < self._name_min
        mode = QHeaderView.ResizeMode.Interactive if squeezed else QHeaderView.ResizeMode.Stretch
        if header.sectionResizeMode(0) != mode:
            header.setSectionResizeMode(0, mode)
        if squeezed:
            header.resizeSection(0, self._name_min)

    def _header_clicked(self, _section: int) -> None:
        self.view.horizontalHeader().setSortIndicatorShown(True)

    def _sorted_by_column(self, *_) -> None:
        self.group_action.blockSignals(True)  # a column sort replaces the grouping (the model sorted itself)
        self.group_action.setChecked(False)
        self.group_action.blockSignals(False)

    def set_grouped(self, grouped: bool) -> None:
        if grouped:
            self.view.horizontalHeader().setSortIndicatorShown(False)
        self.model.set_grouped(grouped)
        if self.group_action.isChecked() != grouped:
            self.group_action.setChecked(grouped)
        self.view.scrollTo(self.view.currentIndex())

    # The row menu ----------------------------------------------------------------
    def row_menu(self, row: int) -> QMenu:
        """Right-click on a row: label the selection, show the row, copy paths, open its folder, group."""
        menu = QMenu(self)
        count = len(self.selected_clip_ids())
        if count > 1:
            menu.addAction(f"{count} clips selected").setEnabled(False)
        for name in ("label_human", "label_nonhuman", "label_unsure"):
            if name in self.actions:
                menu.addAction(self.actions[name])
        menu.addSeparator()
        menu.addAction("&Show in the views", lambda: self.show_row(row))
        menu.addAction("&Copy path" if count <= 1 else f"&Copy {count} paths", self.copy_paths)
        menu.addAction("&Open the containing folder", lambda: self.open_folder(row))
        menu.addSeparator()
        menu.addAction(self.group_action)
        return menu

    def _show_row_menu(self, pos) -> None:
        index = self.view.indexAt(pos)
        if index.isValid():
            self.row_menu(index.row()).exec(self.view.viewport().mapToGlobal(pos))

    def local_path(self, row: int) -> str | None:
        """The row's audio file as this machine sees it (the project may store another machine's paths)."""
        if not 0 <= row < len(self.model.rows):
            return None
        return pathmap.active().local(self.model.table.paths[int(self.model.rows[row])])

    def show_row(self, row: int) -> None:
        self.select_row(row)
        clip_id = self.model.clip_id(row)
        if clip_id is not None:
            self.clip_selected.emit(clip_id)  # shown again even if the row was current already

    def copy_paths(self) -> None:
        rows = sorted(index.row() for index in self.view.selectionModel().selectedRows())
        paths = [path for path in map(self.local_path, rows) if path]
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))
            self.message.emit(f"Copied {paths[0]}" if len(paths) == 1 else f"Copied {len(paths)} paths")

    def open_folder(self, row: int) -> None:
        """The file's folder in the desktop's file manager; where there is none, say so (never waits)."""
        path = self.local_path(row)
        if path is None:
            return
        folder = os.path.dirname(path)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
            QGuiApplication.clipboard().setText(folder)
            self.message.emit(f"No program here opens folders; the folder's path was copied: {folder}")

    def note_written(self, event: dict) -> None:
        """A label event is stored: its note goes to the Note column (an undo's note is bookkeeping)."""
        table = self.model.table
        if table is None:
            return
        note = None if event.get("undoes_id") is not None else event.get("note")
        row = table.set_note(event["clip_id"], event["annotator"], event["event_id"], note)
        if row is not None:
            self.model.row_updated(row)

    def _request_changed(self, *_) -> None:
        self.request_changed.emit()

    def show_comparison(self, compared: bool) -> None:
        """While two models are compared: their score columns and the Models disagree queue."""
        for name in COMPARE_COLUMNS:
            self.view.setColumnHidden(COLUMNS.index(name), not compared)
        # Length gives way, so a list of the usual width still shows name, label, A and B side by side.
        self.view.setColumnHidden(COLUMNS.index("duration"), compared)
        index = self.queue.findData(MODELS_DISAGREE)
        if compared and index < 0:
            self.queue.addItem(QUEUE_TEXT[MODELS_DISAGREE], MODELS_DISAGREE)
        elif not compared and index >= 0:
            if self.queue_name == MODELS_DISAGREE:
                self.set_queue_name("all")
            self.queue.removeItem(index)
        self.resizeEvent(QResizeEvent(self.size(), self.size()))  # the name column takes what the others leave

    @property
    def queue_name(self) -> str:
        return self.queue.currentData()

    def set_queue_name(self, name: str) -> None:
        index = self.queue.findData(name)
        if index >= 0:
            self.queue.setCurrentIndex(index)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        clip_id = self.model.clip_id(current.row()) if current.isValid() else None
        if clip_id is not None:
            self.clip_selected.emit(clip_id)

    def selected_clip_ids(self) -> list[int]:
        """The selected rows' clips, in the order shown."""
        rows = sorted(index.row() for index in self.view.selectionModel().selectedRows())
        return [clip_id for clip_id in (self.model.clip_id(row) for row in rows) if clip_id is not None]

    def current_row(self) -> int:
        return self.view.currentIndex().row()

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row, 0)
            self.view.setCurrentIndex(index)
            self.view.scrollTo(index)

    def select_clip(self, clip_id: int) -> bool:
        row = self.model.row_of_clip(clip_id)
        if row is None:
            return False
        if row != self.current_row():
            self.select_row(row)
        return True
