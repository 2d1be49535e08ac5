"""The interpreter loader: file checks, runtime preference and fallback, hashing."""

import hashlib
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from voicestudio.errors import ModelError
from voicestudio.model import runtime
from voicestudio.model.detector import Detector
from voicestudio.files import file_sha256
from voicestudio.model.runtime import NoRuntimeError, load_interpreter

RUNTIME_MODULES = ("ai_edge_litert", "ai_edge_litert.interpreter", "tflite_runtime",
                   "tflite_runtime.interpreter", "tensorflow")


def run_python(code: str) -> str:
    """Run code in a fresh interpreter that imports this checkout of voicestudio."""
    import voicestudio

    root = str(Path(voicestudio.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.strip()


def hide(monkeypatch, *modules):
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail


def test_not_tflite_files_are_refused_before_the_runtime(tmp_path, models):
    cases = {
        "random.tflite": (np.random.default_rng(1).bytes(2000), "TFL3"),
        "text.tflite": (b"model weights go here\n" * 10, "TFL3"),
        "empty.tflite": (b"", "empty file"),
        "header-only.tflite": (b"\x00\x00\x00\x00TFL3", "only 8 bytes"),
        "truncated.tflite": (models["dynamic"].read_bytes()[:300], "cannot load it"),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelError, match=reason) as exc:
            load_interpreter(tmp_path / name)
        message = str(exc.value)
        assert name in message and "\n" not in message
        if reason == "TFL3":
            assert "not a TensorFlow Lite model" in message
    with pytest.raises(ModelError, match="no such model"):
        load_interpreter(tmp_path / "absent.tflite")
    with pytest.raises(ModelError, match="folder"):
        load_interpreter(tmp_path)


def test_default_runtime_is_litert_with_default_threads(models):
    loaded = load_interpreter(models["dynamic"])
    assert loaded.runtime == "ai-edge-litert" and loaded.runtime_version == "2.3.0"
    assert loaded.runtime_name == "ai-edge-litert 2.3.0"
    assert loaded.threads == min(4, os.cpu_count())
    assert type(loaded.interpreter).__module__.startswith("ai_edge_litert")
    with pytest.raises(ValueError, match="threads"):
        load_interpreter(models["dynamic"], threads=0)


def test_falls_back_to_tensorflow_lite(models, monkeypatch):
    hide(monkeypatch, *RUNTIME_MODULES[:4])
    loaded = load_interpreter(models["dynamic"], threads=1)
    assert loaded.runtime == "tensorflow" and loaded.threads == 1
    import tensorflow as tf

    assert loaded.runtime_version == tf.__version__  # installed as tensorflow-cpu: still found
    detector = Detector(models["dynamic"])
    assert detector.runtime_name == f"tensorflow {tf.__version__}"
    images = np.random.default_rng(0).normal(-10, 10, (3, 100, 20)).astype(np.float32)
    import tinymodels

    np.testing.assert_allclose(detector.invoke_images(images), tinymodels.expected_mean_model(images), rtol=1e-4)


def test_tflite_runtime_comes_before_tensorflow(models, monkeypatch):
    import tensorflow as tf

    fake = types.ModuleType("tflite_runtime")
    fake.__version__ = "2.14.0"
    fake_interpreter = types.ModuleType("tflite_runtime.interpreter")
    fake_interpreter.Interpreter = tf.lite.Interpreter  # same API as tflite_runtime's
    hide(monkeypatch, "ai_edge_litert", "ai_edge_litert.interpreter")
    monkeypatch.setitem(sys.modules, "tflite_runtime", fake)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", fake_interpreter)
    assert load_interpreter(models["dynamic"]).runtime_name == "tflite-runtime 2.14.0"


def test_no_runtime_is_a_clear_error(models, monkeypatch):
    hide(monkeypatch, *RUNTIME_MODULES)
    with pytest.raises(NoRuntimeError, match="pip install ai-edge-litert") as exc:
        load_interpreter(models["dynamic"])
    assert "ai-edge-litert: not installed" in str(exc.value)


def test_broken_runtime_install_is_skipped(models, monkeypatch):
    broken = types.ModuleType("ai_edge_litert.interpreter")

    def __getattr__(name):
        raise RuntimeError("_ARRAY_API not found")

    broken.__getattr__ = __getattr__
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", broken)
    hide(monkeypatch, "tflite_runtime", "tflite_runtime.interpreter")
    assert load_interpreter(models["dynamic"]).runtime == "tensorflow"


def test_file_sha256_streams(tmp_path):
    data = np.random.default_rng(2).bytes(3_000_000)
    (tmp_path / "blob").write_bytes(data)
    assert file_sha256(tmp_path / "blob", block_size=4096) == hashlib.sha256(data).hexdigest()


def test_importing_the_detector_loads_no_runtime():
    code = (
        "import sys, voicestudio.model.detector\n"
        "heavy = [m for m in ('tensorflow', 'ai_edge_litert', 'tflite_runtime', 'soundfile', 'soxr') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    assert run_python(code) == "[]"
    assert runtime.RUNTIMES[0][2] == "ai-edge-litert"


def test_predicting_never_imports_tensorflow(models):
    code = (
        "import sys, numpy as np\n"
        "from voicestudio.model.detector import Detector\n"
        f"d = Detector({str(models['dynamic'])!r})\n"
        "d.predict_samples(np.random.default_rng(0).normal(0, 0.1, 48000).astype(np.float32), 48000)\n"
        "print(d.runtime, 'tensorflow' in sys.modules)\n"
    )
    assert run_python(code) == "ai-edge-litert False"
