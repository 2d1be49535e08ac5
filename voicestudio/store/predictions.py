"""Models known to the project and their predictions per clip."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import exists, select

from voicestudio.store.clips import ClipRow, _rows, _to_row
from voicestudio.store.schema import Clip, Model, Prediction, utcnow


@dataclass(frozen=True)
class StoredPrediction:
    clip_id: int
    model_id: int
    clip_score: float
    threshold: float
    window_starts_s: np.ndarray
    window_probs: np.ndarray  # NaN = silent window, not run


def register_model(session, sha256: str, path: str, card: dict) -> Model:
    """The model row for this file content (added once; the path follows the latest use)."""
    model = session.scalar(select(Model).where(Model.sha256 == sha256))
    if model is None:
        model = Model(sha256=sha256, path=path, name=card.get("name") or "model",
                      version=card.get("version"), card_json=json.dumps(card))
        session.add(model)
    elif model.path != path:
        model.path = path
    session.flush()
    return model


def _blob(values) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


def _array(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def save_prediction(session, clip_id: int, model_id: int, clip_score: float, threshold: float,
                    window_starts, window_probs) -> None:
    """Store (or replace) the model's prediction for the clip."""
    row = session.scalar(select(Prediction).where(Prediction.clip_id == clip_id, Prediction.model_id == model_id))
    if row is None:
        row = Prediction(clip_id=clip_id, model_id=model_id)
        session.add(row)
    row.clip_score = float(clip_score)
    row.threshold = float(threshold)
    row.window_starts = _blob(window_starts)
    row.window_probs = _blob(window_probs)
    row.created_at = utcnow()
    session.flush()


def get_prediction(session, clip_id: int, model_id: int) -> StoredPrediction | None:
    row = session.scalar(select(Prediction).where(Prediction.clip_id == clip_id, Prediction.model_id == model_id))
    if row is None:
        return None
    return StoredPrediction(row.clip_id, row.model_id, row.clip_score, row.threshold,
                            _array(row.window_starts), _array(row.window_probs))


def clip_scores(session, model_id: int) -> dict[int, float]:
    return dict(session.execute(select(Prediction.clip_id, Prediction.clip_score).where(Prediction.model_id == model_id)).all())


def clips_to_score(session, model_id: int, *, rescore: bool = False) -> list[ClipRow]:
    """Clips without a prediction from the model (every clip with ``rescore``)."""
    statement = _rows(select(Clip))
    if not rescore:
        statement = statement.where(
            ~exists().where(Prediction.clip_id == Clip.id, Prediction.model_id == model_id)
        )
    return [_to_row(*r) for r in session.execute(statement.order_by(Clip.id))]
