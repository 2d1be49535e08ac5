"""Per-window invoke time of the built-in detector (float32 and int8), 1 and 4 threads.

Run: python benchmarks/bench_model.py [--models A.tflite B.tflite] [--runs 200]

Times one window per invoke (the on-device streaming case) and a batch of 64
(the `score` case), after warm-up, median of --runs, the models in turn over
--rounds rounds. The peer for scale is the first model at one thread (give the
previous model after the new one to compare them).
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
    parser.add_argument("--rounds", type=int, default=10,
                        help="every model is timed once per round, in turn, and the rounds' median kept: a shared "
                        "machine's slow spells then fall on all models alike")
    args = parser.parse_args()
    cases = [(model, threads) for model in args.models for threads in (1, 4)]
    detectors = {case: Detector(case[0], threads=case[1]) for case in cases}
    images = {case: np.random.default_rng(0).normal(-5, 20, (BATCH_WINDOWS, *d.spec.image_shape)).astype(np.float32)
              for case, d in detectors.items()}
    per_round = max(1, args.runs // args.rounds)
    single, batched = {case: [] for case in cases}, {case: [] for case in cases}
    for _ in range(args.rounds):
        for case, detector in detectors.items():
            single[case].append(median_window_ms(detector, images[case][:1], per_round))
            batched[case].append(median_window_ms(detector, images[case], max(1, per_round // 20)))
    reference = float(np.median(single[cases[0]]))
    same_names = len({m.name for m in args.models}) < len(args.models)  # then the folder tells them apart
    print(f"{'model':34} {'KiB':>6} {'threads':>7} {'ms/window (1)':>14} {'ms/window (64)':>15} {'vs first 1t':>11}")
    for model, threads in cases:
        one, many = float(np.median(single[model, threads])), float(np.median(batched[model, threads]))
        name = f"{model.parent.name}/{model.name}" if same_names else model.name
        print(f"{name[-34:]:34} {model.stat().st_size / 1024:>6.0f} {threads:>7} {one:>14.3f} {many:>15.4f} "
              f"{reference / one:>10.2f}x")


if __name__ == "__main__":
    main()
