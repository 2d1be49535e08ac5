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
"""

from __future__ import annotations

import os
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
_BEGIN_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")


def is_locked_error(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" / "database table is locked" (SQLITE_BUSY/LOCKED)."""
    return "database is locked" in str(exc) or "table is locked" in str(exc)


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
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=busy_timeout_s)
        try:
            tables = frozenset(
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            )
            revision = None
            if "alembic_version" in tables:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if "file is not a database" in str(exc):
            raise ProjectError(f"{path}: not a VoiceStudio project (not an SQLite database)") from None
        raise ProjectError(f"{path}: not a usable SQLite database ({exc})") from None
    return DatabaseState(revision, tables, application_id)


def sqlite_engine(path: Path | None, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Engine:
    """An engine on the SQLite file at ``path`` (None: a private in-memory database, for tests)."""
    if path is None:
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
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
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() not in ("wal", "memory"):
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
