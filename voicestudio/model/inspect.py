"""What is inside a ``.tflite`` file, read from its flatbuffer (no runtime needed).

Like Netron's properties pane: size and hash, inputs and outputs (shape, shape
signature, dtype, quantization), the operators with counts, parameters, metadata,
signatures and the VoiceStudio card beside the file. ``inspect_model`` also takes a
TensorFlow source (SavedModel folder, Keras file, frozen GraphDef) and lists what
``model convert`` needs to know about it (see ``tf_source``), and a training checkpoint
(its variables by scope and its graph, see ``checkpoint``).

A flatbuffer may point many vector entries at one table, so a 40 kB file can describe
millions of tensors with 100,000-dimension shapes and megabyte names. Every count is
checked against a limit before the work it causes, and everything the inspection
will print is charged to one output budget: a crafted file is refused in one line
("model too large/malformed: ..."), real models (hundreds of tensors, rank <= 6,
names under 1 kB) stay far below every limit.
"""

from __future__ import annotations

import math
import mmap
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from math import prod
from pathlib import Path

from voicestudio.errors import ModelError
from voicestudio.files import file_sha256
from voicestudio.model.card import card_path_for, load_card
from voicestudio.model.flatbuffer import FlatBufferError, Table
from voicestudio.model.runtime import check_tflite_file
from voicestudio.model.tflite_names import BUILTIN_OPERATORS, TENSOR_TYPES
from voicestudio.terminal import one_line

CUSTOM_OPERATOR = 32  # BuiltinOperator.CUSTOM: the name is in custom_code
PLACEHOLDER_FOR_GREATER_OP_CODES = 127  # deprecated_builtin_code: the real code is in builtin_code
TEXT_METADATA = ("min_runtime_version",)  # metadata buffers that hold text; others are binary

# What a model may describe before it is refused as too large or malformed.
MAX_RANK = 16  # dimensions of one shape (TFLite kernels take up to 6)
MAX_ELEMENTS = 1 << 40  # of one tensor: 4 TB of float32, more than any device holds
MAX_SUBGRAPHS = 10_000
MAX_TENSORS = 200_000  # over all subgraphs; buffers likewise
MAX_OPERATORS = 500_000  # over all subgraphs
MAX_OPERATOR_CODES = 10_000
MAX_IO = 1_000  # inputs, outputs, entries of one signature
MAX_ENTRIES = 1_000  # signatures, metadata entries
MAX_STRING = 64 << 10  # one name, description or metadata text (bytes)
MAX_SCALES = 1 << 20  # quantization scales of one tensor (one per channel)
MAX_OUTPUT_CHARS = 4 << 20  # everything the inspection prints, about


@dataclass(frozen=True)
class Quantization:
    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    quantized_dimension: int = 0

    def describe(self) -> str:
        if len(self.scale) == 1:
            return f"scale {self.scale[0]:.6g}, zero point {self.zero_point[0] if self.zero_point else 0}"
        return f"per-channel ({len(self.scale)} scales on axis {self.quantized_dimension})"


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    dtype: str  # numpy-style: "float32", "int8", ...
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]  # -1 where the dimension is dynamic (batch, usually)
    quantization: Quantization | None = None

    def describe(self) -> str:
        text = f"{self.name}  {self.dtype}  {list(self.shape)}"
        if self.shape_signature != self.shape:
            text += f"  (signature {list(self.shape_signature)})"
        if self.quantization is not None:
            text += f"  quantized: {self.quantization.describe()}"
        return text


@dataclass(frozen=True)
class OperatorUse:
    name: str
    count: int
    versions: tuple[int, ...]


@dataclass(frozen=True)
class Signature:
    key: str
    inputs: dict[str, str]  # signature name -> tensor name
    outputs: dict[str, str]


@dataclass
class TfliteInspection:
    path: str
    size_bytes: int
    sha256: str
    schema_version: int
    description: str
    subgraphs: int
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    operators: list[OperatorUse]  # most used first
    tensors: int
    parameters: int  # elements of constant tensors (weights, biases, ...)
    weight_bytes: int
    metadata: dict[str, str]  # name -> text, or "N bytes" for binary metadata
    signatures: list[Signature]
    card: dict | None = None
    card_error: str | None = None
    kind: str = field(default="tflite", init=False)

    @property
    def operator_total(self) -> int:
        return sum(op.count for op in self.operators)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["operator_total"] = self.operator_total
        return data

    def text(self) -> str:
        lines = [f"{self.path}", f"  size {human_size(self.size_bytes)}, sha256 {self.sha256}",
                 f"  TFLite schema v{self.schema_version}, {self.subgraphs} subgraph{'s' * (self.subgraphs != 1)}, "
                 f"{self.tensors} tensors" + (f", {self.description!r}" if self.description else "")]
        lines += [f"  input {i}: {t.describe()}" for i, t in enumerate(self.inputs)]
        lines += [f"  output {i}: {t.describe()}" for i, t in enumerate(self.outputs)]
        lines.append(f"  operators: {self.operator_total} ({len(self.operators)} kinds)")
        for op in self.operators:
            versions = ", ".join(f"v{v}" for v in op.versions)
            lines.append(f"    {op.count:5d}  {op.name} ({versions})")
        lines.append(f"  parameters: {self.parameters:,} ({human_size(self.weight_bytes)} of constants)")
        for name, value in self.metadata.items():
            lines.append(f"  metadata {name}: {value}")
        for sig in self.signatures:
            lines.append(f"  signature {sig.key!r}: {', '.join(sig.inputs)} -> {', '.join(sig.outputs)}")
        if self.card is not None:
            card = self.card
            lines.append(f"  card: {card.get('name', '?')} {card.get('version', '')}".rstrip()
                         + f", threshold {card.get('threshold', 0.5)}, {card.get('quantization', 'float32')}, "
                           f"labels {', '.join(card.get('labels', ['nonhuman', 'human']))}")
            spec = card.get("feature_spec") or {}
            if spec:
                lines.append("  features: " + ", ".join(f"{k} {v}" for k, v in spec.items()))
        elif self.card_error:
            lines.append(f"  card: {self.card_error}")
        else:
            lines.append("  card: none (loads with the documented defaults if its shape fits)")
        return "\n".join(one_line(line) for line in lines)  # values from files never forge a line


def human_size(n: int) -> str:
    """``281.4 kB``, ``3.2 MB`` or ``512 bytes``."""
    for unit, scale in (("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


class ModelTooLarge(FlatBufferError):
    """The flatbuffer is readable but describes more than a model can (a crafted or damaged file)."""


def _at_most(count: int, limit: int, what: str) -> int:
    if count > limit:
        raise ModelTooLarge(f"{count:,} {what} (at most {limit:,})")
    return count


class _Reader:
    """Reads a model's tables with every count checked before the work it causes, and what will be
    printed (names, shapes, scales) charged to one output budget: aliasing cannot multiply either."""

    def __init__(self):
        self.output_left = MAX_OUTPUT_CHARS

    def charge(self, chars: int, what: str) -> None:
        self.output_left -= chars
        if self.output_left < 0:
            raise ModelTooLarge(f"its {what} make more than {MAX_OUTPUT_CHARS >> 20} MiB of output")

    def tables(self, table: Table, slot: int, limit: int, what: str) -> list[Table]:
        _at_most(table.vector_length(slot), limit, what)
        return table.tables(slot)

    def scalars(self, table: Table, slot: int, fmt: str, limit: int, what: str) -> tuple:
        _at_most(table.vector_length(slot), limit, what)
        return table.scalars(slot, fmt)

    def string(self, table: Table, slot: int, what: str) -> str | None:
        _at_most(table.vector_length(slot), MAX_STRING, f"bytes in a {what}")
        text = table.string(slot)
        self.charge(len(text or ""), f"{what}s")
        return text

    def shape(self, table: Table, slot: int, what: str) -> tuple[int, ...]:
        shape = _shape(table, slot, what)
        self.charge(16 * len(shape), "shapes")  # as indented JSON prints them
        return shape


def _shape(table: Table, slot: int, what: str) -> tuple[int, ...]:
    """A shape: at most ``MAX_RANK`` dimensions, each >= -1 (dynamic), ``MAX_ELEMENTS`` in all."""
    _at_most(table.vector_length(slot), MAX_RANK, f"dimensions in the shape of {what}")
    shape = table.scalars(slot, "i")
    if any(d < -1 for d in shape):
        raise ModelTooLarge(f"{what} has a negative dimension")
    if prod(max(d, 1) for d in shape) > MAX_ELEMENTS:
        raise ModelTooLarge(f"{what} has more than {MAX_ELEMENTS:,} elements")
    return shape


def _dtype(code: int) -> str:
    return TENSOR_TYPES[code].lower() if 0 <= code < len(TENSOR_TYPES) else f"type{code}"


def _operator_name(code: Table) -> str:
    builtin = code.scalar(3, "i", 0)
    deprecated = code.scalar(0, "b", 0)
    # Old files only set the deprecated byte; new ones set both (the byte saturates at 127).
    number = max(builtin, deprecated) if deprecated != PLACEHOLDER_FOR_GREATER_OP_CODES else builtin
    if number == CUSTOM_OPERATOR:
        return f"CUSTOM:{code.string(1) or '?'}"
    return BUILTIN_OPERATORS[number] if 0 <= number < len(BUILTIN_OPERATORS) else f"BUILTIN_{number}"


def _tensor(reader: _Reader, tensors: list[Table], index: int) -> TensorInfo:
    t = tensors[index]
    what = f"tensor {index}"
    shape = reader.shape(t, 0, what)
    quantization = None
    q = t.table(4)
    if q is not None:
        scale = reader.scalars(q, 2, "f", MAX_SCALES, f"quantization scales of {what}")
        if scale:
            if not all(math.isfinite(x) for x in scale):
                raise ModelTooLarge(f"{what} has a quantization scale that is not a finite number")
            zero_point = reader.scalars(q, 3, "q", MAX_SCALES, f"zero points of {what}")
            reader.charge(24 * (len(scale) + len(zero_point)), "quantization scales")
            quantization = Quantization(scale, zero_point, q.scalar(6, "i", 0))
    return TensorInfo(index, reader.string(t, 3, "tensor name") or f"tensor{index}", _dtype(t.scalar(1, "b", 0)),
                      shape, reader.shape(t, 7, f"the signature of {what}") or shape, quantization)


def _metadata(reader: _Reader, model: Table, buffers: list[Table]) -> dict[str, str]:
    found = {}
    for entry in reader.tables(model, 6, MAX_ENTRIES, "metadata entries"):
        name, index = reader.string(entry, 0, "metadata name") or "?", entry.scalar(1, "I", 0)
        buffer = buffers[index] if index < len(buffers) else None
        if buffer is not None and name in TEXT_METADATA:
            _at_most(buffer.vector_length(0), MAX_STRING, f"bytes of metadata {name}")
            found[name] = buffer.bytes(0).rstrip(b"\0").decode("utf-8", errors="replace")
            reader.charge(len(found[name]), "metadata")
        else:
            found[name] = f"{buffer.vector_length(0) if buffer is not None else 0} bytes"
    return found


def _card(path: Path) -> tuple[dict | None, str | None]:
    card_path = card_path_for(path)
    if not card_path.exists():
        return None, None
    try:
        return load_card(card_path).to_dict(), None
    except ModelError as exc:
        return None, str(exc)


def inspect_tflite(path) -> TfliteInspection:
    """Read the model's flatbuffer; a file that is not one is a ``ModelError``."""
    path = check_tflite_file(path)
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            found = _read_model(buf)
    except ModelTooLarge as exc:
        raise ModelError(path, f"model too large/malformed: {exc}") from None
    except FlatBufferError as exc:
        raise ModelError(path, f"not a readable TFLite model (truncated or corrupt flatbuffer: {exc})") from None
    except OSError as exc:
        raise ModelError(path, f"cannot read ({exc.strerror or exc})") from None
    card, card_error = _card(path)
    return TfliteInspection(path=str(path), size_bytes=path.stat().st_size, sha256=file_sha256(path),
                            card=card, card_error=card_error, **found)


def _read_model(buf) -> dict:
    reader = _Reader()
    model = Table.root(buf)
    codes = reader.tables(model, 1, MAX_OPERATOR_CODES, "operator codes")
    subgraphs = reader.tables(model, 2, MAX_SUBGRAPHS, "subgraphs")
    buffers = reader.tables(model, 4, MAX_TENSORS, "buffers")
    if not subgraphs:
        raise FlatBufferError("the model has no subgraph")

    # Each subgraph's tensors are listed once, and each operator code named once: a crafted
    # file may repeat one table a million times, and nothing is read once per repeat.
    graph_tensors, n_tensors, n_operators = [], 0, 0
    for graph in subgraphs:
        n_tensors += graph.vector_length(0)
        n_operators += graph.vector_length(3)
        _at_most(n_tensors, MAX_TENSORS, "tensors")
        _at_most(n_operators, MAX_OPERATORS, "operators")
        graph_tensors.append(graph.tables(0))
    main, tensors = subgraphs[0], graph_tensors[0]
    code_names: list[str | None] = [None] * len(codes)

    uses: Counter[str] = Counter()
    versions: dict[str, set[int]] = defaultdict(set)
    for graph in subgraphs:
        for op in graph.tables(3):
            index = op.scalar(0, "I", 0)
            if index >= len(codes):
                raise FlatBufferError(f"an operator uses opcode {index} of {len(codes)}")
            if code_names[index] is None:
                _at_most(codes[index].vector_length(1), MAX_STRING, "bytes in a custom operator name")
                code_names[index] = name = _operator_name(codes[index])
                if name not in uses:
                    reader.charge(len(name) + 16, "operator names")
                versions[name].add(codes[index].scalar(2, "i", 1))
            uses[code_names[index]] += 1
    operators = [OperatorUse(name, n, tuple(sorted(versions[name]))) for name, n in
                 sorted(uses.items(), key=lambda item: (-item[1], item[0]))]

    parameters = weight_bytes = 0
    for g, graph_tensor_list in enumerate(graph_tensors):
        for i, t in enumerate(graph_tensor_list):
            index = t.scalar(2, "I", 0)  # buffer 0 is the empty sentinel
            if not index or index >= len(buffers) or t.scalar(5, "B", 0):  # variables are state, not weights
                continue
            size = buffers[index].vector_length(0) or buffers[index].scalar(2, "Q", 0)
            if size:
                parameters += prod(_shape(t, 0, f"tensor {i} of subgraph {g}"))
                weight_bytes += size

    def tensor_list(slot: int, what: str) -> list[TensorInfo]:
        indices = reader.scalars(main, slot, "i", MAX_IO, what)
        for i in indices:
            if not 0 <= i < len(tensors):
                raise FlatBufferError(f"tensor index {i} of {len(tensors)}")
        return [_tensor(reader, tensors, i) for i in indices]

    signatures = []
    for sig in reader.tables(model, 7, MAX_ENTRIES, "signatures"):
        graph_index = sig.scalar(4, "I", 0)
        sig_tensors = graph_tensors[graph_index] if graph_index < len(graph_tensors) else tensors

        def mapping(slot, what):
            entries = {}
            for m in reader.tables(sig, slot, MAX_IO, what):
                index = m.scalar(1, "I", 0)
                entries[reader.string(m, 0, "signature name") or "?"] = (
                    reader.string(sig_tensors[index], 3, "tensor name") if index < len(sig_tensors) else "?")
            return entries

        signatures.append(Signature(reader.string(sig, 2, "signature key") or "",
                                    mapping(0, "signature inputs"), mapping(1, "signature outputs")))

    return dict(schema_version=model.scalar(0, "I", 0), description=reader.string(model, 3, "description") or "",
                subgraphs=len(subgraphs), inputs=tensor_list(1, "inputs"), outputs=tensor_list(2, "outputs"),
                operators=operators, tensors=n_tensors, parameters=int(parameters), weight_bytes=int(weight_bytes),
                metadata=_metadata(reader, model, buffers), signatures=signatures)


def inspect_model(path, *, step: int | None = None):
    """A ``.tflite`` file's ``TfliteInspection``, a training checkpoint's ``CheckpointInspection``
    (``step`` picks one of its steps), or another TensorFlow source's ``SourceInspection``."""
    path = Path(path)
    from voicestudio.model.checkpoint import inspect_checkpoint, is_checkpoint

    if is_checkpoint(path) and not (path / "saved_model.pb").is_file():
        return inspect_checkpoint(path, step)
    if step is not None:
        raise ModelError(path, "--step is for training checkpoints")
    if path.suffix.lower() == ".tflite" or (path.is_file() and _has_tflite_identifier(path)):
        return inspect_tflite(path)
    from voicestudio.model.tf_source import inspect_source

    return inspect_source(path)


def _has_tflite_identifier(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(8)[4:8] == b"TFL3"
    except OSError:
        return False

