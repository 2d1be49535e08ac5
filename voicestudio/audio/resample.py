"""Resampling with soxr (high quality), whole or streamed."""

from __future__ import annotations

import numpy as np
import soxr

QUALITY = "HQ"


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Mono float32 at ``rate_out`` (the same array when the rates are equal)."""
    if rate_in == rate_out:
        return np.ascontiguousarray(samples, dtype=np.float32)
    return soxr.resample(np.ascontiguousarray(samples, dtype=np.float32), rate_in, rate_out, quality=QUALITY)


class StreamResampler:
    """Block-by-block resampling with no seams at block boundaries."""

    def __init__(self, rate_in: int, rate_out: int):
        self._stream = soxr.ResampleStream(rate_in, rate_out, 1, dtype="float32", quality=QUALITY)

    def process(self, block: np.ndarray) -> np.ndarray:
        return self._stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32))

    def flush(self) -> np.ndarray:
        return self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
