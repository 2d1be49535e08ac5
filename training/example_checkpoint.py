"""A real TF1 training run folder to try "From a training run to the device" on, in well under a minute.

    python training/example_checkpoint.py [--out run/] [--steps 300] [--every 50]

Trains a small MFCC CNN on the demo clips (resources/samples: ``voice-*`` files are human, the
others not) the way many detectors were trained before TF2: ``tf.compat.v1`` graph mode, an input
placeholder ``features`` [None, frames, coefficients, 1] of the default FeatureSpec's window
images (what the detector feeds a model), a sigmoid output ``p_human``, Adam, and an
ExponentialMovingAverage of the weights. A ``tf.compat.v1.train.Saver`` writes a checkpoint
every ``--every`` steps into ``--out``:

    run/checkpoint                          which step is the latest
    run/model.ckpt-300.index, .data-00000-of-00001, .meta

Twelve clips are far too few for a real detector: this run exists to be inspected, frozen and
converted, not to be trusted. The commands to try next are printed at the end.
Needs ``pip install -e '.[train]'``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from voicestudio.audio.decode import load_audio
from voicestudio.audio.features import FeatureSpec
from voicestudio.model.windows import clip_windows
from voicestudio.resources import resource_path

SAMPLES = resource_path("samples")
AUDIO_SUFFIXES = (".ogg", ".oga", ".wav", ".flac")


def demo_windows(spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    """Feature images (N, frames, coefficients, 1) of every demo clip's non-silent windows, and 1 for human."""
    images, labels = [], []
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        windows = clip_windows(load_audio(path, sample_rate=spec.sample_rate).samples, spec)
        images.append(windows)
        labels += [float(path.name.startswith("voice-"))] * len(windows)
    return np.concatenate(images).astype(np.float32)[..., None], np.array(labels, np.float32)[:, None]


def build_graph(tf, frames: int, coeffs: int, mean: float, std: float):
    """The network in TF1 style: variables by scope, ops from tf.nn. Returns (features, labels, train step)."""
    v1 = tf.compat.v1
    features = v1.placeholder(tf.float32, [None, frames, coeffs, 1], name="features")
    labels = v1.placeholder(tf.float32, [None, 1], name="labels")
    x = (features - mean) / std  # constants of the training set: frozen with the graph
    channels = 1
    for scope, filters in (("conv1", 8), ("conv2", 16)):
        with v1.variable_scope(scope):
            kernel = v1.get_variable("kernel", [3, 3, channels, filters], initializer=v1.glorot_uniform_initializer())
            bias = v1.get_variable("bias", [filters], initializer=v1.zeros_initializer())
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, strides=2, padding="SAME") + bias)
            channels = filters
    x = tf.reduce_mean(x, axis=[1, 2])
    with v1.variable_scope("dense"):
        kernel = v1.get_variable("kernel", [channels, 1], initializer=v1.glorot_uniform_initializer())
        bias = v1.get_variable("bias", [1], initializer=v1.zeros_initializer())
        logits = tf.matmul(x, kernel) + bias
    tf.sigmoid(logits, name="p_human")
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), name="loss")
    step = v1.train.get_or_create_global_step()
    optimize = v1.train.AdamOptimizer(3e-3).minimize(loss, global_step=step)
    # The averages are updated after each step; `model freeze --ema` freezes them instead of the raw weights.
    with tf.control_dependencies([optimize]):
        train = tf.train.ExponentialMovingAverage(0.99, num_updates=step).apply(v1.trainable_variables())
    return features, labels, loss, train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("run"), help="the run folder (default: run/)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=50, help="save a checkpoint every N steps (default 50)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if (args.out / "checkpoint").exists():
        print(f"{args.out} already holds a training run: give another --out or remove it", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    started = time.monotonic()
    spec = FeatureSpec()
    images, labels = demo_windows(spec)
    print(f"{len(images)} windows of {spec.window_frames} frames x {spec.n_coeffs} coefficients from {SAMPLES} "
          f"({int(labels.sum())} human)")

    v1 = tf.compat.v1
    rng = np.random.default_rng(args.seed)
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(args.seed)
        features, label_input, loss, train = build_graph(tf, spec.window_frames, spec.n_coeffs,
                                                          float(images.mean()), float(images.std()) or 1.0)
        saver = v1.train.Saver(max_to_keep=args.steps // args.every + 1)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            for step in range(1, args.steps + 1):
                batch = rng.integers(0, len(images), args.batch)
                # A little noise on the images: twelve clips are memorised otherwise in no time.
                noisy = images[batch] + rng.normal(0, 0.05 * images.std(), images[batch].shape).astype(np.float32)
                value, _ = session.run([loss, train], {features: noisy, label_input: labels[batch]})
                if step % args.every == 0 or step == args.steps:
                    saver.save(session, str(args.out / "model.ckpt"), global_step=step)
                    print(f"step {step}: loss {value:.4f}, saved {args.out / f'model.ckpt-{step}'}")

    out = args.out
    print(f"\ndone in {time.monotonic() - started:.0f} s. Next:\n"
          f"  voicestudio model inspect {out}\n"
          f"  voicestudio model inspect {out} --values dense/kernel\n"
          f"  voicestudio model freeze {out} detector.pb --outputs p_human --ema\n"
          f"  voicestudio model convert {out} detector.tflite --outputs p_human --ema --audio {SAMPLES}\n"
          f"  voicestudio predict --model detector.tflite {SAMPLES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
