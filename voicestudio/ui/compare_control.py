"""Comparing the window's model (A) with another (B), and acting on the result: the Audit tab's
Compare page (ui/compare_panel.py) asks, this runs.

The comparison is a background job (progress and Cancel in the page and the status bar); its
result goes to the page, and both models' scores to the clip list (two columns and the Models
disagree queue) until the project changes or the comparison is cleared. Adopting B stores it as
the project's default (``workspace.adopt_model``) and switches the window to it, re-scoring in
the background as Model ▸ Open model does; timing B hands it to the Devices tab.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from voicestudio.dataset import workspace
from voicestudio.dataset.cliptable import MODELS_DISAGREE
from voicestudio.dataset.compare_run import CompareOutcome, CompareRequest, model_choices, run_comparison
from voicestudio.ui.compare_panel import ComparePanel

NO_DEVICE = ("No device yet: press Add… above (ssh://user@host[:port] with a key, or adb://SERIAL for Android), "
             "Check it, then Time on the device. From a terminal: voicestudio device add NAME URI")


READY = "Pick a model B and press Compare. The consensus rule is the Audit's (above)."


class CompareControl(QObject):
    shown = Signal(object)  # the CompareOutcome, once the page and the list show it
    failed = Signal(str)  # why a comparison did not finish (cancelled included)
    adopted = Signal(str)  # the path of the model now the project's default

    def __init__(self, window, panel: ComparePanel):
        super().__init__(window)
        self.window, self.panel = window, panel
        self.job = None
        self.outcome: CompareOutcome | None = None
        panel.compare_requested.connect(self.compare)
        panel.cancel_requested.connect(self.cancel)
        panel.list_disagreements.connect(self.list_disagreements)
        panel.adopt_requested.connect(self.adopt)
        panel.time_requested.connect(self.time_on_device)
        window.tasks.job_progress.connect(self._progress)
        # Shown again: the project's models are listed again (another program may have added one).
        window.audit_panel.pages.currentChanged.connect(self._page_changed)

    def show(self) -> None:
        """Model ▸ Compare: the Audit tab's Compare page."""
        pages = self.window.audit_panel.pages
        pages.setCurrentIndex(next(i for i in range(pages.count()) if pages.widget(i).isAncestorOf(self.panel)))
        self.window.audit_dock.show()
        self.window.audit_dock.raise_()

    def _page_changed(self, index: int) -> None:
        if self.window.audit_panel.pages.widget(index).isAncestorOf(self.panel):
            self.model_changed()

    # The project and its models -------------------------------------------------------------
    def project_changed(self) -> None:
        """Another project: nothing compared yet (its job, if any, is dropped as stale)."""
        self._let_go()
        self.outcome = None
        self.panel.show_outcome(None)
        self.panel.status.setText(READY)
        self.window.clip_list.show_comparison(False)
        self.model_changed()

    def model_changed(self) -> None:
        """Model A changed: the page names it and offers the project's other models as B."""
        session = self.window.session
        if session is None:
            return
        detector = session.detector
        name = "none" if detector is None else f"{detector.card.name} ({Path(detector.path).name})"
        leave_out = None if detector is None else detector.sha256
        path = None if detector is None else str(detector.path)
        self.window.tasks.submit(model_choices, session.project, leave_out=leave_out, current=("project",),
                                 on_done=lambda options: self.panel.set_models(name, options, path))
        shown = self.outcome.comparison.a if self.outcome is not None else None
        if shown is not None and shown.sha256 != leave_out:
            self.panel.status.setText(f"The figures compare {shown.name} (A then) with "
                                      f"{self.outcome.comparison.b.name}; press Compare to compare the window's "
                                      "model now.")

    # Comparing ----------------------------------------------------------------------------------
    def compare_trained(self, result) -> None:
        """A model just trained from the labels (a ``ProjectTrainResult``): compared at once with the
        window's model on the test clips, which its training never saw."""
        path = str(result.model_path)
        self.show()
        self.panel.choose_model_b(path)
        self.compare(path, "test")

    def compare(self, model_b: str, split: str) -> None:
        window, session = self.window, self.window.session
        if session is None or self.job is not None:
            return
        request = CompareRequest(model_b, split, window.audit_panel.consensus())
        detector_a = session.detector

        def comparing(progress, cancel):
            return run_comparison(session.project, detector_a, request, progress=progress, cancel=cancel)

        # Only the job still shown reports back: one a project change let go of is forgotten.
        def done(outcome):
            if job is self.job:
                self._done(outcome)

        def failed(exc):
            if job is self.job:
                self._failed(exc)

        self.panel.set_running(True, f"Comparing with {Path(model_b).name}: scoring what is not scored yet, "
                                     "then timing both on this machine…")
        job = window.tasks.start_job(f"Comparing with {Path(model_b).name}", comparing, on_done=done,
                                     on_error=failed, current=("project",))
        self.job = job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.set()
            self.panel.status.setText("Cancelling…")

    def _let_go(self) -> None:
        """The job's project is gone: cancel it and forget it (its result would be for another project)."""
        if self.job is not None:
            self.job.cancel.set()
            self.job = None
            self.panel.set_running(False, "")

    def _progress(self, job) -> None:
        if job is self.job and job.progress is not None:
            self.panel.show_progress(job.progress.done, job.progress.total, job.progress.message)

    def _done(self, outcome: CompareOutcome) -> None:
        self.job = None
        self.outcome = outcome
        window = self.window
        self.panel.set_running(False, "")
        self.panel.show_outcome(outcome.comparison)
        failures = outcome.comparison.failures
        self.panel.status.setText(f"Compared with {Path(outcome.request.model_b).name}"
                                  + (f"; {len(failures)} clips could not be scored" if failures else "")
                                  + ". The clip list shows both scores (A score, B score).")
        window.clip_list.show_comparison(True)
        if window.session is not None:
            window.session.show_comparison(outcome.columns)
            window.clip_list.model.set_table(window.session.table, window._queue_request())  # queue and columns
        window.statusBar().showMessage(f"McNemar: {outcome.comparison.mcnemar.sentence()}", 15000)
        self.shown.emit(outcome)

    def _failed(self, exc) -> None:
        self.job = None
        cancelled = "cancelled" in str(exc)
        self.panel.set_running(False, "The comparison was cancelled." if cancelled else f"⚠ {exc}")
        if not cancelled:
            self.window.show_error(exc)
        self.failed.emit(str(exc))

    def list_disagreements(self) -> None:
        self.window.clip_list.set_queue_name(MODELS_DISAGREE)
        self.window.recompute_queue()

    def clear(self) -> None:
        """Back to one model: the score columns and the queue go."""
        self.outcome = None
        self.panel.show_outcome(None)
        self.window.clip_list.show_comparison(False)
        if self.window.session is not None:
            self.window.apply_changes(self.window.session.show_comparison(None))

    # Acting on it --------------------------------------------------------------------------------
    def adopt(self, path: str) -> None:
        """B becomes the project's default model and the window's model (scored in the background)."""
        window, session = self.window, self.window.session
        if session is None or not path:
            return

        def adopted(_model_id):
            window.statusBar().showMessage(f"{Path(path).name} is now the project's default model", 15000)
            window.models.switch(path, remember=False)
            self.adopted.emit(path)

        window.tasks.submit(workspace.adopt_model, session.project, path, lane="write", on_done=adopted,
                            current=("project",))

    def time_on_device(self, path: str) -> None:
        """The Devices tab with B chosen; its bench starts on the selected device, if there is one."""
        window = self.window
        if not path:
            return
        panel = window.devices_panel
        window.devices_dock.show()
        window.devices_dock.raise_()
        panel.model_path.setText(path)
        device = panel.selected_device()
        if device is None:
            panel.status.setText(NO_DEVICE)
            window.statusBar().showMessage("No device to time B on: add one in the Devices tab", 10000)
            return
        panel.run_bench(device)
