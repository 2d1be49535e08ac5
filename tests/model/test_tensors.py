"""model tensors and the occlusion map: values read inside real models equal what numpy computes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import audiofiles
import tinymodels
from voicestudio.audio.features import FeatureSpec
from voicestudio.cli import main
from voicestudio.errors import ModelError, VoiceStudioError
from voicestudio.model.card import ModelCard
from voicestudio.model.detector import DEFAULT_MODEL, Detector
from voicestudio.model.occlusion import occlusion_map
from voicestudio.model.readout import audio_windows, read_tensors
from voicestudio.model.tensors import open_reader

SPEC = FeatureSpec()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """3 s of speech-like sound after 1.2 s of silence: windows of both kinds."""
    sr = SPEC.sample_rate
    samples = np.concatenate([np.zeros(int(1.2 * sr), np.float32), audiofiles.speechlike(sr, 3.0, seed=4)])
    return audiofiles.write(tmp_path_factory.mktemp("audio") / "speech.wav", samples, sr)


@pytest.fixture(scope="module")
def band_model(tmp_path_factory):
    return tinymodels.build_band_model(tmp_path_factory.mktemp("band"))


@pytest.fixture(scope="module")
def tf_sources(tmp_path_factory):
    """A Keras file and the same network frozen as a GraphDef: mean over the image, then a dense sigmoid."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    folder = tmp_path_factory.mktemp("tf")
    layers = tf.keras.layers
    inputs = layers.Input((100, 20, 1), name="features")
    pooled = layers.GlobalAveragePooling2D(name="pooled")(inputs)
    out = layers.Dense(1, activation="sigmoid", name="p_human")(pooled)
    model = tf.keras.Model(inputs, out)
    model.get_layer("p_human").set_weights([np.full((1, 1), tinymodels.MEAN_A, np.float32),
                                            np.full((1,), tinymodels.MEAN_B, np.float32)])
    model.save(folder / "m.keras")
    fn = tf.function(lambda x: model(x)).get_concrete_function(tf.TensorSpec([None, 100, 20, 1], tf.float32, name="x"))
    tf.io.write_graph(convert_variables_to_constants_v2(fn).graph.as_graph_def(), str(folder), "frozen.pb", as_text=False)
    return folder


def test_tflite_intermediate_tensor_is_the_known_function_of_the_input(models, clip):
    readout = read_tensors(models["dynamic"], clip, ["Mean", "Identity"])
    images = audio_windows(clip, ModelCard(), start_s=None).images
    assert len(readout.windows.starts_s) == len(images) > 4
    assert readout.windows.silent[0] and not readout.windows.silent[-1]  # silent windows are read too
    means = readout.values[next(name for name in readout.values if "Mean" in name)]
    assert np.allclose(means.ravel(), images.reshape(len(images), -1).mean(axis=1), rtol=1e-5, atol=1e-5)
    output = readout.values[next(name for name in readout.values if "Identity" in name)]
    assert np.allclose(output.ravel(), tinymodels.expected_mean_model(images), atol=1e-6)
    roles = {t.role for t in readout.tensors}
    assert {"input", "activation", "output"} <= roles


def test_int8_tensors_are_dequantised(models, clip):
    readout = read_tensors(models["int8"], clip, ["Identity"])
    images = audio_windows(clip, ModelCard()).images
    output = next(iter(readout.values.values())).ravel()
    assert output.dtype == np.float32
    assert np.allclose(output, Detector(models["int8"]).invoke_images(images), atol=1e-6)  # as scoring reads it
    last = slice(-4, None)  # windows of sound only: silence lies outside the int8 calibration range
    assert np.allclose(output[last], tinymodels.expected_mean_model(images[last]), atol=0.02)


def test_start_picks_the_window_covering_that_time(models, clip):
    every = audio_windows(clip, ModelCard())
    one = read_tensors(models["dynamic"], clip, ["Identity"], start_s=2.3)
    assert len(one.windows.starts_s) == 1
    start = one.windows.starts_s[0]
    assert start <= 2.3 < start + 1.0 and start == max(s for s in every.starts_s if s <= 2.3)
    with pytest.raises(VoiceStudioError, match="outside the audio"):
        read_tensors(models["dynamic"], clip, [], start_s=99)


def test_the_builtin_model_layers_and_the_cli(clip, tmp_path, capsys):
    reader = open_reader(DEFAULT_MODEL)
    layers = reader.activations
    assert len(layers) > 10 and any(len(t.shape) == 4 and t.shape[-1] > 8 for t in layers)
    # The built-in two-scale graph: the 1 s network and the half network on each half of the window, so a
    # name they all have must say which.
    assert main(["model", "tensors", str(DEFAULT_MODEL), str(clip), "--tensor", "global_average"]) == 1
    assert "matches 3 tensors" in capsys.readouterr().err
    assert main(["model", "tensors", str(DEFAULT_MODEL), str(clip), "--tensor", "member_0_1/global_average",
                 "--out", str(tmp_path / "npy")]) == 0
    text = capsys.readouterr().out
    assert "member_0_1/re_lu_21_1/Relu6" in text and "member_1_1/re_lu_10_1/Relu6" in text
    assert "member_1_3/re_lu_10_1/Relu6" in text  # the half network again, on the second half
    assert "first_half_1/strided_slice" in text and "either_half_1/Maximum" in text
    assert "member_0_1/global_average_pooling2d_1_1/Mean  [" in text and "(silent)" in text
    pooled = np.load(next((tmp_path / "npy").glob("*global_average*.npy")))
    starts = np.load(tmp_path / "npy" / "window_starts_s.npy")
    assert pooled.shape == (len(starts), 256)

    # The pooled features equal the mean of the last convolution's activations, window by window.
    last_conv = [t for t in layers if len(t.shape) == 4 and "member_0_1/" in t.name][-1]
    values = reader.run(audio_windows(clip, Detector(DEFAULT_MODEL).card).images[..., None], [last_conv.name])
    assert np.allclose(values[last_conv.name].mean(axis=(1, 2)), pooled, atol=1e-5)

    assert main(["--json", "model", "tensors", str(DEFAULT_MODEL), str(clip), "--start", "2",
                 "--tensor", "StatefulPartitionedCall"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["window_starts_s"]) == 1 and list(data["values"].values())[0]["shape"] == [1, 1]


def test_unknown_and_ambiguous_names_are_clear(models, clip):
    reader = open_reader(DEFAULT_MODEL)
    with pytest.raises(VoiceStudioError, match="no tensor named 'relu_99'"):
        reader.find("relu_99")
    with pytest.raises(VoiceStudioError, match="matches .* tensors"):
        reader.find("re_lu")


def test_keras_layers_and_graph_tensors(tf_sources, clip):
    images = audio_windows(clip, ModelCard()).images
    expected_pooled = images.reshape(len(images), -1).mean(axis=1)
    keras = read_tensors(tf_sources / "m.keras", clip, ["pooled", "p_human"])
    assert np.allclose(keras.values["pooled"].ravel(), expected_pooled, atol=1e-5)
    assert np.allclose(keras.values["p_human"].ravel(), tinymodels.expected_mean_model(images), atol=1e-6)
    assert any(t.role == "constant" and "kernel" in t.name for t in keras.tensors)

    graph = open_reader(tf_sources / "frozen.pb")
    assert graph.input.name == "x:0"
    pooled = next(t for t in graph.activations if "pooled" in t.name and "Mean" in t.name)
    values = graph.run(images[..., None], [pooled.name])[pooled.name]
    assert np.allclose(values.ravel(), expected_pooled, atol=1e-5)


def test_a_saved_model_says_what_to_do_instead(tmp_path):
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ModelError, match="exposes only its inputs and outputs"):
        open_reader(tmp_path / "saved")


def test_occlusion_highlights_exactly_the_band_the_model_reads(band_model, clip):
    detector = Detector(band_model)
    rng = np.random.default_rng(0)
    image = rng.normal(0, 1, SPEC.image_shape).astype(np.float32)
    image[:, tinymodels.BAND[0]:tinymodels.BAND[1]] += 4.0  # the band stands out from the grey
    found = occlusion_map(detector.invoke_images, image)
    assert found.patch == (10, 2)
    low, high = tinymodels.BAND
    outside = np.delete(found.drop, np.s_[low:high], axis=1)
    assert np.all(outside == 0)
    assert np.all(found.drop[:, low:high] > 0)  # hiding any part of the band lowers P(human)
    assert found.probability == pytest.approx(float(detector.invoke_images(image[None])[0]))

    # On real windows too: nothing outside the band ever matters.
    for window in audio_windows(clip, detector.card).images[-3:]:
        drop = occlusion_map(detector.invoke_images, window).drop
        assert np.all(np.delete(drop, np.s_[low:high], axis=1) == 0) and np.abs(drop[:, low:high]).max() > 0
