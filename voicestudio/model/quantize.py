"""Set a TFLite converter up for a quantisation: shared by ``convert`` and ``train``."""

from __future__ import annotations

import numpy as np

from voicestudio.errors import VoiceStudioError


def configure_converter(converter, tf, quantize: str, representative: np.ndarray | None = None) -> None:
    """Set a TFLite converter up for ``quantize`` (int8: full integer, int8 input and output)."""
    if quantize == "int8":
        if representative is None or not len(representative):
            raise VoiceStudioError("int8 quantisation needs a representative set of feature images")

        def samples():
            for image in representative:
                yield [image[None].astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantize != "none":
        raise VoiceStudioError(f"unknown quantisation {quantize!r}")
