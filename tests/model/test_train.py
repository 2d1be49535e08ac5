"""`voicestudio train` on a tiny generated set: the result loads in `predict`."""

import json

import numpy as np
import pytest

import audiofiles
from voicestudio.cli import main
from voicestudio.metrics import roc_auc
from voicestudio.model.detector import Detector
from voicestudio.model.inspect import inspect_tflite
from voicestudio.model.train import TrainConfig, find_labelled_files, split_training_files

SR = 16000


def tiny_set(root, per_class=12):
    for i in range(per_class):
        speaker = f"speaker{i % 4}"
        audiofiles.write(root / "human" / speaker / f"u{i}.wav", audiofiles.speechlike(SR, 1.5, seed=i), SR)
        kind = ("hum", "hiss", "beep")[i % 3]
        signal = {"hum": audiofiles.tone(SR, 1.5, 50 + i), "hiss": audiofiles.noise(SR, 1.5, seed=i),
                  "beep": audiofiles.tone(SR, 1.5, 1000 + 100 * i)}[kind]
        audiofiles.write(root / "nonhuman" / kind / f"n{i}.wav", signal, SR)
    return root


@pytest.mark.slow
def test_train_cli_writes_models_that_predict(tmp_path, capsys):
    data = tiny_set(tmp_path / "data")
    out = tmp_path / "model" / "tiny.tflite"
    code = main(["--json", "train", str(data), str(out), "--epochs", "3", "--seed", "1", "--group-balance", "0.5"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["feature_spec"]["sample_rate"] == SR and card["metrics"]["validation"]["n"] > 0
    assert card["training"]["group_balance"] == 0.5 and card["clip_score"] in ("max", "top2_mean")
    assert result["int8_model"].endswith("tiny-int8.tflite")
    assert out.with_suffix(".keras").is_file()  # the network, to fine-tune or average later
    # The built-in's graph: its int8 build runs every input (the old graph's int8 DIV refused a full-scale
    # square wave) on every runtime back to tflite-runtime 2.14 (no SQRT v2)
    t = np.arange(2 * SR) / SR
    hostile = {"silence": np.zeros(2 * SR, np.float32), "DC": np.full(2 * SR, 0.5, np.float32),
               "square": np.sign(np.sin(2 * np.pi * 440 * t)).astype(np.float32),
               "clipped": np.clip(20 * np.sin(2 * np.pi * 220 * t), -1, 1).astype(np.float32)}
    for model in (out, out.with_name("tiny-int8.tflite")):
        found = inspect_tflite(model)
        assert not {op.name for op in found.operators} & {"DIV", "SQRT", "RSQRT"}
        assert found.metadata["min_runtime_version"] == "1.14.0"
        detector = Detector(model)
        assert detector.batch_capable
        p = detector.predict_file(data / "human" / "speaker0" / "u0.wav")
        assert 0.0 <= p.clip_score <= 1.0
        for samples in hostile.values():
            assert 0.0 <= detector.predict_samples(samples, SR).clip_score <= 1.0
    code = main(["predict", "--model", str(out), str(data / "nonhuman" / "hum" / "n0.wav")])
    assert code == 0


@pytest.mark.slow
def test_half_width_adds_a_network_of_half_windows_scored_on_both_halves(tmp_path, capsys):
    """--half-width: the two-scale graph from nothing: the 1 s network and a narrower one of half-length
    windows on the same split, in one file whose int8 build runs back to tflite-runtime 2.14."""
    data = tiny_set(tmp_path / "data")
    out = tmp_path / "model" / "two.tflite"
    assert main(["--json", "train", str(data), str(out), "--epochs", "1", "--half-width", "8"]) == 0
    card = json.loads(capsys.readouterr().out)["card"]
    assert card["training"]["half_width"] == 8 and len(card["training"]["epochs_run"]) == 2
    for model in (out, out.with_name("two-int8.tflite")):
        found = inspect_tflite(model)
        assert {"STRIDED_SLICE", "MAXIMUM"} <= {op.name for op in found.operators}
        assert found.metadata["min_runtime_version"] == "1.14.0"
        assert 0.0 <= Detector(model).predict_file(data / "human" / "speaker0" / "u0.wav").clip_score <= 1.0
    assert main(["train", str(data), str(out), "--half-width", "-1"]) == 2


def test_grouped_split_keeps_groups_together(tmp_path):
    data = tiny_set(tmp_path / "data", per_class=24)
    files = split_training_files(find_labelled_files(data), TrainConfig(seed=3))
    split_of_group = {}
    for f in files:
        assert split_of_group.setdefault(f.group, f.split) == f.split
    assert {f.split for f in files} == {"train", "val", "test"}
    again = split_training_files(find_labelled_files(data), TrainConfig(seed=3))
    assert [f.split for f in again] == [f.split for f in files]


def test_presplit_layout_is_respected(tmp_path):
    for split in ("train", "val"):
        tiny_set(tmp_path / "data" / split, per_class=3)
    files = find_labelled_files(tmp_path / "data")
    assert {f.split for f in files} == {"train", "val"}
    assert split_training_files(files, TrainConfig()) == files


def test_missing_class_is_a_clear_error(tmp_path):
    audiofiles.write(tmp_path / "data" / "human" / "a.wav", audiofiles.tone(SR, 1.0), SR)
    from voicestudio.errors import VoiceStudioError

    with pytest.raises(VoiceStudioError, match="both human/ and nonhuman/"):
        find_labelled_files(tmp_path / "data")


def test_roc_auc_matches_definition():
    labels = np.array([1, 1, 0, 0, 1, 0])
    scores = np.array([0.9, 0.4, 0.4, 0.1, 0.8, 0.3])
    # pairs (pos, neg): 9 pairs; wins: 0.9>all 3, 0.8>all 3, 0.4: >0.1, >0.3, =0.4 (half) -> 2.5
    assert roc_auc(labels, scores) == pytest.approx(8.5 / 9)
