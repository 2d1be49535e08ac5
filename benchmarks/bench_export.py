"""`export` of a labelled project vs a naive librosa + soundfile loop.

Run: python benchmarks/bench_export.py [--clips 10000] [--rate 16000]

A folder of one-second clips (44.1 kHz 16-bit WAV: speech-like and noise) is
imported into a temporary project and labelled, then exported with resampling
to ``--rate`` in the `folders` layout:
  export x1:  `export_dataset` with one writer
  export x2:  `export_dataset` with one writer per core (the default)
  naive:      for each clip, librosa.load(sr=rate) + soundfile.write, one core;
              no manifest, splits, hashes or card
Target (issue 5): 10,000 clips with resampling in under a minute, using both cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import audiofiles  # noqa: E402  (the tests' signal generators)

SOURCE_RATE = 44100


def make_clips(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        speech = i % 2 == 0
        y = audiofiles.speechlike(SOURCE_RATE, 1.0, seed=i) if speech else audiofiles.noise(SOURCE_RATE, 1.0, seed=i)
        path = folder / ("voice" if speech else "noise") / f"s{i % 40:02d}" / f"clip{i:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y, SOURCE_RATE, subtype="PCM_16")
        paths.append(path)
    return paths


def labelled_project(folder: Path, db: Path):
    from voicestudio.dataset.importer import import_paths
    from voicestudio.store import clips as clip_store
    from voicestudio.store import labels as label_store
    from voicestudio.store.project import open_project

    project = open_project(db)
    report = import_paths(project, [folder])
    with project.write() as session:
        for row in clip_store.list_clips(session):
            label_store.add_label(session, row.id, "bench", "human" if "/voice/" in row.path else "nonhuman")
    return project, report.clips_added


def naive(paths: list[Path], out: Path, rate: int) -> None:
    import librosa

    for path in paths:
        y, _ = librosa.load(path, sr=rate)
        target = out / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        sf.write(target, y, rate, subtype="PCM_16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=10000)
    parser.add_argument("--rate", type=int, default=16000)
    args = parser.parse_args()

    from voicestudio.dataset.export import ExportOptions, export_dataset

    with tempfile.TemporaryDirectory(prefix="vs-bench-export-") as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        paths = make_clips(tmp / "audio", args.clips)
        project, n = labelled_project(tmp / "audio", tmp / "bench.vsproj")
        print(f"set-up: {n} one-second clips at {SOURCE_RATE} Hz written, imported and labelled "
              f"in {time.perf_counter() - started:.1f} s; {os.cpu_count()} cores")

        timings = {}
        for workers in (1, None):
            name = "export x1" if workers == 1 else f"export x{os.cpu_count()}"
            started = time.perf_counter()
            result = export_dataset(project, tmp / name.replace(" ", "-"), ExportOptions(rate=args.rate, workers=workers))
            timings[name] = time.perf_counter() - started
            assert len(result.written) == n and not result.failures
            print(f"{name:10s} {timings[name]:7.2f} s  ({n / timings[name]:,.0f} clips/s)")

        import librosa  # noqa: F401  (imported before timing: its own start-up is not the loop's cost)

        started = time.perf_counter()
        naive(paths, tmp / "naive", args.rate)
        timings["naive"] = time.perf_counter() - started
        print(f"{'naive':10s} {timings['naive']:7.2f} s  ({n / timings['naive']:,.0f} clips/s)  librosa.load(sr={args.rate}) + sf.write")

        both = timings[f"export x{os.cpu_count()}"]
        print(f"ratio naive / export (all cores): {timings['naive'] / both:.2f}x; "
              f"all cores / one writer: {timings['export x1'] / both:.2f}x")
        per_10k = both * 10000 / n
        print(f"10,000 clips would take {per_10k:.1f} s (target < 60 s): {'OK' if per_10k < 60 else 'MISSED'}")
        project.close()


if __name__ == "__main__":
    main()
