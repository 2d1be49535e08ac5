"""The built-in detector (float32 and int8) against Silero VAD on the external evaluation set.

Run: pip install onnxruntime && pip install --no-deps silero-vad    (benchmark-only; no torch needed)
     python benchmarks/bench_detector.py [--models A.tflite B.tflite] [--work DIR] [--json]

Every model scores the same clips of ``training/external_set.csv`` (sounds from Debian packages
the detector is never trained on; fetched into --work on first use), decoded once at 16 kHz.
Clip scores: ours = the card's rule over the non-silent 1 s windows, at the card's threshold;
Silero VAD = the maximum of its 32 ms frame probabilities (its ONNX model run through
onnxruntime exactly as the wheel's ``OnnxWrapper`` does), at its default threshold 0.5.
Prints ROC AUC, balanced accuracy, clips a model failed on, time at one thread per window
(ours: one window per invoke, as bench_model.py) and per second of audio (samples to clip
score, our features included), each source's share of correct decisions, and the ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import external_set  # noqa: E402

from voicestudio.audio.decode import load_audio  # noqa: E402
from voicestudio.errors import AudioError, ModelError  # noqa: E402
from voicestudio.model.detector import DEFAULT_MODEL, Detector  # noqa: E402
from voicestudio.model.train import binary_report  # noqa: E402

RATE = 16000
SILERO_THRESHOLD = 0.5  # Silero's documented default


@dataclass
class Run:
    """One model's pass over the clips."""

    name: str
    threshold: float
    window: str  # what one "window" is for this model
    scores: list[float] = field(default_factory=list)  # NaN where the model failed
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0  # everything from samples at 16 kHz to the clip score
    ms_per_window: float = 0.0  # median of one window per invoke (ours), one frame per run (Silero)
    windows: int = 0
    audio_s: float = 0.0


class SileroVad:
    """Silero VAD's ONNX model, streamed in 512-sample chunks with 64 samples of context."""

    CHUNK, CONTEXT = 512, 64

    def __init__(self):
        import onnxruntime

        spec = importlib.util.find_spec("silero_vad")  # the package's __init__ imports torch: not run
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("needs `pip install onnxruntime` and `pip install --no-deps silero-vad`")
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.onnx"
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                                    providers=["CPUExecutionProvider"])

    def frame_probabilities(self, samples: np.ndarray) -> np.ndarray:
        pad = -len(samples) % self.CHUNK
        x = np.pad(samples.astype(np.float32), (0, pad))
        state = np.zeros((2, 1, 128), np.float32)
        context = np.zeros(self.CONTEXT, np.float32)
        rate = np.array(RATE, np.int64)
        probs = np.empty(len(x) // self.CHUNK, np.float32)
        for i in range(len(probs)):
            chunk = np.concatenate([context, x[i * self.CHUNK:(i + 1) * self.CHUNK]])
            out, state = self.session.run(None, {"input": chunk[None], "state": state, "sr": rate})
            probs[i] = out[0, 0]
            context = chunk[-self.CONTEXT:]
        return probs


def run_ours(model: Path, clips: list[np.ndarray]) -> Run:
    detector = Detector(model, threads=1)
    run = Run(model.name, detector.card.threshold, "1 s window, 0.5 s hop")
    sample_windows = []
    for samples in clips:
        start = time.perf_counter()
        windows = detector.prepare(samples, RATE)
        try:
            probs = detector.invoke_images(windows.images)
        except ModelError as exc:
            run.failures.append(str(exc).split("(", 1)[-1].rstrip(")"))
            run.scores.append(float("nan"))
            continue
        run.seconds += time.perf_counter() - start
        run.windows += len(windows.images)  # the non-silent windows the interpreter ran
        run.audio_s += len(samples) / RATE
        run.scores.append(detector.assemble(windows, probs).clip_score)
        sample_windows += list(windows.images[:2])
    run.ms_per_window = single_invoke_ms(detector, sample_windows[:300])
    return run


def single_invoke_ms(detector: Detector, images: list[np.ndarray]) -> float:
    """Median time of one window per invoke (the streaming case, as bench_model.py times it)."""
    times = []
    for image in images:
        start = time.perf_counter()
        detector.invoke_images(image[None])
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times[10:] or times))


def run_silero(clips: list[np.ndarray]) -> Run:
    vad = SileroVad()
    run = Run("silero-vad (ONNX)", SILERO_THRESHOLD, "32 ms frame")
    for samples in clips:
        start = time.perf_counter()
        probs = vad.frame_probabilities(samples)
        run.seconds += time.perf_counter() - start
        run.windows += len(probs)
        run.audio_s += len(samples) / RATE
        run.scores.append(float(probs.max()) if len(probs) else 0.0)
    run.ms_per_window = 1000 * run.seconds / max(run.windows, 1)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", type=Path,
                        default=[DEFAULT_MODEL, DEFAULT_MODEL.with_name(DEFAULT_MODEL.stem + "-int8.tflite")])
    parser.add_argument("--work", type=Path, default=Path("/tmp/voicestudio-corpus-work"),
                        help="cache of the external set's packages and clips")
    parser.add_argument("--listing", type=Path, default=external_set.LISTING)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    local = external_set.materialise(args.work, args.listing, report=lambda line: print(line, file=sys.stderr))
    kept, clips = [], []
    for item in local:  # decoded once, shared by every model
        try:
            clips.append(load_audio(item.file, sample_rate=RATE).samples)
            kept.append(item.clip)
        except AudioError as exc:
            print(f"skipped {exc}", file=sys.stderr)
    labels = np.array([c.label == "human" for c in kept])
    runs = [run_ours(m, clips) for m in args.models] + [run_silero(clips)]

    # Metrics on the clips every model ran on, so the figures compare like with like.
    ran = np.all([np.isfinite(r.scores) for r in runs], axis=0)
    results = []
    for run in runs:
        scores = np.array(run.scores)
        report = binary_report(labels[ran], scores[ran], run.threshold)
        by_source = {}
        for source in sorted({c.source for c in kept}):
            rows = np.array([c.source == source for c in kept]) & ran
            by_source[source] = float(np.mean((scores[rows] >= run.threshold) == labels[rows])) if rows.any() else None
        results.append({
            "model": run.name, "threshold": run.threshold, "roc_auc": report["roc_auc"],
            "balanced_accuracy": report["balanced_accuracy"], "confusion": report["confusion"],
            "failed_clips": len(run.failures), "failure_example": run.failures[0] if run.failures else None,
            "window": run.window, "ms_per_window": run.ms_per_window,
            "ms_per_audio_second": 1000 * run.seconds / max(run.audio_s, 1e-9), "by_source": by_source,
        })
    summary = {"clips": int(ran.sum()), "human": int(labels[ran].sum()), "listed": len(kept),
               "threads": 1, "results": results}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{summary['clips']} clips ({summary['human']} human) scored by every model, of {len(kept)} listed; 1 thread")
    print(f"{'model':32} {'AUC':>6} {'bal.acc':>7} {'thresh':>6} {'failed':>6} {'ms/window':>10} "
          f"{'ms/audio s':>10}  window")
    for r in results:
        print(f"{r['model']:32} {r['roc_auc']:>6.3f} {r['balanced_accuracy']:>7.3f} {r['threshold']:>6.3f} "
              f"{r['failed_clips']:>6} {r['ms_per_window']:>10.3f} {r['ms_per_audio_second']:>10.3f}  {r['window']}")
    silero = results[-1]
    for r in results[:-1]:
        print(f"{r['model']} / silero: AUC {r['roc_auc'] / silero['roc_auc']:.3f}, balanced accuracy "
              f"{r['balanced_accuracy'] / silero['balanced_accuracy']:.3f}, time per audio second "
              f"{r['ms_per_audio_second'] / silero['ms_per_audio_second']:.3f}")
    for r in results:
        if r["failed_clips"]:
            print(f"{r['model']} failed on {r['failed_clips']} clips, e.g. {r['failure_example']}")
    print("share of correct decisions per source:")
    print(f"  {'source':22}" + "".join(f" {r['model'][:24]:>24}" for r in results))
    for source in results[0]["by_source"]:
        cells = [r["by_source"][source] for r in results]
        print(f"  {source:22}" + "".join(f" {'-' if c is None else f'{c:.2f}':>24}" for c in cells))


if __name__ == "__main__":
    main()
