"""The packaged app: its size against a naive build, and its start against the non-frozen app.

Run (in an environment with the test extra and pyinstaller: pip install -e '.[test,package]'):
    python benchmarks/bench_bundle.py [--runs 5] [--skip-naive]

1. Builds packaging/voicestudio.spec into a temporary folder and measures it on disk.
2. Builds the same entry point naively -- plain `pyinstaller --onedir`, no excludes, no
   filters, with librosa as a librosa-based feature path would bring it (numba, llvmlite,
   scikit-learn) -- and measures that. TensorFlow alone is left out of the naive build
   (it would make it gigabytes; voicestudio only imports it to convert models).
3. Starts the frozen app and `python -m voicestudio` on a virtual screen (xvfb-run, or the
   offscreen platform without it) --runs times each and compares the medians of "window
   visible" and "first clip drawn" (VOICESTUDIO_STARTUP_CLOCK makes the app print both).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "voicestudio.spec"
ENTRY = ROOT / "packaging" / "voicestudio_entry.py"


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def pyinstaller(args: list[str], work: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR",
                    "--workpath", str(work / "build"), "--distpath", str(work / "dist"), *args], check=True, cwd=ROOT)
    return time.perf_counter() - started


def start_times(command: list[str], home: Path) -> tuple[float, float]:
    """(window visible, first clip drawn) in seconds from spawn, with a fresh home folder."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    if shutil.which("xvfb-run"):
        command = ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", *command]
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    env["VOICESTUDIO_STARTUP_CLOCK"] = repr(time.time())
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120).stdout.split()
    return float(out[out.index("visible") + 1]), float(out[out.index("clip") + 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voicestudio-bundle-") as tmp:
        tmp = Path(tmp)
        seconds = pyinstaller([str(SPEC)], tmp / "spec")
        bundle = tmp / "spec" / "dist" / "VoiceStudio"
        ours = size_mb(bundle)
        print(f"packaging/voicestudio.spec: {ours:.0f} MB on disk, {ours / 1.048576:.0f} MiB (built in {seconds:.0f} s; "
              f"budget 250 MB as du -sm counts it, packaging/build.py)")
        if not args.skip_naive:
            seconds = pyinstaller(["--onedir", "--name", "naive", "--specpath", str(tmp / "naive"),
                                   "--collect-data", "voicestudio",
                                   "--hidden-import", "voicestudio.ui.app", "--hidden-import", "librosa",
                                   "--hidden-import", "ai_edge_litert.interpreter",
                                   "--exclude-module", "tensorflow", str(ENTRY)], tmp / "naive")
            naive = size_mb(tmp / "naive" / "dist" / "naive")
            print(f"naive build (no excludes, librosa/numba in): {naive:.0f} MB (built in {seconds:.0f} s): "
                  f"the spec's bundle is {ours / naive:.2f}x of it")
        frozen, source = [], []
        for i in range(args.runs):
            frozen.append(start_times([str(bundle / "voicestudio")], tmp / f"home-f{i}"))
            source.append(start_times([sys.executable, "-m", "voicestudio"], tmp / f"home-s{i}"))
        for label, index in (("window visible", 0), ("first clip drawn", 1)):
            f = statistics.median(t[index] for t in frozen)
            s = statistics.median(t[index] for t in source)
            print(f"{label}: frozen {f:.2f} s, from source {s:.2f} s (frozen - source = {f - s:+.2f} s, "
                  f"budget +2 s), median of {args.runs}")


if __name__ == "__main__":
    main()
