"""TensorFlow model sources: a SavedModel folder, a Keras ``.keras``/``.h5`` file, a frozen ``.pb`` GraphDef,
a training checkpoint (frozen on load by ``freeze.freeze_graph``, then used like a GraphDef).

One ``Source`` gives what conversion needs: a TFLite converter for it and a way to run
it on a batch (to compare with the converted model). ``inspect_source`` lists what a user
must know to convert it: signatures, input and output names and shapes and, for a frozen
GraphDef (which has no signature), its nodes with likely inputs and outputs.

TensorFlow comes from the ``train`` extra and is imported only here and in ``convert``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from voicestudio.errors import MissingExtraError, ModelError
from voicestudio.terminal import one_line

KINDS = ("saved_model", "keras", "graphdef", "checkpoint")
NOT_OUTPUTS = {"NoOp", "Const", "Assert", "SaveV2", "RestoreV2", "VarHandleOp", "Placeholder"}


def tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    try:
        import tensorflow as tf
    except ImportError:
        raise MissingExtraError("reading TensorFlow models", "train", "tensorflow") from None
    return tf


def source_kind(path) -> str:
    """``saved_model``, ``keras``, ``graphdef`` or ``checkpoint``, from what is at ``path``."""
    from voicestudio.model.checkpoint import is_checkpoint

    path = Path(path)
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return "saved_model"
        if is_checkpoint(path):
            return "checkpoint"
        raise ModelError(path, "a folder without saved_model.pb is not a SavedModel, and without a 'checkpoint' "
                               "state file or .index files not a checkpoint")
    if is_checkpoint(path):  # a prefix (run/model.ckpt-7) or its .index/.meta/.data file
        return "checkpoint"
    if not path.exists():
        raise ModelError(path, "no such file or folder")
    suffix = path.suffix.lower()
    if suffix in (".keras", ".h5", ".hdf5"):
        return "keras"
    if suffix == ".pb":
        return "graphdef"
    raise ModelError(path, f"unknown model format {suffix or '(no suffix)'!r}: give a SavedModel folder, "
                           ".keras/.h5 (Keras), .pb (frozen GraphDef), a checkpoint (its folder or prefix) or .tflite")


@dataclass(frozen=True)
class TensorSpecInfo:
    name: str
    shape: tuple[int | None, ...] | None  # None: unknown rank
    dtype: str


@dataclass(frozen=True)
class NodeInfo:
    name: str
    op: str
    inputs: tuple[str, ...] = ()  # the nodes it reads


@dataclass
class SourceInspection:
    path: str
    kind: str
    inputs: list[TensorSpecInfo]
    outputs: list[TensorSpecInfo]
    signatures: list[str] = field(default_factory=list)
    parameters: int | None = None
    nodes: list[NodeInfo] = field(default_factory=list)  # GraphDef only

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        lines = [self.path, f"  {self.kind.replace('_', ' ')}"
                 + (f", signatures: {', '.join(self.signatures)}" if self.signatures else "")
                 + (f", {self.parameters:,} parameters" if self.parameters is not None else "")]
        for role, specs in (("input", self.inputs), ("output", self.outputs)):
            lines += [f"  {role} {i}: {s.name}  {s.dtype}  {shape_text(s.shape)}" for i, s in enumerate(specs)]
        if self.nodes:
            from collections import Counter

            ops = Counter(n.op for n in self.nodes)
            lines.append(f"  {len(self.nodes)} nodes: " + ", ".join(f"{op} {n}" for op, n in ops.most_common()))
            lines.append("  pick --inputs from the inputs above and --outputs from the outputs "
                         "(every node is in --json)")
        return "\n".join(one_line(line) for line in lines)  # values from files never forge a line


def shape_text(shape) -> str:
    """``[?, 100, 20, 1]``; ``unknown`` when even the rank is unknown."""
    return "unknown" if shape is None else "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _spec(name: str, tensor_spec) -> TensorSpecInfo:
    shape = tensor_spec.shape
    dims = None if shape.rank is None else tuple(shape.as_list())
    return TensorSpecInfo(name, dims, tensor_spec.dtype.name)


class Source:
    """A loaded TensorFlow model: ``run(batch)`` and ``converter()``."""

    def __init__(self, path, *, inputs: list[str] | None = None, outputs: list[str] | None = None,
                 signature: str | None = None, trust_code: bool = False, ema: bool = False, step: int | None = None):
        self.path = Path(path)
        self.kind = source_kind(self.path)
        if self.kind != "checkpoint" and (ema or step is not None):
            raise ModelError(self.path, "--ema and --step are for training checkpoints")
        self.tf = tensorflow()
        self._inputs, self._outputs = list(inputs or []), list(outputs or [])
        self._signature_key = signature
        self._trust_code = trust_code
        self._ema, self._step = ema, step
        self.details: dict = {}  # what the model card records about the source beyond its path and kind
        try:
            getattr(self, f"_load_{self.kind}")()
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(self.path, f"TensorFlow cannot load it as a {self.kind.replace('_', ' ')} "
                                        f"({_first_line(exc)})") from None

    # Loading ------------------------------------------------------------------------
    def _load_keras(self):
        try:
            self.model = self.tf.keras.models.load_model(self.path, compile=False, safe_mode=not self._trust_code)
        except ValueError as exc:
            if "Lambda" in str(exc) and "safe_mode" in str(exc):
                raise ModelError(self.path, "has Lambda layers, which run code stored in the file; "
                                            "if you trust it, convert with --trust-code") from None
            raise
        self.input_specs = [TensorSpecInfo(t.name, tuple(t.shape), str(t.dtype)) for t in self.model.inputs]
        self.output_specs = [TensorSpecInfo(t.name, tuple(t.shape), str(t.dtype)) for t in self.model.outputs]

    def _load_saved_model(self):
        self.model = self.tf.saved_model.load(str(self.path))
        keys = list(self.model.signatures.keys())
        if not keys:
            raise ModelError(self.path, "the SavedModel has no signatures to convert")
        key = self._signature_key or ("serving_default" if "serving_default" in keys else keys[0])
        if key not in keys:
            raise ModelError(self.path, f"no signature {key!r} (it has {', '.join(keys)})")
        self.signature_key, self.signatures = key, keys
        self.function = self.model.signatures[key]
        _, kwargs = self.function.structured_input_signature
        self.input_specs = [_spec(name, spec) for name, spec in sorted(kwargs.items())]
        self.output_specs = [_spec(name, spec) for name, spec in sorted(self.function.structured_outputs.items())]

    def _load_checkpoint(self):
        from voicestudio.model.freeze import freeze_graph

        frozen = freeze_graph(self.path, self._outputs, ema=self._ema, step=self._step)
        if not self._inputs:
            if len(frozen.inputs) != 1:
                raise ModelError(self.path, f"the frozen graph has {len(frozen.inputs)} placeholders "
                                            f"({', '.join(frozen.inputs) or 'none'}): name the input with --inputs")
            self._inputs = list(frozen.inputs)
        self.details = {"checkpoint": str(frozen.files.prefix), "step": frozen.files.step, "ema": frozen.ema,
                        "freeze_max_abs_diff": frozen.max_abs_diff}
        self._load_graphdef(frozen.graph_def.SerializeToString())

    def _load_graphdef(self, data: bytes | None = None):
        tf = self.tf
        graph_def = tf.compat.v1.GraphDef()
        try:
            graph_def.ParseFromString(self.path.read_bytes() if data is None else data)
        except Exception:
            raise ModelError(self.path, "not a frozen GraphDef (cannot parse the protobuf)") from None
        self.graph_def = graph_def
        self.nodes = [NodeInfo(n.name, n.op, tuple(_node(i).lstrip("^") for i in n.input)) for n in graph_def.node]
        if not self._inputs or not self._outputs:
            # No signature in a GraphDef: the user names the tensors (inspect lists candidates).
            return
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
        names = {n.name for n in self.nodes}
        for name in self._inputs + self._outputs:
            if name.split(":")[0] not in names:
                raise ModelError(self.path, f"no node named {name!r} in the graph (see: voicestudio model inspect)")
        self._in_tensors = [self.graph.get_tensor_by_name(_tensor_name(n)) for n in self._inputs]
        self._out_tensors = [self.graph.get_tensor_by_name(_tensor_name(n)) for n in self._outputs]
        self.input_specs = [TensorSpecInfo(t.name, _dims(t.shape), t.dtype.name) for t in self._in_tensors]
        self.output_specs = [TensorSpecInfo(t.name, _dims(t.shape), t.dtype.name) for t in self._out_tensors]

    # Use ----------------------------------------------------------------------------
    def check_single_io(self) -> None:
        if self.kind == "graphdef" and (not self._inputs or not self._outputs):
            candidates = guess_graph_io(self.nodes)
            raise ModelError(self.path, "a frozen GraphDef has no signature: name its tensors with --inputs and "
                                        f"--outputs (likely inputs: {', '.join(candidates[0]) or 'none'}; "
                                        f"likely outputs: {', '.join(candidates[1]) or 'none'})")
        for role, specs in (("inputs", self.input_specs), ("outputs", self.output_specs)):
            if len(specs) != 1:
                raise ModelError(self.path, f"has {len(specs)} {role} ({', '.join(s.name for s in specs)}); "
                                            "a voice detector has one input and one output")

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The model's single output for a float32 batch (NumPy in, NumPy out)."""
        tf = self.tf
        if self.kind == "keras":
            out = self.model(batch, training=False)
            return out.numpy() if hasattr(out, "numpy") else np.asarray(out)
        if self.kind == "saved_model":
            result = self.function(**{self.input_specs[0].name: tf.constant(batch)})
            return np.asarray(result[self.output_specs[0].name])
        with tf.compat.v1.Session(graph=self.graph) as session:
            return np.asarray(session.run(self._out_tensors[0], {self._in_tensors[0]: batch}))

    def converter(self, window_shape: tuple[int, ...]):
        """A TFLite converter; ``window_shape`` (the input without its batch axis) fills in
        what a GraphDef placeholder leaves unknown. The batch axis stays dynamic."""
        tf = self.tf
        if self.kind == "keras":
            return tf.lite.TFLiteConverter.from_keras_model(self.model)
        if self.kind == "saved_model":
            return tf.lite.TFLiteConverter.from_saved_model(str(self.path), signature_keys=[self.signature_key])
        known = self.input_specs[0].shape
        shapes = None
        if known is None or None in known[1:]:
            shapes = {_node(self._inputs[0]): [None, *window_shape]}

        def from_frozen_graph(path):
            return tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
                str(path), [_node(n) for n in self._inputs], [_node(n) for n in self._outputs], input_shapes=shapes)

        if self.kind == "checkpoint":
            # The same converter as a .pb file's; it reads the file when made, so the file can go at once.
            with tempfile.TemporaryDirectory(prefix="voicestudio-frozen-") as tmp:
                frozen = Path(tmp) / "frozen.pb"
                frozen.write_bytes(self.graph_def.SerializeToString())
                return from_frozen_graph(frozen)
        return from_frozen_graph(self.path)


def _node(name: str) -> str:
    return name.split(":")[0]


def _tensor_name(name: str) -> str:
    return name if ":" in name else f"{name}:0"


def _dims(shape) -> tuple | None:
    return None if shape.rank is None else tuple(shape.as_list())


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def guess_graph_io(nodes: list[NodeInfo]) -> tuple[list[str], list[str]]:
    """Likely inputs (placeholders) and outputs (nodes nothing else reads) of a GraphDef."""
    read = {name for n in nodes for name in n.inputs}
    return ([n.name for n in nodes if n.op == "Placeholder"],
            [n.name for n in nodes if n.op not in NOT_OUTPUTS and n.name not in read])


def inspect_source(path) -> SourceInspection:
    source = Source(path)
    parameters = None
    if source.kind == "keras":
        parameters = int(source.model.count_params())
    if source.kind == "graphdef":
        likely_in, likely_out = guess_graph_io(source.nodes)
        by_name = {n.name: n for n in source.graph_def.node}
        specs = [[node_spec(source.tf, by_name[name]) for name in names] for names in (likely_in, likely_out)]
        return SourceInspection(str(source.path), source.kind, specs[0], specs[1], nodes=source.nodes)
    return SourceInspection(str(source.path), source.kind, source.input_specs, source.output_specs,
                            signatures=getattr(source, "signatures", []), parameters=parameters)


def node_spec(tf, node) -> TensorSpecInfo:
    """A GraphDef node's first output, from its attributes (shape where the node records one)."""
    return TensorSpecInfo(f"{node.name}:0", _attr_shape(node), _attr_dtype(tf, node))


def _attr_shape(node) -> tuple | None:
    if "shape" not in node.attr or node.attr["shape"].shape.unknown_rank:
        return None
    return tuple(None if d.size < 0 else d.size for d in node.attr["shape"].shape.dim)


def _attr_dtype(tf, node) -> str:
    for key in ("dtype", "T"):
        if key in node.attr:
            return tf.dtypes.as_dtype(node.attr[key].type).name
    return "?"
