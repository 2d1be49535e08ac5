"""A model's predictions per clip: clip score, threshold and per-window probabilities.

Window arrays are stored as little-endian float32 bytes; NaN in
``window_probs`` marks a silent window that was not run. One row per (clip,
model): saving again replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import exists, select

from voicestudio.store.clips import ClipRow, _rows, _to_row
from voicestudio.store.models import register_model  # noqa: F401  (callers find it here too)
from voicestudio.store.schema import Clip, Prediction, utcnow

_DTYPE = np.dtype("<f4")


@dataclass(frozen=True)
class StoredPrediction:
    clip_id: int
    model_id: int
    clip_score: float
    threshold: float
    window_starts_s: np.ndarray  # float32 seconds from the clip's start
    window_probs: np.ndarray  # float32; NaN = silent window, not run
    created_at: datetime

    @property
    def is_human(self) -> bool:
        return self.clip_score >= self.threshold


def _blob(values, what: str) -> bytes:
    array = np.asarray(values, dtype=_DTYPE)
    if array.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, not shape {array.shape}")
    return array.tobytes()


def _array(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=_DTYPE).astype(np.float32)  # a native, writable copy


def save_prediction(session, clip_id: int, model_id: int, clip_score: float, threshold: float,
                    window_starts, window_probs) -> Prediction:
    """Store the model's prediction for the clip, replacing an earlier one."""
    starts, probs = _blob(window_starts, "window_starts"), _blob(window_probs, "window_probs")
    if len(starts) != len(probs):
        raise ValueError(f"{len(starts) // 4} window starts but {len(probs) // 4} window probabilities")
    row = session.scalar(select(Prediction).where(Prediction.clip_id == clip_id, Prediction.model_id == model_id))
    if row is None:
        row = Prediction(clip_id=clip_id, model_id=model_id)
        session.add(row)
    row.clip_score = float(clip_score)
    row.threshold = float(threshold)
    row.window_starts = starts
    row.window_probs = probs
    row.created_at = utcnow()
    session.flush()
    return row


def get_prediction(session, clip_id: int, model_id: int) -> StoredPrediction | None:
    row = session.scalar(select(Prediction).where(Prediction.clip_id == clip_id, Prediction.model_id == model_id))
    if row is None:
        return None
    return StoredPrediction(row.clip_id, row.model_id, row.clip_score, row.threshold,
                            _array(row.window_starts), _array(row.window_probs), row.created_at)


def clip_scores(session, model_id: int) -> dict[int, float]:
    """Clip id -> clip score, for every clip the model has scored."""
    statement = select(Prediction.clip_id, Prediction.clip_score).where(Prediction.model_id == model_id)
    return {clip_id: score for clip_id, score in session.execute(statement)}


def clips_to_score(session, model_id: int, *, rescore: bool = False) -> list[ClipRow]:
    """Clips without a prediction from the model (every clip with ``rescore``), by id."""
    statement = _rows(select(Clip))
    if not rescore:
        statement = statement.where(~exists().where(Prediction.clip_id == Clip.id, Prediction.model_id == model_id))
    return [_to_row(*r) for r in session.execute(statement.order_by(Clip.id))]


def clips_without_prediction(session, model_id: int) -> list[ClipRow]:
    return clips_to_score(session, model_id)
