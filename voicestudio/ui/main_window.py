"""The workstation window: clip list, synchronized views, label panel, status bar.

The window holds the state (project, detector, threshold, clip shown) and
routes work: every database access, decode and prediction runs through
``Tasks`` on a worker thread, and results are applied here on the main
thread — results for a project or model no longer shown are dropped by
``Tasks`` (``current=`` kinds, bumped here when they change). Menus and
shortcuts come from ``ui/actions.py``; errors go to a banner that stays.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from voicestudio.annotators import AnnotatorError, check_annotator
from voicestudio.audio.display import MAX_DETAIL_S, load_detail, stream_envelope
from voicestudio.audio.features import FeatureSpec, load_fast_fft
from voicestudio.dataset import workspace
from voicestudio.dataset.audit import audit_table, write_threshold
from voicestudio.dataset.clipview import LoadedClip, label_records, load_clip, predict_and_store
from voicestudio.dataset.cliptable import QueueRequest
from voicestudio.dataset.export import export_dataset
from voicestudio.dataset.importer import import_paths
from voicestudio.dataset.labels import label_clip, undo_last
from voicestudio.dataset.scoring import score_project
from voicestudio.errors import ModelError
from voicestudio.model.detector import DEFAULT_MODEL
from voicestudio.progress import Progress
from voicestudio.settings import Settings, default_annotator, save_settings
from voicestudio.store.project import PROJECT_SUFFIX
from voicestudio.ui.audit_panel import AuditPanel, scrolling
from voicestudio.ui.clip_list import ClipList
from voicestudio.ui.clip_views import ClipViews
from voicestudio.ui.actions import WindowState, build_actions, build_menus, update_enabled
from voicestudio.ui.devices_panel import DevicesPanel
from voicestudio.ui.export_dialog import ExportDialog
from voicestudio.ui.job_bar import JobBar
from voicestudio.ui.label_panel import LabelPanel, SessionProgress
from voicestudio.ui.model_panel import ModelPanel
from voicestudio.ui.notices import ErrorBanner
from voicestudio.ui.playback import Player
from voicestudio.ui.project_repair import ProjectRepair
from voicestudio.ui.shortcuts import ShortcutOverlay
from voicestudio.ui.tasks import MainThreadGC, Tasks

log = logging.getLogger(__name__)

CACHE_SIZE = 8  # opened clips kept for going back and forth
QUEUE_SETTLE_MS = 150  # threshold edits settle this long before queues are recomputed
AUDIT_SETTLE_MS = 400  # labels, scores and threshold settle this long before the audit is recomputed
CHANGE_POLL_MS = 2000  # how often the window looks for labels written by other programs
LOOKBACK_EVENTS = 200  # event ids re-read each time: PostgreSQL may commit ids out of order
LONG_CLIP_JOB = "Preparing the long recording"


class MainWindow(QMainWindow):
    clip_shown = Signal(int)  # clip id, once its views are drawn (tests and benchmarks wait on it)
    project_opened = Signal(str)
    label_written = Signal(dict)  # the event, once it is in the database
    audit_shown = Signal(object)  # the Audit, once the panel shows it
    export_finished = Signal(object)  # the ExportResult
    labels_refreshed = Signal(int)  # clips whose labels other programs changed, once shown

    def __init__(self, settings: Settings, *, settings_file: Path | None = None):
        super().__init__()
        self.settings = settings
        self.settings_file = settings_file
        self.tasks = Tasks(on_error=self.show_error, parent=self)
        self.gc = MainThreadGC(parent=self)
        self.ws: workspace.Workspace | None = None
        self.threshold = 0.5
        self.loaded: LoadedClip | None = None
        self.current_clip_id: int | None = None
        self.cache: OrderedDict[int, LoadedClip] = OrderedDict()
        self.loading: set[int] = set()
        self.write_in_flight = False
        self.session_progress = SessionProgress()
        self._closing = False
        self.last_error: str | None = None

        self.setWindowTitle("VoiceStudio")
        self.setAcceptDrops(True)
        self.actions_by_name = build_actions(self)
        self._build_widgets()
        self._build_menus()
        self.update_commands()
        self._restore_geometry()
        self._queue_timer = QTimer(self, singleShot=True, interval=QUEUE_SETTLE_MS)
        self._queue_timer.timeout.connect(self._recompute_queue)
        self._audit_timer = QTimer(self, singleShot=True, interval=AUDIT_SETTLE_MS)
        self._audit_timer.timeout.connect(self.refresh_audit)
        # Other annotators (and the CLI) write to the same project: their labels show up here.
        self._seen_events: set[int] = set()
        self._seen_max = 0
        self._change_poll_busy = False
        self._change_timer = QTimer(self, interval=CHANGE_POLL_MS)
        self._change_timer.timeout.connect(self._poll_changes)
        self.views.show_message("Opening the project…")

    # Building ------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.views = ClipViews()
        self.error_banner = ErrorBanner()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.error_banner)
        layout.addWidget(self.views)
        self.setCentralWidget(central)
        self.overlay = ShortcutOverlay(central)

        self.clip_list = ClipList()
        self.clip_list.set_queue_name(self.settings.queue)
        self.clip_list.clip_selected.connect(self.show_clip)
        self.clip_list.request_changed.connect(self._recompute_queue)
        self.list_dock = self._dock("Clips", self.clip_list, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.label_panel = LabelPanel(self.actions_by_name)
        self.label_dock = self._dock("Label", self.label_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.audit_panel = AuditPanel()
        self.audit_dock = self._dock("Audit", scrolling(self.audit_panel), Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.label_dock, self.audit_dock)
        self.model_panel = ModelPanel(self.tasks, self._model_path)
        self.model_dock = self._dock("Model", self.model_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.devices_panel = DevicesPanel(self.tasks, lambda: self.ws.project if self.ws else None,
                                          self._model_path, self.show_error)
        self.devices_dock = self._dock("Devices", scrolling(self.devices_panel), Qt.DockWidgetArea.RightDockWidgetArea)
        for dock in (self.model_dock, self.devices_dock):
            self.tabifyDockWidget(self.audit_dock, dock)
        self.model_dock.visibilityChanged.connect(self._model_visibility)
        self.label_dock.raise_()
        self.audit_dock.visibilityChanged.connect(self._audit_visibility)
        self.audit_panel.cell_clicked.connect(self.show_cell)
        self.audit_panel.settings_changed.connect(self._audit_settings_changed)
        self.audit_panel.threshold_chosen.connect(self._threshold_chosen)
        self.audit_panel.write_card_requested.connect(self.write_threshold_to_card)

        toolbar = QToolBar("Model")
        toolbar.setObjectName("modelToolbar")
        self.model_label = QLabel("no model")
        self.threshold_box = QDoubleSpinBox()
        self.threshold_box.setRange(0.0, 1.0)
        self.threshold_box.setDecimals(3)
        self.threshold_box.setSingleStep(0.01)
        self.threshold_box.setKeyboardTracking(False)
        self.threshold_box.setToolTip("Decision threshold: clips scoring at or above it are predicted human")
        self.threshold_box.valueChanged.connect(self.set_threshold)
        toolbar.addWidget(QLabel(" Model: "))
        toolbar.addWidget(self.model_label)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Threshold: "))
        toolbar.addWidget(self.threshold_box)
        self.addToolBar(toolbar)

        self.player = Player(self)
        self.player.position_changed.connect(self.views.set_cursor)
        self.views.seek_requested.connect(self.seek)
        self.views.range_settled.connect(self._range_settled)
        self.views.threshold_dragged.connect(self.threshold_box.setValue)

        self.job_bar = JobBar(self.tasks)
        self.statusBar().addPermanentWidget(self.job_bar)
        self.playback_note = QLabel("")
        self.statusBar().addPermanentWidget(self.playback_note)
        if not self.player.available:
            self.playback_note.setText("no audio output")
            self.playback_note.setToolTip(self.player.unavailable_reason)

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}Dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        """The menus from the command table, plus what Qt makes: recent projects and the docks' toggles."""
        self.repair = ProjectRepair(self)
        menus = build_menus(self.menuBar(), self.actions_by_name)
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_actions = menus["File"].actions()
        after_open = file_actions[file_actions.index(self.actions_by_name["open_project"]) + 1]
        menus["File"].insertMenu(after_open, self.recent_menu)
        self.auto_advance = self.actions_by_name["auto_advance"]
        self.auto_advance.setChecked(self.settings.auto_advance)
        menus["View"].addSeparator()
        for dock in (self.list_dock, self.label_dock, self.audit_dock, self.model_dock, self.devices_dock):
            menus["View"].addAction(dock.toggleViewAction())

    def window_state(self) -> WindowState:
        ws = self.ws
        return WindowState(
            has_project=ws is not None, has_clip=self.loaded is not None,
            writable=ws is not None and not ws.project.read_only,
            builtin_model=self._model_is_builtin(), audio_output=self.player.available)

    def _model_is_builtin(self) -> bool:
        detector = self.ws.model.detector if self.ws is not None else None
        return detector is not None and Path(detector.path).resolve() == DEFAULT_MODEL.resolve()

    def update_commands(self) -> None:
        """The project, clip or model changed: enable what can be done now."""
        state = self.window_state()
        update_enabled(self.actions_by_name, state)
        self.audit_panel.set_card_writable(not state.builtin_model)

    def _restore_geometry(self) -> None:
        state = QSettings()
        geometry, docks = state.value("window/geometry"), state.value("window/state")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 860)
        if isinstance(docks, QByteArray) and not docks.isEmpty():
            self.restoreState(docks)
        else:
            self.resizeDocks([self.list_dock, self.label_dock], [470, 330], Qt.Orientation.Horizontal)

    # Messages --------------------------------------------------------------------
    def show_error(self, error) -> None:
        """An error that needs attention: the banner keeps it until dismissed (and the log has it)."""
        text = str(error) if str(error) else type(error).__name__
        self.last_error = text
        log.warning("%s", text, exc_info=error if isinstance(error, BaseException) else None)
        self.error_banner.add(text)

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings, self.settings_file)
        except OSError as exc:
            self.show_error(f"could not save settings: {exc}")

    # Projects ----------------------------------------------------------------------
    def open_project(self, target: str) -> None:
        """Open the project at ``target`` on a worker; the clip list fills when it is ready."""
        target = str(target)

        def opening(progress, cancel):
            return workspace.open_workspace(target, model_path=self.settings.model_path,
                                            annotator=self.settings.annotator, progress=progress)

        self.tasks.start_job(f"Opening {Path(target).name}", opening, on_done=self._project_ready,
                             on_error=lambda exc: self._project_failed(target, exc))

    def _project_failed(self, target: str, exc) -> None:
        self.show_error(exc)
        if self.ws is None:
            self.views.show_message(f"Could not open the project {target}:\n{exc}\n\n"
                                    "Use File ▸ New project or File ▸ Open project.")

    def _project_ready(self, ws: workspace.Workspace) -> None:
        if self._closing:
            ws.project.close()
            return
        old, self.ws = self.ws, ws
        if old is not None:
            old.project.close()
        self.tasks.bump("project")  # every result for the old project is dropped when it arrives
        self.write_in_flight = False  # a write to the old project still finishes, but answers no one here
        self.cache.clear()
        self.loaded = self.current_clip_id = None
        self.settings.remember_project(ws.target)
        self._save_settings()
        self.setWindowTitle(f"VoiceStudio — {ws.project.label}")
        self._apply_model(ws.model)
        self.clip_list.model.set_table(ws.table, self._queue_request())
        if ws.created_demo:
            self.statusBar().showMessage("This is the demo project: label with H / N / U, press ? for every shortcut", 20000)
        if len(ws.table) == 0:
            self.views.show_message("This project has no clips yet.\nDrop audio files or folders here, "
                                    "or use File ▸ Import.")
        else:
            self._select_first()
        self._show_session()
        self.devices_panel.refresh()
        self._watch_changes()
        if np.isnan(ws.table.score).any():
            self.score_rest()  # the queues that use scores need every clip scored
        self.schedule_audit()
        self.update_commands()
        self.project_opened.emit(ws.target)
        load_fast_fft()  # the window computes spectrograms: pay scipy.fft's import once, now

    def new_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New project", str(Path.home() / f"voices{PROJECT_SUFFIX}"),
                                              f"VoiceStudio projects (*{PROJECT_SUFFIX})")
        if path:
            if not path.endswith(PROJECT_SUFFIX):
                path += PROJECT_SUFFIX
            self.open_project(path)

    def choose_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", str(Path.home()),
                                              f"VoiceStudio projects (*{PROJECT_SUFFIX});;All files (*)")
        if path:
            self.open_project(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for target in self.settings.recent_projects:
            action = self.recent_menu.addAction(target)
            action.triggered.connect(lambda _=False, t=target: self.open_project(t))
        if not self.settings.recent_projects:
            self.recent_menu.addAction("(none)").setEnabled(False)

    # Models and threshold ----------------------------------------------------------------
    @property
    def spec(self) -> FeatureSpec:
        detector = self.ws.model.detector if self.ws else None
        return detector.spec if detector is not None else FeatureSpec()

    def _apply_model(self, model: workspace.ModelChoice) -> None:
        self.ws.model = model
        self.tasks.bump("model")
        self.loading.clear()  # requests for the old model are dropped: a clip may be requested again
        detector = model.detector
        self.model_label.setText(detector.card.name if detector is not None else "none")
        self.model_label.setToolTip(str(detector.path) if detector is not None else "")
        if model.warning:
            self.show_error(model.warning)
        self.ws.table.set_scores(model.scores)
        self.threshold = self.settings.threshold if self.settings.threshold is not None else model.threshold
        self.threshold_box.blockSignals(True)
        self.threshold_box.setValue(self.threshold)
        self.threshold_box.blockSignals(False)
        if not self.model_dock.visibleRegion().isEmpty():  # a tab behind another is "visible" but unseen
            self.model_panel.inspect_current()
        else:
            self.model_panel.inspection = None  # read again when the panel is shown
        self.update_commands()

    def _model_path(self) -> str | None:
        detector = self.ws.model.detector if self.ws else None
        return str(detector.path) if detector is not None else None

    def _model_visibility(self, visible: bool) -> None:
        if visible and self.model_panel.inspection is None:
            self.model_panel.inspect_current()

    def use_builtin_model(self) -> None:
        self.switch_model("")

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", str(Path.home()),
                                              "TensorFlow Lite models (*.tflite);;All files (*)")
        if path:
            self.switch_model(path)

    def switch_model(self, path: str) -> None:
        """Load another model; the visible clip is re-scored at once, the rest in the background."""
        if self.ws is None:
            return
        self.tasks.submit(workspace.load_model, self.ws.project, path, fallback=False, current=("project",),
                          on_done=lambda m: self._model_loaded(path, m))

    def _model_loaded(self, path: str, model: workspace.ModelChoice) -> None:
        if self.ws is None or model.detector is None:
            self.show_error(model.warning or "no model loaded")
            return
        self.settings.model_path = path
        self.settings.threshold = None  # a new model brings its own card's threshold
        self._save_settings()
        self._apply_model(model)
        self.cache.clear()
        self.clip_list.model.refresh_scores()
        self._recompute_queue()
        if self.current_clip_id is not None:
            self.show_clip(self.current_clip_id, force=True)
        self.score_rest()

    def score_rest(self) -> None:
        """Score every clip without a prediction from the current model, in the background."""
        ws = self.ws
        if ws is None or ws.model.detector is None:
            return
        def scoring(progress, cancel):
            report = score_project(ws.project, ws.model.detector, progress=progress, cancel=cancel, workers=1)
            return report, workspace.model_scores(ws.project, ws.model.model_id)

        def scored(result):
            report, scores = result
            ws.table.set_scores(scores)
            self.clip_list.model.refresh_scores()
            self.schedule_audit()
            failed = ""
            if report.failures:  # each failed clip shows its reason when opened; the first one is named here
                first = report.failures[0]
                failed = f", {len(report.failures)} failed ({Path(first.path).name}: {first.reason})"
            if report.scored or report.failures:
                self.statusBar().showMessage(f"Scored {report.scored} clips{failed}", 10000)

        self.tasks.start_job(f"Scoring with {ws.model.detector.card.name}", scoring, on_done=scored,
                             current=("project", "model"))

    def set_threshold(self, value: float) -> None:
        self.threshold = float(value)
        card = self.ws.model.threshold if self.ws is not None and self.ws.model.detector is not None else None
        # Remembered only when it differs from the card's, so a new model brings its own.
        self.settings.threshold = None if card is not None and abs(self.threshold - card) < 1e-9 else self.threshold
        self.views.set_threshold(self.threshold)
        if self.loaded is not None:
            self.label_panel.show_verdict(self.loaded.prediction, self.threshold, self.loaded.prediction_error)
        self._queue_timer.start()  # the queue and its disagreement column follow once the value settles
        self.schedule_audit()

    def _queue_request(self) -> QueueRequest:
        return QueueRequest(self.clip_list.queue_name, self.threshold, self.settings.uncertain_margin,
                            self.clip_list.filter.text().strip(), self.audit_panel.consensus())

    def _recompute_queue(self) -> None:
        self.settings.queue = self.clip_list.queue_name
        model = self.clip_list.model
        request = self._queue_request()
        if model.table is None or request == model.request:
            return
        model.set_request(request)
        if self.current_clip_id is None or not self.clip_list.select_clip(self.current_clip_id):
            self._select_first()
        self._show_session()

    # Audit -----------------------------------------------------------------------------
    def schedule_audit(self) -> None:
        """Labels, scores or the threshold changed: audit again once they settle (if the panel is seen)."""
        if self.audit_dock.isVisible():
            self._audit_timer.start()

    def _audit_visibility(self, visible: bool) -> None:
        if visible:
            self._audit_timer.start()

    def _audit_settings_changed(self) -> None:
        self._queue_timer.start()  # the cell and mistake queues follow the consensus rule
        self._audit_timer.start()

    def refresh_audit(self) -> None:
        """Audit a snapshot of the clip table on a worker; a newer request drops older results."""
        ws = self.ws
        if ws is None:
            return
        self.tasks.bump("audit")  # a newer request drops older results
        detector = ws.model.detector

        def done(audit):
            self.audit_panel.show_audit(audit)
            self.audit_shown.emit(audit)

        self.tasks.submit(audit_table, ws.table.snapshot(), threshold=self.threshold,
                          consensus=self.audit_panel.consensus(), goals=(self.audit_panel.goal(),),
                          model_name=detector.card.name if detector is not None else None, on_done=done,
                          current=("project", "audit"))

    def show_cell(self, cell: str) -> None:
        """A confusion-matrix cell was clicked: list its clips."""
        self.clip_list.set_queue_name(cell)
        self._recompute_queue()

    def _threshold_chosen(self, value: float) -> None:
        self.threshold_box.setValue(round(value, 3))

    def write_threshold_to_card(self, pick) -> None:
        ws = self.ws
        if ws is None or ws.model.detector is None:
            return
        path = str(ws.model.detector.path)

        def written(card_path):
            self.statusBar().showMessage(f"Threshold {pick.threshold:g} written to {card_path}", 15000)
            self.switch_model(path)  # reload: the card's threshold becomes the window's

        self.tasks.submit(write_threshold, ws.model.detector, pick, consensus=self.audit_panel.consensus(),
                          source=ws.project.label, on_done=written, current=("project",))

    # Showing a clip --------------------------------------------------------------------
    def _select_first(self) -> None:
        """The queue's first clip, or a word on why there is none."""
        if self.clip_list.model.rowCount():
            self.clip_list.select_row(0)
        elif self.ws is not None and len(self.ws.table):
            self.current_clip_id = self.loaded = None
            self.update_commands()
            self.views.show_message(f"No clips in the queue “{self.clip_list.queue.currentText()}”.\n"
                                    "Choose another queue above the clip list.")

    def show_clip(self, clip_id: int, force: bool = False) -> None:
        if self.ws is None or (clip_id == self.current_clip_id and not force):
            return
        self.current_clip_id = clip_id
        self.player.stop()
        if clip_id in self.cache:
            self.cache.move_to_end(clip_id)
            self._apply(self.cache[clip_id])
        else:
            self._request(clip_id)
        self._prefetch()

    def _request(self, clip_id: int) -> None:
        if clip_id in self.loading:
            return
        self.loading.add(clip_id)
        ws = self.ws
        model = ws.model

        def done(loaded: LoadedClip):
            self.loading.discard(clip_id)
            self.cache[clip_id] = loaded
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
            if loaded.prediction is not None:
                self._set_score(clip_id, loaded.prediction.clip_score)
            if clip_id == self.current_clip_id:
                self._apply(loaded)

        def failed(exc):
            self.loading.discard(clip_id)
            if clip_id == self.current_clip_id:
                self.views.show_message(f"Could not open clip {clip_id}:\n{exc}")
            self.show_error(exc)

        self.tasks.submit(load_clip, ws.project, clip_id, self.spec, detector=model.detector,
                          model_id=model.model_id, on_done=done, on_error=failed, current=("project", "model"))

    def _prefetch(self) -> None:
        """Open the clip that comes next in the queue before it is asked for."""
        row = self.clip_list.current_row()
        following = self.clip_list.model.next_row(row, skip_labelled=self._skips_labelled())
        clip_id = self.clip_list.model.clip_id(following) if following is not None else None
        if clip_id is not None and clip_id not in self.cache:
            self._request(clip_id)

    def _apply(self, loaded: LoadedClip) -> None:
        self.loaded = loaded
        self.update_commands()
        self.label_panel.show_clip(loaded, self.settings.annotator)
        self.label_panel.show_verdict(loaded.prediction, self.threshold, loaded.prediction_error)
        if loaded.error is not None:
            self.player.set_audio([], 16000)
            advice = ("Its labels stay with the recording it was made from; import the folder again to add "
                      "the new audio. Move on with → ." if loaded.source_changed
                      else "You can still label it, or move on with → .")
            self.views.show_message(f"This clip cannot be shown.\n\n{loaded.error}\n\n{advice}")
            self.clip_shown.emit(loaded.clip_id)
            return
        opened = loaded.opened
        # Short clips draw every sample; the envelope is the overview of a long recording.
        self.views.show_clip(opened.duration_s, opened.detail, opened.envelope if opened.is_long else None)
        self.views.set_prediction(loaded.prediction, self.threshold)
        self.player.set_audio(opened.detail.samples, opened.detail.sample_rate, opened.detail.start_s)
        if opened.is_long:
            self._prepare_long_clip(loaded)
        self.clip_shown.emit(loaded.clip_id)

    def _prepare_long_clip(self, loaded: LoadedClip) -> None:
        """A long recording: its envelope and (if missing) its prediction, in the background."""
        clip, ws = loaded.clip, self.ws
        model = ws.model

        def work(progress, cancel):
            envelope = stream_envelope(clip.path, clip.start_s, clip.end_s, cancel=cancel,
                                       progress=lambda done, total: progress(Progress(done, total, clip.path)))
            prediction, failure = loaded.prediction, None
            if prediction is None and model.detector is not None and not cancel.is_set():
                progress(Progress(0, None, "predicting"))
                try:
                    prediction = predict_and_store(ws.project, model.detector, model.model_id, clip)
                except ModelError as exc:  # the interpreter failed on this recording: show it and why
                    failure = exc.reason
            return envelope, prediction, failure

        def done(result):
            envelope, prediction, failure = result
            updated = replace(loaded, opened=replace(loaded.opened, envelope=envelope), prediction=prediction,
                              prediction_error=failure)
            self.cache[clip.id] = updated
            if self.current_clip_id == clip.id:
                self.loaded = updated
                self.views.set_envelope(envelope)
                self.views.set_prediction(prediction, self.threshold)
                self.label_panel.show_verdict(prediction, self.threshold, failure)
            if prediction is not None:
                self._set_score(clip.id, prediction.clip_score)

        self.tasks.start_job(LONG_CLIP_JOB, work, on_done=done, current=("project", "model"))

    def _set_score(self, clip_id: int, score: float) -> None:
        """A clip was just scored: show it in its row."""
        table = self.ws.table
        row = table.row_of(clip_id)
        if row is not None and table.score[row] != score:
            table.score[row] = score
            self.clip_list.model.row_updated(row)

    def _range_settled(self, low: float, high: float) -> None:
        """Zoomed or panned a long recording: decode and draw the part on screen."""
        loaded = self.loaded
        if loaded is None or loaded.opened is None or not loaded.opened.is_long:
            return
        width = high - low
        if width > MAX_DETAIL_S:
            self.views.show_detail_hint()
            return
        detail = self.views.detail
        if detail is not None and detail.start_s <= low and high <= detail.end_s and \
                detail.end_s - detail.start_s <= 4 * width:
            return
        start, end = max(0.0, low - width / 2), min(loaded.opened.duration_s, high + width / 2)
        self.tasks.bump("detail")  # a newer range drops older results
        clip = loaded.clip

        def done(detail):
            if self.current_clip_id == clip.id:
                self.views.set_detail(detail)
                self.player.set_audio(detail.samples, detail.sample_rate, detail.start_s)

        self.tasks.submit(load_detail, clip.path, clip.start_s, start, end, self.spec, on_done=done,
                          current=("project", "detail"))

    # Labelling --------------------------------------------------------------------
    def label_human(self) -> None:
        self._label("human")

    def label_nonhuman(self) -> None:
        self._label("nonhuman")

    def label_unsure(self) -> None:
        self._label("unsure")

    def _ensure_annotator(self) -> str | None:
        if not self.settings.annotator:
            name, ok = QInputDialog.getText(self, "Your name", "Labels are stored with the annotator's name.\n"
                                            "Your name:", text=default_annotator())
            if not ok or not name.strip():
                return None
            try:
                name = check_annotator(name)
            except AnnotatorError as exc:  # never saved: every label would fail with it
                self.show_error(str(exc))
                return None
            self.settings.annotator = name
            self._save_settings()
            if self.ws is not None:
                self.ws.table.annotator = self.settings.annotator
        return self.settings.annotator

    def _label(self, value: str) -> None:
        # One label per key press: while a write is in flight, further presses are ignored.
        if self.write_in_flight or self.ws is None or self.loaded is None:
            return
        annotator = self._ensure_annotator()
        if annotator is None:
            return
        self.write_in_flight = True
        clip_id = self.loaded.clip_id
        note = self.label_panel.take_note()
        self.tasks.submit(label_clip, self.ws.project, clip_id, value, annotator=annotator, note=note,
                          lane="write", on_done=lambda event: self._labelled(event, advance=True),
                          on_error=self._write_failed, current=("project",))

    def undo_label(self) -> None:
        if self.write_in_flight or self.ws is None or not self.settings.annotator:
            return
        self.write_in_flight = True
        self.tasks.submit(undo_last, self.ws.project, annotator=self.settings.annotator, lane="write",
                          on_done=self._undone, on_error=self._write_failed, current=("project",))

    def _write_failed(self, exc) -> None:
        self.write_in_flight = False
        self.show_error(f"the label was not saved: {exc}")

    def _undone(self, event: dict | None) -> None:
        if event is None:
            self.write_in_flight = False
            self.statusBar().showMessage("Nothing left to undo", 5000)
            return
        self.session_progress.labelled = max(0, self.session_progress.labelled - 1)
        self._labelled(event, advance=False)
        self.clip_list.select_clip(event["clip_id"])  # back to the clip whose label was undone

    def _labelled(self, event: dict, *, advance: bool) -> None:
        """The event is in the database: show it, then move on."""
        self.write_in_flight = False
        ws = self.ws
        row = ws.table.record(event["clip_id"], event["annotator"], event["event_id"], event["value"])
        self._seen_events.add(event["event_id"])
        if row is not None:
            self.clip_list.model.row_updated(row)
        self._refresh_history(event["clip_id"])
        if advance:
            self.session_progress.labelled += 1
        self._show_session()
        self.schedule_audit()
        self.label_written.emit(event)
        if advance and self.auto_advance.isChecked():
            self.next_clip()

    def _refresh_history(self, clip_id: int) -> None:
        """The clip's history changed: re-read it (cheap) and redraw the panel if it is shown."""
        ws = self.ws

        def read():
            with ws.project.session() as session:
                return label_records(session, clip_id)

        def done(history):
            if clip_id in self.cache:
                self.cache[clip_id] = replace(self.cache[clip_id], history=history)
            if self.loaded is not None and self.loaded.clip_id == clip_id:
                self.loaded = replace(self.loaded, history=history)
                self.label_panel.show_clip(self.loaded, self.settings.annotator)

        self.tasks.submit(read, on_done=done, current=("project",))

    def _show_session(self) -> None:
        self.label_panel.show_session(self.session_progress, self.clip_list.model.remaining())

    def _skips_labelled(self) -> bool:
        return self.clip_list.queue_name in ("unlabelled", "uncertain")

    def edit_note(self) -> None:
        self.label_panel.note.setFocus()

    def next_clip(self) -> None:
        row = self.clip_list.model.next_row(self.clip_list.current_row(), skip_labelled=self._skips_labelled())
        if row is None:
            self.statusBar().showMessage("End of the queue", 5000)
            return
        self.clip_list.select_row(row)

    def previous_clip(self) -> None:
        row = self.clip_list.current_row()
        if row > 0:
            self.clip_list.select_row(row - 1)

    def toggle_auto_advance(self) -> None:
        self.settings.auto_advance = self.auto_advance.isChecked()

    # Playback and view ----------------------------------------------------------------
    def toggle_play(self) -> None:
        if not self.player.available:
            self.statusBar().showMessage(self.player.unavailable_reason, 5000)
            return
        self.player.loop = self.views.loop_region() if self.actions_by_name["toggle_loop"].isChecked() else None
        self.player.toggle()

    def seek(self, seconds: float) -> None:
        self.views.set_cursor(seconds)
        self.player.seek(seconds)

    def toggle_region(self) -> None:
        self.views.toggle_region()

    def toggle_loop(self) -> None:
        looping = self.actions_by_name["toggle_loop"].isChecked()
        self.player.loop = self.views.loop_region() if looping else None
        self.statusBar().showMessage("Loop on (press R to select the region)" if looping else "Loop off", 3000)

    def zoom_in(self) -> None:
        self.views.zoom(0.5)

    def zoom_out(self) -> None:
        self.views.zoom(2.0)

    def zoom_fit(self) -> None:
        self.views.zoom_fit()

    def pan_left(self) -> None:
        self.views.pan(-0.25)

    def pan_right(self) -> None:
        self.views.pan(0.25)

    def show_shortcuts(self) -> None:
        self.overlay.toggle()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.overlay.hide()
            self.views.setFocus()
        super().keyPressEvent(event)

    # Import -------------------------------------------------------------------
    def choose_import_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import audio files", str(Path.home()))
        if paths:
            self.import_paths(paths)

    def choose_import_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Import a folder", str(Path.home()))
        if path:
            self.import_paths([path])

    def import_paths(self, paths: list[str]) -> None:
        """Import files and folders with progress and cancel, then score what is new."""
        ws = self.ws
        if ws is None:
            self.show_error("open a project before importing")
            return

        def importing(progress, cancel):
            report = import_paths(ws.project, paths, progress=progress, cancel=cancel)
            return report, workspace.reload_table(ws.project, self.settings.annotator, ws.model.model_id)

        def imported(result):
            report, table = result
            self._replace_table(table)
            failed = f", {len(report.failures)} failed (see the log)" if report.failures else ""
            for problem in report.failures:
                log.warning("import: %s: %s", problem.path, problem.reason)
            cancelled = " (cancelled)" if report.cancelled else ""
            self.statusBar().showMessage(f"Imported {report.clips_added} new clips{failed}{cancelled}", 15000)
            self.score_rest()

        self.tasks.start_job("Importing", importing, on_done=imported, current=("project",))

    def choose_import_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import labels", str(Path.home()),
                                              "Labels (*.csv *.json);;CSV (*.csv);;Label Studio JSON (*.json)")
        if path:
            self.import_label_file(path)

    def import_label_file(self, path: str) -> None:
        """Labels from a CSV or a Label Studio export, in one transaction; the list follows."""
        ws = self.ws
        if ws is None or self._ensure_annotator() is None:
            return

        def importing(progress, cancel):
            from voicestudio.dataset.interchange import import_labels

            report = import_labels(ws.project, path, default_annotator=self.settings.annotator)
            return report, workspace.reload_table(ws.project, self.settings.annotator, ws.model.model_id)

        def imported(result):
            report, table = result
            self._replace_table(table)
            for problem in report.failures:
                log.warning("label import: %s: %s", path, problem)
            failed = f", {len(report.failures)} rows failed (see the log)" if report.failures else ""
            self.statusBar().showMessage(f"Imported {report.labelled} labels ({report.unchanged} unchanged){failed}", 15000)

        self.tasks.start_job(f"Importing labels from {Path(path).name}", importing, on_done=imported,
                             current=("project",))

    # Other programs' labels -------------------------------------------------------
    def refresh(self) -> None:
        """Read the whole project again (View ▸ Refresh, F5); new clips imported elsewhere appear."""
        ws = self.ws
        if ws is None:
            return

        def read():
            return workspace.last_event_id(ws.project), workspace.reload_table(
                ws.project, self.settings.annotator, ws.model.model_id)

        def done(result):
            self._seen_max, table = result
            self._seen_events.clear()
            self._replace_table(table)
            self.statusBar().showMessage("Refreshed from the project", 5000)

        self.tasks.submit(read, on_done=done, current=("project",))

    def _watch_changes(self) -> None:
        def started(last_id: int) -> None:
            self._seen_max = last_id
            self._seen_events.clear()
            self._change_timer.start()

        self.tasks.submit(workspace.last_event_id, self.ws.project, on_done=started, current=("project",))

    def _poll_changes(self) -> None:
        ws = self.ws
        if ws is None or self._change_poll_busy or self._closing:
            return
        self._change_poll_busy = True

        def failed(exc) -> None:
            self._change_poll_busy = False  # a busy or unreachable database: try again next time

        self.tasks.submit(workspace.changes_since, ws.project, max(0, self._seen_max - LOOKBACK_EVENTS),
                          on_done=lambda changes: self._apply_changes(ws, changes), on_error=failed)

    def _apply_changes(self, ws, changes: workspace.Changes) -> None:
        self._change_poll_busy = False
        if ws is not self.ws:
            return
        newest = int(ws.table.ids.max()) if len(ws.table) else 0
        if changes.clips != len(ws.table) or changes.newest_clip != newest:
            self.refresh()  # clips were imported (or replaced) elsewhere
            return
        rows, clips = set(), set()
        for event_id, clip_id, annotator, value in changes.events:
            if event_id in self._seen_events:
                continue
            self._seen_events.add(event_id)
            row = ws.table.record(clip_id, annotator, event_id, value)
            if row is not None:
                rows.add(row)
                clips.add(clip_id)
        if changes.events:
            self._seen_max = max(self._seen_max, changes.events[-1][0])
            self._seen_events = {i for i in self._seen_events if i > self._seen_max - 2 * LOOKBACK_EVENTS}
        if not rows:
            return
        for row in rows:
            self.clip_list.model.row_updated(row)
        if self.current_clip_id in clips:
            self._refresh_history(self.current_clip_id)
        self.schedule_audit()
        self.statusBar().showMessage(f"{len(rows)} clip{'s' * (len(rows) != 1)} labelled elsewhere", 5000)
        self.labels_refreshed.emit(len(rows))

    def choose_path_map(self) -> None:
        text, ok = QInputDialog.getMultiLineText(
            self, "Audio locations on this machine",
            "A shared project stores each file's path as it was imported. If the audio is somewhere\n"
            "else on this machine, give one STORED_PREFIX=LOCAL_PREFIX per line, e.g.\n"
            "/mnt/team/audio=/Volumes/team/audio", self.settings.path_map.replace(";", "\n"))
        if ok:
            self.set_path_map(text)

    def set_path_map(self, text: str) -> bool:
        """Use and remember a path map; False (and a message) when it is malformed."""
        from voicestudio import pathmap

        try:
            parsed = pathmap.PathMap.parse(text)
        except ValueError as exc:
            self.show_error(exc)
            return False
        self.settings.path_map = "; ".join(f"{stored}={local}" for stored, local in parsed.pairs)
        self._save_settings()
        pathmap.use(parsed)
        self.cache.clear()  # clips read through the old map are read again
        if self.current_clip_id is not None:
            self.show_clip(self.current_clip_id, force=True)
        self.statusBar().showMessage(f"Audio locations: {parsed.describe() or 'as stored'}", 10000)
        return True

    def _replace_table(self, table) -> None:
        self.ws.table = table
        self.clip_list.model.set_table(table, self._queue_request())
        if self.current_clip_id is None or not self.clip_list.select_clip(self.current_clip_id):
            self.current_clip_id = None
            self._select_first()
        self._show_session()
        self.schedule_audit()
        self.update_commands()

    def choose_export_labels(self) -> None:
        if self.ws is None:
            return
        path, chosen = QFileDialog.getSaveFileName(self, "Export labels", str(Path.home() / "labels.csv"),
                                                   "CSV (*.csv);;Label Studio JSON (*.json)")
        if path:
            if not path.lower().endswith((".csv", ".json")):
                path += ".json" if "json" in chosen.lower() else ".csv"
            self.export_label_file(path)

    def export_label_file(self, path: str) -> None:
        from voicestudio.dataset.interchange import export_labels

        def done(result):
            self.statusBar().showMessage(f"Wrote {result.labels} labels of {result.clips} clips to {result.path}", 15000)

        # The save dialog has asked before replacing a file; the project itself is refused all the same.
        self.tasks.submit(export_labels, self.ws.project, path, force=True, on_done=done)

    def choose_export(self) -> None:
        if self.ws is None:
            return
        annotators = sorted({who for votes in self.ws.table.votes.values() for who in votes})
        dialog = ExportDialog(self.ws.project.label, annotators, self.audit_panel.consensus(), self)
        if dialog.exec():
            self.export(dialog.target(), dialog.options())

    def export(self, out, options) -> None:
        """Export the labelled set as a job: progress in the status bar, Cancel leaves nothing behind."""
        ws = self.ws

        def exporting(progress, cancel):
            return export_dataset(ws.project, out, options, detector=ws.model.detector, progress=progress, cancel=cancel)

        def exported(result):
            if result.cancelled:
                self.statusBar().showMessage("Export cancelled: nothing was written", 10000)
            else:
                for failure in result.failures:
                    log.warning("export: %s (clip %s): %s", failure.source, failure.clip_id, failure.reason)
                failed = f"; {len(result.failures)} clips failed (see the log)" if result.failures else ""
                self.statusBar().showMessage(f"Exported {len(result.written)} clips to {result.out}{failed}", 20000)
            self.export_finished.emit(result)

        self.tasks.start_job(f"Exporting to {Path(out).name}", exporting, on_done=exported)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    # Closing -------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self._closing = True
        self._audit_timer.stop()
        self._queue_timer.stop()
        self._change_timer.stop()
        self.player.stop()
        state = QSettings()
        state.setValue("window/geometry", self.saveGeometry())
        state.setValue("window/state", self.saveState())
        state.sync()
        self.tasks.shutdown()  # waits for a label write in flight: it is never dropped
        self._save_settings()
        if self.ws is not None:
            self.ws.project.close()
        self.gc.stop()
        super().closeEvent(event)
