"""The workstation window: it assembles the clip list, the synchronized views, the panels and
the status bar around one ``Session`` (voicestudio/dataset/session.py), and fans out what
each change touched.

The work is done by controllers, one per job: ``clips`` (ui/clip_control.py: open, cache,
prefetch, long recordings), ``labels`` (ui/label_control.py: label, undo, history),
``projects`` (ui/project_control.py: open, import, export, refresh, other programs' writes)
and ``models`` (ui/model_control.py: switch, score, write the card). Each returns what it
changed as a ``Changes`` value to ``apply_changes``, the one place that updates the list, the
views, the audit and the status bar. Every database access, decode and prediction runs
through ``Tasks`` on a worker thread; results for a project or model no longer shown are
dropped by ``Tasks`` (``current=`` kinds, bumped here when they change). Menus and shortcuts
come from ``ui/actions.py``; errors go to a banner that stays.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QDoubleSpinBox,
    QLabel,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from voicestudio.audio.features import FeatureSpec, load_fast_fft
from voicestudio.dataset import workspace
from voicestudio.dataset.audit import audit_table
from voicestudio.dataset.session import Changes, Session
from voicestudio.model.detector import DEFAULT_MODEL
from voicestudio.settings import Settings, save_settings
from voicestudio.ui.actions import WindowState, build_actions, build_menus, update_enabled
from voicestudio.ui.audit_panel import AuditPanel, scrolling
from voicestudio.ui.clip_control import ClipControl
from voicestudio.ui.clip_list import ClipList
from voicestudio.ui.clip_views import ClipViews
from voicestudio.ui.compare_control import CompareControl
from voicestudio.ui.compare_panel import ComparePanel
from voicestudio.ui.devices_panel import DevicesPanel
from voicestudio.ui.focus import KeyGuard, ReturnFocus
from voicestudio.ui.inside_control import InsideControl
from voicestudio.ui.inside_panel import InsidePanel
from voicestudio.ui.job_bar import JobBar
from voicestudio.ui.label_control import LabelControl
from voicestudio.ui.label_panel import LabelPanel
from voicestudio.ui.model_control import ModelControl
from voicestudio.ui.model_panel import ModelPanel
from voicestudio.ui.notices import ErrorBanner
from voicestudio.ui.playback import Player
from voicestudio.ui.project_control import ProjectControl
from voicestudio.ui.project_repair import ProjectRepair
from voicestudio.ui.region_control import RegionControl
from voicestudio.ui.shortcuts import ShortcutOverlay
from voicestudio.ui.tasks import MainThreadGC, Tasks
from voicestudio.ui.training_control import TrainingControl

log = logging.getLogger(__name__)

QUEUE_SETTLE_MS = 150  # threshold edits settle this long before queues are recomputed
AUDIT_SETTLE_MS = 400  # labels, scores and threshold settle this long before the audit is recomputed
HISTORY_REREADS = 8  # clips whose histories are read again after one change, at most
SIDE_SHARE = (0.27, 0.24)  # the most of the window's width the clip list and the label panels take


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
        self.session: Session | None = None
        self.closing = False
        self.last_error: str | None = None
        self.clips = ClipControl(self)
        self.labels = LabelControl(self)
        self.projects = ProjectControl(self)
        self.models = ModelControl(self)
        self.regions = RegionControl(self)
        self.training = TrainingControl(self)

        self.setWindowTitle("VoiceStudio")
        self.setAcceptDrops(True)
        self.actions_by_name = build_actions(self)
        self._build_widgets()
        self._build_menus()
        self.update_commands()
        self._restore_geometry()
        self._queue_timer = QTimer(self, singleShot=True, interval=QUEUE_SETTLE_MS)
        self._queue_timer.timeout.connect(self.recompute_queue)
        self._audit_timer = QTimer(self, singleShot=True, interval=AUDIT_SETTLE_MS)
        self._audit_timer.timeout.connect(self.refresh_audit)
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

        self.clip_list = ClipList(self.actions_by_name)
        self.clip_list.message.connect(self._list_message)
        self.label_written.connect(self.clip_list.note_written)
        self.clip_list.set_queue_name(self.settings.queue)
        self.clip_list.clip_selected.connect(self.show_clip)
        self.clip_list.request_changed.connect(self.recompute_queue)
        self.list_dock = self._dock("Clips", self.clip_list, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.label_panel = LabelPanel(self.actions_by_name)
        self.label_dock = self._dock("Label", self.label_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.audit_panel = AuditPanel()
        self.audit_dock = self._dock("Audit", scrolling(self.audit_panel), Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.label_dock, self.audit_dock)
        self.model_panel = ModelPanel(self.tasks, self._model_path)
        self.model_dock = self._dock("Model", self.model_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.devices_panel = DevicesPanel(self.tasks, lambda: self.session.project if self.session else None,
                                          self._model_path, self.show_error)
        self.devices_dock = self._dock("Devices", scrolling(self.devices_panel), Qt.DockWidgetArea.RightDockWidgetArea)
        self.inside_panel = InsidePanel()
        self.inside_dock = self._dock("Inside", self.inside_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        for dock in (self.model_dock, self.inside_dock, self.devices_dock):
            self.tabifyDockWidget(self.audit_dock, dock)
        self.model_dock.visibilityChanged.connect(self._model_visibility)
        self.label_dock.raise_()
        self.audit_dock.visibilityChanged.connect(self._audit_visibility)
        self.audit_panel.cell_clicked.connect(self.show_cell)
        self.audit_panel.settings_changed.connect(self._audit_settings_changed)
        self.audit_panel.threshold_chosen.connect(self._threshold_chosen)
        self.audit_panel.write_card_requested.connect(self.models.write_threshold_to_card)
        self.compare_panel = ComparePanel()
        # Scrolling on its own and asking for no room: the Audit's other pages keep fitting a 1280x720 window.
        compare_page = scrolling(self.compare_panel)
        compare_page.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.audit_panel.pages.addTab(compare_page, "Compare")
        self.compare = CompareControl(self, self.compare_panel)
        self.training.trained.connect(self.compare.compare_trained)  # train, then compare: one path

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
        self.views.seek_requested.connect(self.regions.clicked)
        self.views.region_drawn.connect(self.regions.drawn)
        self.views.region_adjusted.connect(self.regions.adjusted)
        self.clip_shown.connect(lambda _: self.regions.clip_shown())
        self.label_written.connect(self.regions.label_written)
        self.views.range_settled.connect(self.clips.range_settled)
        self.inside = InsideControl(self, self.inside_panel, self.inside_dock)
        self.views.threshold_dragged.connect(self.threshold_box.setValue)

        # Enter or Esc in a field gives the keyboard back to the list (H labels, not types "h").
        self.return_focus = ReturnFocus(self.clip_list.view, self.clip_list.filter, self.threshold_box,
                                        self.label_panel.note)
        self.key_guard = KeyGuard(self, self.actions_by_name.values())  # no labels while typing or from a dialog's keys

        self.readout = QLabel("")  # what is under the mouse on the views
        self.readout.setMinimumWidth(320)
        self.views.readout_changed.connect(self.readout.setText)
        self.statusBar().addPermanentWidget(self.readout)
        self.job_bar = JobBar(self.tasks)
        self.statusBar().addPermanentWidget(self.job_bar)
        self.playback_note = QLabel("")
        self.statusBar().addPermanentWidget(self.playback_note)
        if not self.player.available:
            self.playback_note.setText("no audio output")
            self.playback_note.setToolTip(self.player.unavailable_reason)

    def _list_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}Dock")
        dock.setWidget(widget)
        # Closable: Qt greys out a dock's View-menu toggle unless it can be closed.
        features = QDockWidget.DockWidgetFeature
        dock.setFeatures(features.DockWidgetMovable | features.DockWidgetFloatable | features.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        """The menus from the command table, plus what Qt makes: recent projects and the docks' toggles."""
        self.repair = ProjectRepair(self)
        menus = build_menus(self.menuBar(), self.actions_by_name)
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.aboutToShow.connect(lambda: self.projects.fill_recent(self.recent_menu))
        file_actions = menus["File"].actions()
        after_open = file_actions[file_actions.index(self.actions_by_name["open_project"]) + 1]
        menus["File"].insertMenu(after_open, self.recent_menu)
        self.auto_advance = self.actions_by_name["auto_advance"]
        self.auto_advance.setChecked(self.settings.auto_advance)
        menus["View"].addSeparator()
        for dock in (self.list_dock, self.label_dock, self.audit_dock, self.model_dock, self.devices_dock):
            menus["View"].addAction(dock.toggleViewAction())

    def window_state(self) -> WindowState:
        session = self.session
        return WindowState(
            has_project=session is not None, has_clip=self.clips.loaded is not None,
            writable=session is not None and not session.project.read_only,
            builtin_model=self._model_is_builtin(), audio_output=self.player.available)

    def _model_is_builtin(self) -> bool:
        detector = self.session.detector if self.session is not None else None
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

    def resizeEvent(self, event) -> None:
        """On a narrow screen the side panels give way, so the views keep at least half the width
        (Qt would shrink the centre alone: about 390 px at 1280x720)."""
        super().resizeEvent(event)
        width = event.size().width()
        docks = [(dock, int(width * share)) for dock, share in ((self.list_dock, SIDE_SHARE[0]),
                                                                 (self.label_dock, SIDE_SHARE[1]))
                 if not dock.isFloating() and dock.isVisible() and dock.width() > width * share]
        if docks:
            self.resizeDocks([d for d, _ in docks], [w for _, w in docks], Qt.Orientation.Horizontal)

    # Messages --------------------------------------------------------------------
    def show_error(self, error) -> None:
        """An error that needs attention: the banner keeps it until dismissed (and the log has it)."""
        text = str(error) if str(error) else type(error).__name__
        self.last_error = text
        log.warning("%s", text, exc_info=error if isinstance(error, BaseException) else None)
        self.error_banner.add(text)

    def save_settings(self) -> None:
        try:
            save_settings(self.settings, self.settings_file)
        except OSError as exc:
            self.show_error(f"could not save settings: {exc}")

    # The open project -------------------------------------------------------------
    def open_project(self, target: str) -> None:
        self.projects.open(target)

    def attach(self, ws: workspace.Workspace) -> None:
        """A project was opened (ProjectControl.open): it replaces the one shown."""
        if self.closing:
            ws.project.close()
            return
        old, self.session = self.session, Session(ws, self.settings)
        if old is not None:
            old.project.close()
        self.tasks.bump("project")  # every result for the old project is dropped when it arrives
        self.labels.project_changed()
        self.clips.clear()
        self.settings.remember_project(ws.target)
        self.save_settings()
        self.setWindowTitle(f"VoiceStudio — {ws.project.label}")
        self.use_model(ws.model, reset_list=False)
        self.clip_list.model.set_table(ws.table, self._queue_request())
        self.compare.project_changed()  # after the new table: its queue may fall back to All
        if ws.created_demo:
            self.statusBar().showMessage("This is the demo project: label with H / N / U, press ? for every shortcut", 20000)
        if len(ws.table) == 0:
            self.views.show_message("This project has no clips yet.\nDrop audio files or folders here, "
                                    "or use File ▸ Import.")
        else:
            self._select_first()
        self._show_session()
        self.devices_panel.refresh()
        self.projects.watch()
        if np.isnan(ws.table.score).any():
            self.models.score_rest()  # the queues that use scores need every clip scored
        self.schedule_audit()
        self.update_commands()
        self.project_opened.emit(ws.target)
        load_fast_fft()  # the window computes spectrograms: pay scipy.fft's import once, now

    def apply_changes(self, changes: Changes) -> None:
        """The one place the window follows a change: list, views, history, audit, status bar."""
        session = self.session
        if not changes or session is None:
            return
        model = self.clip_list.model
        if changes.table:
            model.set_table(session.table, self._queue_request())
            if session.current_clip_id is None or not self.clip_list.select_clip(session.current_clip_id):
                session.current_clip_id = None
                self._select_first()
        elif changes.scores:
            model.refresh_scores()
        for row in sorted(changes.rows):
            model.row_updated(row)
        if changes.threshold:
            self.views.set_threshold(session.threshold)
            if self.clips.loaded is not None:
                self.label_panel.show_verdict(self.clips.loaded.prediction, session.threshold,
                                              self.clips.loaded.prediction_error)
            self._queue_timer.start()  # the queue and its disagreement column follow once the value settles
        reread = sorted((c for c in changes.labels if c == session.current_clip_id or c in self.clips.cache),
                        key=lambda c: c != session.current_clip_id)  # the clip on screen first
        for clip_id in reread[:HISTORY_REREADS]:
            self.labels.refresh_history(clip_id)
        self._show_session()
        self.schedule_audit()
        self.update_commands()
        if changes.elsewhere and changes.rows:
            count = len(changes.rows)
            self.statusBar().showMessage(f"{count} clip{'s' * (count != 1)} labelled elsewhere", 5000)
            self.labels_refreshed.emit(count)

    # Models and threshold ----------------------------------------------------------------
    @property
    def spec(self) -> FeatureSpec:
        detector = self.session.detector if self.session else None
        return detector.spec if detector is not None else FeatureSpec()

    def use_model(self, model: workspace.ModelChoice, *, reset_list: bool = True) -> None:
        """Predict with ``model`` from now on: its scores, its threshold, its name on the toolbar."""
        changes = self.session.use_model(model)
        self.tasks.bump("model")
        self.clips.forget()  # requests and clips for the old model are dropped: a clip may be requested again
        detector = model.detector
        self.model_label.setText(detector.card.name if detector is not None else "none")
        self.model_label.setToolTip(str(detector.path) if detector is not None else "")
        if model.warning:
            self.show_error(model.warning)
        self.threshold_box.blockSignals(True)
        self.threshold_box.setValue(self.session.threshold)
        self.threshold_box.blockSignals(False)
        if not self.model_dock.visibleRegion().isEmpty():  # a tab behind another is "visible" but unseen
            self.model_panel.inspect_current()
        else:
            self.model_panel.inspection = None  # read again when the panel is shown
        self.compare.model_changed()
        if reset_list:
            self.apply_changes(changes)

    def _model_path(self) -> str | None:
        detector = self.session.detector if self.session else None
        return str(detector.path) if detector is not None else None

    def _model_visibility(self, visible: bool) -> None:
        if visible and self.model_panel.inspection is None:
            self.model_panel.inspect_current()

    def set_threshold(self, value: float) -> None:
        if self.session is not None:
            self.apply_changes(self.session.set_threshold(value))

    def _queue_request(self):
        return self.session.queue_request(self.clip_list.queue_name, self.clip_list.filter.text(),
                                          self.audit_panel.consensus())

    def recompute_queue(self) -> None:
        """The queue, filter, threshold or consensus changed: list the rows that now belong."""
        self.settings.queue = self.clip_list.queue_name
        model = self.clip_list.model
        if self.session is None or model.table is None:
            return
        request = self._queue_request()
        if request == model.request:
            return
        model.set_request(request)
        current = self.session.current_clip_id
        if current is None or not self.clip_list.select_clip(current):
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
        session = self.session
        if session is None:
            return
        self.tasks.bump("audit")  # a newer request drops older results
        detector = session.detector

        def done(audit):
            self.audit_panel.show_audit(audit)
            self.audit_shown.emit(audit)

        self.tasks.submit(audit_table, session.table.snapshot(), threshold=session.threshold,
                          consensus=self.audit_panel.consensus(), goals=(self.audit_panel.goal(),),
                          model_name=detector.card.name if detector is not None else None, on_done=done,
                          current=("project", "audit"))

    def show_cell(self, cell: str) -> None:
        """A confusion-matrix cell was clicked: list its clips."""
        self.clip_list.set_queue_name(cell)
        self.recompute_queue()

    def _threshold_chosen(self, value: float) -> None:
        self.threshold_box.setValue(round(value, 3))

    # Moving through the queue -------------------------------------------------------------
    def show_clip(self, clip_id: int, force: bool = False) -> None:
        self.clips.show(clip_id, force)

    def _select_first(self) -> None:
        """The queue's first clip, or a word on why there is none."""
        if self.clip_list.model.rowCount():
            self.clip_list.select_row(0)
        elif self.session is not None and len(self.session.table):
            # Nothing listed: nothing shown, played or labelled either.
            self.session.current_clip_id = None
            self.clips.loaded = None
            self.player.set_audio(np.zeros(0, np.float32), 16000)
            self.label_panel.show_clip(None, self.settings.annotator)
            self.update_commands()
            queue, text = self.clip_list.queue.currentText(), self.clip_list.filter.text().strip()
            if text:
                self.views.show_message(f"No clip in the queue “{queue}” matches the filter “{text}”.\n"
                                        "Clear the filter box above the clip list to see them.")
            else:
                self.views.show_message(f"No clips in the queue “{queue}”.\n"
                                        "Choose another queue above the clip list.")

    def _show_session(self) -> None:
        if self.session is not None:
            self.label_panel.show_session(self.session.progress, self.clip_list.model.remaining())

    def skips_labelled(self) -> bool:
        return self.clip_list.queue_name in ("unlabelled", "uncertain")

    def next_clip(self) -> None:
        row = self.clip_list.model.next_row(self.clip_list.current_row(), skip_labelled=self.skips_labelled())
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
        self.regions.unbind()  # R places a new region, bound to no stored one
        self.views.toggle_region()

    def toggle_loop(self) -> None:
        looping = self.actions_by_name["toggle_loop"].isChecked()
        self.player.loop = self.views.loop_region() if looping else None
        self.statusBar().showMessage("Loop on (press R to select the region)" if looping else "Loop off", 3000)

    def play_faster(self) -> None:
        self._show_speed(self.player.faster())

    def play_slower(self) -> None:
        self._show_speed(self.player.slower())

    def _show_speed(self, speed: float) -> None:
        self.playback_note.setText("" if speed == 1.0 else f"playing at {speed:g}×")
        self.statusBar().showMessage(f"Playback speed {speed:g}× ([ and ] change it)", 3000)

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

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.projects.import_audio(paths)

    # Closing -------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.closing = True
        self._audit_timer.stop()
        self._queue_timer.stop()
        self.projects.stop()
        self.player.stop()
        state = QSettings()
        state.setValue("window/geometry", self.saveGeometry())
        state.setValue("window/state", self.saveState())
        state.sync()
        self.tasks.shutdown()  # waits for a label write in flight: it is never dropped
        self.save_settings()
        if self.session is not None:
            self.session.project.close()
        self.gc.stop()
        super().closeEvent(event)
