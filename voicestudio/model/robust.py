"""The built-in detector's network: a graph whose int8 build has no operation that can fail.

The features are log energies, so a change of gain or a fixed channel colouring is an
*added* constant per coefficient: subtracting each coefficient's mean over the window's
frames (MEAN + SUB) removes it. The spread is then fixed by one constant scale per
coefficient (1 / its standard deviation over the training windows), a MUL by a constant.
No DIV or SQRT: nothing that refuses an input once quantised (``training/robust_graph.py``
has the reasoning and the checks). The int8 twin is the "float front" build: int8 CNN,
normalisation kept in float32.
"""

from __future__ import annotations

import functools

import numpy as np

# Kept in float32 in the int8 build: the normalisation, and the two-scale graph's slicing of the raw
# features in front of it (sliced in int8, the raw image would be quantised before it is normalised).
FLOAT_FRONT_OPS = ("STRIDED_SLICE", "MEAN", "SUB", "MUL")


def coefficient_scale(images: np.ndarray) -> np.ndarray:
    """1 / std of each coefficient over the training windows, after the per-window mean removal."""
    centred = images - images.mean(axis=1, keepdims=True)
    return (1.0 / np.maximum(centred.std(axis=(0, 1)), 1e-3)).astype(np.float32)


@functools.cache
def normalisation_layer():
    """The Keras layer class (defined once: TensorFlow is imported only when a model is built)."""
    import tensorflow as tf

    @tf.keras.utils.register_keras_serializable(package="voicestudio")
    class CoefficientNormalisation(tf.keras.layers.Layer):
        """x - mean over frames, times a constant per coefficient: MEAN, SUB, MUL; nothing that can fail."""

        def __init__(self, scale, **kwargs):
            super().__init__(**kwargs)
            self.scale = np.asarray(scale, np.float32)

        def call(self, x):
            centred = x - tf.reduce_mean(x, axis=1, keepdims=True)
            return centred * tf.constant(self.scale.reshape(1, 1, -1, 1))

        def get_config(self):
            return {**super().get_config(), "scale": self.scale.tolist()}

    return CoefficientNormalisation


BLOCKS = ((2, (2, 2)), (2, (1, 1)), (4, (2, 2)), (4, (1, 1)), (8, (2, 2)))  # (channels / width, stride)
# Coefficients the blocks are sized for (the reference design's 20 MFCCs). The first convolution
# strides a wider image (40 log-mel bands) down to about this many, so every later layer costs the
# same per window whatever the features.
BLOCK_COEFFS = 20


def first_stride(spec) -> tuple[int, int]:
    """(time, coefficient) stride of the first convolution."""
    return (2, max(1, spec.n_coeffs // BLOCK_COEFFS))


def build_robust_model(spec, width: int = 32, scale: np.ndarray | None = None):
    """The detector's CNN over a (frames, coeffs, 1) feature image -> P(human), the fixed normalisation in front."""
    import tensorflow as tf

    layers = tf.keras.layers
    frames, coeffs = spec.image_shape
    scale = np.ones(coeffs, np.float32) if scale is None else np.asarray(scale, np.float32)
    inputs = layers.Input((frames, coeffs, 1), name="features")
    x = normalisation_layer()(scale, name="normalise")(inputs)
    x = layers.Conv2D(width, 3, strides=first_stride(spec), padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    for factor, stride in BLOCKS:
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU(6.0)(x)
        x = layers.Conv2D(width * factor, 1, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU(6.0)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(1, activation="sigmoid", name="p_human")(x)
    return tf.keras.Model(inputs, outputs, name="voice_ds_cnn_v2")


def to_tflite_float_front(model, representative: np.ndarray) -> bytes:
    """int8 CNN with the normalisation (MEAN, SUB, MUL) left in float32; float32 in and out.

    The raw features' range is set by c0 (hundreds), so quantising the raw input per
    tensor leaves the small coefficients a few levels; normalising first in float keeps
    them. Float MEAN/SUB/MUL and QUANTIZE/DEQUANTIZE are old op versions every runtime
    has. (The pooling MEAN stays float too: the denylist is by op type.)
    """
    import tensorflow as tf

    def samples():
        for image in representative:
            yield [image[None, ..., None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=list(FLOAT_FRONT_OPS))
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=samples,
                                                         debug_options=options)
    return debugger.get_nondebug_quantized_model()


def average_of(members, name: str = "voice_ds_cnn_v2_mean"):
    """One network whose output is the mean of the members' outputs (each keeps its own normalisation).

    Two small networks trained apart make different mistakes; averaging their window
    probabilities scores as the ensemble does, in one file and one invoke. One member is returned as is.
    """
    import tensorflow as tf

    if len(members) == 1:
        return members[0]
    inputs = tf.keras.layers.Input(members[0].inputs[0].shape[1:], name="features")
    outputs = []
    for index, member in enumerate(members):
        member.name = f"member_{index}"  # nested models need distinct names
        outputs.append(member(inputs))
    mean = tf.keras.layers.Average(name="p_human")(outputs)
    return tf.keras.Model(inputs, mean, name=name)


def two_scale(full, half, name: str = "voice_ds_cnn_v2_two_scale"):
    """``full``'s window score averaged with the higher of ``half``'s scores on the window's two halves.

    ``half`` is a network of half-length windows (0.5 s), which makes other mistakes than the
    1 s ones (radio voices and notes right, short effects wrong: training/README.md). Its two
    halves are the frames a 0.5 s window at the same start and half a window later would have
    (the features are computed over the clip, so slicing the 1 s image gives exactly those), so
    the graph scores as the two detectors' windows do together, in one file and one invoke.
    """
    import tensorflow as tf

    layers = tf.keras.layers
    frames, coeffs, channels = full.inputs[0].shape[1:]
    if tuple(half.inputs[0].shape[1:]) != (frames // 2, coeffs, channels):
        raise ValueError(f"the half network takes {tuple(half.inputs[0].shape[1:])}, "
                         f"not half of the {(frames, coeffs, channels)} window")
    inputs = layers.Input((frames, coeffs, channels), name="features")
    rest = frames - frames // 2
    first = layers.Cropping2D(((0, rest), (0, 0)), name="first_half")(inputs)
    second = layers.Cropping2D(((rest, 0), (0, 0)), name="second_half")(inputs)
    full.name, half.name = "member_0", "member_1"
    either_half = layers.Maximum(name="either_half")([half(first), half(second)])
    return tf.keras.Model(inputs, layers.Average(name="p_human")([full(inputs), either_half]), name=name)
