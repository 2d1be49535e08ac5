"""Small real .tflite models for tests, built with TensorFlow (the test extra).

The "mean model" computes ``sigmoid(MEAN_A * mean(image) + MEAN_B)``: its output
is a known function of its input, so tests can check with numpy
(:func:`expected_mean_model`) that features, windows, silence gating and
batching reach the interpreter exactly as intended. The broken models are ones
a detector must refuse.

Conversion is deterministic: the same arguments give the same bytes (no
weights are random, the int8 calibration set is fixed), so a model's SHA-256
is stable between runs. TensorFlow is imported inside the functions only.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from voicestudio.audio.features import FeatureSpec

# MFCC image means of tones/noise/speech at normal levels land around -20..+5,
# so p = sigmoid(0.05 * mean + 1) stays in ~0.5..0.9: away from 0 and 1.
MEAN_A, MEAN_B = 0.05, 1.0


def expected_mean_model(images: np.ndarray) -> np.ndarray:
    """What the mean model gives for ``(n, frames, coeffs)`` images, in float64."""
    images = np.asarray(images, dtype=np.float64)
    z = MEAN_A * images.reshape(len(images), -1).mean(axis=1) + MEAN_B
    return 1 / (1 + np.exp(-z))


def _quiet_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _convert(fn, signature, quantize: str | None = None, representative=None) -> bytes:
    tf = _quiet_tf()
    concrete = tf.function(fn, autograph=False).get_concrete_function(*signature)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    if quantize == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([r] for r in representative)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif quantize is not None:
        raise ValueError(f"unknown quantize {quantize!r}")
    with warnings.catch_warnings():  # "Statistics for quantized inputs were expected": int8 I/O is the point
        warnings.simplefilter("ignore", UserWarning)
        return converter.convert()


def _write(out_dir: Path, name: str, blob: bytes, card: dict | None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.tflite"
    path.write_bytes(blob)
    if card is not None:
        path.with_suffix(".json").write_text(json.dumps(card, indent=2))
    return path


def card_for(spec: FeatureSpec, **overrides) -> dict:
    return {"name": "mean-model", "feature_spec": spec.to_dict(), **overrides}


def representative_images(spec: FeatureSpec) -> list[np.ndarray]:
    """Feature images of tones, noise and speech-like sound: the range real input covers."""
    import audiofiles
    from voicestudio.audio.features import features, window_images, window_starts

    sr = spec.sample_rate
    signals = [audiofiles.speechlike(sr, 3.0, seed=s) for s in range(3)]
    signals += [audiofiles.noise(sr, 2.0, seed=s, level=lvl) for s, lvl in ((0, 0.3), (1, 0.01))]
    signals += [audiofiles.tone(sr, 2.0, f) for f in (200, 1000, 3000)]
    images = []
    for y in signals:
        frames = features(y, spec)
        images.extend(window_images(frames, window_starts(len(frames), spec), spec).astype(np.float32))
    return images


def build_mean_model(out_dir, *, spec: FeatureSpec = FeatureSpec(), dynamic_batch: bool = True,
                     layout: str = "NHWC", output: str = "sigmoid", quantize: str | None = None,
                     batch: int = 1, dynamic_time: bool = False, logits: bool = False,
                     name: str | None = None, card: bool = True, card_overrides: dict | None = None) -> Path:
    """Write ``sigmoid(MEAN_A * mean(image) + MEAN_B)`` as a .tflite model (and its card) into ``out_dir``.

    ``dynamic_batch`` gives a ``-1`` batch dimension, else a fixed ``batch``;
    ``dynamic_time`` leaves the frame axis unsized too; ``output="softmax"``
    gives ``[1 - p, p]``; ``logits`` leaves out the sigmoid (a model whose card
    lies about its output); ``quantize="int8"`` makes a fully int8 model
    (int8 input and output) calibrated on tones, noise and speech-like sound.
    """
    tf = _quiet_tf()

    frames, coeffs = spec.image_shape
    shape = [None if dynamic_batch else batch, None if dynamic_time else frames, coeffs]
    shape += [1] if layout == "NHWC" else []
    axes = list(range(1, len(shape)))

    def fn(x):
        z = MEAN_A * tf.reduce_mean(x, axis=axes) + MEAN_B
        p = (z if logits else tf.sigmoid(z))[:, None]
        return tf.concat([1 - p, p], axis=1) if output == "softmax" else p

    representative = None
    if quantize:
        representative = [image.reshape(1, frames, coeffs, *shape[3:]) for image in representative_images(spec)]
    blob = _convert(fn, [tf.TensorSpec(shape, tf.float32)], quantize, representative)
    if name is None:
        name = "-".join(filter(None, [
            "mean", layout.lower(), output, "dyn" if dynamic_batch else f"b{batch}",
            "dyntime" if dynamic_time else "", "logits" if logits else "", quantize or "",
        ]))
    card_data = card_for(spec, input_layout=layout, output=output,
                         quantization=quantize or "float32", **(card_overrides or {}))
    return _write(Path(out_dir), name, blob, card_data if card else None)


# The "fragile" model: the mean model times d / d, where d = relu(mean(image) - FRAGILE_FLOOR).
# Fully int8, an image whose mean is below the floor makes d quantise to its zero point, and
# LiteRT's int8 DIV refuses to invoke ("div.cc ... data[i] != zero_point ... DIV failed to
# invoke"): quiet audio (a -40 dBFS tone) fails, speech and tones at normal levels do not.
FRAGILE_FLOOR = -12.0


def fragile_fn(tf, axes=(1, 2, 3)):
    """The fragile model's function of a batch of images (float: d / d is 1 where d > 0)."""

    def fn(x):
        m = tf.reduce_mean(x, axis=list(axes))
        d = tf.nn.relu(m - FRAGILE_FLOOR)
        return (tf.sigmoid(MEAN_A * m + MEAN_B) * (d / d))[:, None]

    return fn


def build_fragile_model(out_dir, *, spec: FeatureSpec = FeatureSpec(), name: str = "fragile-int8") -> Path:
    """Write the fragile model, fully int8 (dynamic batch, NHWC, sigmoid), and its card into ``out_dir``."""
    tf = _quiet_tf()
    frames, coeffs = spec.image_shape
    representative = [image.reshape(1, frames, coeffs, 1) for image in representative_images(spec)]
    blob = _convert(fragile_fn(tf), [tf.TensorSpec([None, frames, coeffs, 1], tf.float32)], "int8", representative)
    return _write(Path(out_dir), name, blob, card_for(spec, name=name, quantization="int8"))


# The "band" model reads only MFCC coefficients BAND[0]..BAND[1]-1: sigmoid(BAND_A * their mean).
# An occlusion map of it must be zero everywhere outside those rows.
BAND, BAND_A = (6, 10), 0.5


def build_band_model(out_dir, *, spec: FeatureSpec = FeatureSpec(), name: str = "band") -> Path:
    """Write the band model (float, dynamic batch, NHWC, sigmoid) and its card into ``out_dir``."""
    tf = _quiet_tf()
    frames, coeffs = spec.image_shape

    def fn(x):
        return tf.sigmoid(BAND_A * tf.reduce_mean(x[:, :, BAND[0]:BAND[1], :], axis=[1, 2, 3]))[:, None]

    blob = _convert(fn, [tf.TensorSpec([None, frames, coeffs, 1], tf.float32)])
    return _write(Path(out_dir), name, blob, card_for(spec, name=name))


def build_broken_models(out_dir, spec: FeatureSpec = FeatureSpec()) -> dict[str, Path]:
    """Models a detector must refuse, each with a card that looks plausible."""
    tf = _quiet_tf()

    out_dir = Path(out_dir)
    frames, coeffs = spec.image_shape
    good = [None, frames, coeffs, 1]

    def mean(x):
        return tf.reduce_mean(x, axis=[1, 2, 3])

    models = {}
    # Input shape that contradicts the card (50 frames instead of 100).
    models["wrong_shape"] = _write(out_dir, "wrong-shape", _convert(
        lambda x: tf.sigmoid(mean(x))[:, None], [tf.TensorSpec([None, 50, coeffs, 1], tf.float32)]),
        card_for(spec))
    models["two_outputs"] = _write(out_dir, "two-outputs", _convert(
        lambda x: (tf.sigmoid(mean(x))[:, None], tf.sigmoid(tf.reduce_max(x, axis=[1, 2, 3]))[:, None]),
        [tf.TensorSpec(good, tf.float32)]), card_for(spec))
    models["int_output"] = _write(out_dir, "int-output", _convert(
        lambda x: tf.cast(mean(x)[:, None], tf.int32),
        [tf.TensorSpec(good, tf.float32)]), card_for(spec))
    models["two_inputs"] = _write(out_dir, "two-inputs", _convert(
        lambda x, y: tf.sigmoid(mean(x) + mean(y))[:, None],
        [tf.TensorSpec(good, tf.float32), tf.TensorSpec(good, tf.float32)]), card_for(spec))
    models["three_classes"] = _write(out_dir, "three-classes", _convert(
        lambda x: tf.nn.softmax(tf.stack([mean(x)] * 3, axis=1)),
        [tf.TensorSpec(good, tf.float32)]), card_for(spec, output="softmax"))
    # One score per frame instead of per window: (batch, frames, 1).
    models["per_frame"] = _write(out_dir, "per-frame", _convert(
        lambda x: tf.sigmoid(tf.reduce_mean(x, axis=[2])),
        [tf.TensorSpec(good, tf.float32)]), card_for(spec))
    return models
