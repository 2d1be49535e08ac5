"""Model ▸ Train from labels…: the project's labels into a new model, as a background job.

The form (``TrainDialog``) says what to train; the job runs ``dataset.project_training.
train_from_project`` with per-epoch progress (loss, validation AUC) in the status bar and a
Cancel that leaves nothing behind. Without TensorFlow (the ``train`` extra, which the packaged
app leaves out) the action says what is needed instead of starting. When the model is written
it is registered in the project; the status bar gives its test AUC beside the base's on the same
clips, and ``trained`` hands it to whoever compares models.
"""

from __future__ import annotations

import importlib.util
import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QMessageBox

from voicestudio.dataset.consensus import Consensus
from voicestudio.errors import MissingExtraError, VoiceStudioError
from voicestudio.ui.train_dialog import TrainDialog


def tensorflow_missing() -> str | None:
    """Why training cannot run here, or None when it can."""
    if getattr(sys, "frozen", False) or importlib.util.find_spec("tensorflow") is None:
        return str(MissingExtraError("training a model", "train", "tensorflow"))
    return None


class TrainingControl(QObject):
    trained = Signal(object)  # the ProjectTrainResult

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.job = None

    def choose(self) -> None:
        window, session = self.window, self.window.session
        if session is None:
            return
        missing = tensorflow_missing()
        if missing:
            QMessageBox.information(window, "Train from labels", missing)
            return
        if self.job is not None:
            window.statusBar().showMessage("A model is already being trained (see the status bar)", 5000)
            return
        from voicestudio.dataset.project_training import default_output

        project = session.project
        try:
            out = default_output(project)
        except VoiceStudioError:  # a server project has no folder of its own: the user names the file
            out = None
        detector = session.detector
        from voicestudio.model.detector import DEFAULT_MODEL

        current = str(detector.path) if detector is not None and detector.path != DEFAULT_MODEL else None
        dialog = TrainDialog(out or "", current, window.audit_panel.consensus().rule, project.label, window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.start(dialog.request())

    def start(self, request) -> None:
        """Run ``request`` (a ``TrainRequest``) as a background job."""
        window, project = self.window, self.window.session.project
        from voicestudio.dataset.project_training import train_from_project

        def training(progress, cancel):
            return train_from_project(project, request.out, consensus=Consensus(request.consensus), base=request.base,
                                      epochs=request.epochs, seed=request.seed, progress=progress, cancel=cancel)

        def done(result):
            self.job = None
            if window.session is None or window.session.project is not project:
                return  # another project is open now; the model is registered in its own
            test = result.metrics.get("test", {})
            base = (result.metrics.get("base") or {}).get("test", {})
            figures = f"test AUC {_fmt(test.get('roc_auc'))}"
            if base:
                figures += f" (the base: {_fmt(base.get('roc_auc'))} on the same clips)"
            window.statusBar().showMessage(f"Trained {result.model_path.name}: {figures}", 30000)
            self.trained.emit(result)

        def failed(exc):
            self.job = None
            window.show_error(exc)

        self.job = window.tasks.start_job(f"Training {request.out.name}", training, on_done=done, on_error=failed)


def _fmt(value) -> str:
    return "?" if value is None or value != value else f"{value:.3f}"  # NaN: one class missing in the split
