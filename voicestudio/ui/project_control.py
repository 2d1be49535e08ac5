"""Project operations: open, import audio and labels, export, read again, and follow what other
programs write to the same project. Each runs on a worker; what it changed goes to the window
as one ``Changes`` value."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox

from voicestudio.dataset import workspace
from voicestudio.dataset.export import export_dataset
from voicestudio.dataset.importer import import_paths
from voicestudio.store.project import PROJECT_SUFFIX
from voicestudio.ui.export_dialog import ExportDialog

log = logging.getLogger(__name__)

CHANGE_POLL_MS = 2000  # how often the window looks for labels written by other programs


class ProjectControl(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._poll_busy = False
        self.export_box: QMessageBox | None = None  # the last "Export finished" note
        self._poll_timer = QTimer(self, interval=CHANGE_POLL_MS)
        self._poll_timer.timeout.connect(self._poll)

    def stop(self) -> None:
        self._poll_timer.stop()

    # Opening ---------------------------------------------------------------------
    def open(self, target: str) -> None:
        """Open the project at ``target`` on a worker; the window takes it when it is ready."""
        target, settings = str(target), self.window.settings
        chosen = self.window.models.chosen_for(target)  # else the project's default model

        def opening(progress, cancel):
            return workspace.open_workspace(target, model_path=chosen, personal_model=settings.model_path,
                                            annotator=settings.annotator, progress=progress)

        self.window.tasks.start_job(f"Opening {Path(target).name}", opening, on_done=self.window.attach,
                                    on_error=lambda exc: self._failed(target, exc))

    def _failed(self, target: str, exc) -> None:
        self.window.show_error(exc)
        if self.window.session is None:
            self.window.views.show_message(f"Could not open the project {target}:\n{exc}\n\n"
                                           "Use File ▸ New project or File ▸ Open project.")

    def choose_new(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "New project", str(Path.home() / f"voices{PROJECT_SUFFIX}"),
                                              f"VoiceStudio projects (*{PROJECT_SUFFIX})")
        if path:
            self.open(path if path.endswith(PROJECT_SUFFIX) else path + PROJECT_SUFFIX)

    def choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", str(Path.home()),
                                              f"VoiceStudio projects (*{PROJECT_SUFFIX});;All files (*)")
        if path:
            self.open(path)

    def fill_recent(self, menu: QMenu) -> None:
        menu.clear()
        for target in self.window.settings.recent_projects:
            action = menu.addAction(target)
            action.triggered.connect(lambda _=False, t=target: self.open(t))
        if not self.window.settings.recent_projects:
            menu.addAction("(none)").setEnabled(False)

    # Importing ---------------------------------------------------------------------
    def choose_import_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Import audio files", str(Path.home()))
        if paths:
            self.import_audio(paths)

    def choose_import_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Import a folder", str(Path.home()))
        if path:
            self.import_audio([path])

    def import_audio(self, paths: list[str]) -> None:
        """Import files and folders with progress and cancel, then score what is new."""
        window, session = self.window, self.window.session
        if session is None:
            window.show_error("open a project before importing")
            return
        annotator, model_id = window.settings.annotator, session.model.model_id

        def importing(progress, cancel):
            report = import_paths(session.project, paths, progress=progress, cancel=cancel)
            return report, workspace.reload_table(session.project, annotator, model_id)

        def imported(result):
            report, table = result
            window.apply_changes(session.replace_table(table))
            failed = f", {len(report.failures)} failed (see the log)" if report.failures else ""
            for problem in report.failures:
                log.warning("import: %s: %s", problem.path, problem.reason)
            cancelled = " (cancelled)" if report.cancelled else ""
            window.statusBar().showMessage(f"Imported {report.clips_added} new clips{failed}{cancelled}", 15000)
            window.models.score_rest()

        window.tasks.start_job("Importing", importing, on_done=imported, current=("project",))

    def choose_import_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import labels", str(Path.home()),
                                              "Labels (*.csv *.json);;CSV (*.csv);;Label Studio JSON (*.json)")
        if path:
            self.import_labels(path)

    def import_labels(self, path: str) -> None:
        """Labels from a CSV or a Label Studio export, in one transaction; the list follows."""
        window, session = self.window, self.window.session
        if session is None or window.labels.ensure_annotator() is None:
            return
        annotator, model_id = window.settings.annotator, session.model.model_id

        def importing(progress, cancel):
            from voicestudio.dataset.interchange import import_labels

            report = import_labels(session.project, path, default_annotator=annotator)
            return report, workspace.reload_table(session.project, annotator, model_id)

        def imported(result):
            report, table = result
            window.apply_changes(session.replace_table(table))
            for problem in report.failures:
                log.warning("label import: %s: %s", path, problem)
            failed = f", {len(report.failures)} rows failed (see the log)" if report.failures else ""
            window.statusBar().showMessage(f"Imported {report.labelled} labels ({report.unchanged} unchanged){failed}",
                                           15000)

        window.tasks.start_job(f"Importing labels from {Path(path).name}", importing, on_done=imported,
                               current=("project",))

    # Exporting ---------------------------------------------------------------------
    def choose_export_labels(self) -> None:
        if self.window.session is None:
            return
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export labels", str(Path.home() / "labels.csv"),
                                                   "CSV (*.csv);;Label Studio JSON (*.json)")
        if path:
            if not path.lower().endswith((".csv", ".json")):
                path += ".json" if "json" in chosen.lower() else ".csv"
            self.export_labels(path)

    def export_labels(self, path: str) -> None:
        from voicestudio.dataset.interchange import export_labels

        def done(result):
            self.window.statusBar().showMessage(
                f"Wrote {result.labels} labels of {result.clips} clips to {result.path}", 15000)

        # The save dialog has asked before replacing a file; the project itself is refused all the same.
        self.window.tasks.submit(export_labels, self.window.session.project, path, force=True, on_done=done)

    def choose_export(self) -> None:
        window, session = self.window, self.window.session
        if session is None:
            return
        annotators = sorted({who for votes in session.table.votes.values() for who in votes})
        dialog = ExportDialog(session.project.label, annotators, window.audit_panel.consensus(), window)
        if dialog.exec():
            self.export(dialog.target(), dialog.options())

    def export(self, out, options) -> None:
        """Export the labelled set as a job: progress in the status bar, Cancel leaves nothing behind."""
        window, session = self.window, self.window.session

        def exporting(progress, cancel):
            return export_dataset(session.project, out, options, detector=session.detector, progress=progress,
                                  cancel=cancel)

        def exported(result):
            if result.cancelled:
                window.statusBar().showMessage("Export cancelled: nothing was written", 10000)
            else:
                for failure in result.failures:
                    log.warning("export: %s (clip %s): %s", failure.source, failure.clip_id, failure.reason)
                failed = f"; {len(result.failures)} clips failed (see the log)" if result.failures else ""
                window.statusBar().showMessage(f"Exported {len(result.written)} clips to {result.out}{failed}", 20000)
                self._offer_folder(f"Exported {len(result.written)} clips{failed}.", Path(result.out))
            window.export_finished.emit(result)

        window.tasks.start_job(f"Exporting to {Path(out).name}", exporting, on_done=exported)

    def _offer_folder(self, text: str, folder: Path) -> None:
        """A finished export: say so, with a button that opens its folder (not modal: work goes on)."""
        box = QMessageBox(QMessageBox.Icon.Information, "Export finished", f"{text}\n\n{folder}",
                          QMessageBox.StandardButton.Close, self.window)
        opener = box.addButton("Open the export folder", QMessageBox.ButtonRole.ActionRole)
        opener.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.export_box = box
        box.setModal(False)
        box.show()

    # Reading again, and other programs' labels -------------------------------------------
    def refresh(self, *, announce: bool = True) -> None:
        """Read the whole project again (View ▸ Refresh, F5); new clips imported elsewhere appear.
        ``announce``: say so in the status bar (not when a region's new clip is the reason: its own
        message stays)."""
        window, session = self.window, self.window.session
        if session is None:
            return
        annotator, model_id = window.settings.annotator, session.model.model_id

        def read():
            return workspace.last_event_id(session.project), workspace.reload_table(session.project, annotator,
                                                                                     model_id)

        def done(result):
            last_id, table = result
            window.apply_changes(session.replace_table(table, last_event_id=last_id))
            if announce:
                window.statusBar().showMessage("Refreshed from the project", 5000)

        window.tasks.submit(read, on_done=done, current=("project",))

    def watch(self) -> None:
        """Start following other programs' writes from the newest event now."""
        session = self.window.session

        def started(last_id: int) -> None:
            session.tracker.newest = last_id
            self._poll_timer.start()

        self.window.tasks.submit(workspace.last_event_id, session.project, on_done=started, current=("project",))

    def _poll(self) -> None:
        window, session = self.window, self.window.session
        if session is None or self._poll_busy or window.closing:
            return
        self._poll_busy = True

        def merge(feed) -> None:
            self._poll_busy = False
            if session is not window.session:
                return
            changes = session.merge_elsewhere(feed)
            if changes is None:
                self.refresh()  # clips were imported (or replaced) elsewhere
            elif changes:
                window.apply_changes(changes)

        def failed(exc) -> None:
            self._poll_busy = False  # a busy or unreachable database: try again next time

        window.tasks.submit(workspace.changes_since, session.project, session.tracker.since(), on_done=merge,
                            on_error=failed)

    # Where the audio is ---------------------------------------------------------------
    def choose_path_map(self) -> None:
        text, ok = QInputDialog.getMultiLineText(
            self.window, "Audio locations on this machine",
            "A shared project stores each file's path as it was imported. If the audio is somewhere\n"
            "else on this machine, give one STORED_PREFIX=LOCAL_PREFIX per line, e.g.\n"
            "/mnt/team/audio=/Volumes/team/audio", self.window.settings.path_map.replace(";", "\n"))
        if ok:
            self.set_path_map(text)

    def set_path_map(self, text: str) -> bool:
        """Use and remember a path map; False (and a message) when it is malformed."""
        from voicestudio import pathmap

        window = self.window
        try:
            parsed = pathmap.PathMap.parse(text)
        except ValueError as exc:
            window.show_error(exc)
            return False
        window.settings.path_map = "; ".join(f"{stored}={local}" for stored, local in parsed.pairs)
        window.save_settings()
        pathmap.use(parsed)
        window.clips.forget()  # clips read through the old map are read again
        window.clips.show_again()
        window.statusBar().showMessage(f"Audio locations: {parsed.describe() or 'as stored'}", 10000)
        return True
