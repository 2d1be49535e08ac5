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
