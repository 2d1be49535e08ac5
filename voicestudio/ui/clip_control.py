"""Showing clips: open one on a worker, keep the last few, open the next before it is asked
for, and for a long recording draw its overview and the part on screen as the view moves."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from PySide6.QtCore import QObject

from voicestudio.audio.display import MAX_DETAIL_S, ViewSettings, load_detail, stream_envelope
from voicestudio.dataset.cliploading import LoadedClip, load_clip, predict_and_store, stored_prediction
from voicestudio.errors import ModelError
from voicestudio.progress import Progress
from voicestudio.ui.view_settings import ViewSettingsDialog, store_view, view_from_settings

CACHE_SIZE = 8  # opened clips kept for going back and forth
LONG_CLIP_JOB = "Preparing the long recording"


class ClipControl(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.loaded: LoadedClip | None = None  # the clip on screen
        self.cache: OrderedDict[int, LoadedClip] = OrderedDict()
        self.loading: set[int] = set()
        self.view: ViewSettings = view_from_settings(window.settings)  # what the spectrogram and MFCC show

    def forget(self) -> None:
        """Another project, model or path map: every opened clip is read again when shown."""
        self.cache.clear()
        self.loading.clear()

    def clear(self) -> None:
        self.forget()
        self.loaded = None

    def show(self, clip_id: int, force: bool = False) -> None:
        session = self.window.session
        if session is None or (clip_id == session.current_clip_id and not force):
            return
        session.current_clip_id = clip_id
        self.window.player.stop()
        if clip_id in self.cache:
            self.cache.move_to_end(clip_id)
            self._apply(self.cache[clip_id])
        else:
            self._request(clip_id)
        self._prefetch()

    def show_again(self) -> None:
        """The clip on screen, read again (another model or path map)."""
        session = self.window.session
        if session is not None and session.current_clip_id is not None:
            self.show(session.current_clip_id, force=True)

    def _request(self, clip_id: int) -> None:
        if clip_id in self.loading:
            return
        self.loading.add(clip_id)
        window, session = self.window, self.window.session

        def done(loaded: LoadedClip):
            self.loading.discard(clip_id)
            self.cache[clip_id] = loaded
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
            if loaded.prediction is not None:
                window.apply_changes(session.set_score(clip_id, loaded.prediction.clip_score))
            if clip_id == session.current_clip_id:
                self._apply(loaded)

        def failed(exc):
            self.loading.discard(clip_id)
            if clip_id == session.current_clip_id:
                window.views.show_message(f"Could not open clip {clip_id}:\n{exc}")
            window.show_error(exc)

        window.tasks.submit(load_clip, session.project, clip_id, window.spec, detector=session.detector,
                            model_id=session.model.model_id, view=self.view, on_done=done, on_error=failed,
                            current=("project", "model"))

    def _prefetch(self) -> None:
        """Open the clip that comes next in the queue before it is asked for."""
        clip_list = self.window.clip_list
        following = clip_list.model.next_row(clip_list.current_row(), skip_labelled=self.window.skips_labelled())
        clip_id = clip_list.model.clip_id(following) if following is not None else None
        if clip_id is not None and clip_id not in self.cache:
            self._request(clip_id)

    def _apply(self, loaded: LoadedClip) -> None:
        window = self.window
        threshold = window.session.threshold
        self.loaded = loaded
        window.update_commands()
        window.label_panel.show_clip(loaded, window.settings.annotator)
        window.label_panel.show_verdict(loaded.prediction, threshold, loaded.prediction_error)
        if loaded.error is not None:
            window.player.set_audio([], 16000)
            advice = ("Its labels stay with the recording it was made from; import the folder again to add "
                      "the new audio. Move on with → ." if loaded.source_changed
                      else "You can still label it, or move on with → .")
            window.views.show_message(f"This clip cannot be shown.\n\n{loaded.error}\n\n{advice}")
            window.clip_shown.emit(loaded.clip_id)
            return
        opened = loaded.opened
        if window.views.view != self.view:
            window.views.set_view(self.view)
        # Short clips draw every sample; the envelope is the overview of a long recording.
        window.views.show_clip(opened.duration_s, opened.detail, opened.envelope if opened.is_long else None)
        window.views.set_prediction(loaded.prediction, threshold)
        window.player.set_audio(opened.detail.samples, opened.detail.sample_rate, opened.detail.start_s)
        if opened.is_long:
            self._prepare_long_clip(loaded)
        window.clip_shown.emit(loaded.clip_id)

    def _prepare_long_clip(self, loaded: LoadedClip) -> None:
        """A long recording: its envelope and (if missing) its prediction, in the background."""
        window, session = self.window, self.window.session
        clip, model = loaded.clip, session.model

        def work(progress, cancel):
            envelope = stream_envelope(clip.path, clip.start_s, clip.end_s, cancel=cancel,
                                       progress=lambda done, total: progress(Progress(done, total, clip.path)))
            prediction, failure = loaded.prediction, None
            if prediction is None and model.detector is not None and not cancel.is_set():
                progress(Progress(0, None, "predicting"))
                try:  # scoring the project may have stored it meanwhile, or be predicting it now
                    prediction = stored_prediction(session.project, clip.id, model.model_id,
                                                   model.detector.spec.window_s) or \
                        predict_and_store(session.project, model.detector, model.model_id, clip)
                except ModelError as exc:  # the interpreter failed on this recording: show it and why
                    failure = exc.reason
            return envelope, prediction, failure

        def done(result):
            envelope, prediction, failure = result
            updated = replace(loaded, opened=replace(loaded.opened, envelope=envelope), prediction=prediction,
                              prediction_error=failure)
            self.cache[clip.id] = updated
            if session.current_clip_id == clip.id:
                self.loaded = updated
                window.views.set_envelope(envelope)
                window.views.set_prediction(prediction, session.threshold)
                window.label_panel.show_verdict(prediction, session.threshold, failure)
            if prediction is not None:
                window.apply_changes(session.set_score(clip.id, prediction.clip_score))

        window.tasks.start_job(LONG_CLIP_JOB, work, on_done=done, current=("project", "model"), lane="recording")

    def range_settled(self, low: float, high: float) -> None:
        """Zoomed or panned a long recording: decode and draw the part on screen."""
        loaded, window = self.loaded, self.window
        if loaded is None or loaded.opened is None or not loaded.opened.is_long:
            return
        width = high - low
        if width > MAX_DETAIL_S:
            window.views.show_detail_hint()
            return
        detail = window.views.detail
        if detail is not None and detail.start_s <= low and high <= detail.end_s and \
                detail.end_s - detail.start_s <= 4 * width:
            return
        start, end = max(0.0, low - width / 2), min(loaded.opened.duration_s, high + width / 2)
        window.tasks.bump("detail")  # a newer range drops older results
        clip = loaded.clip

        def done(detail):
            if window.session.current_clip_id == clip.id:
                window.views.set_detail(detail)
                window.player.set_audio(detail.samples, detail.sample_rate, detail.start_s)

        window.tasks.submit(load_detail, clip.path, clip.start_s, start, end, window.spec, self.view, on_done=done,
                            current=("project", "detail"))

    # View ▸ Spectrogram settings… --------------------------------------------------------
    def choose_view_settings(self) -> None:
        """The dialog applies each change as it is made; OK saves, Cancel puts back what was there."""
        dialog = ViewSettingsDialog(self.view, self.window)
        dialog.changed.connect(self.set_view)
        accepted = dialog.exec() == ViewSettingsDialog.DialogCode.Accepted
        if accepted:
            self.set_view(dialog.view())
            store_view(self.window.settings, self.view)
            self.window.save_settings()
        else:
            self.set_view(dialog.original)
        dialog.deleteLater()

    def set_view(self, view: ViewSettings) -> None:
        """Redraw with new settings: colours at once, a new spectrogram computed off the main thread."""
        old, self.view = self.view, view
        window = self.window
        window.views.set_view(view)
        computed = ("max_hz", "n_fft", "floor_db", "top_db")
        if all(getattr(old, name) == getattr(view, name) for name in computed):
            return
        loaded = self.loaded
        self.cache = OrderedDict((k, v) for k, v in self.cache.items() if loaded is not None and k == loaded.clip_id)
        if loaded is None or loaded.opened is None or window.views.detail is None:
            return
        detail, opened, clip = window.views.detail, loaded.opened, loaded.clip
        window.tasks.bump("detail")  # the last change wins (a colour-only change after it keeps it)

        def done(new_detail):
            if window.session is None or window.session.current_clip_id != clip.id or \
                    self.loaded is None or self.loaded.clip_id != clip.id or self.loaded.opened is None:
                return
            updated = replace(self.loaded, opened=replace(self.loaded.opened, detail=new_detail))
            self.loaded = self.cache[clip.id] = updated
            window.views.set_detail(new_detail)

        window.tasks.submit(load_detail, clip.path, clip.start_s, detail.start_s, min(detail.end_s, opened.duration_s),
                            window.spec, view, on_done=done, current=("project", "detail"))

    def update_history(self, clip_id: int, history) -> None:
        """The clip's label history was read again: keep it, and redraw the panel if it is shown."""
        if clip_id in self.cache:
            self.cache[clip_id] = replace(self.cache[clip_id], history=history)
        if self.loaded is not None and self.loaded.clip_id == clip_id:
            self.loaded = replace(self.loaded, history=history)
            self.window.label_panel.show_clip(self.loaded, self.window.settings.annotator)
