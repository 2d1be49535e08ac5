"""One clip made ready for the window: audio for the views, its prediction, its labels.

``load_clip`` is the function the window runs on a worker thread when a clip is
opened (and for the next clip in the queue, ahead of time). A clip that cannot
be decoded comes back with ``error`` set instead of raising, so the window
shows a panel in place of the views and goes on. So does a clip whose file no
longer holds the audio it was imported with (``source_changed``): drawing the
new content under the old recording's labels would mislead the annotator.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicestudio.audio.display import DEFAULT_VIEW, OpenedClip, ViewSettings, open_clip
from voicestudio.dataset import inflight
from voicestudio.dataset.sourcecheck import CHANGED, check_source
from voicestudio.errors import AudioError, MissingExtraError, ModelError
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store import predictions as prediction_store
from voicestudio.store.project import Project


@dataclass(frozen=True)
class ClipPrediction:
    """What the prediction track draws (from the store, or just computed)."""

    model_id: int
    clip_score: float
    threshold: float  # the card's, when the prediction was made
    window_starts_s: object  # np.ndarray float32
    window_probs: object  # np.ndarray float32; NaN = silent window
    window_s: float


@dataclass(frozen=True)
class LabelRecord:
    event_id: int
    annotator: str
    value: str | None
    note: str | None
    created_at: str  # ISO 8601, UTC
    undoes_id: int | None


@dataclass(frozen=True)
class LoadedClip:
    clip: clip_store.ClipRow
    opened: OpenedClip | None
    prediction: ClipPrediction | None
    history: tuple[LabelRecord, ...]
    error: str | None = None  # why the audio could not be shown
    source_changed: bool = False  # the file holds other audio than the clip was made from
    prediction_error: str | None = None  # why the model could not predict the clip (its audio is shown)

    @property
    def clip_id(self) -> int:
        return self.clip.id


def label_records(session, clip_id: int) -> tuple[LabelRecord, ...]:
    return tuple(
        LabelRecord(e.id, e.annotator, e.value, e.note, e.created_at.isoformat(timespec="seconds"), e.undoes_id)
        for e in label_store.label_history(session, clip_id)
    )


def predict_and_store(project: Project, detector, model_id: int, clip: clip_store.ClipRow,
                      samples=None, sample_rate: int | None = None) -> ClipPrediction:
    """Run the detector on the clip (on ``samples`` when already decoded) and save the result."""
    if samples is not None:
        result = detector.predict_samples(samples, sample_rate)
    else:  # a long recording: scoring may be predicting it right now too (dataset/inflight.py)
        result = inflight.once(inflight.prediction_key(project, model_id, clip.id),
                               lambda: detector.predict_file(clip.path, start_s=clip.start_s, end_s=clip.end_s))
    with project.write() as session:
        prediction_store.save_prediction(session, clip.id, model_id, result.clip_score, result.threshold,
                                         result.window_starts_s, result.window_probs)
    return ClipPrediction(model_id, result.clip_score, result.threshold, result.window_starts_s,
                          result.window_probs, detector.spec.window_s)


def _as_clip_prediction(stored, model_id: int | None, window_s: float) -> ClipPrediction | None:
    if stored is None:
        return None
    return ClipPrediction(model_id, stored.clip_score, stored.threshold, stored.window_starts_s,
                          stored.window_probs, window_s)


def stored_prediction(project: Project, clip_id: int, model_id: int, window_s: float) -> ClipPrediction | None:
    """The model's stored prediction of the clip, if any (scoring may have written it since it was opened)."""
    with project.session() as session:
        return _as_clip_prediction(prediction_store.get_prediction(session, clip_id, model_id), model_id, window_s)


def load_clip(project: Project, clip_id: int, spec, *, detector=None, model_id: int | None = None,
              view: ViewSettings = DEFAULT_VIEW) -> LoadedClip:
    """Decode the clip's first screen, fetch (or compute and store) its prediction, read its history.

    A long clip's prediction is not computed here (it takes seconds); the
    window runs ``predict_and_store`` for it in the background.
    """
    with project.session() as session:
        clip = clip_store.get_clip(session, clip_id, include_replaced=True)  # the window may hold an older list
        if clip is None:
            raise ValueError(f"no clip with id {clip_id}")
        stored = prediction_store.get_prediction(session, clip_id, model_id) if model_id is not None else None
        history = label_records(session, clip_id)
    window_s = detector.spec.window_s if detector is not None else spec.window_s
    prediction = _as_clip_prediction(stored, model_id, window_s)
    if clip.replaced_at is not None:
        return LoadedClip(clip, None, prediction, history, source_changed=True,
                          error=f"{clip.path}: its recording was replaced by other audio at this path; the clip "
                                "and its labels are kept as history")
    try:
        opened = open_clip(clip.path, clip.start_s, clip.end_s, spec, view)
    except (AudioError, MissingExtraError) as exc:
        return LoadedClip(clip, None, prediction, history, error=str(exc))
    source = check_source(clip)  # after decoding: a file that cannot be read says why first
    if not source.ok:
        return LoadedClip(clip, None, prediction, history, error=f"{clip.path}: {source.reason}",
                          source_changed=source.status == CHANGED)
    if prediction is None and detector is not None and model_id is not None and not opened.is_long:
        try:
            prediction = predict_and_store(project, detector, model_id, clip,
                                           opened.detail.samples, opened.detail.sample_rate)
        except ModelError as exc:  # the interpreter failed on this audio: show the clip and why
            return LoadedClip(clip, opened, None, history, prediction_error=exc.reason)
    return LoadedClip(clip, opened, prediction, history)
