"""Labelling: one label per key press on a worker's write lane, undo, the clip's history, and
the annotator's name asked once."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog

from voicestudio.annotators import AnnotatorError, check_annotator
from voicestudio.dataset.cliploading import label_records
from voicestudio.dataset.labels import RedoStack, label_clip, label_clips, redo_undone, undo_last, undo_many
from voicestudio.settings import default_annotator


class LabelControl(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.write_in_flight = False  # one label per key press: further presses wait for this one
        self.last_batch = 1  # labels the last key press made: Z undoes them all
        self.redo_stack = RedoStack()  # what each Z took back: Ctrl+Shift+Z re-applies it

    def human(self) -> None:
        self.label("human")

    def nonhuman(self) -> None:
        self.label("nonhuman")

    def unsure(self) -> None:
        self.label("unsure")

    def edit_note(self) -> None:
        self.window.label_panel.note.setFocus()

    def ensure_annotator(self) -> str | None:
        """The annotator's name, asked (and checked, and saved) the first time it is needed."""
        window = self.window
        if not window.settings.annotator:
            name, ok = QInputDialog.getText(window, "Your name", "Labels are stored with the annotator's name.\n"
                                            "Your name:", text=default_annotator())
            if not ok or not name.strip():
                return None
            try:
                name = check_annotator(name)
            except AnnotatorError as exc:  # never saved: every label would fail with it
                window.show_error(str(exc))
                return None
            window.settings.annotator = name
            if window.session is not None:
                window.session.set_annotator(name)
            window.save_settings()
        return window.settings.annotator

    def label(self, value: str) -> None:
        window, session = self.window, self.window.session
        if window.regions.label(value):  # a region is shown: the key labels it, not the whole clip
            return
        loaded = window.clips.loaded
        if self.write_in_flight or session is None or loaded is None:
            return
        annotator = self.ensure_annotator()
        if annotator is None:
            return
        self.write_in_flight = True
        self.redo_stack.clear()  # a new label after an undo: nothing left to redo
        note = window.label_panel.take_note()
        selected = window.clip_list.selected_clip_ids()
        if len(selected) > 1:
            window.tasks.submit(label_clips, session.project, selected, value, annotator=annotator, note=note,
                                lane="write", on_done=self._labelled_batch, on_error=self._write_failed,
                                current=("project",))
            return
        window.tasks.submit(label_clip, session.project, loaded.clip_id, value, annotator=annotator, note=note,
                            lane="write", on_done=lambda event: self._labelled(event, advance=True),
                            on_error=self._write_failed, current=("project",))

    def undo(self) -> None:
        window = self.window
        if self.write_in_flight or window.session is None or not window.settings.annotator:
            return
        self.write_in_flight = True
        if self.last_batch > 1:
            window.tasks.submit(undo_many, window.session.project, self.last_batch,
                                annotator=window.settings.annotator, lane="write", on_done=self._undone_batch,
                                on_error=self._write_failed, current=("project",))
            return
        window.tasks.submit(undo_last, window.session.project, annotator=window.settings.annotator, lane="write",
                            on_done=self._undone, on_error=self._write_failed, current=("project",))

    def redo(self) -> None:
        """Re-apply what the last Z took back (a batch with one key), as new events."""
        window = self.window
        if self.write_in_flight or window.session is None or not window.settings.annotator:
            return
        undo_ids = self.redo_stack.next()
        if undo_ids is None:
            window.statusBar().showMessage("Nothing to redo", 5000)
            return
        self.write_in_flight = True
        window.tasks.submit(redo_undone, window.session.project, undo_ids, annotator=window.settings.annotator,
                            lane="write", on_done=self._redone, on_error=self._write_failed, current=("project",))

    def project_changed(self) -> None:
        """A write to the old project still finishes, but answers no one here."""
        self.write_in_flight = False
        self.redo_stack.clear()

    def _write_failed(self, exc) -> None:
        self.write_in_flight = False
        self.window.show_error(f"the label was not saved: {exc}")

    def _undone(self, event: dict | None) -> None:
        self.write_in_flight = False
        if event is None:
            self.window.statusBar().showMessage("Nothing left to undo", 5000)
            return
        self.redo_stack.undone([event])
        self.window.apply_changes(self.window.session.record_undo(event))
        self.window.label_written.emit(event)
        if not self.window.regions.is_region(event["clip_id"]):  # a region's undo stays on its recording
            self.window.clip_list.select_clip(event["clip_id"])  # back to the clip whose label was undone

    def show_written(self, events: list[dict], record) -> None:
        """Events now in the database: ``record`` each in the session (record_label or record_undo),
        update the window once, then tell the listeners."""
        window, changes = self.window, None
        for event in events:
            recorded = record(event)
            changes = recorded if changes is None else changes | recorded
        if changes is not None:
            window.apply_changes(changes)
        for event in events:
            window.label_written.emit(event)

    def _labelled_batch(self, events: list[dict]) -> None:
        """A selection labelled in one transaction: show every row, then move past the selection."""
        self.write_in_flight = False
        window = self.window
        self.show_written(events, lambda event: window.session.record_label(event, made_here=True))
        self.last_batch = len(events)
        value = events[0]["value"] if events else None
        window.statusBar().showMessage(f"Labelled {len(events)} clips {value} · Z undoes all {len(events)}", 10000)
        if window.auto_advance.isChecked():
            window.clip_list.select_clip(events[-1]["clip_id"])  # the selection collapses onto its last row
            window.next_clip()

    def _undone_batch(self, events: list[dict]) -> None:
        self.write_in_flight = False
        self.last_batch = 1
        window = self.window
        if not events:
            window.statusBar().showMessage("Nothing left to undo", 5000)
            return
        self.redo_stack.undone(events)
        self.show_written(events, window.session.record_undo)
        window.statusBar().showMessage(f"Undid {len(events)} labels", 5000)

    def _redone(self, events: list[dict]) -> None:
        """Redone labels are in the database: show them; one Z takes the whole redo back."""
        self.write_in_flight = False
        window = self.window
        if not events:
            window.statusBar().showMessage("Nothing to redo: those clips were labelled since", 5000)
            return
        self.last_batch = len(events)
        self.show_written(events, lambda event: window.session.record_label(event, made_here=True))
        if len(events) == 1:
            row = window.session.table.row_of(events[0]["clip_id"])
            name = window.session.table.name(row) if row is not None else f"clip {events[0]['clip_id']}"
            window.statusBar().showMessage(f"Redid {name}: {events[0]['value'] or 'no label'}", 5000)
            window.clip_list.select_clip(events[0]["clip_id"])
        else:
            window.statusBar().showMessage(f"Redid {len(events)} labels · Z undoes all {len(events)}", 5000)

    def _labelled(self, event: dict, *, advance: bool) -> None:
        """The event is in the database: show it, then move on."""
        self.write_in_flight = False
        self.last_batch = 1
        window = self.window
        window.apply_changes(window.session.record_label(event, made_here=True))
        window.label_written.emit(event)
        if advance and window.auto_advance.isChecked():
            window.next_clip()

    def refresh_history(self, clip_id: int) -> None:
        """The clip's history changed: re-read it (cheap) and redraw the panel if it is shown."""
        project = self.window.session.project

        def read():
            with project.session() as session:
                return label_records(session, clip_id)

        self.window.tasks.submit(read, on_done=lambda history: self.window.clips.update_history(clip_id, history),
                                 current=("project",))
