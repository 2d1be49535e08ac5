"""`score` pipeline time vs the pure interpreter time, and vs a naive librosa loop.

Run: python benchmarks/bench_score.py [--clips 200] [--model M.tflite]

A folder of clips (1-10 s, speech-like and noise, 16 kHz and 44.1 kHz WAV) is
imported into a temporary project and scored three ways, with the same model
and thread count:
  floor:    the interpreter alone on the precomputed window images (batched)
  pipeline: `score_project` (decode, resample, features, silence gate, batched
            invoke, database writes), i.e. what `voicestudio score` does
  naive:    librosa.load + librosa.feature.mfcc + one invoke per window
Targets: pipeline / floor <= 1.5, naive / pipeline >= 3.
Without --model it uses the built-in detector, or, before that exists, the
same network architecture with random weights (needs TensorFlow).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import audiofiles  # noqa: E402  (the tests' signal generators)


def make_clips(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        sr = 16000 if i % 2 else 44100
        seconds = float(rng.uniform(1.0, 10.0))
        y = audiofiles.speechlike(sr, seconds, seed=i) if i % 3 else audiofiles.noise(sr, seconds, seed=i)
        path = folder / f"clip{i:04d}.wav"
        sf.write(path, y, sr, subtype="PCM_16")
        paths.append(path)
    return paths


def model_path(arg: str | None, workdir: Path) -> Path:
    from voicestudio.model.detector import DEFAULT_MODEL

    if arg:
        return Path(arg)
    if DEFAULT_MODEL.exists():
        return DEFAULT_MODEL
    from voicestudio.audio.features import FeatureSpec
    from voicestudio.model.robust import build_robust_model
    from voicestudio.model.train import to_tflite

    import tensorflow as tf

    spec = FeatureSpec()
    tf.keras.utils.set_random_seed(0)
    path = workdir / "random-ds-cnn.tflite"
    path.write_bytes(to_tflite(build_robust_model(spec), spec))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--model")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    from voicestudio.audio.decode import load_audio
    from voicestudio.dataset.importer import import_paths
    from voicestudio.dataset.scoring import score_project
    from voicestudio.model.detector import Detector
    from voicestudio.model.windows import clip_windows
    from voicestudio.store.project import open_project

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "clips").mkdir()
        paths = make_clips(tmp / "clips", args.clips)
        model = model_path(args.model, tmp)
        detector = Detector(model, threads=args.threads)
        spec = detector.spec
        project = open_project(tmp / "bench.vsproj")
        import_paths(project, [tmp / "clips"])
        total_audio = sum(sf.info(p).duration for p in paths)
        print(f"{len(paths)} clips, {total_audio / 60:.1f} min of audio; model {model.name} "
              f"({model.stat().st_size / 1024:.0f} KiB), runtime {detector.runtime_name}, {detector.threads} threads")

        # Floor: only the interpreter, on exactly the windows the pipeline runs.
        images = np.concatenate([clip_windows(load_audio(p, sample_rate=spec.sample_rate).samples, spec) for p in paths])
        detector.invoke_images(images[:64])  # warm-up
        start = time.perf_counter()
        detector.invoke_images(images)  # full batches: the best the interpreter can do
        floor = time.perf_counter() - start

        score_project(project, detector)  # warm caches (files, pools)
        start = time.perf_counter()
        result = score_project(project, detector, rescore=True)
        pipeline = time.perf_counter() - start
        assert result.scored == len(paths) and not result.failures

        import librosa

        naive = naive_loop(paths, model, spec, detector.threads, librosa)
        print(f"floor (interpreter only, {len(images)} windows): {floor:.2f} s")
        print(f"pipeline (voicestudio score):  {pipeline:.2f} s -> {pipeline / floor:.2f}x the floor (target <= 1.5)")
        print(f"naive librosa + 1 window/invoke: {naive:.2f} s -> pipeline is {naive / pipeline:.1f}x faster (target >= 3)")
        project.close()


def naive_loop(paths, model, spec, threads, librosa) -> float:
    """What a script without VoiceStudio typically does."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model), num_threads=threads)
    inp = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(inp["index"], [1, *spec.image_shape, 1])
    interpreter.allocate_tensors()
    out = interpreter.get_output_details()[0]
    frames = spec.window_frames
    hop = spec.window_hop_frames
    start = time.perf_counter()
    for path in paths:
        y, _ = librosa.load(path, sr=spec.sample_rate)
        m = librosa.feature.mfcc(y=y, sr=spec.sample_rate, n_mfcc=spec.n_mfcc, n_fft=spec.n_fft,
                                 hop_length=spec.hop_length, win_length=spec.frame_length, window=spec.window,
                                 n_mels=spec.n_mels, fmin=spec.fmin, fmax=spec.effective_fmax).T
        if len(m) < frames:
            m = np.pad(m, ((0, frames - len(m)), (0, 0)))
        for s in range(0, len(m) - frames + 1, hop):
            interpreter.set_tensor(inp["index"], m[s:s + frames][None, ..., None].astype(np.float32))
            interpreter.invoke()
            interpreter.get_tensor(out["index"])
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
