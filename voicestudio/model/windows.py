"""The feature images of one clip's windows, as training, conversion and the benchmarks build them."""

from __future__ import annotations

import numpy as np

from voicestudio.audio.features import (
    FeatureSpec,
    features,
    pad_to_window,
    silent_windows,
    window_images,
    window_starts,
)


def clip_windows(samples: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Images of the non-silent windows of one clip: exactly what the detector feeds the model."""
    samples = pad_to_window(samples, spec)
    frames = features(samples, spec)
    starts = window_starts(len(frames), spec)
    keep = ~silent_windows(samples, starts, spec)
    return window_images(frames, starts[keep], spec)
