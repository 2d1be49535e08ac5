"""How fast a model runs per window on this machine: the timing ``compare --speed`` and
benchmarks/bench_model.py share.

One window per invoke is the on-device streaming case, a batch of 64 the ``score`` case; each
after a warm-up, the median of several runs. Random images of the model's shape serve: the
values do not change the time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

BATCH_WINDOWS = 64  # the batch ``score`` invokes with (scoring.BATCH_WINDOWS)


@dataclass(frozen=True)
class WindowSpeed:
    """Milliseconds per window on this machine: one window per invoke (streaming) and a batch of 64 (score)."""

    single_ms: float
    batched_ms: float
    threads: int
    runs: int

    def to_dict(self) -> dict:
        return {"ms_per_window_single": round(self.single_ms, 4),
                "ms_per_window_batched": round(self.batched_ms, 4), "batch": BATCH_WINDOWS,
                "threads": self.threads, "runs": self.runs}


def median_window_ms(detector, images: np.ndarray, runs: int) -> float:
    """Median time of ``detector.invoke_images(images)`` per window, after a warm-up."""
    detector.invoke_images(images)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        detector.invoke_images(images)
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1000 / len(images)


def window_speed(detector, runs: int = 100) -> WindowSpeed:
    """Per-window speed on random feature images of the model's shape (the input's values do not change the time)."""
    images = np.random.default_rng(0).normal(-5, 20, (BATCH_WINDOWS, *detector.spec.image_shape)).astype(np.float32)
    single = median_window_ms(detector, images[:1], runs)
    batched = median_window_ms(detector, images, max(3, runs // 20))
    return WindowSpeed(single, batched, int(detector.threads), runs)
