"""Per-window invoke time of the built-in detector (float32 and int8), 1 and 4 threads.

Run: python benchmarks/bench_model.py [--models A.tflite B.tflite] [--runs 200]

Times one window per invoke (the on-device streaming case) and a batch of 64
(the `score` case), after warm-up, median of --runs. The peer for scale is
the same network in float32 at one thread.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from voicestudio.model.detector import DEFAULT_MODEL, Detector


def median_ms(detector: Detector, images: np.ndarray, runs: int) -> float:
    detector.invoke_images(images)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        detector.invoke_images(images)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000 / len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", type=Path,
                        default=[DEFAULT_MODEL, DEFAULT_MODEL.with_name(DEFAULT_MODEL.stem + "-int8.tflite")])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    rows, reference = [], None
    for model in args.models:
        for threads in (1, 4):
            detector = Detector(model, threads=threads)
            images = np.random.default_rng(0).normal(-5, 20, (64, *detector.spec.image_shape)).astype(np.float32)
            single = median_ms(detector, images[:1], args.runs)
            batched = median_ms(detector, images, max(5, args.runs // 20))
            reference = reference or single
            rows.append((model.name, model.stat().st_size / 1024, threads, single, batched, reference / single))
    print(f"{'model':34} {'KiB':>6} {'threads':>7} {'ms/window (1)':>14} {'ms/window (64)':>15} {'vs float 1t':>11}")
    for name, kib, threads, single, batched, ratio in rows:
        print(f"{name:34} {kib:>6.0f} {threads:>7} {single:>14.3f} {batched:>15.4f} {ratio:>10.2f}x")


if __name__ == "__main__":
    main()
