"""One window of a clip seen from inside the model: its feature image, a layer's activations and
an occlusion map. What the window's Model ▸ Inside view shows; no Qt here.

Only the audio around the window is decoded (an hour-long recording is not read for one
window), starting on a frame of the clip's own grid and with a margin on each side, so the
frames of the window equal those the detector computes over the whole clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicestudio.audio.decode import load_audio
from voicestudio.audio.features import FeatureSpec, features, pad_to_window
from voicestudio.model.card import ModelCard
from voicestudio.model.occlusion import OcclusionMap, occlusion_map
from voicestudio.model.readout import model_input
from voicestudio.model.tensors import TensorReader

MARGIN_S = 0.5  # decoded on each side of the window: far more than the STFT's half frame


@dataclass(frozen=True)
class WindowInside:
    start_s: float  # from the clip's start
    window_s: float
    image: np.ndarray  # (frames, coeffs): what the model is given
    probability: float  # P(human) of the window
    occlusion: OcclusionMap
    layer: str = ""  # the tensor whose values are below ("" for none)
    activation: np.ndarray | None = None  # that tensor for this window, without the batch axis


def window_image(path, clip_start_s: float, clip_end_s: float | None, window_start_s: float,
                 spec: FeatureSpec) -> np.ndarray:
    """The feature image of the window ``window_start_s`` seconds into the clip."""
    hop_s = spec.hop_length / spec.sample_rate
    first = int(round(window_start_s / hop_s))
    decoded_from = max(0, first - int(round(MARGIN_S / hop_s)))
    end_s = clip_start_s + window_start_s + spec.window_s + MARGIN_S
    if clip_end_s is not None:
        end_s = min(end_s, clip_end_s)
    audio = load_audio(path, start_s=clip_start_s + decoded_from * hop_s, end_s=end_s, sample_rate=spec.sample_rate)
    frames = features(pad_to_window(audio.samples, spec), spec)
    local = min(first - decoded_from, len(frames) - spec.window_frames)  # the last window ends with the clip
    return np.ascontiguousarray(frames[max(0, local):max(0, local) + spec.window_frames], np.float32)


def look_inside(image: np.ndarray, card: ModelCard, probabilities, *, reader: TensorReader | None = None,
                layer: str = "", start_s: float = 0.0, patch: tuple[int, int] | None = None) -> WindowInside:
    """The occlusion map of ``image`` (``probabilities(images)`` is the model, e.g.
    ``Detector.invoke_images``) and, with a ``reader`` and ``layer``, that layer's activations."""
    found = occlusion_map(probabilities, image, patch)
    activation = None
    if reader is not None and layer:
        entry = reader.find(layer)
        values = reader.run(model_input(image[None], card), [entry.name])[entry.name]
        activation = values[0] if entry.role != "constant" else values
        layer = entry.name
    return WindowInside(start_s, card.feature_spec.window_s, image, found.probability, found, layer, activation)
