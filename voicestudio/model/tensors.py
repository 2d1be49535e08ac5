"""What a model computes inside: its tensors, and their values for a batch of feature images.

``open_reader(MODEL)`` gives a reader for a ``.tflite`` file, a Keras file, a frozen GraphDef or a
training checkpoint (a SavedModel's signature exposes only its inputs and outputs). Every reader
lists its tensors (name, shape, dtype, role) and runs a batch of feature images, returning the
values of the tensors asked for, one row per image.

A ``.tflite`` interpreter normally reuses the memory of intermediate tensors as soon as the next
operator has read them; the runtime's ``experimental_preserve_all_tensors`` option keeps them, and
the default delegates (XNNPACK) are left out because a delegated partition computes its inner
tensors outside the interpreter's arena. A runtime without the option says so and reads only the
inputs, outputs and constants.
"""

from __future__ import annotations

import difflib
import inspect
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicestudio.errors import ModelError, VoiceStudioError
from voicestudio.model.card import ModelCard, card_path_for, default_card_for, load_card
from voicestudio.model.tf_source import _first_line  # the one-line reason of a runtime or TensorFlow error

ROLES = ("input", "activation", "output", "constant")


@dataclass(frozen=True)
class TensorEntry:
    name: str
    shape: tuple[int, ...]  # batch first for inputs/activations/outputs; -1 where unknown
    dtype: str
    role: str  # one of ROLES
    op: str = ""  # the operator (or layer type) that writes it

    @property
    def short_name(self) -> str:
        """TFLite fuses names (``a/Relu6;a/batchnorm;...``): the first is the layer's own."""
        return self.name.split(";")[0]

    def describe(self) -> str:
        shape = "[" + ", ".join("?" if d < 0 else str(d) for d in self.shape) + "]"
        return f"{self.short_name}  {self.dtype}  {shape}  {self.role}" + (f" ({self.op})" if self.op else "")


class TensorReader:
    """A loaded model that lists its tensors and runs feature images (subclasses per source kind)."""

    kind = ""
    note = ""  # what this reader cannot show, in words

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()  # interpreters and sessions are not thread-safe
        self.tensors: list[TensorEntry] = []

    def find(self, name: str) -> TensorEntry:
        """A tensor by its full name, its short name, or a unique part of its name."""
        exact = [t for t in self.tensors if name in (t.name, t.short_name, t.name.removesuffix(":0"))]
        if len(exact) == 1:
            return exact[0]
        parts = [t for t in self.tensors if name in t.name]
        computed = [t for t in parts if t.role != "constant"]  # a layer's bias shares its fused name
        for found in (parts, computed):
            if len(found) == 1:
                return found[0]
        if parts:
            raise VoiceStudioError(f"{name!r} matches {len(parts)} tensors ({', '.join(t.short_name for t in parts[:5])}"
                                   f"{', ...' if len(parts) > 5 else ''}): give more of the name")
        close = difflib.get_close_matches(name, [t.short_name for t in self.tensors], n=3, cutoff=0.5)
        raise VoiceStudioError(f"{self.path}: no tensor named {name!r}"
                               + (f" (did you mean {', '.join(close)}?)" if close else " (list them: model tensors MODEL AUDIO)"))

    @property
    def input(self) -> TensorEntry:
        return next(t for t in self.tensors if t.role == "input")

    @property
    def activations(self) -> list[TensorEntry]:
        """What operators compute per window, in graph order: the layers to look at."""
        return [t for t in self.tensors if t.role in ("activation", "output")]

    def run(self, images: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        """Values of the named tensors for ``images`` (in the model's input layout): one row per
        image for computed tensors, the tensor itself for constants."""
        raise NotImplementedError


# .tflite ---------------------------------------------------------------------------------------

class TfliteReader(TensorReader):
    kind = "tflite"

    def __init__(self, path: Path):
        super().__init__(path)
        from voicestudio.model.runtime import check_tflite_file, interpreter_class

        check_tflite_file(path)
        cls, runtime, version = interpreter_class()
        options = {}
        accepted = _parameters(cls)
        if "experimental_preserve_all_tensors" in accepted:
            options["experimental_preserve_all_tensors"] = True
            resolver = _resolver_without_delegates(cls)
            if resolver is not None and "experimental_op_resolver_type" in accepted:
                options["experimental_op_resolver_type"] = resolver
            self.keeps_intermediates = True
        else:
            self.keeps_intermediates = False
            self.note = (f"{runtime} {version} cannot keep intermediate tensors (no experimental_preserve_all_tensors): "
                         "only inputs, outputs and constants can be read")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "preserve_all_tensors is for debugging": it is
                self.interpreter = cls(model_path=str(path), num_threads=1, **options)
            self.interpreter.allocate_tensors()
        except Exception as exc:
            raise ModelError(path, f"the TFLite runtime cannot load it ({_first_line(exc)})") from None
        self._input = self.interpreter.get_input_details()
        if len(self._input) != 1:
            raise ModelError(path, f"has {len(self._input)} inputs; a detector takes one feature image")
        self._input = self._input[0]
        self._list_tensors()

    def _list_tensors(self) -> None:
        details = {d["index"]: d for d in self.interpreter.get_tensor_details()}
        inputs = {d["index"] for d in self.interpreter.get_input_details()}
        outputs = {d["index"] for d in self.interpreter.get_output_details()}
        written: dict[int, str] = {}
        ops = getattr(self.interpreter, "_get_ops_details", lambda: [])()
        for op in ops:
            if op.get("op_name") == "DELEGATE":
                continue
            for index in op["outputs"]:
                written.setdefault(int(index), op["op_name"])
        order = sorted(inputs) + [i for i in written if i not in inputs] + sorted(
            i for i in details if i not in inputs and i not in written)
        self._index: dict[str, int] = {}
        for index in order:
            d = details.get(index)
            if d is None:
                continue
            if index in inputs:
                role = "input"
            elif index in outputs:
                role = "output"
            elif index in written:
                role = "activation"
            else:
                role = "constant"
            shape = tuple(int(x) for x in d.get("shape_signature", d["shape"]))
            name = d["name"] or f"tensor{index}"
            self.tensors.append(TensorEntry(name, shape, np.dtype(d["dtype"]).name, role, written.get(index, "")))
            self._index[name] = index
        self._details = details

    def run(self, images: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        entries = [self.find(name) for name in names]
        for entry in entries:
            if entry.role == "activation" and not self.keeps_intermediates:
                raise VoiceStudioError(f"{entry.short_name}: {self.note}")
        signature = [int(x) for x in self._input.get("shape_signature", self._input["shape"])]
        batch = len(images) if signature[0] == -1 else max(1, int(self._input["shape"][0]))
        rows: dict[str, list[np.ndarray]] = {e.name: [] for e in entries}
        constants = {}
        with self._lock:
            interpreter = self.interpreter
            if signature[0] == -1 and int(self._input["shape"][0]) != batch:
                interpreter.resize_tensor_input(self._input["index"], [batch, *images.shape[1:]])
                interpreter.allocate_tensors()
                self._input = interpreter.get_input_details()[0]
                self._details = {d["index"]: d for d in interpreter.get_tensor_details()}
            for start in range(0, len(images), batch):
                chunk = images[start:start + batch]
                buffer = np.repeat(chunk[-1:], batch, axis=0)  # padding rows repeat a real one
                buffer[:len(chunk)] = chunk
                interpreter.set_tensor(self._input["index"], _quantize(buffer, self._input))
                try:
                    interpreter.invoke()
                except RuntimeError as exc:
                    raise ModelError(self.path, f"the model failed on this audio ({_first_line(exc)})") from None
                for entry in entries:
                    index = self._index[entry.name]
                    value = _dequantize(interpreter.get_tensor(index), self._details[index])
                    if entry.role == "constant":
                        constants[entry.name] = value
                    elif value.ndim and value.shape[0] == batch:
                        rows[entry.name].append(value[:len(chunk)])
                    else:  # not per window (a scalar the graph computes once): keep it as it is
                        constants[entry.name] = value
        return {e.name: constants[e.name] if e.name in constants else np.concatenate(rows[e.name]) for e in entries}


def _parameters(cls) -> set[str]:
    try:
        return set(inspect.signature(cls.__init__).parameters)
    except (TypeError, ValueError):
        return set()


def _resolver_without_delegates(cls):
    module = __import__(cls.__module__, fromlist=["OpResolverType"])
    kinds = getattr(module, "OpResolverType", None)
    return getattr(kinds, "BUILTIN_WITHOUT_DEFAULT_DELEGATES", None) if kinds is not None else None


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return x.astype(np.float32)
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def _dequantize(value: np.ndarray, detail: dict) -> np.ndarray:
    """Real values of a quantised tensor (per-tensor or per-channel); float tensors as they are."""
    value = np.array(value)  # a copy: the interpreter reuses its buffers
    params = detail.get("quantization_parameters") or {}
    scales, zeros = np.asarray(params.get("scales", [])), np.asarray(params.get("zero_points", []))
    if not np.issubdtype(value.dtype, np.integer) or scales.size == 0:
        return value
    if scales.size == 1:
        return ((value.astype(np.float32) - zeros.ravel()[0]) * scales.ravel()[0]).astype(np.float32)
    axis = int(params.get("quantized_dimension", 0))
    shape = [1] * value.ndim
    shape[axis] = scales.size
    zeros = zeros if zeros.size == scales.size else np.zeros_like(scales)
    return ((value.astype(np.float32) - zeros.reshape(shape)) * scales.reshape(shape)).astype(np.float32)


# TensorFlow sources ---------------------------------------------------------------------------

class KerasReader(TensorReader):
    """Each layer's output, and its weights as constants."""

    kind = "keras"

    def __init__(self, path: Path):
        super().__init__(path)
        from voicestudio.model.tf_source import Source

        source = Source(path)
        self.tf, self.model = source.tf, source.model
        outputs = {id(t) for t in self.model.outputs}
        self._layers = {}
        for layer in self.model.layers:
            is_input = type(layer).__name__ == "InputLayer"
            output = layer.output
            role = "input" if is_input else "output" if id(output) in outputs else "activation"
            shape = tuple(-1 if d is None else int(d) for d in output.shape)
            self.tensors.append(TensorEntry(layer.name, shape, str(output.dtype), role, type(layer).__name__))
            self._layers[layer.name] = layer
            for weight in layer.weights:
                name = weight.path if hasattr(weight, "path") else weight.name
                self.tensors.append(TensorEntry(name, tuple(int(d) for d in weight.shape), str(weight.dtype),
                                                "constant", type(layer).__name__))
                self._layers[name] = weight

    def run(self, images: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        entries = [self.find(name) for name in names]
        computed = [e for e in entries if e.role != "constant"]
        found = {e.name: np.asarray(self._layers[e.name].numpy()) for e in entries if e.role == "constant"}
        if computed:
            keras = self.tf.keras
            probe = keras.Model(self.model.inputs, [self._layers[e.name].output for e in computed])
            with self._lock:
                values = probe(images.astype(np.float32), training=False)
            values = values if isinstance(values, (list, tuple)) else [values]
            found.update({e.name: np.asarray(v) for e, v in zip(computed, values)})
        return {e.name: found[e.name] for e in entries}


class GraphReader(TensorReader):
    """Every operation's output in a TensorFlow graph: a frozen GraphDef, or a checkpoint's ``.meta``
    graph with its variables restored."""

    kind = "graphdef"

    def __init__(self, path: Path, input_name: str | None = None, *, step: int | None = None, ema: bool = False):
        super().__init__(path)
        from voicestudio.model.tf_source import source_kind, tensorflow

        tf = self.tf = tensorflow()
        self.kind = source_kind(path)
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        try:
            with self.graph.as_default():
                if self.kind == "checkpoint":
                    self._restore_checkpoint(path, step, ema)
                else:
                    graph_def = tf.compat.v1.GraphDef()
                    graph_def.ParseFromString(Path(path).read_bytes())
                    tf.compat.v1.import_graph_def(graph_def, name="")
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(path, f"TensorFlow cannot load its graph ({_first_line(exc)})") from None
        self._list_tensors(input_name)

    def _restore_checkpoint(self, path: Path, step: int | None, ema: bool) -> None:
        from voicestudio.model.checkpoint import locate_checkpoint
        from voicestudio.model.freeze import restore_variables

        found = locate_checkpoint(path, step)
        if found.meta is None:
            raise ModelError(path, "a TF2 object-based checkpoint holds no graph to run: look inside the "
                                   "Keras model or SavedModel it was trained as")
        self.tf.compat.v1.train.import_meta_graph(str(found.meta), clear_devices=True)
        restore_variables(self.tf, self.session, found, ema=ema)

    def _list_tensors(self, input_name: str | None) -> None:
        operations = self.graph.get_operations()
        placeholders = [op for op in operations if op.type == "Placeholder"]
        if input_name:
            chosen = [op for op in placeholders if op.name == input_name.split(":")[0]]
            if not chosen:
                raise ModelError(self.path, f"no placeholder {input_name!r} (placeholders: "
                                            f"{', '.join(op.name for op in placeholders) or 'none'})")
        else:
            chosen = [op for op in placeholders if op.outputs[0].dtype.is_floating]
            images = [op for op in chosen if op.outputs[0].shape.rank is None or op.outputs[0].shape.rank >= 3]
            chosen = images if len(images) == 1 else chosen  # a training graph also feeds labels
        if len(chosen) != 1:
            raise ModelError(self.path, f"the graph has {len(chosen)} float placeholders "
                                        f"({', '.join(op.name for op in chosen) or 'none'}): name the feature "
                                        "images' with --input")
        source = chosen[0]
        self._input_tensor = source.outputs[0]
        forward = _forward_ops(source)
        weights = {t.name: t for op in forward for t in op.inputs
                   if t.op not in forward and t.op is not source and t.op.type in WEIGHT_OPS}
        listed = [(source.outputs[0], "input")] + [(t, "constant") for t in weights.values()]
        for op in operations:  # graph order
            if op in forward and op.type not in PLUMBING_OPS:
                listed += [(t, "activation" if any(c in forward for c in t.consumers()) else "output")
                           for t in op.outputs]
        for tensor, role in listed:
            shape = () if tensor.shape.rank is None else tuple(-1 if d is None else int(d) for d in tensor.shape.as_list())
            self.tensors.append(TensorEntry(tensor.name, shape, tensor.dtype.name, role, tensor.op.type))

    def run(self, images: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        entries = [self.find(name) for name in names]
        fetches = [self.graph.get_tensor_by_name(e.name) for e in entries]
        with self._lock:
            try:
                values = self.session.run(fetches, {self._input_tensor: images.astype(np.float32)})
            except Exception as exc:
                raise ModelError(self.path, f"TensorFlow cannot compute it ({_first_line(exc)})") from None
        return {e.name: np.asarray(v) for e, v in zip(entries, values)}


WEIGHT_OPS = {"Const", "ReadVariableOp", "Identity", "VariableV2"}  # what feeds weights into a layer
PLUMBING_OPS = {"NoOp", "Assert", "Identity"}
NOT_FORWARD = ("gradients/", "save/")  # a training graph's backward pass and saver


def _forward_ops(source) -> set:
    """The operations computed from the input placeholder: the model's forward pass (in a training
    graph, not the gradients, optimizer updates or saver that also hang off it)."""
    found, stack = set(), [source]
    while stack:
        for tensor in stack.pop().outputs:
            for consumer in tensor.consumers():
                if consumer not in found and not consumer.name.startswith(NOT_FORWARD) and consumer.type not in (
                        "AssignVariableOp", "Assign", "AssignSub", "AssignAdd"):
                    found.add(consumer)
                    stack.append(consumer)
    return found


def open_reader(path, *, input_name: str | None = None, step: int | None = None, ema: bool = False) -> TensorReader:
    """The tensor reader for what is at ``path`` (``step`` and ``ema`` choose a checkpoint's values)."""
    from voicestudio.model.inspect import _has_tflite_identifier

    path = Path(path)
    if path.suffix.lower() == ".tflite" or (path.is_file() and _has_tflite_identifier(path)):
        return TfliteReader(path)
    from voicestudio.model.tf_source import source_kind

    kind = source_kind(path)
    if kind == "keras":
        return KerasReader(path)
    if kind in ("graphdef", "checkpoint"):
        return GraphReader(path, input_name, step=step, ema=ema)
    raise ModelError(path, "a SavedModel's signature exposes only its inputs and outputs: give the Keras file "
                           "it was saved from, or convert it (model convert) and look inside the .tflite")


def card_for(reader: TensorReader) -> ModelCard:
    """The model's card: beside the file, else the defaults its input shape fits."""
    beside = card_path_for(reader.path)
    if beside.is_file():
        return load_card(beside)
    outputs = [t for t in reader.tensors if t.role == "output"]
    card = default_card_for(list(reader.input.shape), list(outputs[0].shape) if outputs else [-1, 1])
    return card if card is not None else ModelCard()
