"""The devices panel: add and check devices, time models on them, compare the runs.

Everything that touches a device or the database runs on the window's task lanes:
checks and benches are jobs (progress and cancel in the status bar). An SSH host key
seen for the first time is shown with its fingerprint and recorded only if the user
trusts it; then the action runs again.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from voicestudio.device import registry
from voicestudio.device.bench import BenchRequest, bench_model, parse_threads
from voicestudio.device.ssh import UnknownHostKey, trust_host_key

HISTORY_COLUMNS = ("When", "Device", "Model", "Tool", "Threads", "Mean ms", "Median ms", "p90 ms", "Peak MB", "Result")
BAR_COLOURS = ("#4e9af1", "#f1a94e", "#5cc98a", "#d46ad8", "#e05d5d", "#9aa0a6")


def _number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


class AddDeviceDialog(QDialog):
    """Name, address, key: OK adds the device and closes only once it is stored; a refusal (a bad
    address, a missing key file, a name in use) is shown here with everything typed kept."""

    def __init__(self, add, parent=None):
        super().__init__(parent)
        self._add = add  # add(values, on_done, on_error): DevicesPanel.add
        self.setWindowTitle("Add a device")
        self.name = QLineEdit()
        self.uri = QLineEdit()
        self.uri.setPlaceholderText("ssh://user@host[:port]  or  adb://SERIAL")
        self.key = QLineEdit()
        self.key.setPlaceholderText("SSH private key (no passwords are stored)")
        browse = QPushButton("…")
        browse.clicked.connect(self._browse_key)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(browse)
        self.python = QLineEdit()
        self.python.setPlaceholderText("python3")
        self.workdir = QLineEdit()
        self.workdir.setPlaceholderText("~/.voicestudio, or /data/local/tmp/voicestudio on Android")
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Address", self.uri)
        form.addRow("Key", key_row)
        form.addRow("Python", self.python)
        form.addRow("Work folder", self.workdir)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d1242f")
        form.addRow(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def _submit(self) -> None:
        values = self.values()
        if not values["name"]:
            self.error.setText("give the device a name")
            return
        self.error.setText("adding…")
        self.buttons.setEnabled(False)
        self._add(values, on_done=self._added, on_error=self._refused)

    def _added(self, _info) -> None:
        self.buttons.setEnabled(True)
        self.accept()

    def _refused(self, exc) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(str(exc))

    def _browse_key(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "SSH private key", str(Path.home() / ".ssh"))
        if path:
            self.key.setText(path)

    def values(self) -> dict:
        return {"name": self.name.text().strip(), "uri": self.uri.text().strip(),
                "key_path": self.key.text().strip() or None, "python_cmd": self.python.text().strip() or None,
                "workdir": self.workdir.text().strip() or None}


class BenchChart(pg.PlotWidget):
    """Mean time per thread count, one bar per model: the latest good run of each."""

    def __init__(self, parent=None):
        super().__init__(parent, background="#1e1f22")
        self.setMinimumHeight(180)
        self.setLabel("left", "mean inference (ms)")
        self.setLabel("bottom", "threads")
        self.showGrid(y=True, alpha=0.3)
        self.legend = self.addLegend(offset=(-10, 10))
        self.bars: dict[str, pg.BarGraphItem] = {}

    def show_runs(self, rows: list[registry.HistoryRow]) -> None:
        self.clear()
        self.legend.clear()
        self.bars = {}
        latest: dict[tuple[str, int], float] = {}
        for row in rows:  # newest first: keep the first seen
            if row.status == "ok" and row.avg_ms is not None:
                latest.setdefault((row.model, row.threads), row.avg_ms)
        models = sorted({m for m, _ in latest})
        threads = sorted({t for _, t in latest})
        if not latest:
            self.getAxis("bottom").setTicks([[]])  # no runs: no fractional "threads" under an empty chart
            return
        width = 0.8 / len(models)
        for i, model in enumerate(models):
            xs = [threads.index(t) + (i - (len(models) - 1) / 2) * width for t in threads if (model, t) in latest]
            ys = [latest[model, t] for t in threads if (model, t) in latest]
            bar = pg.BarGraphItem(x=xs, height=ys, width=width * 0.9, brush=BAR_COLOURS[i % len(BAR_COLOURS)],
                                  name=model)
            self.addItem(bar)
            self.bars[model] = bar
        self.getAxis("bottom").setTicks([[(i, str(t)) for i, t in enumerate(threads)]])


class DevicesPanel(QWidget):
    devices_shown = Signal(list)  # DeviceInfo list, after each refresh
    history_shown = Signal(list)  # HistoryRow list
    bench_finished = Signal(object)  # the BenchReport
    check_finished = Signal(object)  # the DeviceCheck

    def __init__(self, tasks, project, current_model, show_error, parent=None):
        """``project()`` gives the open project (or None); ``current_model()`` the model file."""
        super().__init__(parent)
        self.tasks, self.project, self.current_model, self.show_error = tasks, project, current_model, show_error
        self.confirm_trust = self._ask_trust  # (UnknownHostKey) -> bool; tests replace it
        self.add_dialog: AddDeviceDialog | None = None
        self._select_next: str | None = None  # a device just added: selected when the list is read again
        self.device_rows: list[registry.DeviceInfo] = []
        self.all_history: list[registry.HistoryRow] = []
        self.history_rows: list[registry.HistoryRow] = []  # the selected device's

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Device", "Address", "Architecture", "Can time with"])
        self._tidy(self.table)
        self.table.itemSelectionChanged.connect(self._device_selected)
        add, self.check_button, self.remove_button = QPushButton("Add…"), QPushButton("Check"), QPushButton("Remove")
        add.clicked.connect(self.add_device)
        self.check_button.clicked.connect(lambda: self.check_device(self.selected_device()))
        self.remove_button.clicked.connect(self.remove_device)
        device_buttons = QHBoxLayout()
        for button in (add, self.check_button, self.remove_button):
            device_buttons.addWidget(button)
        device_buttons.addStretch(1)

        self.model_path = QLineEdit()
        self.model_path.setPlaceholderText("the window's current model")
        browse = QPushButton("…")
        browse.clicked.connect(self._browse_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_path, 1)
        model_row.addWidget(browse)
        self.threads = QLineEdit("1,2,4")
        self.runs = QSpinBox(minimum=1, maximum=100000, value=50)
        self.warmup = QSpinBox(minimum=0, maximum=10000, value=5)
        self.bench_button = QPushButton("Time on the device")
        self.bench_button.clicked.connect(lambda: self.run_bench(self.selected_device()))
        bench_box = QGroupBox("Time a model on the selected device")
        form = QFormLayout(bench_box)
        form.addRow("Model", model_row)
        form.addRow("Threads", self.threads)
        form.addRow("Runs", self.runs)
        form.addRow("Warm-up runs", self.warmup)
        form.addRow(self.bench_button)

        self.history = QTableWidget(0, len(HISTORY_COLUMNS))
        self.history.setHorizontalHeaderLabels(HISTORY_COLUMNS)
        self._tidy(self.history)
        self.history.setToolTip("Double-click a run to read its raw log")
        self.history.cellDoubleClicked.connect(lambda row, _column: self.show_log(self.history_rows[row].run_id))
        self.chart = BenchChart()
        self.status = QLabel("")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(device_buttons)
        layout.addWidget(self.status)
        layout.addWidget(bench_box)
        layout.addWidget(QLabel("<b>Runs</b> (every run is kept; double-click for its log)"))
        layout.addWidget(self.history, 2)
        layout.addWidget(self.chart, 2)
        self._device_selected()

    @staticmethod
    def _tidy(table: QTableWidget) -> None:
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)

    # Devices ------------------------------------------------------------------------
    def selected_device(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.device_rows[rows[0].row()].name if rows else None

    def refresh(self) -> None:
        project = self.project()
        if project is None:
            return
        self.tasks.submit(registry.devices, project, on_done=self._show_devices)
        self.tasks.submit(registry.history, project, limit=500, on_done=self._history_loaded)

    def _show_devices(self, devices: list[registry.DeviceInfo]) -> None:
        chosen, self._select_next = self._select_next or self.selected_device(), None
        self.device_rows = devices
        self.table.setRowCount(len(devices))
        for row, d in enumerate(devices):
            check = d.check or {}
            values = (d.name, d.uri, check.get("arch") or "not checked",
                      ", ".join(check.get("tools") or []) or ("nothing" if check else "?"))
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip("\n".join(check.get("problems") or []) or value)
                self.table.setItem(row, column, item)
            if d.name == chosen or (chosen is None and row == 0):
                self.table.selectRow(row)
        self._device_selected()
        self.devices_shown.emit(devices)

    def _device_selected(self) -> None:
        has = self.selected_device() is not None
        for button in (self.check_button, self.remove_button, self.bench_button):
            button.setEnabled(has)
        self._show_history()

    def add_device(self) -> None:
        self.add_dialog = AddDeviceDialog(lambda values, on_done, on_error: self.add(
            **values, on_done=on_done, on_error=on_error), self)
        self.add_dialog.exec()

    def add(self, *, on_done=None, on_error=None, **values) -> None:
        project = self.project()
        if project is None:
            return

        def added(info: registry.DeviceInfo) -> None:
            self._added(info)
            if on_done is not None:
                on_done(info)

        self.tasks.submit(registry.add, project, lane="write", **values, on_done=added,
                          on_error=on_error or self._failed)

    def _added(self, info: registry.DeviceInfo) -> None:
        self.status.setText(f"added {info.name}: press Check")
        self._select_next = info.name  # the new device, not the row that was selected before
        self.refresh()

    def remove_device(self) -> None:
        name, project = self.selected_device(), self.project()
        if name is None or project is None:
            return
        answer = QMessageBox.question(self, "Remove device", f"Remove {name} and all its benchmark runs?")
        if answer == QMessageBox.StandardButton.Yes:
            self.tasks.submit(registry.remove, project, name, lane="write",
                              on_done=lambda _: self.refresh(), on_error=self._failed)

    def check_device(self, name: str | None, trust: bool = False) -> None:
        project = self.project()
        if name is None or project is None:
            return

        def checking(progress, cancel):
            return registry.run_check(project, name, trust_new_host=trust)

        self.status.setText(f"checking {name}…")
        self.tasks.start_job(f"Checking {name}", checking, on_done=self._checked,
                             on_error=lambda exc: self._failed(exc, retry=lambda: self.check_device(name, True)))

    def _checked(self, check) -> None:
        self.status.setText(check.text().replace("\n", "<br>").replace("  ", "&nbsp;&nbsp;"))
        self.refresh()
        self.check_finished.emit(check)

    # Benchmarks --------------------------------------------------------------------------
    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model to time", str(Path.home()),
                                              "TensorFlow Lite models (*.tflite);;All files (*)")
        if path:
            self.model_path.setText(path)

    def run_bench(self, name: str | None, trust: bool = False) -> None:
        project = self.project()
        model = self.model_path.text().strip() or self.current_model()
        if name is None or project is None or not model:
            return
        try:
            request = BenchRequest(threads=parse_threads(self.threads.text()), runs=self.runs.value(),
                                   warmup=self.warmup.value())
        except Exception as exc:
            self._failed(exc)
            return

        def benching(progress, cancel):
            return bench_model(project, name, model, request, trust_new_host=trust, progress=progress, cancel=cancel)

        self.status.setText(f"timing {Path(str(model)).name} on {name}…")
        self.tasks.start_job(f"Timing {Path(str(model)).name} on {name}", benching, on_done=self._benched,
                             on_error=lambda exc: self._failed(exc, retry=lambda: self.run_bench(name, True)))

    def _benched(self, report) -> None:
        self.status.setText(report.text().replace("\n", "<br>"))
        self.refresh()
        self.bench_finished.emit(report)

    def _history_loaded(self, rows: list[registry.HistoryRow]) -> None:
        self.all_history = rows
        self._show_history()

    def _show_history(self) -> None:
        """The selected device's runs in the table and the chart."""
        device = self.selected_device()
        self.history_rows = [r for r in self.all_history if device is None or r.device == device]
        self.history.setRowCount(len(self.history_rows))
        for row, r in enumerate(self.history_rows):
            values = (r.started_at.astimezone().strftime("%Y-%m-%d %H:%M"), r.device, r.model, r.tool, str(r.threads),
                      _number(r.avg_ms), _number(r.median_ms), _number(r.p90_ms), _number(r.peak_memory_mb, 1),
                      "ok" if r.status == "ok" else f"failed: {r.error}")
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == len(values) - 1:
                    item.setToolTip(value)
                if r.status != "ok":
                    item.setForeground(Qt.GlobalColor.red)
                self.history.setItem(row, column, item)
        self.chart.show_runs(self.history_rows)
        self.history_shown.emit(self.history_rows)

    def show_log(self, run_id: int) -> None:
        project = self.project()
        if project is not None:
            self.tasks.submit(registry.raw_log, project, run_id, on_done=lambda text: self._log_dialog(run_id, text))

    def _log_dialog(self, run_id: int, text: str) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Run {run_id}: raw log")
        view = QPlainTextEdit(text)
        view.setReadOnly(True)
        view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        QVBoxLayout(dialog).addWidget(view)
        dialog.resize(900, 500)
        dialog.show()
        self.log_dialog = dialog

    # Errors and trust ------------------------------------------------------------------
    def _failed(self, exc, retry=None) -> None:
        if isinstance(exc, UnknownHostKey) and retry is not None:
            if self.confirm_trust(exc):
                trust_host_key(exc.host, exc.key)
                retry()
            else:
                self.status.setText(f"not connected: the host key of {exc.host} was not trusted")
            return
        self.status.setText(f"⚠ {exc}")
        self.show_error(exc)

    def _ask_trust(self, exc: UnknownHostKey) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, "Unknown host key",
                          f"<p>This is the first connection to <b>{exc.host}</b>. It identifies itself with the "
                          f"{exc.key_type} key</p><p><tt>{exc.fingerprint}</tt></p><p>Compare it with the "
                          "device's own (<tt>ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub</tt> on the device). "
                          "Trust it and connect?</p>", parent=self)
        trust = box.addButton("Trust and connect", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is trust
