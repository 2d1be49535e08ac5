"""The model card: JSON round trip, clear refusals, documented defaults."""

import json

import pytest

from voicestudio.audio.features import FeatureSpec
from voicestudio.errors import ModelError
from voicestudio.model import card as card_module
from voicestudio.model.card import ModelCard, card_path_for, default_card_for, load_card, save_card


def test_round_trip_keeps_every_field(tmp_path):
    card = ModelCard(
        name="x", version="3", labels=("speech", "other"), positive_label="speech", threshold=0.3,
        feature_spec=FeatureSpec(n_mfcc=13, sample_rate=8000, fmax=4000), input_layout="NHW",
        output="softmax", clip_score="top2_mean", quantization="int8",
        training={"sources": [{"name": "debian", "license": "GPL-2+"}]}, metrics={"auc": 0.99},
        created_at="2026-01-02T03:04:05Z",
    )
    path = tmp_path / "x.json"
    save_card(card, path)
    assert load_card(path) == card
    data = json.loads(path.read_text())
    assert list(data)[0] == "card_version" and data["labels"] == ["speech", "other"]
    assert card.negative_label == "other" and card.input_shape(8) == (8, 100, 13)


def test_every_key_is_documented():
    for key in ModelCard().to_dict():
        assert f"``{key}``" in card_module.__doc__


def test_save_replaces_atomically_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "m.json"
    save_card(ModelCard(name="old"), path)
    save_card(ModelCard(name="new"), path)
    assert load_card(path).name == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    with pytest.raises(TypeError):  # not JSON: the old card stays, no temp file is left
        save_card(ModelCard(name="bad", metrics={"x": object()}), path)
    assert load_card(path).name == "new" and [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_card_path_for(tmp_path):
    assert card_path_for(tmp_path / "m.tflite") == tmp_path / "m.json"
    assert card_path_for("dir/voice.v2.tflite").name == "voice.v2.json"


@pytest.mark.parametrize("content,reason", [
    ("{not json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({"name": "x", "colour": "red"}), "unknown card fields: colour"),
    (json.dumps({"feature_spec": {"sample_rate": 96000}}), "sample_rate"),
    (json.dumps({"feature_spec": {"hue": 1}}), "unknown FeatureSpec fields: hue"),
    (json.dumps({"feature_spec": {"sample_rate": "fast"}}), "feature_spec"),
    (json.dumps({"feature_spec": [1]}), "feature_spec must be a JSON object"),
    (json.dumps({"threshold": 2}), "threshold"),
    (json.dumps({"threshold": "high"}), "threshold"),
    (json.dumps({"labels": "human"}), "labels"),
    (json.dumps({"labels": ["a", "b", "c"]}), "labels"),
    (json.dumps({"labels": ["human", "human"]}), "labels"),
    (json.dumps({"positive_label": "dog"}), "positive_label 'dog'"),
    (json.dumps({"input_layout": "NCHW"}), "input_layout"),
    (json.dumps({"output": "logits"}), "output"),
    (json.dumps({"clip_score": "median"}), "clip_score"),
    (json.dumps({"training": "lots"}), "training"),
    (json.dumps({"card_version": 2}), "newer"),
])
def test_bad_cards_are_refused_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "bad-card.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ModelError, match=reason) as exc:
        load_card(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_missing_card_file(tmp_path):
    with pytest.raises(ModelError, match="cannot read"):
        load_card(tmp_path / "absent.json")


@pytest.mark.parametrize("input_shape,output_shape,layout,output", [
    ([-1, 100, 20, 1], [-1, 1], "NHWC", "sigmoid"),
    ([1, 100, 20, 1], [1, 2], "NHWC", "softmax"),
    ([-1, 100, 20], [-1, 1], "NHW", "sigmoid"),
    ([4, 100, 20], [4], "NHW", "sigmoid"),
])
def test_defaults_fit_the_default_shapes(input_shape, output_shape, layout, output):
    card = default_card_for(input_shape, output_shape)
    assert (card.input_layout, card.output) == (layout, output)
    assert card.feature_spec == FeatureSpec() and card.threshold == 0.5 and card.labels == ("nonhuman", "human")


@pytest.mark.parametrize("input_shape,output_shape", [
    ([-1, 50, 20, 1], [-1, 1]),     # other window length
    ([-1, 100, 13, 1], [-1, 1]),    # other coefficient count
    ([-1, 100, 20, 3], [-1, 1]),    # channels
    ([-1, 100, 20, 1], [-1, 3]),    # three classes
    ([-1, 100, 20, 1], [-1, 100, 1]),  # one value per frame
])
def test_defaults_refuse_other_shapes(input_shape, output_shape):
    assert default_card_for(input_shape, output_shape) is None


# Hostile cards: every FeatureSpec field in a sane range, size and depth bounded ---------------------------

@pytest.mark.parametrize("field,value,reason", [
    ("n_mels", 1e8, "n_mels must be an integer 1..256, not 100000000.0"),
    ("n_mels", 100_000_000, "n_mels must be an integer 1..256"),
    ("n_mels", 0, "n_mels must be an integer 1..256"),
    ("sample_rate", 96000, "sample_rate must be an integer 4000..32000, not 96000"),
    ("sample_rate", 2000, "sample_rate must be an integer 4000..32000"),
    ("sample_rate", True, "sample_rate must be an integer 4000..32000, not True"),
    ("sample_rate", 16000.5, "sample_rate must be an integer"),
    ("n_fft", 1 << 30, "n_fft must be an integer 16..8192"),
    ("n_fft", 1021, "n_fft must be a product of 2s, 3s and 5s"),
    ("n_mfcc", 41, "n_mfcc must be 1..n_mels (40), not 41"),
    ("n_mfcc", "20", "n_mfcc must be an integer 1..256, not '20'"),
    ("fmin", 9000, "fmin must be 0..fmax (fmax capped at Nyquist: 8000 Hz), not 9000"),
    ("fmin", -5, "fmin must be a number 0..48000"),
    ("fmax", 1e12, "fmax must be a number 1..48000"),
    ("frame_ms", 0, "frame_ms must be a number 0.1..500"),
    ("hop_ms", -10, "hop_ms must be a number 0.1..60000"),
    ("hop_ms", 1e308, "hop_ms must be a number 0.1..60000"),
    ("window_s", 1e9, "window_s must be a number 0.01..60"),
    ("window_hop_s", 0, "window_hop_s must be a number 0.01..60"),
    ("log_floor", 0, "log_floor must be a number 1e-30..1, not 0"),
    ("silence_dbfs", 20, "silence_dbfs must be a number -200..0"),
    ("window", ["hamming"], "window must be one of"),
    ("feature", {"a": 1}, "feature must be one of"),
])
def test_every_feature_spec_field_is_checked_against_its_range(tmp_path, field, value, reason):
    path = tmp_path / "card.json"
    path.write_text(json.dumps({"feature_spec": {field: value}}))
    with pytest.raises(ModelError, match="invalid feature_spec") as caught:
        load_card(path)
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_the_frames_of_one_window_are_bounded():
    assert FeatureSpec(window_s=60).image_shape == (6000, 20)  # the longest window, at a 10 ms hop
    with pytest.raises(ValueError, match=r"window_s covers 480,000 frames \(at most 10,000\)"):
        FeatureSpec(window_s=60, hop_ms=0.1)


def test_nan_and_infinity_are_refused(tmp_path):
    path = tmp_path / "card.json"
    for value in ("NaN", "Infinity", "-Infinity"):
        path.write_text('{"feature_spec": {"fmin": %s, "log_floor": %s}}' % (value, value))
        with pytest.raises(ModelError, match=r"fmin must be a number 0\.\.48000, not .*log_floor must be"):
            load_card(path)


@pytest.mark.parametrize("content,reason", [
    ("[" * 500_000 + "]" * 500_000, "card too large/malformed: nested deeper than 32 levels"),  # 1 MB
    (json.dumps({"training": json.loads("[" * 40 + "]" * 40)}), "nested deeper than 32 levels"),
    (json.dumps({"training": {"notes": "a" * (2 << 20)}}), "card too large/malformed: over 1 MiB"),
    ('{"card_version": ' + "9" * 5000 + "}", "not valid JSON"),
])
def test_huge_and_deep_cards_are_refused_before_parsing_deeply(tmp_path, content, reason):
    path = tmp_path / "card.json"
    path.write_text(content)
    with pytest.raises(ModelError, match=reason) as caught:
        load_card(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_hostile_cards_end_to_end(tmp_path):
    """The user's scenario: a model shipped with a hostile card, used from the command line."""
    import subprocess
    import sys

    from audiofiles import speechlike
    from audiofiles import write as write_audio
    from voicestudio.model.detector import DEFAULT_MODEL

    model = tmp_path / "shared.tflite"
    model.write_bytes(DEFAULT_MODEL.read_bytes())
    audio = write_audio(tmp_path / "voice.wav", speechlike(16000, 2.0), 16000)
    cards = {'{"feature_spec": {"n_mels": 1e8, "n_mfcc": 20}}': "n_mels must be an integer 1..256",
             "[" * 500_000 + "]" * 500_000: "card too large/malformed: nested deeper than 32 levels"}
    for content, reason in cards.items():
        card_path_for(model).write_text(content)
        # predict refuses the model in one line (before any feature is computed: no MemoryError)
        done = subprocess.run([sys.executable, "-m", "voicestudio", "predict", "--model", str(model), str(audio)],
                              capture_output=True, text=True, timeout=300)
        ours = [line for line in done.stderr.splitlines() if line.startswith("voicestudio:")]
        assert done.returncode == 1 and len(ours) == 1 and reason in ours[0], done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
        # inspect shows the model and says what is wrong with its card
        for args in (["model", "inspect"], ["--json", "model", "inspect"]):
            done = subprocess.run([sys.executable, "-m", "voicestudio", *args, str(model)],
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0 and reason in done.stdout and done.stderr == "", done.stderr
