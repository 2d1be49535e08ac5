"""``voicestudio evaluate DATA_DIR`` (issue 16, item 4): a model on the user's own folder-per-class set,
no project: the same figures as ``stats`` would give, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from audiofiles import noise, speechlike, tone, write
from voicestudio.metrics import confusion_at, roc_auc

SR = 16000


def voicestudio(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicestudio", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def make_set(root, splits=("",)):
    for split in splits:
        for i in range(3):
            write(root / split / "human" / f"voice{i}.wav", speechlike(SR, 2.0, seed=10 + i), SR)
            write(root / split / "nonhuman" / f"tone{i}.wav", tone(SR, 1.5, freq=300.0 + 200 * i), SR)
            write(root / split / "nonhuman" / f"noise{i}.wav", noise(SR, 1.0, seed=i), SR)
    return root


def test_evaluate_gives_the_metrics_of_the_model_on_the_set(tmp_path):
    data = make_set(tmp_path / "set")
    done = voicestudio("--json", "evaluate", data, "--plots", tmp_path / "plots")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["files"] == 9 and out["split"] is None and out["labelled"] == 9 and out["problems"] == []
    model = out["model"]
    # The same numbers from predict's own scores: nothing lost or relabelled on the way.
    predicted = json.loads(voicestudio("--json", "predict", data).stdout)["results"]
    truth = np.array(["/human/" in r["path"] for r in predicted])
    scores = np.array([r["score"] for r in predicted])
    expected = confusion_at(truth, scores, predicted[0]["threshold"])
    assert (model["confusion"]["tp"], model["confusion"]["fn"], model["confusion"]["fp"], model["confusion"]["tn"]) \
        == (expected.tp, expected.fn, expected.fp, expected.tn)
    assert model["roc_auc"] == pytest.approx(roc_auc(truth, scores), abs=1e-6)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["confusion.png", "histogram.png", "pr.png",
                                                                       "roc.png"]


def test_with_splits_the_test_split_is_evaluated_and_a_bad_file_fails_alone(tmp_path):
    data = make_set(tmp_path / "set", splits=("train", "test"))
    (data / "test" / "nonhuman" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    done = voicestudio("--json", "evaluate", data)
    assert done.returncode == 1 and "broken.wav" in done.stderr
    out = json.loads(done.stdout)
    assert out["split"] == "test" and out["labelled"] == 9  # the train split is left alone
    text = voicestudio("evaluate", data, "--split", "train", "--threshold", "0.5")
    assert text.returncode == 0 and "(train split)" in text.stdout and "at threshold 0.5" in text.stdout
    missing = voicestudio("evaluate", data, "--split", "val")
    assert missing.returncode == 1 and "has no val/ split" in missing.stderr
    assert voicestudio("evaluate", data, "--threshold", "2").returncode == 2
    assert voicestudio("evaluate", tmp_path / "nowhere").returncode == 1
