"""Hand-assembled ``.tflite`` flatbuffers with chosen tensors, shapes and aliasing.

The TensorFlow converter only writes sensible models; these are the ones someone
crafts: shapes of any rank and size, thousands of inputs, vectors whose entries
all point at one table (a flatbuffer may alias: a 39 KB file can describe
millions of tensors), long names. Written with the ``flatbuffers`` builder,
following TFLite's schema (field slots as in ``schema.fbs``). ``flatbuffers`` comes with
ai-edge-litert.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import flatbuffers

FLOAT32 = 0


@dataclass(frozen=True)
class CraftedTensor:
    name: str = "features"
    shape: tuple[int, ...] = (1, 100, 20, 1)
    dtype: int = FLOAT32
    buffer: int = 0  # 0: no data (an activation); else the index of a buffer made from ``buffer_bytes``


@dataclass(frozen=True)
class CraftedModel:
    tensors: tuple[CraftedTensor, ...] = (CraftedTensor(), CraftedTensor("score", (1, 1)))
    inputs: tuple[int, ...] = (0,)
    outputs: tuple[int, ...] = (1,)
    tensor_copies: int = 1  # the tensor vector repeats every tensor's offset this many times (aliasing)
    signatures: int = 0  # signature defs, all sharing one key string
    signature_key: str = "serving_default"
    description: str = "crafted"
    buffer_bytes: bytes = b""  # the data of buffer 1 (buffer 0 is the empty sentinel)
    operators: int = 0  # ADD operators (opcode 0) in the subgraph


def _vector(builder: flatbuffers.Builder, offsets: list[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _ints(builder: flatbuffers.Builder, values) -> int:
    values = list(values)
    builder.StartVector(4, len(values), 4)
    for value in reversed(values):
        builder.PrependInt32(value)
    return builder.EndVector()


def build(model: CraftedModel) -> bytes:
    b = flatbuffers.Builder(1024)
    tensor_offsets = []
    for t in model.tensors:
        name = b.CreateString(t.name)
        shape = _ints(b, t.shape)
        b.StartObject(8)
        b.PrependUOffsetTRelativeSlot(0, shape, 0)
        b.PrependInt8Slot(1, t.dtype, -1)
        b.PrependUint32Slot(2, t.buffer, 0)
        b.PrependUOffsetTRelativeSlot(3, name, 0)
        tensor_offsets.append(b.EndObject())
    tensors = _vector(b, [o for o in tensor_offsets for _ in range(model.tensor_copies)])
    inputs, outputs = _ints(b, model.inputs), _ints(b, model.outputs)
    operator_offsets = []
    if model.operators:
        op_in, op_out = _ints(b, model.inputs[:1] * 2), _ints(b, model.outputs[:1])
        b.StartObject(3)
        b.PrependUint32Slot(0, 0, 0)
        b.PrependUOffsetTRelativeSlot(1, op_in, 0)
        b.PrependUOffsetTRelativeSlot(2, op_out, 0)
        one_op = b.EndObject()
        operator_offsets = [one_op] * model.operators
    operators = _vector(b, operator_offsets)
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, tensors, 0)
    b.PrependUOffsetTRelativeSlot(1, inputs, 0)
    b.PrependUOffsetTRelativeSlot(2, outputs, 0)
    b.PrependUOffsetTRelativeSlot(3, operators, 0)
    subgraphs = _vector(b, [b.EndObject()])

    b.StartObject(4)
    b.PrependInt8Slot(0, 0, 0)  # ADD
    b.PrependInt32Slot(2, 1, 1)
    b.PrependInt32Slot(3, 0, 0)
    codes = _vector(b, [b.EndObject()])

    buffer_offsets = []
    for data in (b"", model.buffer_bytes):
        vec = b.CreateByteVector(data) if data else None
        b.StartObject(3)
        if vec is not None:
            b.PrependUOffsetTRelativeSlot(0, vec, 0)
        buffer_offsets.append(b.EndObject())
    buffers = _vector(b, buffer_offsets)

    signature_offsets = []
    if model.signatures:
        key = b.CreateString(model.signature_key)
        name = b.CreateString("x")
        b.StartObject(2)
        b.PrependUOffsetTRelativeSlot(0, name, 0)
        b.PrependUint32Slot(1, 0, 0)
        entry = _vector(b, [b.EndObject()])
        b.StartObject(5)
        b.PrependUOffsetTRelativeSlot(0, entry, 0)
        b.PrependUOffsetTRelativeSlot(1, entry, 0)
        b.PrependUOffsetTRelativeSlot(2, key, 0)
        signature_offsets = [b.EndObject()] * model.signatures
    signatures = _vector(b, signature_offsets)

    description = b.CreateString(model.description)
    b.StartObject(8)
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(1, codes, 0)
    b.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
    b.PrependUOffsetTRelativeSlot(3, description, 0)
    b.PrependUOffsetTRelativeSlot(4, buffers, 0)
    b.PrependUOffsetTRelativeSlot(7, signatures, 0)
    b.Finish(b.EndObject(), file_identifier=b"TFL3")
    return bytes(b.Output())


def write(path: Path, model: CraftedModel = CraftedModel()) -> Path:
    path = Path(path)
    path.write_bytes(build(model))
    return path
