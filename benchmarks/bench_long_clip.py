"""Peak memory of `score` on one long clip, against `predict` of the same file.

Run: python benchmarks/bench_long_clip.py [--hours 6] [--model M.tflite]

A recording of ``--hours`` (16-bit WAV at 8 kHz, silence with a 2 s voice burst every
minute; sparse on disk) is imported into a temporary project as one clip
(``--segment none``), then `voicestudio score` and `voicestudio predict` run on it in
subprocesses, each measured for peak RSS and time. Both stream the clip in blocks through
the same detector code, so the ratio score / predict should be about 1.
Targets: score peak < 400 MB for a 6-hour clip; score / predict peak <= 1.1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import hostile  # noqa: E402  (the tests' long-file writer)
from peakrss import run_measured  # noqa: E402


def timed(command: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    done, peak = run_measured(command)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return time.perf_counter() - started, peak


def main() -> None:
    from voicestudio.model.detector import DEFAULT_MODEL

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    args = parser.parse_args()
    cli = [sys.executable, "-m", "voicestudio"]
    with tempfile.TemporaryDirectory() as tmp:
        recording = hostile.make_long_wav(Path(tmp) / "long.wav", hours=args.hours)
        db = str(Path(tmp) / "p.vsproj")
        timed([*cli, "--db", db, "import", "--segment", "none", str(recording)])
        score_s, score_peak = timed([*cli, "--db", db, "score", "--model", args.model])
        predict_s, predict_peak = timed([*cli, "predict", "--model", args.model, str(recording)])
    mb = 1024 * 1024
    print(f"{args.hours:g}-hour clip, {Path(args.model).name}:")
    print(f"  score    peak {score_peak / mb:6.0f} MiB  {score_s:6.1f} s")
    print(f"  predict  peak {predict_peak / mb:6.0f} MiB  {predict_s:6.1f} s")
    print(f"  score / predict: peak {score_peak / predict_peak:.2f}, time {score_s / predict_s:.2f}")


if __name__ == "__main__":
    main()
