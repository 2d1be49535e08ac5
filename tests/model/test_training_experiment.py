"""training/experiment.py: the cached windows train exactly the model train_default.py's path trains."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_train import tiny_set
from voicestudio.model.card import CLIP_SCORES
from voicestudio.model.detector import Detector
from voicestudio.model.train import LabelledFile, TrainConfig, WindowSet, window_weights

REPO = Path(__file__).resolve().parents[2]


def test_group_balance_weighs_small_groups_up_and_keeps_the_classes_even():
    files = [LabelledFile(Path(f"{g}.wav"), label, g) for g, label in
             (("big", "human"), ("small", "human"), ("noise", "nonhuman"))]
    file_index = np.array([0] * 90 + [1] * 10 + [2] * 20)
    labels = np.array([1] * 100 + [0] * 20)
    windows = WindowSet(np.zeros((120, 1, 1), np.float32), labels, file_index, files)

    plain = window_weights(windows, 0.0)
    assert np.allclose(plain[labels == 1].sum(), plain[labels == 0].sum())  # as class_weight did
    assert np.allclose(plain[:100], plain[0])  # every human window alike

    balanced = window_weights(windows, 1.0)
    assert np.isclose(balanced[:90].sum(), balanced[90:100].sum())  # each group the same share
    assert np.isclose(balanced[labels == 1].sum(), balanced[labels == 0].sum())
    assert np.isclose(balanced.sum(), len(labels))

    half = window_weights(windows, 0.5)
    assert half[90] / half[0] == pytest.approx(3.0)  # sqrt(90 / 10)


@pytest.mark.slow
def test_cached_windows_train_the_same_model_as_the_uncached_path(tmp_path):
    corpus = tiny_set(tmp_path / "corpus", per_class=16)
    script = REPO / "training" / "experiment.py"
    settings = ["--augment-copies", "1", "--seed", "2"]
    cache = tmp_path / "cache.npz"
    subprocess.run([sys.executable, str(script), "prepare", "--corpus", str(corpus), "--out", str(cache), *settings],
                   check=True, cwd=REPO, capture_output=True)
    cached = tmp_path / "cached" / "models" / "voice-detector.tflite"
    subprocess.run([sys.executable, str(script), "train", str(cache), "--corpus", str(corpus), "--out", str(cached),
                    "--epochs", "2", "--batch-size", "16", *settings], check=True, cwd=REPO, capture_output=True)

    sys.path.insert(0, str(REPO / "training"))
    from robust_graph import train_robust

    direct = tmp_path / "direct" / "voice-detector.tflite"
    config = TrainConfig(epochs=2, seed=2, augment_copies=1, group_balance=0.5, batch_size=16, learning_rate=4e-3)
    train_robust(corpus, direct, config, name="voice-detector")

    cards = [json.loads(p.with_suffix(".json").read_text()) for p in (cached, direct)]
    assert cards[0]["metrics"] == cards[1]["metrics"]
    assert cards[0]["clip_score"] in CLIP_SCORES and cards[0]["training"]["group_balance"] == 0.5
    assert cards[0]["metrics"]["validation"]["clip_rules"].keys() == {"max", "top2_mean"}
    clip = corpus / "human" / "speaker1" / "u1.wav"
    for name in ("voice-detector.tflite", "voice-detector-int8-float-front.tflite"):
        a, b = (Detector(p.with_name(name)).predict_file(clip) for p in (cached, direct))
        assert np.allclose(a.window_probs, b.window_probs, atol=1e-5, equal_nan=True)
    line = json.loads((tmp_path / "cached" / "experiments.jsonl").read_text().splitlines()[-1])
    assert line["settings"]["group_balance"] == 0.5 and line["clip_score"] == cards[0]["clip_score"]

    # --from-keras: the models and cards of a network trained already, without fitting again
    again = tmp_path / "again" / "models" / "voice-detector.tflite"
    subprocess.run([sys.executable, str(script), "train", str(cache), "--corpus", str(corpus), "--out", str(again),
                    "--from-keras", str(cached.with_suffix(".keras")), *settings], check=True, cwd=REPO,
                   capture_output=True)
    assert json.loads(again.with_suffix(".json").read_text())["metrics"] == cards[0]["metrics"]
    a, b = (Detector(p).predict_file(clip) for p in (cached, again))
    assert np.allclose(a.window_probs, b.window_probs, atol=1e-6, equal_nan=True)
