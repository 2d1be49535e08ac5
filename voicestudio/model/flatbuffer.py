"""A minimal read-only FlatBuffers reader: just enough to walk a ``.tflite`` file.

A table starts with a signed offset back to its vtable; the vtable lists, per field
slot, the field's offset inside the table (0 = absent, take the default). Strings,
vectors and sub-tables are reached through unsigned offsets relative to where the
offset itself is stored. Every read is bounds-checked by ``struct``, so a truncated
or corrupt file raises ``FlatBufferError`` instead of reading garbage.
"""

from __future__ import annotations

import struct


class FlatBufferError(ValueError):
    """The bytes are not a well-formed flatbuffer (truncated, or offsets point outside)."""


def _read(fmt: str, buf, pos: int):
    if pos < 0:
        raise FlatBufferError(f"offset {pos} is before the start of the buffer")
    try:
        return struct.unpack_from(fmt, buf, pos)[0]
    except struct.error:
        raise FlatBufferError(f"offset {pos} is past the end of the buffer ({len(buf)} bytes)") from None


class Table:
    __slots__ = ("buf", "pos", "_vtable", "_vtable_size")

    def __init__(self, buf, pos: int):
        self.buf, self.pos = buf, pos
        self._vtable = pos - _read("<i", buf, pos)
        self._vtable_size = _read("<H", buf, self._vtable)

    @classmethod
    def root(cls, buf) -> "Table":
        return cls(buf, _read("<I", buf, 0))

    def _field(self, slot: int) -> int:
        """Absolute position of field ``slot``, or 0 when the field is absent."""
        entry = 4 + 2 * slot
        if entry >= self._vtable_size:
            return 0
        offset = _read("<H", self.buf, self._vtable + entry)
        return self.pos + offset if offset else 0

    def _indirect(self, pos: int) -> int:
        return pos + _read("<I", self.buf, pos)

    def scalar(self, slot: int, fmt: str, default=0):
        pos = self._field(slot)
        return _read("<" + fmt, self.buf, pos) if pos else default

    def string(self, slot: int) -> str | None:
        pos = self._field(slot)
        if not pos:
            return None
        start = self._indirect(pos)
        data = self._bytes_at(start, 1)
        return data.decode("utf-8", errors="replace")

    def table(self, slot: int) -> "Table | None":
        pos = self._field(slot)
        return Table(self.buf, self._indirect(pos)) if pos else None

    def vector_length(self, slot: int) -> int:
        pos = self._field(slot)
        return _read("<I", self.buf, self._indirect(pos)) if pos else 0

    def scalars(self, slot: int, fmt: str) -> tuple:
        """A vector of scalars (``fmt`` one struct code, e.g. ``"i"``) as a tuple."""
        pos = self._field(slot)
        if not pos:
            return ()
        start = self._indirect(pos)
        count = _read("<I", self.buf, start)
        size = struct.calcsize(fmt)
        self._check_span(start + 4, count * size)
        return struct.unpack_from(f"<{count}{fmt}", self.buf, start + 4)

    def tables(self, slot: int) -> list["Table"]:
        pos = self._field(slot)
        if not pos:
            return []
        start = self._indirect(pos)
        count = _read("<I", self.buf, start)
        self._check_span(start + 4, count * 4)
        return [Table(self.buf, self._indirect(start + 4 + 4 * i)) for i in range(count)]

    def bytes(self, slot: int) -> bytes:
        """A vector of ubyte (e.g. a buffer's data) as bytes."""
        pos = self._field(slot)
        return self._bytes_at(self._indirect(pos), 1) if pos else b""

    def _bytes_at(self, start: int, size: int) -> bytes:
        count = _read("<I", self.buf, start)
        self._check_span(start + 4, count * size)
        return bytes(self.buf[start + 4:start + 4 + count * size])

    def _check_span(self, start: int, length: int) -> None:
        if start + length > len(self.buf):
            raise FlatBufferError(f"a vector of {length} bytes at {start} runs past the end ({len(self.buf)} bytes)")
