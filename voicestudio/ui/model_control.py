"""The model the window predicts with: switching it, scoring the clips it has not scored,
and writing a chosen threshold to its card."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from voicestudio.dataset import workspace
from voicestudio.dataset.audit import write_threshold
from voicestudio.dataset.scoring import score_project


class ModelControl(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        # (project, model path) the user chose in this session ("" = the built-in one): opening that project
        # again keeps it; any other project opens on its own default model (workspace.open_workspace).
        self.chosen: tuple[str, str] | None = None

    def chosen_for(self, target: str) -> str | None:
        """The model the user chose for ``target`` in this session, or None: the project's default."""
        return self.chosen[1] if self.chosen is not None and self.chosen[0] == str(target) else None

    def use_builtin(self) -> None:
        self.switch("")

    def choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a model", str(Path.home()),
                                              "TensorFlow Lite models (*.tflite);;All files (*)")
        if path:
            self.switch(path)

    def switch(self, path: str, *, remember: bool = True) -> None:
        """Load another model; the visible clip is re-scored at once, the rest in the background.

        ``remember``: the user chose it (kept for this project in this session, and as their own
        default for projects without one); else the project's default was (``CompareControl.adopt``).
        """
        session = self.window.session
        if session is None:
            return
        self.window.tasks.submit(workspace.load_model, session.project, path, fallback=False, current=("project",),
                                 on_done=lambda model: self._loaded(path, model, remember))

    def _loaded(self, path: str, model: workspace.ModelChoice, remember: bool = True) -> None:
        window = self.window
        if window.session is None or model.detector is None:
            window.show_error(model.warning or "no model loaded")
            return
        target = window.session.ws.target
        if remember:
            window.settings.model_path = path
            self.chosen = (target, path)
        elif self.chosen_for(target) is not None:
            self.chosen = None  # the project's default from now on
        window.settings.threshold = None  # a new model brings its own card's threshold
        window.save_settings()
        window.use_model(model)
        window.clips.show_again()
        self.score_rest()

    def score_rest(self) -> None:
        """Score every clip without a prediction from the current model, in the background."""
        window, session = self.window, self.window.session
        if session is None or session.detector is None:
            return
        detector, model_id = session.detector, session.model.model_id

        def scoring(progress, cancel):
            report = score_project(session.project, detector, progress=progress, cancel=cancel, workers=1)
            return report, workspace.model_scores(session.project, model_id)

        def scored(result):
            report, scores = result
            window.apply_changes(session.set_scores(scores))
            failed = ""
            if report.failures:  # each failed clip shows its reason when opened; the first one is named here
                first = report.failures[0]
                failed = f", {len(report.failures)} failed ({Path(first.path).name}: {first.reason})"
            if report.scored or report.failures:
                window.statusBar().showMessage(f"Scored {report.scored} clips{failed}", 10000)

        window.tasks.start_job(f"Scoring with {detector.card.name}", scoring, on_done=scored,
                               current=("project", "model"))

    def write_threshold_to_card(self, pick) -> None:
        window, session = self.window, self.window.session
        if session is None or session.detector is None:
            return
        path = str(session.detector.path)

        def written(card_path):
            window.statusBar().showMessage(f"Threshold {pick.threshold:g} written to {card_path}", 15000)
            self.switch(path)  # reload: the card's threshold becomes the window's

        window.tasks.submit(write_threshold, session.detector, pick, consensus=window.audit_panel.consensus(),
                            source=session.project.label, on_done=written, current=("project",))
