"""Models and their predictions per clip."""

import numpy as np
import pytest

from voicestudio.store import models, predictions


def test_register_model_is_idempotent_by_hash(project):
    with project.write() as s:
        model = models.register_model(s, "A" * 64, "/m.tflite", {"name": "m", "version": 1})
        again = models.register_model(s, "a" * 64, "/moved/m.tflite", {"name": "m", "version": 2})
        assert again.id == model.id and again.path == "/moved/m.tflite" and again.version == "2"
        assert models.model_card(again) == {"name": "m", "version": 2}
    with project.session() as s:
        assert [m.sha256 for m in models.list_models(s)] == ["a" * 64]
        assert models.find_model(s, "a" * 64).id == model.id


def test_predictions_round_trip_arrays_with_nan_and_are_replaced(project, make_clips):
    c1, c2 = make_clips(project, 2)
    starts = np.array([0.0, 0.5, 1.0], dtype=np.float32)
    probs = np.array([0.9, np.nan, 0.25], dtype=np.float32)
    with project.write() as s:
        model = models.register_model(s, "b" * 64, "/m.tflite", {"name": "m"})
        predictions.save_prediction(s, c1, model.id, 0.9, 0.5, starts, probs)
        with pytest.raises(ValueError, match="3 window starts but 2"):
            predictions.save_prediction(s, c2, model.id, 0.1, 0.5, starts, probs[:2])
    with project.session() as s:
        stored = predictions.get_prediction(s, c1, model.id)
        assert stored.window_starts_s.dtype == np.float32 and stored.window_probs.dtype == np.float32
        np.testing.assert_array_equal(stored.window_starts_s, starts)
        np.testing.assert_array_equal(stored.window_probs, probs)  # NaN in the same place
        assert (stored.clip_score, stored.threshold, stored.is_human) == (pytest.approx(0.9), 0.5, True)
        assert [c.id for c in predictions.clips_without_prediction(s, model.id)] == [c2]
        assert predictions.get_prediction(s, c2, model.id) is None
    with project.write() as s:
        predictions.save_prediction(s, c1, model.id, 0.2, 0.6, [0.0], [0.2])
    with project.session() as s:
        stored = predictions.get_prediction(s, c1, model.id)
        assert stored.window_probs.tolist() == [pytest.approx(0.2)] and stored.threshold == 0.6
        assert len(predictions.clips_to_score(s, model.id, rescore=True)) == 2
        assert predictions.clip_scores(s, model.id) == {c1: pytest.approx(0.2)}
