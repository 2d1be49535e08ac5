"""SQLite engines for projects, and a look at a file before anything writes to it.

Every connection runs in WAL mode (readers never block the writer) with
foreign keys on, ``synchronous=FULL`` (a label is on disk when its commit
returns) and a busy timeout.

Transactions follow SQLAlchemy's documented recipe for the ``sqlite3`` driver
("Enabling Non-Legacy SQLite Transactional Modes"): the driver's own implicit
BEGIN is switched off (``isolation_level = None``) and a ``begin`` event emits
BEGIN itself. Engines derived with ``execution_options(sqlite_begin="IMMEDIATE")``
start with ``BEGIN IMMEDIATE``: the write lock is taken up front, where the busy
timeout applies, instead of a read turning into a write halfway through and
failing at once with "database is locked". If the lock is still held when the
timeout runs out, BEGIN IMMEDIATE is retried a few times.

A project this process cannot write (a read-only file, folder or disk) is read
through ``read_only_uri``: ``mode=ro``, or ``immutable=1`` when even the ``-shm``
beside it cannot be created. The trade-off of ``immutable``: SQLite then takes
no locks and reads no ``-wal``, so it is only used when nothing can write there
and no ``-wal`` holds changes (a project left open elsewhere is refused).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import time
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from voicestudio.errors import ProjectError
from voicestudio.store.migrate import DatabaseState

BUSY_TIMEOUT_S = 30.0
BEGIN_OPTION = "sqlite_begin"  # execution option: DEFERRED (default) or IMMEDIATE
BEGIN_RETRIES = 3  # further BEGIN IMMEDIATE attempts once the busy timeout has run out
RETRY_PAUSE_S = 0.05  # doubled after each attempt
DISK_FULL_BYTES = 64 * 1024  # less free space than this behind an I/O error: the disk is full
_BEGIN_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")


def is_locked_error(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" / "database table is locked" (SQLITE_BUSY/LOCKED)."""
    return "database is locked" in str(exc) or "table is locked" in str(exc)


def is_writable(path: Path) -> bool:
    """Whether this process can write the SQLite file at ``path`` and its side files (it may not exist yet).

    Decided without opening the file (see ``inspect_file`` for why): the file
    and its folder must be writable (``os.access`` also sees read-only disks
    and immutable files, where root's permissions do not count).
    """
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return os.access(path.parent, os.W_OK)


def read_only_uri(path: Path) -> str:
    """A URI that reads ``path`` without writing to it, even where not even the ``-shm`` can be created."""
    uri = path.as_uri()
    if os.access(path.parent, os.W_OK) or Path(f"{path}-shm").exists():
        return f"{uri}?mode=ro"
    if wal_holds_changes(path):
        raise ProjectError(f"{path}: read-only, and its last changes are still in {path.name}-wal, which cannot "
                           "be read without writing beside it; open it once where it can be written")
    return f"{uri}?immutable=1"


def wal_holds_changes(path: Path) -> bool:
    """Whether the ``-wal`` beside ``path`` is there and not empty: open elsewhere, or not closed cleanly."""
    try:
        return Path(f"{path}-wal").stat().st_size > 0
    except FileNotFoundError:  # also when the last program to close it removes it right now
        return False


def inspect_file(path: Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> DatabaseState | None:
    """The state of an existing SQLite file, read through a read-only connection.

    Returns None when there is nothing there yet (no file, or an empty one).
    Raises ProjectError for a folder, an unreadable file or one that is not an
    SQLite database. Nothing is written: opening for real switches the file to
    WAL mode, which would already change a file that is not ours.

    The file is never opened outside SQLite. Closing any descriptor of a file drops
    every POSIX lock this process holds on it; if this process already has the
    project open, another program closing it would then think it was the last one,
    checkpoint and delete the WAL under this process's feet ("database disk image
    is malformed"). SQLite's own connections share their locks and avoid that.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ProjectError(f"{path}: is a folder, not a project file")
    if info.st_size == 0:
        return None
    if not os.access(path, os.R_OK):
        raise ProjectError(f"{path}: cannot read (permission denied)")
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True, timeout=busy_timeout_s)
        try:
            objects = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
            tables = frozenset(name for kind, name in objects if kind == "table")
            revision = None
            if "alembic_version" in tables:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            user_version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if "file is not a database" in str(exc):
            raise ProjectError(f"{path}: not a VoiceStudio project (not an SQLite database)") from None
        if is_damage_error(exc):
            raise ProjectError(damaged_message(path, exc)) from None
        if is_disk_full(exc, path.parent):
            raise ProjectError(disk_full_message(path)) from None
        raise ProjectError(f"{path}: not a usable SQLite database ({exc})") from None
    others = frozenset(f"{kind} {name}" for kind, name in objects if kind != "table")
    return DatabaseState(revision, tables, application_id, user_version=user_version, other_objects=others)


def is_damage_error(exc: BaseException | str) -> bool:
    """True for SQLite's "database disk image is malformed" (SQLITE_CORRUPT): give SQLite's message, not a statement."""
    return "disk image is malformed" in str(exc)


def check_problems(rows) -> list[str]:
    """The problems in the rows of ``PRAGMA quick_check``/``integrity_check``, one a line.

    SQLite may answer with one row of several lines that starts with a "*** in database main ***"
    heading: the heading is no problem (kept, it left the message "damaged (damaged)").
    """
    lines = (line.strip() for row in rows for line in str(row).splitlines())
    return [line for line in lines if line and line != "ok" and not line.startswith("***")]


def damaged_message(label, exc_or_reason) -> str:
    """The one line for a damaged project: what SQLite found, and what to run."""
    found = check_problems([exc_or_reason])
    reason = f" ({found[0]})" if found else ""  # nothing said: "damaged" alone, never "damaged (damaged)"
    return f"{label}: the project is damaged{reason}: run voicestudio db check / db recover"


def disk_full_message(label) -> str:
    return f"disk full: no space left for {label}"


def is_disk_full(exc: BaseException | str, folder: Path | None) -> bool:
    """True for SQLITE_FULL, and for an I/O error (e.g. growing the ``-shm`` at open) on a disk with no space left."""
    text = str(exc).lower()
    if "database or disk is full" in text:
        return True
    if "disk i/o error" not in text or folder is None:
        return False
    try:
        return shutil.disk_usage(folder).free < DISK_FULL_BYTES
    except OSError:
        return False


def sqlite_engine(path: Path | None, busy_timeout_s: float = BUSY_TIMEOUT_S, *, read_only: bool = False) -> Engine:
    """An engine on the SQLite file at ``path`` (None: a private in-memory database, for tests).

    ``read_only``: every connection opens ``read_only_uri(path)``; nothing is written.
    """
    if path is None:
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    elif read_only:
        uri = read_only_uri(path)
        engine = create_engine(
            URL.create("sqlite", database=str(path)),  # the URL names the file; the creator opens it read-only
            creator=lambda: sqlite3.connect(uri, uri=True, timeout=busy_timeout_s, check_same_thread=False),
        )
    else:
        engine = create_engine(
            URL.create("sqlite", database=str(path)),
            connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
        )
    timeout_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            # The journal mode is stored in the file: only the first open changes it.
            journal = cursor.execute("PRAGMA journal_mode").fetchone()[0].lower()
            if not read_only and journal not in ("wal", "memory"):
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        if mode not in _BEGIN_MODES:
            raise ValueError(f"{BEGIN_OPTION} must be one of {', '.join(_BEGIN_MODES)}, not {mode!r}")
        for attempt in range(BEGIN_RETRIES + 1):
            try:
                connection.exec_driver_sql(f"BEGIN {mode}")
                return
            except OperationalError as exc:
                if mode == "DEFERRED" or not is_locked_error(exc) or attempt == BEGIN_RETRIES:
                    raise
            time.sleep(RETRY_PAUSE_S * 2**attempt)

    return engine
