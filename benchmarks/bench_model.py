"""Per-window invoke time of the built-in detector (float32 and int8), 1 and 4 threads.

Run: python benchmarks/bench_model.py [--models A.tflite B.tflite] [--runs 200]

Times one window per invoke (the on-device streaming case) and a batch of 64
(the `score` case), after warm-up, median of --runs. The peer for scale is
the same network in float32 at one thread.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from voicestudio.model.detector import DEFAULT_MODEL, Detector
from voicestudio.model.timing import BATCH_WINDOWS, median_window_ms


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
            images = np.random.default_rng(0).normal(-5, 20, (BATCH_WINDOWS, *detector.spec.image_shape))
            single = median_window_ms(detector, images[:1].astype(np.float32), args.runs)
            batched = median_window_ms(detector, images.astype(np.float32), max(5, args.runs // 20))
            reference = reference or single
            rows.append((model.name, model.stat().st_size / 1024, threads, single, batched, reference / single))
    print(f"{'model':34} {'KiB':>6} {'threads':>7} {'ms/window (1)':>14} {'ms/window (64)':>15} {'vs float 1t':>11}")
    for name, kib, threads, single, batched, ratio in rows:
        print(f"{name:34} {kib:>6.0f} {threads:>7} {single:>14.3f} {batched:>15.4f} {ratio:>10.2f}x")


if __name__ == "__main__":
    main()
