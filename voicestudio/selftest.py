"""``voicestudio selftest``: check, headless, that this installation (frozen or not) works.

Each step exercises one part the way the app uses it: decode a demo clip, compute its
features, run the built-in model, create and migrate a project, open the main window
offscreen and draw each view, export a two-clip set, sign with an SSH key. One line per step; the first
failure stops the run with exit status 1 (a frozen build missing a library or a data
file fails here, not in an analyst's hands).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

DEMO_CLIPS = ("voice-en-ball.ogg", "dog-bark.ogg")


@dataclass
class Step:
    name: str
    run: Callable[["Context"], str]  # returns what it checked, in a few words


@dataclass
class Context:
    workdir: Path
    samples: Path
    project_path: Path | None = None


def _decode(ctx: Context) -> str:
    from voicestudio.audio.decode import load_audio

    audio = load_audio(ctx.samples / DEMO_CLIPS[0])
    if not len(audio.samples):
        raise RuntimeError("decoded no samples")
    return f"{DEMO_CLIPS[0]}: {len(audio.samples) / audio.sample_rate:.2f} s at {audio.sample_rate} Hz"


def _features(ctx: Context) -> str:
    import numpy as np

    from voicestudio.audio.decode import load_audio
    from voicestudio.audio.features import FeatureSpec, load_fast_fft, mfcc

    spec = FeatureSpec()
    samples = load_audio(ctx.samples / DEMO_CLIPS[0], sample_rate=spec.sample_rate).samples
    cold = mfcc(samples, spec)  # numpy only, as on a cold start
    load_fast_fft()
    fast = mfcc(samples, spec)  # scipy's FFT and sparse products, as the window and batch jobs run
    if not (np.isfinite(fast).all() and np.allclose(cold, fast, atol=1e-2)):
        raise RuntimeError("MFCC differ between the numpy and the scipy paths")
    return f"MFCC {fast.shape[0]} frames x {fast.shape[1]}, numpy and scipy paths agree"


def _model(ctx: Context) -> str:
    from voicestudio.model.detector import Detector

    detector = Detector()
    prediction = detector.predict_file(ctx.samples / DEMO_CLIPS[0])
    if not 0.0 <= prediction.clip_score <= 1.0:
        raise RuntimeError(f"clip score {prediction.clip_score} is not a probability")
    return (f"{detector.card.name} on {detector.runtime_name}: {DEMO_CLIPS[0]} scores {prediction.clip_score:.3f} "
            f"over {prediction.n_windows} windows")


def _project(ctx: Context) -> str:
    from voicestudio.dataset.importer import import_paths
    from voicestudio.dataset.labels import label_clip
    from voicestudio.store import clips as clip_store
    from voicestudio.store.project import open_project

    ctx.project_path = ctx.workdir / "selftest.vsproj"
    with open_project(ctx.project_path) as project:
        report = import_paths(project, [ctx.samples / name for name in DEMO_CLIPS])
        if report.failures or report.clips_added != len(DEMO_CLIPS):
            raise RuntimeError(f"imported {report.clips_added} clips, failures: {report.failures}")
        with project.session() as s:
            rows = clip_store.list_clips(s)
        for row, value in zip(rows, ("human", "nonhuman")):
            label_clip(project, row.id, value, annotator="selftest")
    with open_project(ctx.project_path) as project:  # reopened: the schema is current
        with project.session() as s:
            count = clip_store.count_clips(s)
    return f"created, migrated and reopened with {count} labelled clips"


def _window(ctx: Context) -> str:
    import importlib

    # Loaded by name: only the window's own package imports Qt.
    return importlib.import_module("voicestudio.ui.selftest_window").render_views(ctx.project_path, ctx.workdir)


def _export(ctx: Context) -> str:
    from voicestudio.dataset.export import ExportOptions, export_dataset
    from voicestudio.store.project import open_project

    with open_project(ctx.project_path) as project:
        result = export_dataset(project, ctx.workdir / "export", ExportOptions(fractions=(0.5, 0.5, 0.0), workers=1))
    files = [p for p in (ctx.workdir / "export").rglob("*.wav")]
    if result.failures or len(files) != 2 or not (ctx.workdir / "export" / "manifest.csv").is_file():
        raise RuntimeError(f"exported {len(files)} files, failures: {result.failures}")
    return "2 clips with manifest.csv and README.md"


def _ssh(ctx: Context) -> str:
    """The SSH stack device commands use: paramiko, cryptography and PyNaCl load and sign."""
    import io

    import paramiko
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    import voicestudio.device.ssh  # noqa: F401  (the transport itself imports)

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(pem.decode()))
    signature = key.sign_ssh_data(b"voicestudio")
    signature.rewind()
    public = paramiko.Ed25519Key(data=key.asbytes())  # as a host key arrives from a board
    if not public.verify_ssh_sig(b"voicestudio", signature):
        raise RuntimeError("an Ed25519 signature did not verify")
    return f"paramiko {paramiko.__version__}: an Ed25519 key signs and verifies"


STEPS = (Step("decode", _decode), Step("features", _features), Step("model", _model),
         Step("project", _project), Step("window", _window), Step("export", _export), Step("ssh", _ssh))


def run_selftest(out=sys.stdout, steps=STEPS) -> int:
    """Run the steps in order; 0 if all pass, 1 at the first failure."""
    from voicestudio import __version__
    from voicestudio.dataset.demo import SAMPLES_DIR

    frozen = getattr(sys, "frozen", False)
    print(f"voicestudio {__version__} selftest ({'frozen' if frozen else 'Python ' + sys.version.split()[0]}, "
          f"{sys.platform})", file=out, flush=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # headless, whatever the screen
    with tempfile.TemporaryDirectory(prefix="voicestudio-selftest-") as tmp:
        ctx = Context(Path(tmp), SAMPLES_DIR)
        for step in steps:
            started = time.perf_counter()
            try:
                said = step.run(ctx)
            except Exception as exc:
                print(f"FAIL {step.name:<9} {type(exc).__name__}: {exc}", file=out, flush=True)
                if os.environ.get("VOICESTUDIO_DEBUG"):
                    traceback.print_exc()
                return 1
            print(f"ok   {step.name:<9} {said} ({(time.perf_counter() - started) * 1000:.0f} ms)", file=out, flush=True)
    print("selftest passed", file=out, flush=True)
    return 0
