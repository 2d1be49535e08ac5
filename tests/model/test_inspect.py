"""model inspect: the flatbuffer reading checked against the runtime's own view of the model."""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from audiofiles import speechlike
from audiofiles import write as write_audio
from craftedmodels import CraftedModel, CraftedTensor
from craftedmodels import write as write_crafted
from voicestudio.cli import main
from voicestudio.errors import ModelError
from voicestudio.model.detector import DEFAULT_MODEL
from voicestudio.model.inspect import inspect_model, inspect_tflite
from voicestudio.model.tflite_names import BUILTIN_OPERATORS, TENSOR_TYPES

INT8_MODEL = DEFAULT_MODEL.with_name("voice-detector-int8.tflite")


def runtime_view(path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    return interpreter, Counter(op["op_name"] for op in interpreter._get_ops_details())


@pytest.mark.parametrize("name", ["dynamic", "fixed4", "nhw_softmax", "int8", "two_outputs", "two_inputs",
                                  "int_output", "nocard"])
def test_tensors_and_operators_match_the_runtime(models, name):
    found = inspect_tflite(models[name])
    interpreter, ops = runtime_view(models[name])
    for ours, theirs in ((found.inputs, interpreter.get_input_details()),
                         (found.outputs, interpreter.get_output_details())):
        assert [t.name for t in ours] == [d["name"] for d in theirs]
        assert [t.index for t in ours] == [d["index"] for d in theirs]
        assert [list(t.shape) for t in ours] == [d["shape"].tolist() for d in theirs]
        assert [list(t.shape_signature) for t in ours] == [d["shape_signature"].tolist() for d in theirs]
        assert [t.dtype for t in ours] == [np.dtype(d["dtype"]).name for d in theirs]
        for t, d in zip(ours, theirs):
            scale, zero = d["quantization"]
            if scale:
                assert t.quantization.scale[0] == pytest.approx(scale) and t.quantization.zero_point[0] == zero
            else:
                assert t.quantization is None
    assert {op.name: op.count for op in found.operators} == dict(ops)
    assert found.operator_total == sum(ops.values())
    assert (found.card is None) == (name == "nocard")


def test_the_built_in_models(capsys):
    found = inspect_tflite(INT8_MODEL)
    # The "float front" int8 build: float in and out, QUANTIZE after the normalisation, every op at a
    # version tflite-runtime 2.14 has (issue 16).
    assert found.inputs[0].dtype == "float32" and found.inputs[0].shape_signature == (-1, 100, 20, 1)
    assert {op.name for op in found.operators} >= {"QUANTIZE", "DEQUANTIZE", "CONV_2D", "MEAN", "SUB", "MUL"}
    assert not {op.name for op in found.operators} & {"DIV", "SQRT", "RSQRT", "LOG"}  # nothing that can refuse
    assert found.metadata["min_runtime_version"] == "1.14.0"
    assert found.signatures[0].key == "serving_default" and found.signatures[0].inputs == {
        "features": found.inputs[0].name}
    assert found.card["quantization"] == "int8" and found.size_bytes == INT8_MODEL.stat().st_size
    float_model = inspect_tflite(DEFAULT_MODEL)
    # The same network: about the same parameters (the int8 build folds some constants differently),
    # a quarter of the bytes for int8 weights (plus int32 biases and the float normalisation).
    assert found.parameters == pytest.approx(float_model.parameters, rel=0.1) and found.parameters > 10_000
    assert found.weight_bytes < float_model.weight_bytes / 2
    assert main(["model", "inspect", str(INT8_MODEL)]) == 0
    text = capsys.readouterr().out
    # the two-scale graph: the 1 s network once, the half network on both halves (its weights stored once),
    # the higher half (MAXIMUM) averaged with the 1 s score (one ADD)
    assert "QUANTIZE (v1)" in text and re.search(r"\s18  CONV_2D \(v3\)", text) and "1  ADD (v2)" in text
    assert "2  STRIDED_SLICE (v1)" in text and "1  MAXIMUM (v2)" in text
    assert "min_runtime_version: 1.14.0" in text
    assert main(["--json", "model", "inspect", str(DEFAULT_MODEL)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "tflite" and data["operator_total"] == float_model.operator_total
    assert data["inputs"][0]["shape_signature"] == [-1, 100, 20, 1]


def test_the_name_tables_follow_the_installed_schema():
    from ai_edge_litert import schema_py_generated as schema

    operators = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    assert all(BUILTIN_OPERATORS[code] == name for code, name in operators.items() if code < len(BUILTIN_OPERATORS))
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    assert all(TENSOR_TYPES[code] == name for code, name in types.items() if code < len(TENSOR_TYPES))


@pytest.mark.parametrize("damage, message", [
    (lambda blob: blob[:len(blob) // 3], "truncated or corrupt"),
    (lambda blob: blob[:4] + b"TFL3" + bytes(range(256)) * 8, "truncated or corrupt"),
    (lambda blob: b"", "empty file"),
    (lambda blob: b"\x00" * 4 + b"NOPE" + blob[8:], "no TFL3"),
])
def test_damaged_models_are_clear_errors(tmp_path, damage, message):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(damage(DEFAULT_MODEL.read_bytes()))
    with pytest.raises(ModelError, match=message):
        inspect_tflite(bad)


def test_random_bytes_never_crash_the_reader(tmp_path):
    rng = np.random.default_rng(0)
    bad = tmp_path / "random.tflite"
    for _ in range(200):
        blob = bytearray(rng.integers(0, 256, int(rng.integers(9, 4000)), dtype=np.uint8).tobytes())
        blob[4:8] = b"TFL3"
        bad.write_bytes(bytes(blob))
        try:
            inspect_tflite(bad)
        except ModelError:
            pass


def test_a_broken_card_is_reported_not_fatal(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(DEFAULT_MODEL.read_bytes())
    model.with_suffix(".json").write_text("{not json")
    found = inspect_model(model)
    assert found.card is None and "not valid JSON" in found.card_error and "card: " in found.text()


def test_unknown_formats(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["model", "inspect", str(tmp_path / "notes.txt")]) == 1
    assert "unknown model format '.txt'" in capsys.readouterr().err
    assert main(["model", "inspect", str(tmp_path / "missing.tflite")]) == 1
    assert "no such model file" in capsys.readouterr().err


# Crafted models: bounded work, bounded output, one line -------------------------------------------------

def run_voicestudio(*args: str) -> subprocess.CompletedProcess:
    """The CLI in its own process, with its memory and CPU capped: a blow-up fails the test, not the machine."""
    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        resource.setrlimit(resource.RLIMIT_CPU, (120, 120))

    return subprocess.run([sys.executable, "-m", "voicestudio", *args], capture_output=True, text=True,
                          preexec_fn=limits, timeout=600)


HUGE = 2**31 - 1
CRAFTED = {
    # what the issue found, each a file of a few kB to a few hundred kB
    "500 dims of 2^31-1": (CraftedModel(tensors=(CraftedTensor("w", (HUGE,) * 500, buffer=1), CraftedTensor("y", (1, 1))),
                                        buffer_bytes=bytes(16)), "500 dimensions in the shape of tensor 0"),
    "100,000 inputs aliasing one 100,000-dim tensor": (
        CraftedModel(tensors=(CraftedTensor("x", (7,) * 100_000), CraftedTensor("y", (1, 1))), inputs=(0,) * 100_000),
        "100,000 inputs (at most 1,000)"),
    "100,000 aliased tensors": (
        CraftedModel(tensors=(CraftedTensor("w", (3,) * 100_000, buffer=1),), inputs=(0,), outputs=(0,),
                     tensor_copies=100_000, buffer_bytes=bytes(8)), "100,000 dimensions in the shape of tensor 0"),
    "1,000 inputs named by one 30 kB name (34 kB file)": (
        CraftedModel(tensors=(CraftedTensor("n" * 30_000, (1,)), CraftedTensor("y", (1, 1))), inputs=(0,) * 1000),
        "tensor names make more than 4 MiB of output"),
    "1,000 signatures sharing one 30 kB key": (
        CraftedModel(signatures=1000, signature_key="k" * 30_000), "signature keys make more than 4 MiB of output"),
    "a tensor of 2^124 elements": (
        CraftedModel(tensors=(CraftedTensor("x", (HUGE,) * 4), CraftedTensor("y", (1, 1)))),
        "tensor 0 has more than 1,099,511,627,776 elements"),
    "a negative dimension": (
        CraftedModel(tensors=(CraftedTensor("x", (1, -5, 20, 1)), CraftedTensor("y", (1, 1)))),
        "tensor 0 has a negative dimension"),
    "a name longer than 64 kB": (
        CraftedModel(tensors=(CraftedTensor("x" * 70_000, (1,)), CraftedTensor("y", (1, 1)))),
        "70,000 bytes in a tensor name (at most 65,536)"),
    "5,000 signatures": (CraftedModel(signatures=5000), "5,000 signatures (at most 1,000)"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_models_are_refused_in_one_line(tmp_path, case):
    model, reason = CRAFTED[case]
    path = write_crafted(tmp_path / "crafted.tflite", model)
    for json_flag in ([], ["--json"]):
        done = run_voicestudio(*json_flag, "model", "inspect", str(path))
        assert done.returncode == 1 and done.stdout == "", (case, done.stderr[-2000:])
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert done.stderr.startswith(f"voicestudio: error: {path}: model too large/malformed: "), done.stderr
        assert reason in done.stderr, done.stderr


def test_crafted_models_within_the_limits_inspect_with_bounded_output(tmp_path):
    # Many aliased tensors and operators with sane shapes: read once each, summarised in a few lines.
    aliased = write_crafted(tmp_path / "aliased.tflite", CraftedModel(
        tensors=(CraftedTensor("w", (3, 3), buffer=1), CraftedTensor("y", (1, 1))), tensor_copies=50_000,
        outputs=(1,), buffer_bytes=bytes(36), operators=200_000))
    done = run_voicestudio("--json", "model", "inspect", str(aliased))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["tensors"] == 100_000 and found["operator_total"] == 200_000 and found["parameters"] == 9 * 50_000
    assert len(done.stdout) < 10_000

    # A plain crafted model reads the way the runtime reads it.
    plain = write_crafted(tmp_path / "plain.tflite", CraftedModel(signatures=1))
    found = inspect_tflite(plain)
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_path=str(plain)).get_input_details()
    assert [(t.name, list(t.shape)) for t in found.inputs] == [(d["name"], d["shape"].tolist()) for d in details]
    assert found.signatures[0].key == "serving_default" and found.signatures[0].inputs == {"x": "features"}


def test_predict_refuses_models_of_the_wrong_shape_in_one_line(models, tmp_path):
    audio = write_audio(tmp_path / "voice.wav", speechlike(16000, 2.0), 16000)
    crafted = write_crafted(tmp_path / "huge.tflite", CRAFTED["500 dims of 2^31-1"][0])
    cases = [(models["wrong_shape"], r"input shape \[-1, 50, 20, 1\] contradicts its card"),
             (crafted, "the TFLite runtime cannot load it"),
             (write_crafted(tmp_path / "flat.tflite", CraftedModel(tensors=(
                 CraftedTensor("x", (1, 2000)), CraftedTensor("y", (1, 1))))), "does not fit the defaults"),
             (write_crafted(tmp_path / "empty-batch.tflite", CraftedModel(tensors=(
                 CraftedTensor("x", (0, 100, 20, 1)), CraftedTensor("y", (0, 1))))), "has a batch of 0"),
             # the right shapes, but no operator writes the output
             (write_crafted(tmp_path / "no-ops.tflite", CraftedModel()), "its output cannot be read")]
    for model, reason in cases:
        done = run_voicestudio("predict", "--model", str(model), str(audio))
        assert done.returncode == 1 and done.stdout == "" and "Traceback" not in done.stderr, done.stderr
        # Ours is one line (the runtime may log its own "INFO: Created ... delegate" line first).
        (ours,) = [line for line in done.stderr.splitlines() if line.startswith("voicestudio:")]
        assert ours.startswith(f"voicestudio: error: {model}: ") and re.search(reason, ours), done.stderr
