"""Checking a project file for damage, and recovering what can still be read from a damaged one.

``check_project``: SQLite's ``PRAGMA integrity_check`` and ``foreign_key_check``
through a read-only connection, with a verdict.

``recover_project``: what the ``sqlite3`` shell's ``.recover`` does, which
Python's ``sqlite3`` module lacks. A fresh project with the damaged one's
schema revision is created beside ``out``; every table is read row by row in
rowid order, and where a damaged page makes a range of rows unreadable the
reader steps over it (probing further ahead, then narrowing back to the first
readable row), so one bad page costs only the rows on it. A damaged root or
interior page hides the intact leaves below it: for the ids a table could not
read, ``pagescan`` finds the rows on leaf pages no b-tree reaches any more
(``found_on_pages`` in the report). Parents are copied
before children with foreign keys on: a row whose parent was lost (a label
whose clip was on the bad page) is refused and counted, never stored dangling.
The copy passes ``integrity_check`` before it is renamed to ``out``. The
damaged original is only ever opened read-only.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from voicestudio.errors import ProjectError
from voicestudio.store.backup import check_target, project_file, replacing
from voicestudio.store.migrate import KNOWN_REVISIONS, SCHEMA_REVISION, check_state
from voicestudio.store.pagescan import MalformedPage, PageScan, TableShape, rows_by_table
from voicestudio.store.sqlite import (
    BUSY_TIMEOUT_S,
    disk_full_message,
    inspect_file,
    is_damage_error,
    is_disk_full,
    read_only_uri,
)

MAX_PROBLEMS = 100  # integrity_check lines kept
_FIRST_ROWID, _LAST_ROWID = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class CheckReport:
    """What SQLite found in a project file: no problems means it is sound."""

    path: Path
    problems: tuple[str, ...]  # integrity_check lines, broken references, or why it could not be read

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        if self.ok:
            return f"{self.path}: ok (integrity_check ok, no broken references)"
        shown = "\n".join(f"  {problem}" for problem in self.problems[:10])
        more = f"\n  ... and {len(self.problems) - 10} more" if len(self.problems) > 10 else ""
        return (f"{self.path}: damaged ({len(self.problems)} problems)\n{shown}{more}\n"
                f"recover what can be read into a new project: voicestudio db recover {self.path} OUT.vsproj")

    def to_dict(self) -> dict:
        return {"path": str(self.path), "ok": self.ok, "problems": list(self.problems)}


@dataclass(frozen=True)
class TableRecovery:
    """One table of a recovered project."""

    table: str
    recovered: int  # rows in the copy
    refused: int = 0  # rows read but refused: their parent row was lost, or their values break the schema
    unreadable: tuple[tuple[int, int | None], ...] = ()  # rowid ranges (first, last; None: to the end) not read
    found_on_pages: int = 0  # of ``recovered``: rows of the unreadable ranges found on intact leaf pages

    @property
    def lost(self) -> int | None:
        """Rows known lost: refused ones plus every id in the unreadable ranges not found on a page
        (None when a range is open: how many rows it held is not known)."""
        if any(last is None for _, last in self.unreadable):
            return None
        return self.refused + sum(last - first + 1 for first, last in self.unreadable) - self.found_on_pages

    def to_dict(self) -> dict:
        return {"table": self.table, "recovered": self.recovered, "lost": self.lost, "refused": self.refused,
                "unreadable": [list(r) for r in self.unreadable], "found_on_pages": self.found_on_pages}


@dataclass(frozen=True)
class RecoverReport:
    """A recovered copy: where it is and what each table kept and lost."""

    source: Path
    path: Path
    schema_revision: str
    tables: tuple[TableRecovery, ...]
    integrity: str  # of the copy: always "ok" (anything else raises)
    duration_s: float

    def text(self) -> str:
        lines = [f"recovered {self.source} into {self.path} (integrity {self.integrity}, {self.duration_s:.2f} s):"]
        for t in self.tables:
            lost = "unknown (the end of the table is unreadable)" if t.lost is None else str(t.lost)
            ranges = ", ".join(f"{a}-{'end' if b is None else b}" for a, b in t.unreadable)
            lines.append(f"  {t.table}: {t.recovered} rows recovered, {lost} lost"
                         + (f" (unreadable ids {ranges}" if ranges else "")
                         + (f"; {t.found_on_pages} of them found on intact pages)" if t.found_on_pages
                            else ")" if ranges else "")
                         + (f" ({t.refused} refused: parent lost or values broken)" if t.refused else ""))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"source": str(self.source), "path": str(self.path), "schema_revision": self.schema_revision,
                "tables": [t.to_dict() for t in self.tables], "integrity": self.integrity,
                "duration_s": round(self.duration_s, 3)}


def check_project(source, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> CheckReport:
    """Check the SQLite project at ``source`` (path or ``sqlite:///`` URL) without writing to it.

    Raises ProjectError when there is no project there or it is not a VoiceStudio project.
    """
    path = _project(source, busy_timeout_s)
    conn = sqlite3.connect(read_only_uri(path), uri=True, timeout=busy_timeout_s)
    try:
        problems = _pragma_problems(conn, f"integrity_check({MAX_PROBLEMS})", lambda row: row[0])
        problems += _pragma_problems(conn, "foreign_key_check",
                                     lambda row: f"{row[0]} row {row[1]}: its {row[2]} row is missing")
        if problems:  # say which rows are out of reach, as recover would lose them
            problems += [f"{table}: rows with ids {first}-{'end' if last is None else last} cannot be read"
                         for table in _table_names(conn) for first, last in _unreadable(conn, table)]
    finally:
        conn.close()
    return CheckReport(path, tuple(problems))


def _pragma_problems(conn: sqlite3.Connection, pragma: str, describe) -> list[str]:
    """What a checking PRAGMA reports (but "ok"); a check that cannot run to its end is a problem too."""
    try:
        return [describe(row) for row in conn.execute(f"PRAGMA {pragma}") if row[0] != "ok"]
    except sqlite3.DatabaseError as exc:
        return [f"{pragma.split('(')[0]} stopped: {exc}"]


def _table_names(conn: sqlite3.Connection) -> list[str]:
    try:
        return [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    except sqlite3.DatabaseError:
        return []


def _unreadable(conn: sqlite3.Connection, table: str) -> list[tuple[int, int | None]]:
    reader = _RowReader(conn, table, ["rowid"])
    try:
        for _ in reader.rows():
            pass
    except sqlite3.DatabaseError:
        return [(1, None)]
    return reader.unreadable


def recover_project(source, out, *, force: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S) -> RecoverReport:
    """Copy every row that can be read from the (damaged) project at ``source`` into a new project ``out``.

    ``out`` must be in an existing folder and is replaced only with ``force``;
    ``source`` is opened read-only and never changed.
    """
    started = time.monotonic()
    src = _project(source, busy_timeout_s)
    out = check_target(src, Path(out).expanduser().absolute(), force)
    damaged = sqlite3.connect(read_only_uri(src), uri=True, timeout=busy_timeout_s)
    try:
        revision = _revision(damaged, src)
        with replacing(out, "recovered copy") as partial:
            try:
                tables = _copy_into(damaged, partial, revision, out, src)
            except (sqlite3.Error, DBAPIError) as exc:  # writing the copy: the source's damage is handled inside
                if is_disk_full(exc, out.parent):
                    raise ProjectError(disk_full_message(out)) from None
                raise ProjectError(f"{out}: cannot write the recovered copy ({exc})") from None
    finally:
        damaged.close()
    return RecoverReport(source=src, path=out, schema_revision=revision, tables=tables, integrity="ok",
                         duration_s=time.monotonic() - started)


def _copy_into(damaged: sqlite3.Connection, partial: Path, revision: str, out: Path,
               src: Path | None = None) -> tuple[TableRecovery, ...]:
    """Every readable row of ``damaged`` into a fresh project at ``partial``, checked."""
    _create_schema(partial, revision)
    copy = sqlite3.connect(partial, isolation_level=None)
    orphans = _OrphanRows(damaged, src)
    try:
        copy.execute("PRAGMA foreign_keys = ON")
        tables = tuple(_copy_table(damaged, copy, table, orphans) for table in _tables_parents_first(copy))
        check = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if check != ["ok"]:  # a bug here, not the source's damage: the copy is written fresh
            raise ProjectError(f"{out}: the recovered copy failed its integrity check ({check[0]})")
        copy.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        copy.close()
    return tables


def _project(source, busy_timeout_s: float) -> Path:
    """The SQLite file of a VoiceStudio project (one too damaged to tell is taken as one)."""
    path = project_file(source)
    try:
        state = inspect_file(path, busy_timeout_s)
    except ProjectError as exc:
        if "is damaged" in str(exc):
            return path  # its schema itself is unreadable: check says so, recover reads what it can
        raise
    if state is None:
        raise ProjectError(f"{path}: no project there")
    check_state(str(path), state)
    if state.revision is None:
        raise ProjectError(f"{path}: not a VoiceStudio project (an empty database)")
    return path


def _revision(damaged: sqlite3.Connection, path: Path) -> str:
    """The damaged project's schema revision (this code's when it cannot be read)."""
    try:
        row = damaged.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return SCHEMA_REVISION
    if row is None or row[0] not in KNOWN_REVISIONS:
        if row is not None:
            raise ProjectError(f"{path}: written by a newer VoiceStudio (schema {row[0]}); recover it with that version")
        return SCHEMA_REVISION
    return row[0]


def _create_schema(path: Path, revision: str) -> None:
    """An empty project at ``path`` with the schema of ``revision`` (the next open upgrades it as usual)."""
    from voicestudio.store.migrate import run_migrations
    from voicestudio.store.sqlite import sqlite_engine

    engine = sqlite_engine(path)
    try:
        with engine.begin() as connection:
            run_migrations(connection, revision)
    finally:
        engine.dispose()


def _tables_parents_first(copy: sqlite3.Connection) -> list[str]:
    """The copy's tables (but alembic_version, written by the migration) with referenced tables first."""
    names = [row[0] for row in copy.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != 'alembic_version' ORDER BY name")]
    parents = {name: {row[2] for row in copy.execute(f"PRAGMA foreign_key_list({_quoted(name)})")} - {name}
               for name in names}
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        ordered += ready or [n for n in names if n not in ordered]  # a cycle: take the rest as they are
    return ordered


def _copy_table(damaged: sqlite3.Connection, copy: sqlite3.Connection, table: str,
                orphans: _OrphanRows | None = None) -> TableRecovery:
    columns = [row[1] for row in copy.execute(f"PRAGMA table_info({_quoted(table)})")]
    try:
        present = {row[1] for row in damaged.execute(f"PRAGMA table_info({_quoted(table)})")}
    except sqlite3.DatabaseError:
        present = set()
    columns = [c for c in columns if c in present]
    if not columns:
        return TableRecovery(table, 0, unreadable=((_FIRST_ROWID, None),) if not present else ())
    reader = _RowReader(damaged, table, columns)
    insert = (f"INSERT INTO {_quoted(table)} ({', '.join(map(_quoted, columns))}) "
              f"VALUES ({', '.join('?' * len(columns))})")
    recovered = refused = 0
    copy.execute("BEGIN")
    for row in reader.rows():
        try:
            copy.execute(insert, row)
            recovered += 1
        except sqlite3.IntegrityError:
            refused += 1
    found = 0
    if reader.unreadable and orphans is not None:  # the rows of those ids may sit on intact leaves
        found = _copy_orphans(copy, table, columns, reader.unreadable, orphans)
    copy.execute("COMMIT")
    return TableRecovery(table, recovered + found, refused, tuple(reader.unreadable), found)


def _copy_orphans(copy: sqlite3.Connection, table: str, columns: list[str], unreadable, orphans: _OrphanRows) -> int:
    """Rows of ``table`` found on leaf pages its b-tree no longer reaches, for the ids it could not read."""
    found = 0
    for rowid, named in orphans.rows(table):
        if not any(first <= rowid and (last is None or rowid <= last) for first, last in unreadable):
            continue  # read through the table already (or never lost)
        kept = {name: value for name, value in named.items() if name in columns}
        try:
            copy.execute(f"INSERT INTO {_quoted(table)} ({', '.join(map(_quoted, kept))}) "
                         f"VALUES ({', '.join('?' * len(kept))})", tuple(kept.values()))
            found += 1
        except sqlite3.IntegrityError:
            pass  # its parent was lost, or it is not this table's after all: still counted as lost
    return found


class _OrphanRows:
    """Rows on table-leaf pages that no b-tree reaches (``pagescan``), by table; the file is scanned once,
    when a table first has ids it could not read."""

    def __init__(self, damaged: sqlite3.Connection, path: Path | None):
        self.damaged, self.path = damaged, path
        self._by_table: dict[str, list[tuple[int, dict]]] | None = None

    def rows(self, table: str) -> list[tuple[int, dict]]:
        """(rowid, {column: value}) of ``table``'s orphan rows, by rowid."""
        if self._by_table is None:
            self._by_table = self._scan()
        return self._by_table.get(table, [])

    def _scan(self) -> dict[str, list[tuple[int, dict]]]:
        if self.path is None:
            return {}
        try:
            schema = self.damaged.execute("SELECT type, name, rootpage FROM sqlite_master").fetchall()
            names = [name for kind, name, _ in schema if kind == "table" and not name.startswith("sqlite_")]
            infos = {name: self.damaged.execute(f"PRAGMA table_info({_quoted(name)})").fetchall() for name in names}
            pages = PageScan.open(self.path).orphan_rows([1, *(root for _, _, root in schema if root)])
        except (sqlite3.DatabaseError, MalformedPage, OSError):
            return {}  # the schema itself is unreadable: nothing to tell the pages apart by
        shapes = [TableShape.of(name, infos[name]) for name in names if infos[name]]
        columns = {name: [row[1] for row in sorted(infos[name])] for name in names}
        return {table: [(rowid, dict(zip(columns[table], values))) for rowid, values in rows]
                for table, rows in rows_by_table(pages, shapes).items()}


@dataclass
class _RowReader:
    """Rows of one table in rowid order, stepping over the rowid ranges a damaged page makes unreadable."""

    conn: sqlite3.Connection
    table: str
    columns: list[str]
    batch: int = 256
    unreadable: list[tuple[int, int | None]] = field(default_factory=list)

    def rows(self):
        start = _FIRST_ROWID
        while start <= _LAST_ROWID:
            try:
                found, complete = self._read_from(start)
            except sqlite3.DatabaseError as exc:
                if not is_damage_error(exc) and "not a database" not in str(exc):
                    raise
                resume = self._next_readable(start)
                self.unreadable.append((max(start, 1), None if resume is None else resume - 1))
                if resume is None:
                    return
                start = resume
                continue
            for _, *values in found:
                yield values
            if complete and len(found) < self.batch:
                return  # the end of the table
            start = found[-1][0] + 1

    def _read_from(self, start: int) -> tuple[list[tuple], bool]:
        """Up to ``batch`` rows from rowid ``start`` on, and False when a damaged page cut them short.

        Raises the damage when not even the first row can be read.
        """
        cursor = self.conn.execute(
            f"SELECT rowid, {', '.join(map(_quoted, self.columns))} FROM {_quoted(self.table)} NOT INDEXED "
            f"WHERE rowid >= ? ORDER BY rowid LIMIT {self.batch}", (start,))
        rows: list[tuple] = []
        try:
            for row in cursor:
                rows.append(row)
        except sqlite3.DatabaseError:
            if not rows:
                raise
            return rows, False
        return rows, True

    def _readable_at(self, rowid: int) -> bool:
        try:
            self._read_from(rowid)
        except sqlite3.DatabaseError:
            return False
        return True

    def _next_readable(self, failed: int) -> int | None:
        """The first rowid after ``failed`` from which reading works again (None: nothing after it reads)."""
        step, probe = 1, failed + 1
        while not self._readable_at(probe):
            failed = probe
            step *= 2
            if probe > _LAST_ROWID - step:
                return None
            probe = failed + step
        while probe - failed > 1:  # narrow back: the first readable start in (failed, probe]
            middle = (failed + probe) // 2
            if self._readable_at(middle):
                probe = middle
            else:
                failed = middle
        return probe


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
