"""Models, predictions and the statistics over labels and predictions."""

import numpy as np
import pytest

from voicestudio.store import labels, models, predictions, stats


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


def test_confusion_and_label_stats(project, make_clips):
    ids = make_clips(project, 8)
    # clip:    0       1       2           3           4         5        6         7
    truth = ["human", "human", "nonhuman", "nonhuman", "unsure", None, "human", "nonhuman"]
    score = [0.9, 0.3, 0.7, 0.1, 0.8, 0.6, None, 0.5]
    with project.write() as s:
        model = models.register_model(s, "c" * 64, "/m.tflite", {"name": "m"})
        for clip, value, p in zip(ids, truth, score):
            if value is not None:
                labels.add_label(s, clip, "bob", "unsure")
                labels.add_label(s, clip, "ann", value)  # the latest across annotators
            if p is not None:
                predictions.save_prediction(s, clip, model.id, p, 0.5, [0.0], [p])
    with project.session() as s:
        c = stats.confusion(s, model.id, 0.5)
        assert (c.tp, c.fn, c.fp, c.tn) == (1, 1, 2, 1)  # 0.5 >= threshold counts as human
        assert (c.n_unlabelled, c.n_unscored, c.n) == (2, 1, 5)  # clips 4, 5 / clip 6
        assert c.precision == pytest.approx(1 / 3) and c.recall == pytest.approx(0.5)
        assert stats.confusion(s, model.id, 0.95).tp == 0
        st = stats.label_stats(s)
        assert (st.clips_total, st.clips_labelled) == (8, 7)
        assert st.by_label == {"human": 3, "nonhuman": 3, "unsure": 1}
        assert st.by_annotator == {"ann": {"human": 3, "nonhuman": 3, "unsure": 1}, "bob": {"unsure": 7}}
