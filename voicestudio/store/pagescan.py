"""Rows read straight from an SQLite file's pages, for tables whose b-tree is damaged.

``recover_project`` reads each table through SQLite, which walks the table's
b-tree from its root page: a damaged root (or interior) page hides every row
below it, though the leaf pages holding the rows are intact. ``PageScan`` reads
the file the way the SQLite file format describes it (https://sqlite.org/fileformat2.html):
the pages of the WAL's committed frames over those of the file, the b-trees that
can still be walked from every root, and the freelist. A table-leaf page (type
0x0d) that no other table or index owns and that is not free is an orphan; its
cells are decoded by ``read_record`` and offered to the damaged table whose
columns every record on the page fits (one table, else the page is left alone).

Nothing here writes. The file is read through descriptors that are never
closed (``held_open``): closing any descriptor of a file drops every POSIX lock
this process holds on it, and the window may have the damaged project open
while it recovers it (``store.sqlite.inspect_file`` says what follows).
"""

from __future__ import annotations

import os
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

TABLE_LEAF, TABLE_INTERIOR, INDEX_LEAF, INDEX_INTERIOR = 0x0D, 0x05, 0x0A, 0x02
_WAL_MAGIC = (0x377F0682, 0x377F0683)
_MAX_CHAIN = 1 << 20  # overflow pages followed for one cell, at most (a loop in a damaged chain ends here)


_held: dict[tuple[int, int], int] = {}
_held_lock = threading.Lock()


def held_open(path: Path) -> int | None:
    """A read-only descriptor of the file at ``path``, kept open for the process's life (None: no such file).

    One per file (by device and inode): a damaged project is recovered once or twice, not in a loop.
    """
    try:
        info = os.stat(path)
    except OSError:
        return None
    key = (info.st_dev, info.st_ino)
    with _held_lock:
        if key not in _held:
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                return None
            info = os.fstat(fd)
            _held[(info.st_dev, info.st_ino)] = fd  # never closed, even if the path changed meanwhile
            key = (info.st_dev, info.st_ino)
        return _held[key]


def _read(fd: int, size: int, offset: int) -> bytes:
    return os.pread(fd, size, offset)


class MalformedPage(ValueError):
    """A page or cell that does not parse: damaged, or not what its type byte says."""


@dataclass(frozen=True)
class ScannedRow:
    rowid: int
    values: tuple  # as stored: the first len(values) columns (rows older than an added column have fewer)


@dataclass
class PageScan:
    """The pages of one SQLite file (with its WAL), and which of them belong to whom."""

    path: Path
    page_size: int
    usable: int  # page size less the reserved bytes at each page's end
    encoding: str
    page_count: int
    db_fd: int
    wal_fd: int | None = None
    _wal_pages: dict[int, int] = field(default_factory=dict)  # page number -> offset of its newest committed frame

    @classmethod
    def open(cls, path: Path) -> PageScan:
        fd = held_open(path)
        if fd is None:
            raise MalformedPage("cannot read the file")
        header = _read(fd, 100, 0)
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            raise MalformedPage("no SQLite header")
        page_size = struct.unpack(">H", header[16:18])[0]
        page_size = 65536 if page_size == 1 else page_size
        if page_size < 512 or page_size & (page_size - 1):
            raise MalformedPage(f"page size {page_size}")
        encoding = {1: "utf-8", 2: "utf-16-le", 3: "utf-16-be"}.get(struct.unpack(">I", header[56:60])[0], "utf-8")
        scan = cls(Path(path), page_size, page_size - header[20], encoding, os.fstat(fd).st_size // page_size, fd)
        scan._read_wal()
        return scan

    def _read_wal(self) -> None:
        """Committed frames of ``-wal`` (salts matching its header; frames after the last commit are ignored)."""
        fd = held_open(Path(f"{self.path}-wal"))
        if fd is None:
            return
        self.wal_fd = fd
        header, end = _read(fd, 32, 0), os.fstat(fd).st_size
        if len(header) < 32 or struct.unpack(">I", header[:4])[0] not in _WAL_MAGIC:
            return
        if struct.unpack(">I", header[8:12])[0] != self.page_size:
            return
        salts, offset, pending = header[16:24], 32, {}
        while offset + 24 + self.page_size <= end:
            frame = _read(fd, 24, offset)
            if frame[8:16] != salts:
                return  # a frame of an earlier generation of the WAL: not part of the database
            page, commit_size = struct.unpack(">II", frame[:8])
            pending[page] = offset + 24
            offset += 24 + self.page_size
            if commit_size:  # a commit frame: everything up to here is part of the database
                self._wal_pages.update(pending)
                self.page_count = commit_size  # the database's size in pages after that commit
                pending = {}

    def page(self, number: int) -> bytes:
        if not 1 <= number <= self.page_count:
            raise MalformedPage(f"page {number} out of range")
        if number in self._wal_pages:
            data = _read(self.wal_fd, self.page_size, self._wal_pages[number])
        else:
            data = _read(self.db_fd, self.page_size, (number - 1) * self.page_size)
        if len(data) < self.page_size:
            raise MalformedPage(f"page {number} beyond the end of the file")
        return data

    def orphan_rows(self, roots: list[int]) -> list[list[ScannedRow]]:
        """The rows of every table-leaf page that no b-tree walked from ``roots`` reaches and that is not free,
        one list per page (cells that do not decode are left out)."""
        owned = self._free_pages()
        for root in roots:
            self._walk(root, owned)
        found = []
        for number in range(1, self.page_count + 1):
            if number in owned:
                continue
            try:
                data = self.page(number)
                if data[100 if number == 1 else 0] != TABLE_LEAF:
                    continue
                rows = self._leaf_rows(number, data)
            except MalformedPage:
                continue
            if rows:
                found.append(rows)
        return found

    def _free_pages(self) -> set[int]:
        free: set[int] = set()
        try:
            first = self.page(1)
            trunk = struct.unpack(">I", first[32:36])[0]
            while trunk and trunk not in free:
                free.add(trunk)
                data = self.page(trunk)
                count = min(struct.unpack(">I", data[4:8])[0], (self.usable - 8) // 4)
                free.update(struct.unpack(f">{count}I", data[8:8 + 4 * count]))
                trunk = struct.unpack(">I", data[:4])[0]
        except (MalformedPage, struct.error):
            pass  # a damaged freelist: the pages read so far are known free
        return free

    def _walk(self, root: int, owned: set[int]) -> None:
        """Mark every page of the b-tree at ``root`` (and its overflow pages) that can be reached as owned."""
        stack = [root]
        while stack:
            number = stack.pop()
            if number in owned:
                continue
            try:
                data = self.page(number)
                kind, cells, right = self._header(number, data)
            except MalformedPage:
                continue  # damaged: what hangs below it is found by the scan, if it is a table's
            owned.add(number)
            if kind in (TABLE_INTERIOR, INDEX_INTERIOR):
                stack.append(right)
                stack.extend(struct.unpack(">I", data[c:c + 4])[0] for c in cells)
            if kind != TABLE_INTERIOR:  # cells with a payload: their overflow pages are owned too
                for c in cells:
                    try:
                        owned.update(self._overflow_pages(kind, data, c + (4 if kind == INDEX_INTERIOR else 0)))
                    except MalformedPage:
                        pass

    def _header(self, number: int, data: bytes) -> tuple[int, list[int], int]:
        """The page's type, its cells' offsets and (interior pages) its right-most child."""
        start = 100 if number == 1 else 0
        kind = data[start]
        if kind not in (TABLE_LEAF, TABLE_INTERIOR, INDEX_LEAF, INDEX_INTERIOR):
            raise MalformedPage(f"page {number}: type {kind:#x}")
        count = struct.unpack(">H", data[start + 3:start + 5])[0]
        interior = kind in (TABLE_INTERIOR, INDEX_INTERIOR)
        pointers = start + (12 if interior else 8)
        if pointers + 2 * count > self.usable:
            raise MalformedPage(f"page {number}: {count} cells do not fit")
        cells = list(struct.unpack(f">{count}H", data[pointers:pointers + 2 * count]))
        if any(not pointers + 2 * count <= c < self.usable for c in cells):
            raise MalformedPage(f"page {number}: a cell outside the page")
        right = struct.unpack(">I", data[start + 8:start + 12])[0] if interior else 0
        return kind, cells, right

    def _leaf_rows(self, number: int, data: bytes) -> list[ScannedRow]:
        _, cells, _ = self._header(number, data)
        rows = []
        for c in cells:
            try:
                size, at = _varint(data, c)
                rowid, at = _varint(data, at)
                payload = self._payload(TABLE_LEAF, data, at, size)
                rows.append(ScannedRow(_signed(rowid), read_record(payload, self.encoding)))
            except (MalformedPage, IndexError, struct.error, UnicodeDecodeError):
                continue
        return rows

    def _local_size(self, kind: int, size: int) -> int:
        """How much of a payload of ``size`` bytes is stored on the page itself (the file format's rule)."""
        u = self.usable
        most = u - 35 if kind == TABLE_LEAF else (u - 12) * 64 // 255 - 23
        if size <= most:
            return size
        least = (u - 12) * 32 // 255 - 23
        k = least + (size - least) % (u - 4)
        return k if k <= most else least

    def _payload(self, kind: int, data: bytes, at: int, size: int) -> bytes:
        local = self._local_size(kind, size)
        if at + local > self.usable:
            raise MalformedPage("a payload past the page's end")
        parts, needed = [data[at:at + local]], size - local
        if needed:
            following, seen = struct.unpack(">I", data[at + local:at + local + 4])[0], 0
            while needed > 0:
                seen += 1
                if not following or seen > _MAX_CHAIN:
                    raise MalformedPage("an overflow chain cut short")
                page = self.page(following)
                parts.append(page[4:4 + min(needed, self.usable - 4)])
                needed -= self.usable - 4
                following = struct.unpack(">I", page[:4])[0]
        return b"".join(parts)

    def _overflow_pages(self, kind: int, data: bytes, at: int) -> list[int]:
        size, at = _varint(data, at)
        if kind == TABLE_LEAF:
            _, at = _varint(data, at)
        local = self._local_size(kind, size)
        if local == size:
            return []
        pages, following = [], struct.unpack(">I", data[at + local:at + local + 4])[0]
        while following and len(pages) < _MAX_CHAIN and following not in pages:
            pages.append(following)
            following = struct.unpack(">I", self.page(following)[:4])[0]
        return pages


def read_record(payload: bytes, encoding: str = "utf-8") -> tuple:
    """The values of an SQLite record (header of serial types, then the values); MalformedPage if it is not one."""
    header_size, at = _varint(payload, 0)
    if not 1 <= header_size <= len(payload):
        raise MalformedPage("a record header larger than its record")
    types = []
    while at < header_size:
        serial, at = _varint(payload, at)
        types.append(serial)
    if at != header_size or not types:
        raise MalformedPage("a record header that does not end where it says")
    values, at = [], header_size
    for serial in types:
        if serial in (10, 11):
            raise MalformedPage("a reserved serial type")
        size = _SERIAL_SIZES[serial] if serial < 12 else (serial - 12) // 2
        chunk = payload[at:at + size]
        if len(chunk) < size:
            raise MalformedPage("a record shorter than its header says")
        at += size
        if serial == 0:
            values.append(None)
        elif serial <= 6:
            values.append(int.from_bytes(chunk, "big", signed=True))
        elif serial == 7:
            values.append(struct.unpack(">d", chunk)[0])
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial % 2 == 0:
            values.append(bytes(chunk))
        else:
            values.append(chunk.decode(encoding))
    if at != len(payload):
        raise MalformedPage("a record longer than its header says")
    return tuple(values)


_SERIAL_SIZES = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8, 8: 0, 9: 0}


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``at``: its value and where the next field starts."""
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise MalformedPage("a varint")  # not reached


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value



# Which damaged table a page of orphan rows belongs to ------------------------------------------

@dataclass(frozen=True)
class TableShape:
    """What a row of a table looks like on disk: its columns' affinities and its rowid alias."""

    name: str
    affinities: tuple[str, ...]  # "integer", "text", "real", "numeric" or "blob", per column in order
    rowid_column: int | None  # the INTEGER PRIMARY KEY column (stored as NULL: the rowid is its value)

    @classmethod
    def of(cls, name: str, table_info: list[tuple]) -> TableShape:
        """From ``PRAGMA table_info`` rows (cid, name, type, notnull, default, pk)."""
        info = sorted(table_info)
        keys = [row for row in info if row[5]]
        alias = keys[0][0] if len(keys) == 1 and str(keys[0][2]).strip().upper() == "INTEGER" else None
        return cls(name, tuple(_affinity(str(row[2])) for row in info), alias)

    def fits(self, values: tuple) -> bool:
        if not 1 <= len(values) <= len(self.affinities):
            return False
        return all(type(v) in _FITS[a] for v, a in zip(values, self.affinities))

    def row(self, scanned: ScannedRow) -> tuple:
        """The stored values with the rowid alias filled in."""
        values = list(scanned.values)
        if self.rowid_column is not None and self.rowid_column < len(values) and values[self.rowid_column] is None:
            values[self.rowid_column] = scanned.rowid
        return tuple(values)


_NONE = type(None)
_FITS = {"integer": {int, float, _NONE}, "real": {int, float, _NONE}, "text": {str, bytes, _NONE},
         "numeric": {int, float, str, _NONE}, "blob": {int, float, str, bytes, _NONE}}


def _affinity(declared: str) -> str:
    """A column's type affinity from its declared type (https://sqlite.org/datatype3.html, 3.1)."""
    t = declared.upper()
    if "INT" in t:
        return "integer"
    if any(s in t for s in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if "BLOB" in t or not t:
        return "blob"
    if any(s in t for s in ("REAL", "FLOA", "DOUB")):
        return "real"
    return "numeric"


def rows_by_table(pages: list[list[ScannedRow]], shapes: list[TableShape]) -> dict[str, list[tuple[int, tuple]]]:
    """Each page's rows given to the one table (of ``shapes``) every row on it fits; (rowid, values) by table.

    A table whose rows have all its columns is preferred to one that would take them as rows written
    before columns were added; a page two tables fit alike is left alone.
    """
    out: dict[str, list[tuple[int, tuple]]] = {shape.name: [] for shape in shapes}
    for rows in pages:
        fitting = [s for s in shapes if all(s.fits(r.values) for r in rows)]
        whole = [s for s in fitting if all(len(r.values) == len(s.affinities) for r in rows)]
        fitting = whole or fitting
        if len(fitting) == 1:
            out[fitting[0].name] += [(r.rowid, fitting[0].row(r)) for r in rows]
    for found in out.values():
        found.sort(key=lambda item: item[0])
    return out
