"""The detector graph whose int8 build has no operation that can fail, on any runtime: training and checks.

Why the first built-in int8 model failed: its graph normalised each image as
``(x - mean_t x) / (sqrt(mean(x'^2)) + 1e-3)``. Quantised, the divisor is an int8 tensor whose
calibrated range does not reach zero, so on a quiet or flat image it rounds to its zero point
and TFLite's int8 DIV refuses to run (``div.cc:262 data[i] != zero_point``). The SQRT on int8 is
version 2, which only LiteRT >= 2.21 has: tflite-runtime 2.14 cannot load it.

The design (``voicestudio.model.robust``, the network every training in VoiceStudio builds since)
removes both ops instead of guarding them:
- the features are log energies (MFCC or log-mel), so a change of gain or a fixed channel
  colouring is an *added* constant per coefficient; subtracting each coefficient's mean over
  the window's frames (MEAN + SUB, as before) removes it. The division by the image's spread
  buys no loudness invariance on top of that;
- the spread is fixed instead: one constant scale per coefficient (1 / the coefficient's
  standard deviation over the training windows after the mean removal), a MUL by a constant.
  It equalises the coefficients' ranges (c1 is ~10x c19), which also keeps int8 precision
  for the small coefficients, and it cannot fail on any input.
The graph is then MEAN, SUB, MUL, CONV_2D, DEPTHWISE_CONV_2D, MEAN (pooling),
FULLY_CONNECTED, LOGISTIC: int8 kernels that exist in tflite-runtime 2.14 and that have no
input they refuse; the int8 build keeps MEAN, SUB and MUL in float ("float front"). ``check``
proves it: op versions and ``min_runtime_version`` from the file, hostile inputs (silence, DC,
full-scale square waves, clipped audio, white noise) and every window of the external set
through the int8 model on ai-edge-litert, and the same inputs through tflite-runtime 2.14:
``--tflite-python`` (a venv with tflite-runtime==2.14.0 and numpy<2) and ``--arm`` (the emulated
aarch64 Python the device tests use).

    python training/robust_graph.py train --corpus DIR --out OUT/voice-detector.tflite [--epochs N]
    python training/robust_graph.py check OUT/voice-detector-int8.tflite [--float-model OUT/voice-detector.tflite]
                                           [--work DIR] [--arm] [--tflite-python PY]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from voicestudio.errors import ModelError  # noqa: E402


def train_robust(corpus: Path, out: Path, config, *, name: str = "voice-detector-v2-prototype",
                 provenance: dict | None = None, data=None, from_keras: list[Path] | None = None, spec=None,
                 half: Path | None = None):
    """Train with ``voicestudio.model.train.train``: OUT, OUT-int8 (float front), their cards, OUT.keras.

    ``data``: window sets computed already (``experiment.py``'s cache); ``from_keras``: skip the
    fitting and write the models and cards of networks trained already on the same split (several:
    averaged), each a ``.keras`` file or a float ``.tflite`` (``load_network``); ``half``: with
    ``from_keras``, a network of half-length windows scored on each half of the window, the higher
    averaged with theirs (``robust.two_scale``); ``spec``: the features (default ``FeatureSpec()``,
    the reference design's MFCC image).
    """
    import voicestudio.model.train as train_module
    from voicestudio.audio.features import FeatureSpec

    spec = spec or FeatureSpec()
    if data is None:
        data = train_module.prepare_data(corpus, spec, config)
    provenance = provenance or {"built_by": "python training/robust_graph.py train"}
    if from_keras is None:
        result = train_module.train(corpus, out, spec=spec, config=config, name=name, provenance=provenance,
                                    data=data)
    else:
        from voicestudio.model.robust import average_of, two_scale

        model = average_of([load_network(path, data.val.images[:512]) for path in from_keras])
        if half is not None:
            model = two_scale(model, load_network(half, data.val.images[:512, :spec.window_frames // 2]))
        result = train_module.finish(model, {"networks": []}, data, out, data_dir=corpus, spec=spec,
                                     config=config, name=name, provenance=provenance)
    print(json.dumps(result.card["metrics"], indent=2))
    return result


def load_network(path: Path, images: np.ndarray):
    """A trained network from its ``.keras`` file, or rebuilt from a float ``.tflite`` (checked on ``images``);
    ``FILE.tflite#I`` is network I of an averaged float ``.tflite`` (the shipped pair's ``#1``, say)."""
    import tensorflow as tf

    from voicestudio.model.from_tflite import member_networks, member_path, rebuild_from_tflite
    from voicestudio.model.robust import normalisation_layer

    path, member = member_path(path)
    if path.suffix == ".tflite":
        model = rebuild_from_tflite(path, images)
        if member is None:
            return model
        members = member_networks(model)
        if member >= len(members):
            raise ModelError(path, f"it averages {len(members)} network(s); there is no network #{member}")
        if members[member] is None:
            raise ModelError(path, f"network #{member} scores each half of the window (the two-scale graph's "
                             "half network): it is not a 1 s network on its own")
        return members[member]
    if member is not None:
        raise ModelError(path, f"#{member} picks a network of an averaged float .tflite, not of a {path.suffix} file")
    normalisation_layer()  # registers the layer class the saved model names
    return tf.keras.models.load_model(path)


# The checks -----------------------------------------------------------------------------

def operator_versions(model: Path) -> tuple[dict[str, list[int]], str | None]:
    from voicestudio.model.inspect import inspect_tflite

    found = inspect_tflite(model)
    return {op.name: list(op.versions) for op in found.operators}, found.metadata.get("min_runtime_version")


def hostile_audio(rate: int = 16000) -> dict[str, np.ndarray]:
    """Inputs that make flat, extreme or degenerate feature images."""
    t = np.arange(3 * rate) / rate
    rng = np.random.default_rng(0)
    square = np.sign(np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return {
        "digital silence": np.zeros(3 * rate, np.float32),
        "DC +0.5": np.full(3 * rate, 0.5, np.float32),
        "DC -1.0": np.full(3 * rate, -1.0, np.float32),
        "full-scale square 440 Hz": square,
        "full-scale square 50 Hz": np.sign(np.sin(2 * np.pi * 50 * t)).astype(np.float32),
        "clipped sine x20": np.clip(20 * np.sin(2 * np.pi * 220 * t), -1, 1).astype(np.float32),
        "white noise full scale": np.clip(rng.standard_normal(3 * rate), -1, 1).astype(np.float32),
        "white noise -90 dBFS": (rng.standard_normal(3 * rate) * 10 ** (-90 / 20)).astype(np.float32),
        "single click": np.eye(1, 3 * rate, rate, dtype=np.float32)[0],
        "alternating +-1": np.tile(np.array([1, -1], np.float32), 3 * rate // 2),
    }


def feature_images(detector, audio: np.ndarray) -> np.ndarray:
    """Every window's image, silent ones included (the gate would skip them; the model must not care)."""
    from voicestudio.audio.features import features, pad_to_window, window_images, window_starts

    spec = detector.spec
    samples = pad_to_window(audio, spec)
    frames = features(samples, spec)
    return window_images(frames, window_starts(len(frames), spec), spec)


def check(model: Path, float_model: Path | None, work: Path | None, runtimes: list[str]) -> int:
    """Exit status 1 when an op can refuse an input or any window fails on any runtime."""
    from voicestudio.model.detector import Detector

    versions, min_runtime = operator_versions(model)
    print(f"{model.name}: operators {versions}, min_runtime_version {min_runtime}")
    forbidden = sorted(set(versions) & {"DIV", "SQRT", "RSQRT", "LOG", "POW"})
    print("  ops that can refuse or overflow on an input: " + (", ".join(forbidden) if forbidden else "none"))

    detector = Detector(model, threads=1)
    rate = detector.spec.sample_rate
    groups = {name: feature_images(detector, audio) for name, audio in hostile_audio(rate).items()}
    if work is not None:
        import external_set
        from voicestudio.audio.decode import load_audio

        for item in external_set.materialise(work):
            audio = load_audio(item.file, sample_rate=rate).samples
            groups[f"external {item.clip.package}:{item.clip.path}"] = feature_images(detector, audio)
    failures = 0
    for name, images in groups.items():
        for image in images:  # one window per invoke: a failure names its window
            try:
                detector.invoke_images(image[None])
            except ModelError as exc:
                failures += 1
                if failures <= 5:
                    print(f"  FAILED on {name}: {exc}")
    n = sum(len(g) for g in groups.values())
    print(f"  ai-edge-litert: {n} windows ({len(groups)} inputs), {failures} failed")

    if float_model is not None and work is not None:
        agreement(float_model, model, work)
    for python in runtimes:
        failures += run_elsewhere(python, model, groups)
    return 1 if failures or forbidden else 0


def agreement(float_model: Path, int8_model: Path, work: Path) -> None:
    """AUC of both on the external set and the share of clips decided alike."""
    import evaluate_external

    a = evaluate_external.evaluate(float_model, work, report=lambda line: None)
    b = evaluate_external.evaluate(int8_model, work, report=lambda line: None)
    both = sorted(set(a["scores"]) & set(b["scores"]))
    same = np.mean([(a["scores"][c] >= a["threshold"]) == (b["scores"][c] >= b["threshold"]) for c in both])
    print(f"  external set: float AUC {a['roc_auc']} bal.acc {a['balanced_accuracy']}; int8 AUC {b['roc_auc']} "
          f"bal.acc {b['balanced_accuracy']}; int8 failed on {len(b['failed'])} clips; "
          f"decisions agree on {100 * same:.1f} % of {len(both)} clips")


ARM_SCRIPT = """
import json, sys, numpy as np
from tflite_runtime.interpreter import Interpreter
import tflite_runtime, platform
interpreter = Interpreter(model_path=sys.argv[1], num_threads=1)
interpreter.allocate_tensors()
inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
images = np.load(sys.argv[2])
scale, zero = inp["quantization"]
failed, probs = 0, []
for image in images:
    x = image[None, ..., None]
    if inp["dtype"] == np.int8:
        x = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
    interpreter.set_tensor(inp["index"], x.astype(inp["dtype"]))
    try:
        interpreter.invoke()
    except RuntimeError as exc:
        failed += 1
        continue
    y = interpreter.get_tensor(out["index"]).astype(np.float32)
    if out["dtype"] == np.int8:
        y = (y - out["quantization"][1]) * out["quantization"][0]
    probs.append(float(y.ravel()[-1]))
print(json.dumps({"runtime": f"{tflite_runtime.__version__} on {platform.machine()}", "windows": len(images), "failed": failed,
                  "mean_prob": float(np.mean(probs)) if probs else None}))
"""


def arm_python_command() -> str:
    """The aarch64 Python with tflite-runtime 2.14 under qemu that the device tests build."""
    sys.path.insert(0, str(REPO / "tests"))
    import devicehost

    return devicehost.arm_python(Path.home() / ".cache" / "voicestudio-tests").command


def run_elsewhere(python: str, model: Path, groups: dict[str, np.ndarray]) -> int:
    """The hostile windows and every 4th external clip's through another Python's tflite_runtime."""
    hostile = [g for name, g in groups.items() if not name.startswith("external")]
    external = [g for name, g in groups.items() if name.startswith("external")]
    images = np.concatenate(hostile + external[::4])  # emulated: every 4th external clip
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "images.npy", images.astype(np.float32))
        (Path(tmp) / "run.py").write_text(ARM_SCRIPT)
        done = subprocess.run(f"{python} {tmp}/run.py {model} {tmp}/images.npy", shell=True,
                              capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        print(f"  {python.split()[-1]}: could not run the model: {' '.join(done.stderr.split())[-300:]}")
        return 1
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  tflite-runtime {result['runtime']} ({python.split()[-1]}): {result['windows']} windows, "
          f"{result['failed']} failed")
    return int(result["failed"] > 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train the robust graph on a folder-per-class corpus")
    t.add_argument("--corpus", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--augment-copies", type=int, default=3)
    t.add_argument("--group-balance", type=float, default=0.0, help="see TrainConfig.group_balance")
    t.add_argument("--cartoon-speed", type=float, default=0.0, help="see TrainConfig.cartoon_speed")
    t.add_argument("--voice-pitch", type=float, default=0.0, help="see TrainConfig.voice_pitch")
    t.add_argument("--networks", type=int, default=1, help="networks averaged in one graph (TrainConfig.networks)")
    c = commands.add_parser("check", help="op versions, hostile inputs, external windows, aarch64 2.14")
    c.add_argument("model", type=Path)
    c.add_argument("--float-model", type=Path, help="its float twin, for the agreement figures")
    c.add_argument("--work", type=Path, help="package cache of the external set (its windows are checked too)")
    c.add_argument("--arm", action="store_true", help="also run on the emulated aarch64 tflite-runtime 2.14")
    c.add_argument("--tflite-python", action="append", default=[],
                   help="also run with this Python's tflite_runtime (e.g. a venv with tflite-runtime==2.14.0)")
    args = parser.parse_args(argv)
    if args.command == "train":
        from voicestudio.model.train import TrainConfig

        train_robust(args.corpus, args.out, TrainConfig(epochs=args.epochs, augment_copies=args.augment_copies,
                                                        group_balance=args.group_balance,
                                                        cartoon_speed=args.cartoon_speed,
                                                        voice_pitch=args.voice_pitch,
                                                        networks=args.networks))
        return 0
    runtimes = args.tflite_python + ([arm_python_command()] if args.arm else [])
    return check(args.model, args.float_model, args.work, runtimes)


if __name__ == "__main__":
    sys.exit(main())
