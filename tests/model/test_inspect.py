"""model inspect: the flatbuffer reading checked against the runtime's own view of the model."""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pytest

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
    assert found.inputs[0].dtype == "int8" and found.inputs[0].shape_signature == (-1, 100, 20, 1)
    assert found.metadata["min_runtime_version"] == "2.21.0"
    assert found.signatures[0].key == "serving_default" and found.signatures[0].inputs == {
        "features": found.inputs[0].name}
    assert found.card["quantization"] == "int8" and found.size_bytes == INT8_MODEL.stat().st_size
    float_model = inspect_tflite(DEFAULT_MODEL)
    # The same network: the same parameters, a quarter of the bytes for int8 weights (plus int32 biases).
    assert float_model.parameters == found.parameters > 10_000
    assert found.weight_bytes < float_model.weight_bytes / 2
    assert main(["model", "inspect", str(INT8_MODEL)]) == 0
    text = capsys.readouterr().out
    assert "quantized: scale" in text and re.search(r"\s6  CONV_2D \(v3\)", text) and "min_runtime_version: 2.21.0" in text
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
