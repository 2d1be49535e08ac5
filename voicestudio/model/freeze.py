"""A training checkpoint frozen to a GraphDef: its variables (or their moving averages) become constants.

``freeze`` writes the ``.pb`` (``voicestudio model freeze``); ``freeze_graph`` gives it in memory
(``model convert`` from a checkpoint). The frozen graph and the checkpointed graph are run on the
same input first, and nothing is written when they differ. ``restore_variables`` is the one
place the moving-average mapping is made (``model tensors`` on a checkpoint uses it too).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voicestudio.errors import ModelError
from voicestudio.model.checkpoint import (
    EMA_SUFFIX,
    OBJECT_GRAPH_KEY,
    VARIABLE_OPS,
    CheckpointFiles,
    checkpoint_reader,
    graph_nodes,
    likely_graph_io,
    locate_checkpoint,
    read_meta,
)
from voicestudio.terminal import one_line

FREEZE_TOLERANCE = 1e-5  # largest difference allowed between the checkpointed and the frozen graph, relative


@dataclass
class FrozenGraph:
    """A checkpoint's graph with its variables as constants, checked against the checkpointed graph."""

    files: CheckpointFiles
    graph_def: object  # tf.compat.v1.GraphDef
    outputs: list[str]  # as given: nodes or tensors
    inputs: list[str]  # the placeholders the outputs read
    variables: int  # frozen into constants
    moving_averages: int  # of them, restored from their ExponentialMovingAverage shadow
    ema: bool
    max_abs_diff: float | None  # frozen vs checkpointed graph on the same random input
    not_checked: str | None  # why there was no check


@dataclass
class FreezeReport:
    checkpoint: str  # the prefix
    step: int | None
    out: str
    size_bytes: int
    outputs: list[str]
    inputs: list[str]
    nodes: int  # kept in the frozen graph
    variables: int
    ema: bool
    moving_averages: int
    max_abs_diff: float | None
    not_checked: str | None

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        from voicestudio.model.inspect import human_size

        values = (f"moving averages of {self.moving_averages}, raw values of {self.variables - self.moving_averages}"
                  if self.ema else "raw values")
        lines = [f"wrote {self.out} ({human_size(self.size_bytes)}): {self.nodes} nodes, {self.variables} variables "
                 f"frozen ({values}) from {self.checkpoint}",
                 f"  inputs: {', '.join(self.inputs) or 'none'}; outputs: {', '.join(self.outputs)}"]
        if self.max_abs_diff is not None:
            lines.append(f"  checked against the checkpointed graph: largest difference {self.max_abs_diff:.3g}")
        else:
            lines.append(f"  not checked: {self.not_checked}")
        return "\n".join(one_line(line) for line in lines)


def freeze(checkpoint, out_pb, outputs, ema: bool = False, step: int | None = None) -> FreezeReport:
    """Write the checkpoint's graph with its variables as constants to ``out_pb``, atomically, once checked."""
    from voicestudio.files import write_atomically

    out_pb = Path(out_pb)
    if out_pb.suffix.lower() != ".pb":
        raise ModelError(out_pb, "the frozen graph's name must end in .pb")
    if not out_pb.parent.is_dir():
        raise ModelError(out_pb.parent, "no such folder")
    frozen = freeze_graph(checkpoint, outputs, ema=ema, step=step)
    write_atomically(out_pb, frozen.graph_def.SerializeToString())
    return FreezeReport(
        checkpoint=str(frozen.files.prefix), step=frozen.files.step, out=str(out_pb), size_bytes=out_pb.stat().st_size,
        outputs=frozen.outputs, inputs=frozen.inputs, nodes=len(frozen.graph_def.node), variables=frozen.variables,
        ema=ema, moving_averages=frozen.moving_averages, max_abs_diff=frozen.max_abs_diff,
        not_checked=frozen.not_checked)


def freeze_graph(checkpoint, outputs, ema: bool = False, step: int | None = None) -> FrozenGraph:
    """The frozen GraphDef in memory (``freeze`` writes it; ``model convert`` converts it)."""
    from voicestudio.model.tf_source import _first_line, tensorflow

    files = locate_checkpoint(checkpoint, step)
    outputs = [o.strip() for o in outputs if o.strip()]
    if files.meta is None:
        tf, reader = checkpoint_reader(files)
        if OBJECT_GRAPH_KEY in reader.get_variable_to_shape_map():
            raise ModelError(files.prefix, "a TF2 object-based checkpoint has no graph to freeze: convert the "
                                           "SavedModel or Keras model it was trained as instead")
        raise ModelError(files.prefix, f"no {files.prefix.name}.meta beside it: freezing needs the graph")
    tf = tensorflow()
    meta = read_meta(tf, files)
    nodes = graph_nodes(meta.graph_def)
    names = {n.name for n in nodes}
    likely_out = likely_graph_io(meta.graph_def)[1]
    if not outputs:
        raise ModelError(files.prefix, f"name the graph's outputs with --outputs (likely outputs: "
                                       f"{', '.join(likely_out) or 'none'})")
    for name in outputs:
        if name.split(":")[0] not in names:
            raise ModelError(files.prefix, f"no node named {name!r} in its graph (likely outputs: "
                                           f"{', '.join(likely_out) or 'none'})")
    try:
        with _quiet(tf):
            return _freeze(tf, files, meta, outputs, ema)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(files.prefix, f"TensorFlow cannot freeze it ({_first_line(exc)})") from None


@contextmanager
def _quiet(tf):
    """No "deprecated API" warnings on stderr for the TF1 graph tools this module means to use."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def _freeze(tf, files: CheckpointFiles, meta, outputs: list[str], ema: bool) -> FrozenGraph:
    v1 = tf.compat.v1
    output_nodes = list(dict.fromkeys(o.split(":")[0] for o in outputs))
    needed = v1.graph_util.extract_sub_graph(meta.graph_def, output_nodes)
    needed_variables = {n.name for n in needed.node if n.op in VARIABLE_OPS}
    _, reader = checkpoint_reader(files)
    stored = set(reader.get_variable_to_shape_map())
    missing = sorted(needed_variables - stored)
    if missing:
        raise ModelError(files.prefix, f"the outputs read variable{'s' * (len(missing) > 1)} "
                                       f"{', '.join(missing[:5])}, not in the checkpoint")
    shadowed = {name for name in needed_variables if name + EMA_SUFFIX in stored}
    if ema and not shadowed:
        raise ModelError(files.prefix, f"none of the {len(needed_variables)} variables the outputs read has a moving "
                                       f"average (…{EMA_SUFFIX}) in the checkpoint: freeze without --ema")

    graph = tf.Graph()
    with graph.as_default():
        v1.train.import_meta_graph(meta, clear_devices=True)
    with v1.Session(graph=graph) as session:
        restored = restore_variables(tf, session, files, ema=ema, only=needed_variables, stored=stored)
        frozen = v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), output_nodes)
        frozen = v1.graph_util.remove_training_nodes(frozen, protected_nodes=output_nodes)
        inputs = [n.name for n in frozen.node if n.op == "Placeholder"]
        feed, not_checked = _random_feed(graph, inputs)
        diff = None
        if feed is not None:
            tensors = [_tensor_name(o) for o in outputs]
            expected = session.run(tensors, {f"{k}:0": v for k, v in feed.items()})
            diff = _compare(tf, frozen, tensors, feed, expected, files)
    return FrozenGraph(files, frozen, outputs, inputs, restored, len(shadowed) if ema else 0, ema, diff,
                       not_checked)


def restore_variables(tf, session, files: CheckpointFiles, *, ema: bool = False, only: set[str] | None = None,
                      stored: set[str] | None = None) -> int:
    """Restore the variables of the graph in ``session`` (imported from the checkpoint's ``.meta``), or
    of those named in ``only``; with ``ema`` a variable with a moving average takes the average's value.
    Returns how many variables were restored."""
    v1 = tf.compat.v1
    if stored is None:
        stored = set(checkpoint_reader(files)[1].get_variable_to_shape_map())
    with session.graph.as_default():
        variables = [v for v in v1.global_variables()
                     if v.op.name in stored and (only is None or v.op.name in only)]
        # The moving-average mapping of tf.train.ExponentialMovingAverage.variables_to_restore:
        # a variable with a shadow takes the shadow's value, the others their own.
        if ema:  # the shadow variables themselves are not restored: their values go to the variables
            variables = [v for v in variables if not v.op.name.endswith(EMA_SUFFIX)]
        mapping = {(v.op.name + EMA_SUFFIX if ema and v.op.name + EMA_SUFFIX in stored else v.op.name): v
                   for v in variables}
        if mapping:
            v1.train.Saver(var_list=mapping).restore(session, str(files.prefix))
    return len(mapping)


def _tensor_name(name: str) -> str:
    return name if ":" in name else f"{name}:0"


def _random_feed(graph, inputs: list[str]) -> tuple[dict | None, str | None]:
    """Random values for every placeholder (batch 2 where the batch is unknown), or why there are none."""
    rng = np.random.default_rng(0)
    feed = {}
    for name in inputs:
        tensor = graph.get_tensor_by_name(f"{name}:0")
        if tensor.shape.rank is None:
            return None, f"input {name} has an unknown shape"
        dims = tensor.shape.as_list()
        if None in dims[1:]:
            return None, f"input {name} has unknown dimensions {dims} beyond the batch"
        if not tensor.dtype.is_floating:
            return None, f"input {name} is {tensor.dtype.name}, not a float"
        shape = [2 if (i == 0 and d is None) else d for i, d in enumerate(dims)]
        feed[name] = rng.standard_normal(shape).astype(tensor.dtype.as_numpy_dtype)
    return feed, None


def _compare(tf, frozen, tensors: list[str], feed: dict, expected: list, files: CheckpointFiles) -> float:
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(frozen, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        got = session.run(tensors, {f"{k}:0": v for k, v in feed.items()})
    diff, scale = 0.0, 1.0
    for want, have in zip(expected, got):
        want, have = np.asarray(want, np.float64), np.asarray(have, np.float64)
        if want.shape != have.shape:
            raise ModelError(files.prefix, f"the frozen graph's output has shape {list(have.shape)}, the "
                                           f"checkpointed graph's {list(want.shape)}: not written")
        if want.size:
            diff = max(diff, float(np.max(np.abs(want - have))))
            scale = max(scale, float(np.max(np.abs(want))))
    if not diff <= FREEZE_TOLERANCE * scale:  # also catches NaN
        raise ModelError(files.prefix, f"the frozen graph differs from the checkpointed graph by {diff:.3g} on the "
                                       "same input (random ops such as dropout in the outputs' path?): not written")
    return diff
