"""The detector against real .tflite models whose output is a known function of the input."""

import json
import sys

import numpy as np
import pytest

import audiofiles
import tinymodels
from voicestudio.audio.features import FeatureSpec, features, pad_to_window, silent_windows, window_images, window_starts
from voicestudio.errors import ModelError, NoModelError
from voicestudio.model.card import ModelCard, card_path_for, load_card, save_card
from voicestudio.model.detector import Detector, clip_score
from voicestudio.model.runtime import load_interpreter

SR = 16000


@pytest.fixture(scope="session")
def models(model_dir):
    return {
        "dynamic": tinymodels.build_mean_model(model_dir),
        "fixed": tinymodels.build_mean_model(model_dir, dynamic_batch=False),
        "nhw_softmax": tinymodels.build_mean_model(model_dir, layout="NHW", output="softmax"),
        "int8": tinymodels.build_mean_model(model_dir, quantize="int8"),
        "nocard": tinymodels.build_mean_model(model_dir, name="no-card", card=False),
        **tinymodels.build_broken_models(model_dir / "broken"),
    }


def expected(samples, spec=FeatureSpec()):
    samples = pad_to_window(samples, spec)
    frames = features(samples, spec)
    starts = window_starts(len(frames), spec)
    silent = silent_windows(samples, starts, spec)
    probs = np.full(len(starts), np.nan)
    probs[~silent] = tinymodels.expected_mean_model(window_images(frames, starts[~silent], spec))
    return probs, silent


def clip_with_silence():
    loud = audiofiles.speechlike(SR, 2.0)
    return np.concatenate([loud, np.zeros(SR * 2, np.float32), audiofiles.noise(SR, 1.3)])


def test_probabilities_are_the_models_function_of_the_features(models):
    samples = clip_with_silence()
    prediction = Detector(models["dynamic"]).predict_samples(samples, SR)
    probs, silent = expected(samples)
    assert prediction.silent.tolist() == silent.tolist() and silent.any() and not silent.all()
    np.testing.assert_allclose(prediction.window_probs[~silent], probs[~silent], rtol=1e-4)
    assert np.isnan(prediction.window_probs[silent]).all()
    assert prediction.clip_score == pytest.approx(np.nanmax(probs), rel=1e-4)
    assert prediction.window_starts_s[:3].tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("variant", ["fixed", "nhw_softmax", "nocard"])
def test_batched_unbatched_layouts_and_defaults_agree(models, variant):
    samples = clip_with_silence()
    reference = Detector(models["dynamic"]).predict_samples(samples, SR)
    other = Detector(models[variant])
    assert other.batch_capable == (variant != "fixed")
    np.testing.assert_allclose(other.predict_samples(samples, SR).window_probs, reference.window_probs, rtol=1e-4)


def test_many_windows_use_padded_batches(models):
    detector = Detector(models["dynamic"])
    images = np.random.default_rng(0).normal(-10, 10, (150, 100, 20)).astype(np.float32)
    np.testing.assert_allclose(detector.invoke_images(images), tinymodels.expected_mean_model(images), rtol=1e-4)
    np.testing.assert_allclose(detector.invoke_images(images[:3]), tinymodels.expected_mean_model(images[:3]), rtol=1e-4)


def test_int8_model_is_close_to_float(models):
    samples = audiofiles.speechlike(SR, 3.0)
    float_probs = Detector(models["dynamic"]).predict_samples(samples, SR).window_probs
    int8_probs = Detector(models["int8"]).predict_samples(samples, SR).window_probs
    np.testing.assert_allclose(int8_probs, float_probs, atol=0.03)


def test_resampled_input_short_clip_and_all_silent(models):
    detector = Detector(models["dynamic"])
    at_44k = audiofiles.speechlike(44100, 2.0)
    prediction = detector.predict_samples(at_44k, 44100)
    assert prediction.n_windows == 3
    short = detector.predict_samples(audiofiles.tone(SR, 0.3), SR)
    assert short.n_windows == 1 and not short.silent[0]
    quiet = detector.predict_samples(np.zeros(SR * 2, np.float32), SR)
    assert quiet.silent.all() and quiet.clip_score == 0.0 and quiet.label == "nonhuman"


def test_predict_file_reads_a_part(models, tmp_path):
    path = audiofiles.write(tmp_path / "a.wav", clip_with_silence(), SR)
    detector = Detector(models["dynamic"])
    whole = detector.predict_file(path)
    part = detector.predict_file(path, start_s=0.0, end_s=2.0)
    assert part.n_windows == 3 and whole.n_windows > part.n_windows
    np.testing.assert_allclose(part.window_probs[0], whole.window_probs[0], rtol=1e-4)


def test_clip_score_rules():
    probs = np.array([0.1, np.nan, 0.9, 0.5], np.float32)
    assert clip_score(probs, "max") == pytest.approx(0.9)
    assert clip_score(probs, "mean") == pytest.approx(0.5)
    assert clip_score(probs, "top2_mean") == pytest.approx(0.7)
    assert clip_score(np.array([np.nan]), "max") == 0.0


@pytest.mark.parametrize("name,message", [
    ("wrong_shape", "contradicts its card"),
    ("two_outputs", "has 2 outputs"),
    ("two_inputs", "has 2 inputs"),
    ("int_output", "int32 without quantisation"),
    ("three_classes", "3 values per window"),
])
def test_broken_models_are_refused_clearly(models, name, message):
    with pytest.raises(ModelError, match=message) as exc:
        Detector(models[name])
    assert str(models[name]) in str(exc.value)


def test_not_tflite_files(tmp_path, models):
    cases = {
        "random.tflite": np.random.default_rng(1).bytes(2000),
        "text.tflite": b"model weights go here\n" * 10,
        "empty.tflite": b"",
        "truncated.tflite": models["dynamic"].read_bytes()[:300],
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelError) as exc:
            Detector(tmp_path / name)
        assert name in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(ModelError, match="no such model"):
        Detector(tmp_path / "absent.tflite")


def test_model_without_card_and_unusual_shape_is_refused(models, tmp_path):
    target = tmp_path / "odd.tflite"
    target.write_bytes(models["wrong_shape"].read_bytes())  # no card beside it
    with pytest.raises(ModelError, match="does not fit the defaults"):
        Detector(target)


def test_no_default_model_says_so(monkeypatch, tmp_path):
    import voicestudio.model.detector as detector_module

    monkeypatch.setattr(detector_module, "DEFAULT_MODEL", tmp_path / "absent.tflite")
    with pytest.raises(NoModelError, match="--model"):
        Detector()


def test_card_round_trip_and_bad_cards(tmp_path):
    card = ModelCard(name="x", threshold=0.3, feature_spec=FeatureSpec(n_mfcc=13), metrics={"auc": 0.99})
    path = tmp_path / "x.json"
    save_card(card, path)
    assert load_card(path) == card
    assert card_path_for(tmp_path / "m.tflite") == tmp_path / "m.json"
    bad = {
        "bad-json.json": "{not json",
        "bad-field.json": json.dumps({"name": "x", "colour": "red"}),
        "bad-spec.json": json.dumps({"feature_spec": {"sample_rate": 96000}}),
        "bad-threshold.json": json.dumps({"threshold": 2}),
        "list.json": "[1, 2]",
    }
    for name, content in bad.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(ModelError) as exc:
            load_card(tmp_path / name)
        assert name in str(exc.value)


def test_runtime_falls_back_to_tensorflow_lite(models, monkeypatch):
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    loaded = load_interpreter(models["dynamic"], threads=1)
    assert loaded.runtime == "tensorflow" and loaded.threads == 1
    detector = Detector(models["dynamic"])
    assert detector.runtime_name.startswith("tensorflow")


def test_default_runtime_is_litert(models):
    assert Detector(models["dynamic"]).runtime_name.startswith("ai-edge-litert")
