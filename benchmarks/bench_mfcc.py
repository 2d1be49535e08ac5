"""MFCC throughput and cold-start cost of VoiceStudio's features vs librosa.

Run: python benchmarks/bench_mfcc.py [--minutes 10] [--repeat 5]

Warm: best of --repeat runs of each on the same 10 minutes of 16 kHz audio
with the same parameters (librosa's top_db clip left at its default; it costs
librosa a little, and it is what users of librosa.feature.mfcc get).
Cold: a fresh interpreter per measurement, timed from before the first import
to the first MFCC, imports included (interpreter start-up excluded: it is the
same for both). librosa's very first run in an environment also compiles numba
code; that one-off is reported separately when it happens.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

SR = 16000
PARAMS = dict(n_mfcc=20, n_fft=512, hop_length=160, win_length=400, window="hamming",
              n_mels=40, fmin=20, fmax=8000, center=True, pad_mode="constant")

COLD_OURS = """
import time; t0 = time.perf_counter()
import numpy as np
from voicestudio.audio.features import FeatureSpec, mfcc
y = np.random.default_rng(0).standard_normal(16000 * 10).astype(np.float32) * 0.1
mfcc(y, FeatureSpec())
print(time.perf_counter() - t0)
"""

COLD_LIBROSA = """
import time; t0 = time.perf_counter()
import numpy as np
import librosa
y = np.random.default_rng(0).standard_normal(16000 * 10).astype(np.float32) * 0.1
librosa.feature.mfcc(y=y, sr=16000, **%r)
print(time.perf_counter() - t0)
""" % PARAMS


def best_of(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cold(code: str, runs: int) -> list[float]:
    return [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True).stdout) for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()

    import librosa

    from voicestudio.audio.features import FeatureSpec, mfcc

    y = (np.random.default_rng(0).standard_normal(int(SR * 60 * args.minutes)) * 0.1).astype(np.float32)
    spec = FeatureSpec()
    ours = best_of(lambda: mfcc(y, spec), args.repeat)
    ref = best_of(lambda: librosa.feature.mfcc(y=y, sr=SR, **PARAMS), args.repeat)
    print(f"warm MFCC of {args.minutes:g} min @16 kHz: voicestudio {ours * 1000:.0f} ms, "
          f"librosa {librosa.__version__} {ref * 1000:.0f} ms -> {ref / ours:.1f}x librosa's throughput (target >= 3x)")

    cold_ours = cold(COLD_OURS, args.cold_runs)
    cold_ref = cold(COLD_LIBROSA, args.cold_runs + 1)
    first_ever = cold_ref.pop(0)
    print(f"cold first MFCC (imports included, median of {args.cold_runs}): voicestudio "
          f"{np.median(cold_ours) * 1000:.0f} ms, librosa {np.median(cold_ref) * 1000:.0f} ms -> "
          f"{np.median(cold_ours) / np.median(cold_ref):.3f} of librosa's (target < 0.1)")
    if first_ever > 2 * np.median(cold_ref):
        print(f"  (librosa's first run in this environment took {first_ever:.1f} s: numba compiling its cache)")


if __name__ == "__main__":
    main()
