"""The one interpreter loader: ai-edge-litert, else tflite-runtime, else tensorflow.lite.

``tflite-runtime`` 2.14 is frozen and breaks with NumPy 2, so it is only a
fallback (the usual set-up on 32-bit ARM boards); ``tensorflow.lite`` is the
last resort where TensorFlow happens to be installed.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from voicestudio.errors import ModelError, VoiceStudioError

# (module to import, attribute path to the Interpreter class, distribution name)
RUNTIMES = (
    ("ai_edge_litert.interpreter", "Interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "Interpreter", "tflite-runtime"),
    ("tensorflow", "lite.Interpreter", "tensorflow"),  # tf.lite is a lazy API module
)
TFLITE_IDENTIFIER = b"TFL3"


@dataclass(frozen=True)
class LoadedInterpreter:
    interpreter: object
    runtime: str  # distribution name
    runtime_version: str
    threads: int


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def check_tflite_file(path) -> Path:
    """The file exists and carries the TFLite flatbuffer identifier."""
    path = Path(path)
    if not path.exists():
        raise ModelError(path, "no such model file")
    if path.is_dir():
        raise ModelError(path, "is a folder, not a .tflite model (convert it first: voicestudio model convert)")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise ModelError(path, f"cannot read ({exc.strerror or exc})") from None
    if len(head) < 8 or head[4:8] != TFLITE_IDENTIFIER:
        raise ModelError(path, "not a TensorFlow Lite model (no TFL3 flatbuffer identifier)")
    return path


def _interpreter_class():
    from importlib import metadata

    for module_name, attribute, distribution in RUNTIMES:
        try:
            cls = importlib.import_module(module_name)
            for name in attribute.split("."):
                cls = getattr(cls, name)
        except Exception:  # ImportError, or a broken install (NumPy ABI mismatch)
            continue
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            version = "unknown"
        return cls, distribution, version
    raise VoiceStudioError(
        "no TensorFlow Lite runtime is installed: pip install ai-edge-litert (or tflite-runtime)"
    )


def load_interpreter(path, threads: int | None = None) -> LoadedInterpreter:
    path = check_tflite_file(path)
    threads = threads or default_threads()
    cls, runtime, version = _interpreter_class()
    try:
        interpreter = cls(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(path, f"the TFLite runtime cannot load it ({message})") from None
    return LoadedInterpreter(interpreter, runtime, version, threads)


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
