"""File ▸ Check project… and Recover project…: ``voicestudio.store.repair`` as background jobs.

The same core functions as ``voicestudio db check`` and ``db recover``; the
verdict and the recovery report are shown in a window-modal box that does not
block the event loop (``open()``, not ``exec()``), kept in ``box`` for tests.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from voicestudio.store.project import PROJECT_SUFFIX
from voicestudio.store.repair import check_project, recover_project

_PROJECT_FILES = f"VoiceStudio projects (*{PROJECT_SUFFIX});;All files (*)"


class ProjectRepair(QObject):
    checked = Signal(object)  # CheckReport
    recovered = Signal(object)  # RecoverReport

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.box: QMessageBox | None = None

    # Menu entries. The project is chosen, starting at the open one: a project too damaged to open is not it.
    def choose_check(self) -> None:
        path = self._ask_for_project("Check a project")
        if path:
            self.check(path)

    def choose_recover(self, source: str | None = None) -> None:
        source = source or self._ask_for_project("Recover a damaged project")
        if not source:
            return
        suggested = Path(source).with_name(f"{Path(source).stem}-recovered{PROJECT_SUFFIX}")
        out, _ = QFileDialog.getSaveFileName(self.window, "Save the recovered project as", str(suggested),
                                             _PROJECT_FILES)
        if out:
            self.recover(source, out)

    # The work, off the main thread.
    def check(self, path: str) -> None:
        self.window.tasks.start_job(f"Checking {Path(path).name}", lambda progress, cancel: check_project(path),
                                    on_done=self._show_check)

    def recover(self, source: str, out: str) -> None:
        """Recover ``source`` into ``out`` (replaced: the save dialog asked before replacing a file)."""
        self.window.tasks.start_job(f"Recovering {Path(source).name}",
                                    lambda progress, cancel: recover_project(source, out, force=True),
                                    on_done=self._show_recovery)

    def _show_check(self, report) -> None:
        if report.ok:
            self._show(QMessageBox.Icon.Information, "Check project", report.text())
        else:
            box = self._show(QMessageBox.Icon.Warning, "Check project: damaged", report.text())
            recover = box.addButton("Recover…", QMessageBox.ButtonRole.ActionRole)
            recover.clicked.connect(lambda: self.choose_recover(str(report.path)))
        self.checked.emit(report)

    def _show_recovery(self, report) -> None:
        box = self._show(QMessageBox.Icon.Information, "Recover project", report.text())
        open_it = box.addButton("Open the recovered project", QMessageBox.ButtonRole.AcceptRole)
        open_it.clicked.connect(lambda: self.window.open_project(str(report.path)))
        self.recovered.emit(report)

    def _show(self, icon, title: str, text: str) -> QMessageBox:
        if self.box is not None:
            self.box.close()
        self.box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Close, self.window)
        self.box.open()
        return self.box

    def _ask_for_project(self, title: str) -> str | None:
        session = self.window.session
        start = session.project.label if session is not None and session.project.is_sqlite else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self.window, title, start, _PROJECT_FILES)
        return path or None
