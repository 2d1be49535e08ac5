"""Small real .tflite models for tests, built with TensorFlow (the test extra).

The "mean model" computes sigmoid(a * mean(image) + b): its output is a known
function of its input, so tests can check with numpy that features, windows,
silence gating and batching reach the interpreter exactly as intended.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from voicestudio.audio.features import FeatureSpec

MEAN_A, MEAN_B = 0.05, 1.0  # MFCC means of tones/noise/speech land around -20..+5 -> p in ~0.1..0.9


def expected_mean_model(images: np.ndarray) -> np.ndarray:
    z = MEAN_A * images.reshape(len(images), -1).mean(axis=1) + MEAN_B
    return 1 / (1 + np.exp(-z))


def _convert(fn, signature, quantize=None, representative=None) -> bytes:
    import tensorflow as tf

    concrete = tf.function(fn).get_concrete_function(*signature)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    if quantize == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([r] for r in representative)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def _write(out_dir: Path, name: str, blob: bytes, card: dict | None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.tflite"
    path.write_bytes(blob)
    if card is not None:
        path.with_suffix(".json").write_text(json.dumps(card))
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
                     name: str | None = None, card: bool = True) -> Path:
    import tensorflow as tf

    frames, coeffs = spec.image_shape
    shape = [None if dynamic_batch else 1, frames, coeffs] + ([1] if layout == "NHWC" else [])
    axes = list(range(1, len(shape)))

    def fn(x):
        p = tf.sigmoid(MEAN_A * tf.reduce_mean(x, axis=axes) + MEAN_B)[:, None]
        return tf.concat([1 - p, p], axis=1) if output == "softmax" else p

    representative = [image.reshape(1, *shape[1:]) for image in representative_images(spec)]
    blob = _convert(fn, [tf.TensorSpec(shape, tf.float32)], quantize, representative)
    name = name or f"mean-{layout.lower()}-{output}-{'dyn' if dynamic_batch else 'b1'}{'-' + quantize if quantize else ''}"
    return _write(Path(out_dir), name, blob,
                  card_for(spec, input_layout=layout, output=output) if card else None)


def build_broken_models(out_dir, spec: FeatureSpec = FeatureSpec()) -> dict[str, Path]:
    """Models a detector must refuse, each with a card that looks plausible."""
    import tensorflow as tf

    out_dir = Path(out_dir)
    frames, coeffs = spec.image_shape
    good = [None, frames, coeffs, 1]
    models = {}
    # Input shape that contradicts the card (50 frames instead of 100).
    models["wrong_shape"] = _write(out_dir, "wrong-shape", _convert(
        lambda x: tf.reduce_mean(x, axis=[1, 2, 3])[:, None], [tf.TensorSpec([None, 50, coeffs, 1], tf.float32)]),
        card_for(spec))
    models["two_outputs"] = _write(out_dir, "two-outputs", _convert(
        lambda x: (tf.reduce_mean(x, axis=[1, 2, 3])[:, None], tf.reduce_max(x, axis=[1, 2, 3])[:, None]),
        [tf.TensorSpec(good, tf.float32)]), card_for(spec))
    models["int_output"] = _write(out_dir, "int-output", _convert(
        lambda x: tf.cast(tf.reduce_mean(x, axis=[1, 2, 3])[:, None], tf.int32),
        [tf.TensorSpec(good, tf.float32)]), card_for(spec))
    models["two_inputs"] = _write(out_dir, "two-inputs", _convert(
        lambda x, y: (tf.reduce_mean(x, axis=[1, 2, 3]) + tf.reduce_mean(y, axis=[1, 2, 3]))[:, None],
        [tf.TensorSpec(good, tf.float32), tf.TensorSpec(good, tf.float32)]), card_for(spec))
    models["three_classes"] = _write(out_dir, "three-classes", _convert(
        lambda x: tf.nn.softmax(tf.stack([tf.reduce_mean(x, axis=[1, 2, 3])] * 3, axis=1)),
        [tf.TensorSpec(good, tf.float32)]), card_for(spec, output="softmax"))
    return models
