"""Training checkpoints: located, inspected, read, frozen and converted, from real TensorFlow runs."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

import tinymodels
from voicestudio.audio.features import FeatureSpec
from voicestudio.cli import main
from voicestudio.errors import ModelError
from voicestudio.model.card import load_card
from voicestudio.model.checkpoint import inspect_checkpoint, locate_checkpoint, variable_values
from voicestudio.model.freeze import freeze
from voicestudio.model.convert import ConvertOptions, convert_model
from voicestudio.model.detector import Detector
from voicestudio.model.inspect import inspect_model
from voicestudio.model.tf_source import source_kind
from voicestudio.resources import resource_path


SAMPLES = resource_path("samples")
STEPS = (10, 20, 30)  # saved steps; the state file names 30 the latest
HIDDEN = 8
# What the TF1 run creates: its parameters (each gets a moving average and two Adam slots).
TF1_VARIABLES = {"net/hidden/kernel": (2000, HIDDEN), "net/hidden/bias": (HIDDEN,),
                 "net/out/kernel": (HIDDEN, 1), "net/out/bias": (1,)}
TF2_VARIABLES = {"encoder/kernel": (20, 3), "encoder/bias": (3,), "head/w": (3, 1)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A TF1 Saver run (EMA, Adam, three steps, .meta), a TF1 run without EMA taking any number of frames,
    a TF1 run in two shards,
    a TF2 tf.train.Checkpoint."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    v1 = tf.compat.v1
    folder = tmp_path_factory.mktemp("runs")
    graph = tf.Graph()
    with graph.as_default():
        features = v1.placeholder(tf.float32, [None, 100, 20, 1], name="features")
        labels = v1.placeholder(tf.float32, [None, 1], name="labels")
        with v1.variable_scope("net"):
            flat = tf.reshape(features, [-1, 2000])
            with v1.variable_scope("hidden"):
                w1 = v1.get_variable("kernel", [2000, HIDDEN], initializer=v1.glorot_uniform_initializer(seed=1))
                b1 = v1.get_variable("bias", [HIDDEN], initializer=v1.zeros_initializer())
            with v1.variable_scope("out"):
                w2 = v1.get_variable("kernel", [HIDDEN, 1], initializer=v1.glorot_uniform_initializer(seed=2))
                b2 = v1.get_variable("bias", [1], initializer=v1.zeros_initializer())
            logits = tf.matmul(tf.nn.relu(tf.matmul(flat, w1) + b1), w2) + b2
        tf.sigmoid(logits, name="p_human")
        tf.add(tf.sigmoid(logits), tf.random.uniform([]) * 0.01, name="p_noisy")  # not freezable: random
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
        step = v1.train.get_or_create_global_step()
        train = v1.train.AdamOptimizer(0.05).minimize(loss, global_step=step)
        with tf.control_dependencies([train]):
            train = tf.train.ExponentialMovingAverage(0.9).apply(v1.trainable_variables())
        saver = v1.train.Saver()
        rng = np.random.default_rng(0)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            for i in range(1, STEPS[-1] + 1):
                x = rng.standard_normal((8, 100, 20, 1)).astype(np.float32)
                session.run(train, {features: x, labels: (x.mean(axis=(1, 2, 3)) > 0)[:, None].astype(np.float32)})
                if i in STEPS:
                    saver.save(session, str(folder / "tf1" / "model.ckpt"), global_step=i)

    plain = tf.Graph()
    with plain.as_default():
        x = v1.placeholder(tf.float32, [None, None, 20, 1], name="features")  # any number of frames
        w = v1.get_variable("w", [1], initializer=v1.ones_initializer())
        tf.sigmoid(tf.reduce_mean(x, axis=[1, 2]) * w, name="p_human")
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            v1.train.Saver().save(session, str(folder / "plain" / "model.ckpt"), global_step=1)

    sharded = tf.Graph()  # a Saver writes one data shard per device: two virtual CPUs, two shards
    with sharded.as_default():
        for device, name in (("/cpu:0", "a"), ("/cpu:1", "b")):
            with tf.device(device):
                v1.get_variable(name, [3])
        (folder / "sharded").mkdir()
        with v1.Session(config=v1.ConfigProto(device_count={"CPU": 2})) as session:
            session.run(v1.global_variables_initializer())
            v1.train.Saver(sharded=True).save(session, str(folder / "sharded" / "m"), global_step=1)

    module = tf.Module()
    module.encoder = tf.Module()
    module.encoder.kernel = tf.Variable(np.ones((20, 3), np.float32))
    module.encoder.bias = tf.Variable(np.zeros(3, np.float32))
    module.head = tf.Module()
    module.head.w = tf.Variable(np.ones((3, 1), np.float32))
    checkpoint = tf.train.Checkpoint(encoder=module.encoder, head=module.head)
    checkpoint.save(str(folder / "tf2" / "ckpt"))
    checkpoint.save(str(folder / "tf2" / "ckpt"))
    return folder


def read_back(prefix, ema: bool) -> dict[str, np.ndarray]:
    """The parameters as stored, raw or their moving averages (read by TensorFlow's own reader)."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name + ("/ExponentialMovingAverage" if ema else "")) for name in TF1_VARIABLES}


def p_human(values: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The test network in numpy."""
    hidden = np.maximum(x.reshape(len(x), -1) @ values["net/hidden/kernel"] + values["net/hidden/bias"], 0)
    logits = hidden @ values["net/out/kernel"] + values["net/out/bias"]
    return 1 / (1 + np.exp(-logits))


def run_frozen(path, x: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(path.read_bytes())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run("p_human:0", {"features:0": x})


def one_line_error(call, *args, **kwargs) -> str:
    with pytest.raises(ModelError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


def images(n=6) -> np.ndarray:
    """Feature images (N, frames, coefficients) of tones, noise and speech-like sound."""
    return np.stack(tinymodels.representative_images(FeatureSpec())[:n])


# Locating --------------------------------------------------------------------------------

def test_the_state_file_picks_the_latest_and_step_another(runs):
    tf1 = runs / "tf1"
    found = locate_checkpoint(tf1)
    assert found.prefix == tf1 / "model.ckpt-30" and found.step == 30 and found.steps == STEPS
    assert found.meta == tf1 / "model.ckpt-30.meta" and found.state_file == tf1 / "checkpoint"
    assert found.data == (tf1 / "model.ckpt-30.data-00000-of-00001",)
    assert locate_checkpoint(tf1, step=10).prefix == tf1 / "model.ckpt-10"
    # The prefix, or its .index or .meta file, name the same checkpoint; --step moves along the run.
    for given in ("model.ckpt-20", "model.ckpt-20.index", "model.ckpt-20.meta"):
        assert locate_checkpoint(tf1 / given).prefix == tf1 / "model.ckpt-20"
        assert source_kind(tf1 / given) == "checkpoint"
    assert locate_checkpoint(tf1 / "model.ckpt-20", step=10).prefix == tf1 / "model.ckpt-10"
    assert source_kind(tf1) == "checkpoint" and source_kind(runs / "tf2") == "checkpoint"
    assert locate_checkpoint(runs / "tf2").prefix == runs / "tf2" / "ckpt-2"


def test_a_moved_run_and_one_without_state_file(runs, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(runs / "tf1", moved)  # its state file still names the old absolute paths
    assert locate_checkpoint(moved).prefix == moved / "model.ckpt-30"
    assert locate_checkpoint(moved, step=20).prefix == moved / "model.ckpt-20"
    (moved / "checkpoint").unlink()
    assert locate_checkpoint(moved).prefix == moved / "model.ckpt-30"  # the highest step
    single = tmp_path / "single"
    single.mkdir()
    for f in (runs / "tf1").glob("model.ckpt-10.*"):
        shutil.copy(f, single / f.name)
    assert locate_checkpoint(single).prefix == single / "model.ckpt-10"


def test_missing_pieces_are_one_line_errors_naming_them(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs / "tf1", run)
    assert "no step 99 here (steps present: 10, 20, 30)" in one_line_error(locate_checkpoint, run, step=99)
    (run / "model.ckpt-20.data-00000-of-00001").unlink()
    message = one_line_error(locate_checkpoint, run, step=20)
    assert "missing data shard model.ckpt-20.data-00000-of-00001 (of 1)" in message
    (run / "model.ckpt-10.index").unlink()
    assert "missing model.ckpt-10.index" in one_line_error(locate_checkpoint, run / "model.ckpt-10")
    for f in run.glob("model.ckpt-30.*"):
        f.unlink()
    message = one_line_error(inspect_checkpoint, run)
    assert "points at step 30 (model.ckpt-30)" in message and "steps present: 20" in message
    message = one_line_error(freeze, run, tmp_path / "x.pb", ["p_human"])
    assert "step 30" in message
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no checkpoint here" in one_line_error(locate_checkpoint, empty)
    assert "not a SavedModel" in one_line_error(source_kind, empty)
    sharded = tmp_path / "sharded"
    shutil.copytree(runs / "sharded", sharded)
    assert len(locate_checkpoint(sharded).data) == 2
    (sharded / "m-1.data-00001-of-00002").unlink()
    assert "missing data shard m-1.data-00001-of-00002 (of 2)" in one_line_error(locate_checkpoint, sharded)
    (sharded / "m-1.data-00000-of-00002").unlink()  # none left: the .index header says how many
    assert "missing data shards m-1.data-00000-of-00002, m-1.data-00001-of-00002 (of 2)" in one_line_error(
        inspect_model, sharded / "m-1")
    tf2 = tmp_path / "tf2"
    shutil.copytree(runs / "tf2", tf2)
    (tf2 / "ckpt-2.data-00000-of-00001").unlink()
    assert "missing data shard ckpt-2.data-00000-of-00001" in one_line_error(inspect_model, tf2)


# Inspecting ------------------------------------------------------------------------------

def test_inspect_lists_every_variable_by_scope_with_its_moving_average(runs):
    found = inspect_model(runs / "tf1")
    assert found.kind == "checkpoint" and found.format == "TF1 name-based"
    assert found.step == 30 and found.steps == list(STEPS)
    params = {v.name: v.shape for v in found.variables if v.role == "variable"}
    assert params == TF1_VARIABLES
    shadows = {v.name: v.of for v in found.variables if v.role == "moving average"}
    assert shadows == {f"{name}/ExponentialMovingAverage": name for name in TF1_VARIABLES}
    slots = {v.name: v.of for v in found.variables if v.role == "optimizer" and v.of}
    assert slots == {f"{name}/{slot}": name for name in TF1_VARIABLES for slot in ("Adam", "Adam_1")}
    assert {v.name: v.role for v in found.variables if v.of is None and v.role != "variable"} == {
        "global_step": "counter", "beta1_power": "optimizer", "beta2_power": "optimizer"}
    # Each variable is followed by its shadow and slots, never counted as parameters.
    names = [v.name for v in found.variables]
    kernel = names.index("net/hidden/kernel")
    assert names[kernel + 1] == "net/hidden/kernel/ExponentialMovingAverage"
    total = sum(int(np.prod(s)) for s in TF1_VARIABLES.values())
    assert found.parameters == total and found.parameter_bytes == 4 * total and found.moving_averages == 4
    scopes = {s.scope: (s.variables, s.elements) for s in found.scopes}
    assert scopes["net/hidden"] == (2, 2000 * HIDDEN + HIDDEN) and scopes["net/out"] == (2, HIDDEN + 1)
    assert [s.name for s in found.inputs] == ["features:0", "labels:0"]
    assert found.inputs[0].shape == (None, 100, 20, 1)
    assert {s.name: s.shape for s in found.outputs}["p_human:0"] == (None, 1)
    assert not any(s.name.startswith(("gradients/", "save/")) for s in found.outputs)
    assert any(n.name == "p_human" and n.op == "Sigmoid" for n in found.nodes)
    assert inspect_model(runs / "tf1", step=10).prefix == str(runs / "tf1" / "model.ckpt-10")


def test_a_tf2_checkpoint_is_read_and_refuses_to_freeze(runs, tmp_path):
    found = inspect_checkpoint(runs / "tf2")
    assert found.format == "TF2 object-based" and found.step == 2 and found.steps == [1, 2]
    assert {v.name: v.shape for v in found.variables if v.role == "variable"} == TF2_VARIABLES
    assert {v.name: v.role for v in found.variables if v.role != "variable"} == {"save_counter": "counter"}
    assert found.meta is None and found.nodes == []
    assert variable_values(runs / "tf2", "head/w").values == [[1.0], [1.0], [1.0]]
    message = one_line_error(freeze, runs / "tf2", tmp_path / "x.pb", ["y"])
    assert "TF2 object-based checkpoint has no graph to freeze" in message and "SavedModel or Keras" in message
    assert list(tmp_path.iterdir()) == []


def test_values_small_whole_large_summarised_unknown_with_the_closest(runs):
    stored = read_back(runs / "tf1" / "model.ckpt-30", ema=False)
    small = variable_values(runs / "tf1", "net/out/bias")
    assert small.values == pytest.approx(stored["net/out/bias"].tolist()) and small.summary is None
    large = variable_values(runs / "tf1", "net/hidden/kernel", step=10)
    at_10 = read_back(runs / "tf1" / "model.ckpt-10", ema=False)["net/hidden/kernel"]
    assert large.values is None and large.shape == (2000, HIDDEN)
    assert large.summary.min == pytest.approx(at_10.min()) and large.summary.max == pytest.approx(at_10.max())
    assert large.summary.mean == pytest.approx(at_10.mean(), abs=1e-6)
    assert large.summary.std == pytest.approx(at_10.std(), rel=1e-5)
    assert large.summary.first == pytest.approx(at_10.ravel()[:8].tolist())
    message = one_line_error(variable_values, runs / "tf1", "net/hiden/kernel")
    assert "no variable 'net/hiden/kernel' (closest: net/hidden/kernel" in message


# Freezing --------------------------------------------------------------------------------

def test_freeze_raw_and_moving_averages_give_the_checkpointed_values(runs, tmp_path):
    x = images()[..., None]  # NHWC, as the placeholder takes them
    prefix = runs / "tf1" / "model.ckpt-30"
    raw, averaged = read_back(prefix, ema=False), read_back(prefix, ema=True)
    assert np.max(np.abs(p_human(raw, x) - p_human(averaged, x))) > 1e-3  # the test can tell them apart

    report = freeze(runs / "tf1", tmp_path / "raw.pb", ["p_human"])
    assert report.ema is False and report.variables == 4 and report.moving_averages == 0 and report.step == 30
    assert report.inputs == ["features"] and report.outputs == ["p_human"] and report.max_abs_diff < 1e-6
    assert np.allclose(run_frozen(tmp_path / "raw.pb", x), p_human(raw, x), atol=1e-6)

    report = freeze(runs / "tf1", tmp_path / "ema.pb", ["p_human:0"], ema=True)
    assert report.ema is True and report.moving_averages == 4 and report.not_checked is None
    assert np.allclose(run_frozen(tmp_path / "ema.pb", x), p_human(averaged, x), atol=1e-6)
    assert "4 variables frozen (moving averages of 4, raw values of 0)" in report.text()

    report = freeze(runs / "tf1", tmp_path / "ema10.pb", ["p_human"], ema=True, step=10)
    assert report.step == 10
    at_10 = read_back(runs / "tf1" / "model.ckpt-10", ema=True)
    assert np.allclose(run_frozen(tmp_path / "ema10.pb", x), p_human(at_10, x), atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ema.pb", "ema10.pb", "raw.pb"]


def test_a_failed_freeze_says_why_in_one_line_and_leaves_nothing(runs, tmp_path):
    out = tmp_path / "out.pb"
    message = one_line_error(freeze, runs / "tf1", out, ["p_humane"])
    assert "no node named 'p_humane'" in message and "likely outputs: p_human" in message
    message = one_line_error(freeze, runs / "tf1", out, ["p_noisy"])
    assert "differs from the checkpointed graph" in message and "not written" in message
    message = one_line_error(freeze, runs / "plain", out, ["p_human"], ema=True)
    assert "has a moving average" in message and "freeze without --ema" in message
    assert "step 4 here (steps present: 10, 20, 30)" in one_line_error(freeze, runs / "tf1", out, ["p_human"], step=4)
    assert "must end in .pb" in one_line_error(freeze, runs / "tf1", tmp_path / "out.tflite", ["p_human"])
    assert list(tmp_path.iterdir()) == []
    report = freeze(runs / "plain", out, ["p_human"])  # without --ema it freezes
    assert report.variables == 1 and report.max_abs_diff is None
    assert report.not_checked == "input features has unknown dimensions [None, None, 20, 1] beyond the batch"
    assert "not checked: input features has unknown dimensions" in report.text()


# Converting ------------------------------------------------------------------------------

def test_convert_from_the_checkpoint_equals_convert_from_its_frozen_graph(runs, tmp_path):
    frozen = tmp_path / "ema.pb"
    freeze(runs / "tf1", frozen, ["p_human"], ema=True)
    direct = convert_model(runs / "tf1", tmp_path / "direct.tflite",
                           ConvertOptions(outputs=("p_human",), ema=True, audio=SAMPLES, windows=40))
    via_pb = convert_model(frozen, tmp_path / "via_pb.tflite",
                           ConvertOptions(inputs=("features",), outputs=("p_human",), audio=SAMPLES, windows=40))
    assert via_pb.max_abs_diff < 1e-5 and via_pb.windows == direct.windows
    assert direct.kind == "checkpoint" and direct.max_abs_diff < 1e-5 and direct.decision_agreement == 1.0
    x = images()
    ours, theirs = (Detector(tmp_path / name).invoke_images(x) for name in ("direct.tflite", "via_pb.tflite"))
    assert np.allclose(ours, theirs, atol=1e-6)
    averaged = read_back(runs / "tf1" / "model.ckpt-30", ema=True)
    assert np.allclose(ours, p_human(averaged, x[..., None])[:, 0], atol=1e-5)
    conversion = load_card(tmp_path / "direct.json").training["conversion"]
    assert conversion["kind"] == "checkpoint" and conversion["ema"] is True and conversion["step"] == 30
    assert conversion["checkpoint"] == str(runs / "tf1" / "model.ckpt-30")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["direct.json", "direct.tflite", "ema.pb", "via_pb.json",
                                                          "via_pb.tflite"]
    # Without --outputs the error lists the likely ones; --ema is for checkpoints only.
    assert "likely outputs: p_human" in one_line_error(
        convert_model, runs / "tf1", tmp_path / "x.tflite", ConvertOptions(audio=SAMPLES))
    assert "--ema and --step are for training checkpoints" in one_line_error(
        convert_model, frozen, tmp_path / "x.tflite", ConvertOptions(ema=True, audio=SAMPLES))


# The command line ------------------------------------------------------------------------

def test_the_cli_inspects_reads_values_and_freezes(runs, tmp_path, capsys):
    assert main(["model", "inspect", str(runs / "tf1")]) == 0
    text = capsys.readouterr().out
    assert "TF1 name-based checkpoint" in text and "step 30 (steps present: 10, 20, 30)" in text
    assert "    net/hidden/kernel  float32  [2000, 8]  16,000 (62.5 kB)" in text
    assert "      net/hidden/kernel/ExponentialMovingAverage  [moving average of net/hidden/kernel]" in text
    assert "  net/hidden/: 2 variables, 16,008 parameters" in text
    assert "input 0: features:0  float32  [?, 100, 20, 1]" in text and "p_human:0  float32  [?, 1]" in text

    assert main(["--json", "model", "inspect", str(runs / "tf1"), "--step", "20"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "checkpoint" and data["step"] == 20 and data["moving_averages"] == 4
    assert {v["name"]: v["scope"] for v in data["variables"]}["net/out/bias/Adam"] == "net/out"

    assert main(["model", "inspect", str(runs / "tf1"), "--values", "net/out/bias"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("net/out/bias  float32  [1]")
    assert main(["--json", "model", "inspect", str(runs / "tf1"), "--values", "net/hidden/kernel"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["first"]
    assert main(["model", "inspect", str(runs / "tf1"), "--values", "nope/kernel"]) == 1
    assert "no variable 'nope/kernel'" in capsys.readouterr().err

    out = tmp_path / "f.pb"
    assert main(["model", "freeze", str(runs / "tf1" / "model.ckpt-20.index"), str(out), "--outputs", "p_human",
                 "--ema"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"wrote {out}") and "checked against the checkpointed graph" in text
    assert main(["--json", "model", "freeze", str(runs / "tf1"), str(out), "--outputs", "p_human", "--step", "10"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 10
    assert main(["model", "freeze", str(runs / "tf1"), str(out), "--outputs", "p_human", "--step", "11"]) == 1
    err = capsys.readouterr().err
    assert "no step 11 here" in err and len(err.strip().splitlines()) == 1
    converted = tmp_path / "at10.tflite"
    assert main(["--json", "model", "convert", str(runs / "tf1"), str(converted), "--outputs", "p_human", "--ema",
                 "--step", "10", "--audio", str(SAMPLES), "--windows", "20"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "checkpoint"
    conversion = load_card(tmp_path / "at10.json").training["conversion"]
    assert conversion["step"] == 10 and conversion["ema"] is True


def test_tensors_of_a_checkpoint_raw_and_averaged_at_any_step(runs, tmp_path):
    """model tensors on a checkpoint: its forward pass only, with the raw or the averaged values."""
    from voicestudio.model.tensors import open_reader

    x = images()[..., None]
    reader = open_reader(runs / "tf1")
    names = [t.name for t in reader.tensors]
    assert reader.input.name == "features:0"  # the labels placeholder is not the input
    assert "p_human:0" in names and not any(n.startswith(("gradients/", "save/", "Adam")) for n in names)
    assert any(t.shape == (2000, HIDDEN) for t in reader.tensors if t.role == "constant")  # the weights read
    prefix = runs / "tf1" / "model.ckpt-30"
    got = reader.run(x, ["p_human"])["p_human:0"]
    assert np.allclose(got, p_human(read_back(prefix, ema=False), x), atol=1e-6)
    averaged = open_reader(runs / "tf1", ema=True, step=10).run(x, ["p_human"])["p_human:0"]
    assert np.allclose(averaged, p_human(read_back(runs / "tf1" / "model.ckpt-10", ema=True), x), atol=1e-6)
    hidden = next(t for t in reader.activations if t.op == "Relu")
    assert reader.run(x, [hidden.name])[hidden.name].shape == (len(x), HIDDEN)
