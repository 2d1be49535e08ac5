"""The shipped detectors never fail on an input (issue 16): every window of degenerate and extreme audio,
silent windows included (the silence gate would skip them; the model must not care), through the real
runtime, float and int8, and the two agree. Also checked on tflite-runtime 2.14 under emulated aarch64 by
tests/device/test_ssh_device.py, and on the external set by ``training/robust_graph.py check``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from voicestudio.model.detector import DEFAULT_MODEL, Detector
from voicestudio.model.inspect import inspect_tflite

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
from robust_graph import feature_images, hostile_audio  # noqa: E402

MODELS = {"float32": DEFAULT_MODEL, "int8": DEFAULT_MODEL.with_name("voice-detector-int8.tflite")}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_no_operator_can_refuse_and_every_window_of_hostile_audio_runs(kind):
    model = MODELS[kind]
    found = inspect_tflite(model)
    assert not {op.name for op in found.operators} & {"DIV", "SQRT", "RSQRT", "LOG"}
    assert found.metadata["min_runtime_version"] == "1.14.0"  # tflite-runtime 2.14 loads it
    detector = Detector(model)
    for name, audio in hostile_audio().items():
        images = feature_images(detector, audio)
        probs = detector.invoke_images(images)  # one batch of every window, silent ones included
        assert np.all(np.isfinite(probs)) and np.all((probs >= 0) & (probs <= 1)), name


def test_int8_decides_as_float_on_hostile_audio():
    float_detector, int8_detector = Detector(MODELS["float32"]), Detector(MODELS["int8"])
    for name, audio in hostile_audio().items():
        images = feature_images(float_detector, audio)
        diff = np.abs(float_detector.invoke_images(images) - int8_detector.invoke_images(images))
        assert diff.max() < 0.1, name
