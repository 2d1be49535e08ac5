"""The device script's timings against LiteRT's own Python benchmark, on this machine, same run.

Run: python benchmarks/bench_device.py [--runs 200] [--threads 1 2]

``device bench`` times a model on a device with the script VoiceStudio pushes there
(``voicestudio/device/device_script.py``) when the device has no ``benchmark_model``.
Its numbers must mean what the standard tool's mean: both are run here, one after the
other, on the built-in float32 and int8 models, and the ratio of their mean inference
times is printed (1.0 = the same figure). Each side is run three times; the medians
are compared, so the other core's noise does not decide it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from voicestudio.device.check import DEVICE_SCRIPT, script_json
from voicestudio.device.benchmark_output import parse_benchmark_output
from voicestudio.model.detector import DEFAULT_MODEL

MODELS = (DEFAULT_MODEL, DEFAULT_MODEL.with_name("voice-detector-int8.tflite"))


def ours(model: Path, threads: int, runs: int) -> float:
    done = subprocess.run([sys.executable, str(DEVICE_SCRIPT), "--model", str(model), "--threads", str(threads),
                           "--runs", str(runs), "--warmup", "10", "--runtime", "ai-edge-litert"],
                          capture_output=True, text=True, check=True)
    return script_json(done.stdout)["avg_ms"]


def litert_tool(model: Path, threads: int, runs: int) -> float:
    done = subprocess.run([sys.executable, "-m", "ai_edge_litert.tools.benchmark_litert_model", "--model", str(model),
                           "--num_threads", str(threads), "--num_runs", str(runs), "--warmup_runs", "10"],
                          capture_output=True, text=True, check=True)
    return parse_benchmark_output(done.stdout + done.stderr).avg_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"{'model':<28} {'threads':>7} {'device script':>14} {'LiteRT tool':>12} {'ratio':>6}")
    for model in MODELS:
        for threads in args.threads:
            a = statistics.median(ours(model, threads, args.runs) for _ in range(3))
            b = statistics.median(litert_tool(model, threads, args.runs) for _ in range(3))
            print(f"{model.name:<28} {threads:>7} {a:>11.4f} ms {b:>9.4f} ms {a / b:>6.2f}")


if __name__ == "__main__":
    main()
