"""What is inside a ``.tflite`` file, read from its flatbuffer (no runtime needed).

Like Netron's properties pane: size and hash, inputs and outputs (shape, shape
signature, dtype, quantization), the operators with counts, parameters, metadata,
signatures and the VoiceStudio card beside the file. ``inspect_model`` also takes a
TensorFlow source (SavedModel folder, Keras file, frozen GraphDef) and lists what
``model convert`` needs to know about it (see ``tf_source``).
"""

from __future__ import annotations

import mmap
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from math import prod
from pathlib import Path

from voicestudio.errors import ModelError
from voicestudio.model.card import card_path_for, load_card
from voicestudio.model.flatbuffer import FlatBufferError, Table
from voicestudio.model.runtime import check_tflite_file, file_sha256
from voicestudio.model.tflite_names import BUILTIN_OPERATORS, TENSOR_TYPES

CUSTOM_OPERATOR = 32  # BuiltinOperator.CUSTOM: the name is in custom_code
PLACEHOLDER_FOR_GREATER_OP_CODES = 127  # deprecated_builtin_code: the real code is in builtin_code
TEXT_METADATA = ("min_runtime_version",)  # metadata buffers that hold text; others are binary


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
        return "\n".join(lines)


def human_size(n: int) -> str:
    """``281.4 kB``, ``3.2 MB`` or ``512 bytes``."""
    for unit, scale in (("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


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


def _tensor(tensors: list[Table], index: int) -> TensorInfo:
    t = tensors[index]
    shape = tuple(t.scalars(0, "i"))
    quantization = None
    q = t.table(4)
    if q is not None:
        scale = tuple(q.scalars(2, "f"))
        if scale:
            quantization = Quantization(scale, tuple(q.scalars(3, "q")), q.scalar(6, "i", 0))
    return TensorInfo(index, t.string(3) or f"tensor{index}", _dtype(t.scalar(1, "b", 0)), shape,
                      tuple(t.scalars(7, "i")) or shape, quantization)


def _metadata(model: Table, buffers: list[Table]) -> dict[str, str]:
    found = {}
    for entry in model.tables(6):
        name, index = entry.string(0) or "?", entry.scalar(1, "I", 0)
        buffer = buffers[index] if index < len(buffers) else None
        if buffer is not None and name in TEXT_METADATA:
            found[name] = buffer.bytes(0).rstrip(b"\0").decode("utf-8", errors="replace")
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
    except FlatBufferError as exc:
        raise ModelError(path, f"not a readable TFLite model (truncated or corrupt flatbuffer: {exc})") from None
    except OSError as exc:
        raise ModelError(path, f"cannot read ({exc.strerror or exc})") from None
    card, card_error = _card(path)
    return TfliteInspection(path=str(path), size_bytes=path.stat().st_size, sha256=file_sha256(path),
                            card=card, card_error=card_error, **found)


def _read_model(buf) -> dict:
    model = Table.root(buf)
    codes = model.tables(1)
    subgraphs = model.tables(2)
    buffers = model.tables(4)
    if not subgraphs:
        raise FlatBufferError("the model has no subgraph")
    main = subgraphs[0]
    tensors = main.tables(0)

    uses: Counter[str] = Counter()
    versions: dict[str, set[int]] = defaultdict(set)
    for graph in subgraphs:
        for op in graph.tables(3):
            index = op.scalar(0, "I", 0)
            if index >= len(codes):
                raise FlatBufferError(f"an operator uses opcode {index} of {len(codes)}")
            name = _operator_name(codes[index])
            uses[name] += 1
            versions[name].add(codes[index].scalar(2, "i", 1))
    operators = [OperatorUse(name, n, tuple(sorted(versions[name]))) for name, n in
                 sorted(uses.items(), key=lambda item: (-item[1], item[0]))]

    parameters = weight_bytes = n_tensors = 0
    for graph in subgraphs:
        graph_tensors = graph.tables(0)
        n_tensors += len(graph_tensors)
        for t in graph_tensors:
            index = t.scalar(2, "I", 0)  # buffer 0 is the empty sentinel
            if not index or index >= len(buffers) or t.scalar(5, "B", 0):  # variables are state, not weights
                continue
            size = buffers[index].vector_length(0) or buffers[index].scalar(2, "Q", 0)
            if size:
                parameters += prod(t.scalars(0, "i"))
                weight_bytes += size

    def tensor_list(indices) -> list[TensorInfo]:
        for i in indices:
            if not 0 <= i < len(tensors):
                raise FlatBufferError(f"tensor index {i} of {len(tensors)}")
        return [_tensor(tensors, i) for i in indices]

    signatures = []
    for sig in model.tables(7):
        graph = subgraphs[sig.scalar(4, "I", 0)] if sig.scalar(4, "I", 0) < len(subgraphs) else main
        names = [t.string(3) for t in graph.tables(0)]

        def mapping(slot):
            return {m.string(0) or "?": names[m.scalar(1, "I", 0)] if m.scalar(1, "I", 0) < len(names) else "?"
                    for m in sig.tables(slot)}

        signatures.append(Signature(sig.string(2) or "", mapping(0), mapping(1)))

    return dict(schema_version=model.scalar(0, "I", 0), description=model.string(3) or "",
                subgraphs=len(subgraphs), inputs=tensor_list(main.scalars(1, "i")),
                outputs=tensor_list(main.scalars(2, "i")), operators=operators, tensors=n_tensors,
                parameters=int(parameters), weight_bytes=int(weight_bytes), metadata=_metadata(model, buffers),
                signatures=signatures)


def inspect_model(path):
    """A ``.tflite`` file's ``TfliteInspection``, or a TensorFlow source's ``SourceInspection``."""
    path = Path(path)
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

