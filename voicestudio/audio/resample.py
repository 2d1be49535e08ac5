"""Resampling with soxr (high quality), whole or streamed.

The one-shot and the streamed resampler give the same samples: soxr's output
does not depend on how the input is cut into blocks.
"""

from __future__ import annotations

import numpy as np
import soxr

QUALITY = "HQ"


def _check_rate(rate: int, name: str) -> int:
    if int(rate) != rate or rate <= 0:
        raise ValueError(f"{name} must be a positive whole number of Hz, not {rate!r}")
    return int(rate)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Mono float32 at ``rate_out``.

    The input itself is returned (made float32 and C-contiguous if it is not)
    when the rates are equal.
    """
    rate_in, rate_out = _check_rate(rate_in, "rate_in"), _check_rate(rate_out, "rate_out")
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"resample takes mono samples (1-D), not shape {samples.shape}")
    if rate_in == rate_out:
        return samples
    if len(samples) == 0:
        return np.zeros(0, np.float32)
    out = soxr.resample(samples, rate_in, rate_out, quality=QUALITY)
    return np.ascontiguousarray(out, dtype=np.float32)


class StreamResampler:
    """Block-by-block resampling with no seams at block boundaries.

    Feed blocks to :meth:`process`, then call :meth:`flush` once for the tail.
    The concatenated output equals ``resample`` of the concatenated input.
    """

    def __init__(self, rate_in: int, rate_out: int):
        self.rate_in = _check_rate(rate_in, "rate_in")
        self.rate_out = _check_rate(rate_out, "rate_out")
        self._stream = soxr.ResampleStream(self.rate_in, self.rate_out, 1, dtype="float32", quality=QUALITY)

    def process(self, block: np.ndarray) -> np.ndarray:
        return self._stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32))

    def flush(self) -> np.ndarray:
        return self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
