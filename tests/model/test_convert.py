"""model convert: every source kind and quantisation, checked by running source and result."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tinymodels
from voicestudio.audio.features import FeatureSpec
from voicestudio.cli import main
from voicestudio.dataset.importer import import_paths
from voicestudio.errors import ModelError, VoiceStudioError
from voicestudio.model.card import load_card
from voicestudio.model.convert import ConvertOptions, convert_model
from voicestudio.model.detector import DEFAULT_MODEL, Detector
from voicestudio.model.inspect import inspect_model
from voicestudio.resources import resource_path
from voicestudio.store.project import open_project

SAMPLES = resource_path("samples")


def mean_network(tf, frames=100, coeffs=20):
    """sigmoid(MEAN_A * mean(image) + MEAN_B) from plain layers: tinymodels' mean model, as Keras."""
    layers = tf.keras.layers
    inputs = layers.Input((frames, coeffs, 1), name="features")
    x = layers.GlobalAveragePooling2D()(inputs)
    out = layers.Dense(1, activation="sigmoid", name="p_human")(x)
    model = tf.keras.Model(inputs, out)
    model.get_layer("p_human").set_weights([np.full((1, 1), tinymodels.MEAN_A, np.float32),
                                            np.full((1,), tinymodels.MEAN_B, np.float32)])
    return model


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """The same network as .keras, .h5, a SavedModel folder and a frozen GraphDef."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    folder = tmp_path_factory.mktemp("sources")
    model = mean_network(tf)
    model.save(folder / "m.keras")
    model.save(folder / "m.h5")
    model.export(str(folder / "saved"), verbose=False)
    fn = tf.function(lambda x: model(x)).get_concrete_function(tf.TensorSpec([None, 100, 20, 1], tf.float32, name="x"))
    tf.io.write_graph(convert_variables_to_constants_v2(fn).graph.as_graph_def(), str(folder), "frozen.pb", as_text=False)
    narrow = tf.keras.Model(*(lambda m: (m.inputs, m.outputs))(mean_network(tf, coeffs=13)))
    narrow.save(folder / "narrow.keras")
    lam_in = tf.keras.layers.Input((100, 20, 1))
    tf.keras.Model(lam_in, tf.keras.layers.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2]))(lam_in)).save(folder / "lambda.keras")
    return folder


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory):
    project = open_project(tmp_path_factory.mktemp("p") / "p.vsproj")
    assert not import_paths(project, [SAMPLES]).failures
    yield project
    project.close()


def check_converted(report, out, quantize, tolerance):
    assert report.out == str(out) and out.is_file() and report.windows > 0
    assert report.max_abs_diff <= tolerance and report.decision_agreement >= (0.9 if quantize == "int8" else 1.0)
    card = load_card(out.with_suffix(".json"))
    assert card.quantization == {"none": "float32"}.get(quantize, quantize) and card.name == out.stem
    assert card.training["conversion"]["quantize"] == quantize
    assert card.training["conversion"]["max_abs_diff"] == pytest.approx(report.max_abs_diff, abs=1e-6)
    detector = Detector(out)  # loads with its new card and runs
    images = np.stack(tinymodels.representative_images(FeatureSpec())[:8])
    assert np.allclose(detector.invoke_images(images), tinymodels.expected_mean_model(images), atol=tolerance)
    return inspect_model(out)


def test_keras_to_int8_calibrated_on_the_project(sources, demo_project, tmp_path):
    out = tmp_path / "m-int8.tflite"
    report = convert_model(sources / "m.keras", out, ConvertOptions(quantize="int8"), project=demo_project)
    assert report.kind == "keras" and "project's clips" in report.audio
    found = check_converted(report, out, "int8", 0.05)
    assert found.inputs[0].dtype == "int8" and found.inputs[0].quantization is not None
    assert found.inputs[0].shape_signature == (-1, 100, 20, 1)  # the detector batches windows


def test_h5_and_saved_model_from_the_cli(sources, tmp_path, capsys):
    out = tmp_path / "m.tflite"
    assert main(["--json", "model", "convert", str(sources / "m.h5"), str(out), "--audio", str(SAMPLES)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "keras" and report["max_abs_diff"] < 1e-5 and report["decision_agreement"] == 1.0
    check_converted(type("R", (), report), out, "none", 1e-5)

    # No --db: the default project, which starts as the demo project, gives the audio.
    for quantize, tolerance in (("dynamic", 1e-5), ("float16", 2e-3)):
        out = tmp_path / f"saved-{quantize}.tflite"
        assert main(["model", "convert", str(sources / "saved"), str(out), "--quantize", quantize]) == 0
        text = capsys.readouterr().out
        assert f"wrote {out}" in text and "decisions at 0.5 agree on 100.0%" in text
        assert load_card(out.with_suffix(".json")).training["conversion"]["kind"] == "saved_model"


def test_a_frozen_graph_needs_its_tensor_names(sources, tmp_path, capsys):
    assert main(["model", "inspect", str(sources / "frozen.pb")]) == 0
    text = capsys.readouterr().out
    assert "input 0: x:0  float32  [?, 100, 20, 1]" in text and "output 0: Identity:0" in text
    out = tmp_path / "frozen.tflite"
    assert main(["model", "convert", str(sources / "frozen.pb"), str(out), "--audio", str(SAMPLES)]) == 1
    err = capsys.readouterr().err
    assert "--inputs and --outputs (likely inputs: x; likely outputs: Identity)" in err
    assert main(["--json", "model", "convert", str(sources / "frozen.pb"), str(out), "--audio", str(SAMPLES),
                 "--inputs", "x", "--outputs", "Identity", "--quantize", "float16"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "graphdef" and report["decision_agreement"] == 1.0
    found = check_converted(type("R", (), report), out, "float16", 2e-3)
    assert found.inputs[0].shape_signature == (-1, 100, 20, 1)
    assert main(["model", "convert", str(sources / "frozen.pb"), str(out), "--inputs", "nope", "--outputs", "Identity"]) == 1
    assert "no node named 'nope'" in capsys.readouterr().err


def test_a_card_gives_the_feature_spec(sources, tmp_path):
    spec = FeatureSpec(n_mfcc=13)
    card = tmp_path / "narrow-card.json"
    card.write_text(json.dumps({"name": "narrow", "feature_spec": spec.to_dict(), "threshold": 0.7}))
    out = tmp_path / "narrow.tflite"
    with pytest.raises(ModelError, match=r"shapes \(input \[-1, 100, 13, 1\].*do not fit the defaults: pass --card"):
        convert_model(sources / "narrow.keras", out, ConvertOptions(audio=SAMPLES))
    wrong = tmp_path / "wrong-card.json"
    wrong.write_text(json.dumps({"name": "wrong"}))
    with pytest.raises(ModelError, match=r"input \[None, 100, 13, 1\] does not fit the card \(NHWC \[-1, 100, 20, 1\]"):
        convert_model(sources / "narrow.keras", out, ConvertOptions(audio=SAMPLES, card=wrong))
    report = convert_model(sources / "narrow.keras", out, ConvertOptions(audio=SAMPLES, card=card))
    assert report.threshold == 0.7 and report.decision_agreement == 1.0
    assert load_card(out.with_suffix(".json")).feature_spec == spec
    assert Detector(out).spec.n_coeffs == 13


def test_conversion_errors_are_clear_and_leave_nothing(sources, tmp_path):
    out = tmp_path / "x.tflite"
    with pytest.raises(ModelError, match="Lambda layers.*--trust-code"):
        convert_model(sources / "lambda.keras", out, ConvertOptions(audio=SAMPLES))
    empty = open_project(tmp_path / "empty.vsproj")
    with pytest.raises(VoiceStudioError, match="int8 needs a representative set"):
        convert_model(sources / "m.keras", out, ConvertOptions(quantize="int8"), project=empty)
    empty.close()
    with pytest.raises(VoiceStudioError, match="must end in .tflite"):
        convert_model(sources / "m.keras", tmp_path / "x.bin", ConvertOptions(audio=SAMPLES))
    with pytest.raises(ModelError, match="not a SavedModel"):
        convert_model(tmp_path, out, ConvertOptions(audio=SAMPLES))
    (tmp_path / "bad.pb").write_bytes(b"\xff\xfe not a protobuf")
    with pytest.raises(ModelError, match="not a frozen GraphDef"):
        convert_model(tmp_path / "bad.pb", out, ConvertOptions(audio=SAMPLES, inputs=("x",), outputs=("y",)))
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.pb", "empty.vsproj"]
