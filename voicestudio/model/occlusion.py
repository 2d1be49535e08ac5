"""Which parts of a feature image drove a prediction: an occlusion map.

Each patch of the window's image (a few frames by a few coefficients) is greyed out in turn —
set to the image's mean, what the model's own normalisation makes neutral — and the model is run
on all the occluded copies in one batch. A cell's value is how much the human probability drops
when its patch is hidden: positive where the patch argued for "human", negative where it argued
against. Patches tile the image without overlap, so a model that reads only some coefficients
gets exactly those rows and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

PATCHES_PER_AXIS = 10  # default patch: a tenth of the window's frames by a tenth of its coefficients


@dataclass(frozen=True)
class OcclusionMap:
    drop: np.ndarray  # (frames, coeffs) float32: P(human) of the image minus P(human) with the cell's patch greyed
    probability: float  # P(human) of the image as it is
    patch: tuple[int, int]  # frames, coefficients

    @property
    def strongest(self) -> float:
        """The largest drop either way (0 when nothing mattered): the colour scale's half-range."""
        return float(np.abs(self.drop).max()) if self.drop.size else 0.0


def default_patch(image_shape: tuple[int, int]) -> tuple[int, int]:
    frames, coeffs = image_shape
    return max(1, frames // PATCHES_PER_AXIS), max(1, coeffs // PATCHES_PER_AXIS)


def occlusion_map(probabilities: Callable[[np.ndarray], np.ndarray], image: np.ndarray,
                  patch: tuple[int, int] | None = None) -> OcclusionMap:
    """``probabilities(images)`` maps ``(n, frames, coeffs)`` images to P(human) each (e.g.
    ``Detector.invoke_images``); ``image`` is one ``(frames, coeffs)`` window."""
    image = np.asarray(image, np.float32)
    if image.ndim != 2:
        raise ValueError(f"an occlusion map needs one (frames, coeffs) image, not shape {image.shape}")
    frames, coeffs = image.shape
    patch_frames, patch_coeffs = patch or default_patch(image.shape)
    if patch_frames < 1 or patch_coeffs < 1:
        raise ValueError(f"a patch must be at least one frame by one coefficient, not {patch}")
    grey = float(image.mean())
    tiles = [(f, c) for f in range(0, frames, patch_frames) for c in range(0, coeffs, patch_coeffs)]
    batch = np.repeat(image[None], len(tiles) + 1, axis=0)  # the last copy stays whole
    for i, (f, c) in enumerate(tiles):
        batch[i, f:f + patch_frames, c:c + patch_coeffs] = grey
    probs = np.asarray(probabilities(batch), np.float32)
    base = float(probs[-1])
    drop = np.zeros(image.shape, np.float32)
    for (f, c), p in zip(tiles, probs[:-1]):
        drop[f:f + patch_frames, c:c + patch_coeffs] = base - p
    return OcclusionMap(drop, base, (patch_frames, patch_coeffs))
