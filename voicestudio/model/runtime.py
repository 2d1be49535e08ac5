"""The one interpreter loader: ai-edge-litert, else tflite-runtime, else tensorflow.lite.

``ai-edge-litert`` is the maintained runtime (a core dependency).
``tflite-runtime`` 2.14 is frozen and breaks with NumPy 2, so it is only a
fallback (the usual set-up on 32-bit ARM boards, which have no LiteRT wheel);
``tensorflow.lite`` is the last resort where TensorFlow happens to be
installed. Nothing here is imported until a model is loaded.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from voicestudio.errors import ModelError, VoiceStudioError

# (module to import, attribute path to the Interpreter class, runtime name), in order of preference
RUNTIMES = (
    ("ai_edge_litert.interpreter", "Interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "Interpreter", "tflite-runtime"),
    ("tensorflow", "lite.Interpreter", "tensorflow"),  # tf.lite is a lazy API module
)
TFLITE_IDENTIFIER = b"TFL3"  # flatbuffer file identifier, bytes 4..8
MAX_DEFAULT_THREADS = 4


class NoRuntimeError(VoiceStudioError):
    """No TensorFlow Lite runtime can be imported."""


@dataclass(frozen=True)
class LoadedInterpreter:
    interpreter: object  # tensors already allocated
    runtime: str  # "ai-edge-litert", "tflite-runtime" or "tensorflow"
    runtime_version: str
    threads: int

    @property
    def runtime_name(self) -> str:
        """Runtime and version, e.g. ``"ai-edge-litert 2.3.0"``."""
        return f"{self.runtime} {self.runtime_version}"


def default_threads() -> int:
    """min(4, CPUs): the reference design's four threads, fewer on smaller machines."""
    return max(1, min(MAX_DEFAULT_THREADS, os.cpu_count() or 1))


def check_tflite_file(path) -> Path:
    """The file exists, is bigger than a header and carries the TFLite flatbuffer identifier."""
    path = Path(path)
    if not path.exists():
        raise ModelError(path, "no such model file")
    if path.is_dir():
        raise ModelError(path, "is a folder, not a .tflite model (convert it first: voicestudio model convert)")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise ModelError(path, f"cannot read ({exc.strerror or exc})") from None
    if size <= 8:
        raise ModelError(path, f"not a TensorFlow Lite model ({'empty file' if size == 0 else f'only {size} bytes'})")
    if head[4:8] != TFLITE_IDENTIFIER:
        raise ModelError(path, "not a TensorFlow Lite model (no TFL3 flatbuffer identifier at bytes 4..8)")
    return path


def _version(module_name: str, runtime: str) -> str:
    top = importlib.import_module(module_name.split(".")[0])
    version = getattr(top, "__version__", None)
    if isinstance(version, str) and version:
        return version
    from importlib import metadata

    try:
        return metadata.version(runtime)
    except metadata.PackageNotFoundError:
        return "unknown"


def interpreter_class():
    """``(Interpreter class, runtime name, version)`` of the first runtime that imports."""
    failures = []
    for module_name, attribute, runtime in RUNTIMES:
        try:
            cls = importlib.import_module(module_name)
            for name in attribute.split("."):
                cls = getattr(cls, name)
        except ImportError as exc:
            failures.append(f"{runtime}: {'not installed' if exc.name and module_name.startswith(exc.name) else exc}")
            continue
        except Exception as exc:  # a broken install (e.g. tflite-runtime built for NumPy 1)
            failures.append(f"{runtime}: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
            continue
        return cls, runtime, _version(module_name, runtime)
    raise NoRuntimeError(
        "no TensorFlow Lite runtime can be imported (" + "; ".join(failures) + "): "
        "pip install ai-edge-litert (or tflite-runtime on 32-bit ARM)"
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_interpreter(path, threads: int | None = None) -> LoadedInterpreter:
    """Check the file, load it with the preferred runtime and allocate its tensors.

    ``threads`` defaults to :func:`default_threads`. Whatever the runtime
    raises while loading or allocating becomes a ``ModelError`` naming the file.
    """
    if threads is None:
        threads = default_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, not {threads!r}")
    path = check_tflite_file(path)
    cls, runtime, version = interpreter_class()
    try:
        with warnings.catch_warnings():
            # tf.lite.Interpreter warns that it is deprecated: we know, it is the last resort.
            warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated")
            interpreter = cls(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    except Exception as exc:
        raise ModelError(path, f"the TFLite runtime cannot load it ({_first_line(exc)})") from None
    return LoadedInterpreter(interpreter, runtime, version, threads)


