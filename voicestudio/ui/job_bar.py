"""The status bar's progress: the running long job, its progress and a Cancel button."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from voicestudio.ui.tasks import Job, Tasks


class JobBar(QWidget):
    def __init__(self, tasks: Tasks, parent=None):
        super().__init__(parent)
        self.tasks = tasks
        self.title = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(True)
        self.cancel = QPushButton("Cancel")
        self.cancel.setFlat(True)
        self.cancel.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.title, self.bar, self.cancel):
            layout.addWidget(widget)
        tasks.job_started.connect(self._show)
        tasks.job_progress.connect(self._show)
        tasks.job_finished.connect(lambda _job: self._show(self._current()))
        self.hide()

    def _current(self) -> Job | None:
        return self.tasks.jobs[-1] if self.tasks.jobs else None

    def _show(self, job: Job | None) -> None:
        job = self._current() if job is not self._current() else job
        if job is None:
            self.hide()
            return
        more = f" (+{len(self.tasks.jobs) - 1} waiting)" if len(self.tasks.jobs) > 1 else ""
        self.title.setText(job.title + more)
        p = job.progress
        if p is None or not p.total:
            self.bar.setRange(0, 0)  # busy, amount unknown
        else:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))
            self.bar.setFormat(f"{p.done}/{p.total}")
        self.cancel.setEnabled(not job.cancel.is_set())
        self.show()

    def _cancel(self) -> None:
        job = self._current()
        if job is not None:
            job.cancel.set()
            self.cancel.setEnabled(False)
            self.title.setText(job.title + " (cancelling…)")
