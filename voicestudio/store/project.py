"""Opening a project: one database, a SQLite file by default or any SQLAlchemy URL.

A project file is an SQLite database; VoiceStudio names them ``*.vsproj``
(``PROJECT_SUFFIX``). ``open_project(None)`` opens ``$VOICESTUDIO_DB`` if set,
else ``default.vsproj`` in the user data folder.

Opening checks the database before changing anything: a file that is not
SQLite, a database of another application, or a project written by a newer
VoiceStudio is refused with a ``ProjectError`` and left as it was. An older
project is upgraded with Alembic, under the write lock so that two programs
opening it at once cannot race; a project already at ``SCHEMA_REVISION`` does
not import Alembic at all.

``Project.session()`` is for reading, ``Project.write()`` for writing (on
SQLite it takes the write lock at BEGIN; see ``voicestudio.store.sqlite``).

A project file this process cannot write (read-only file, folder or disk) is
opened read-only when it is already at ``SCHEMA_REVISION``: reading works and
``write()`` says "read-only: cannot write to PROJECT". A damaged file (SQLite's
"malformed") is found by ``PRAGMA quick_check`` before the first write of each
open (and at open when a ``-wal`` says it was not closed cleanly), or by any
"malformed" error on the way: writes are then refused, pointing at
``voicestudio db check`` and ``db recover`` (``voicestudio.store.repair``).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from voicestudio.errors import ProjectError
from voicestudio.store.migrate import (  # noqa: F401  (KNOWN_REVISIONS re-exported)
    KNOWN_REVISIONS,
    SCHEMA_REVISION,
    DatabaseState,
    check_state,
    read_state,
)
from voicestudio.store.sqlite import (
    BEGIN_OPTION,
    BUSY_TIMEOUT_S,
    check_problems,
    damaged_message,
    disk_full_message,
    inspect_file,
    is_damage_error,
    is_disk_full,
    is_locked_error,
    is_writable,
    sqlite_engine,
    wal_holds_changes,
)

PROJECT_SUFFIX = ".vsproj"  # an SQLite file
ENV_VAR = "VOICESTUDIO_DB"
# SQLite failures that come from the user's environment, not from a bug.
_ENVIRONMENT_ERRORS = ("disk i/o error", "unable to open database")


def default_project_path() -> Path:
    """``default.vsproj`` in the user data folder of the app "VoiceStudio"."""
    import platformdirs

    return platformdirs.user_data_path("VoiceStudio", appauthor=False) / f"default{PROJECT_SUFFIX}"


def resolve_project_target(cli_value: str | os.PathLike | None = None) -> str:
    """The project to open: ``--db`` value, else ``$VOICESTUDIO_DB``, else the default project."""
    if cli_value is not None and str(cli_value).strip():
        return str(cli_value)
    env = os.environ.get(ENV_VAR, "").strip()
    return env or str(default_project_path())


class Project:
    """An open project. ``session()`` for reads, ``write()`` for writes, ``close()`` when done."""

    def __init__(self, engine: Engine, label: str, *, read_only: bool = False, folder: Path | None = None):
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        self.label = label  # what to call it in messages: the path, or the URL without password
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.read_only = read_only  # a file this process cannot write: write() refuses
        self.folder = folder  # the SQLite file's folder (whose free space tells "disk full")
        self.damage: str | None = None  # what SQLite found wrong with the file; write() refuses then
        self._checked = not self.is_sqlite or folder is None  # quick_check done (or not needed)
        write_engine = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"}) if self.is_sqlite else engine
        self._read = sessionmaker(bind=engine, expire_on_commit=False)
        self._write = sessionmaker(bind=write_engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Project({self.label!r})"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reading: commits on success, rolls back on error.

        Do not write here: on SQLite a read transaction that turns into a write
        fails at once with "database is locked" if another program wrote in
        between. Use ``write()``.
        """
        with self._transaction(self._read, begin_now=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on error.

        On SQLite it begins with ``BEGIN IMMEDIATE``, so it waits (busy timeout,
        then a few retries) for any other writer before the block runs, and
        nothing inside fails with "database is locked". Refused on a read-only
        or damaged project (the first write of an open runs ``quick_check``).
        """
        if self.read_only:
            raise ProjectError(f"read-only: cannot write to {self.label}")
        if not self._checked:
            self.check_quickly()
        if self.damage is not None:
            raise ProjectError(damaged_message(self.label, self.damage))
        with self._transaction(self._write, begin_now=True) as session:
            yield session

    def check_quickly(self) -> str | None:
        """Run SQLite's ``PRAGMA quick_check`` (reads every page, O(size)); the damage found, or None."""
        with self.session() as session:
            rows = [row[0] for row in session.connection().exec_driver_sql("PRAGMA quick_check(4)")]
        self._checked = True
        if rows != ["ok"]:  # the problems (SQLite may put them in one row, after a heading)
            self.damage = "; ".join(check_problems(rows)) or "quick_check failed"
        return self.damage

    @contextmanager
    def _transaction(self, factory, *, begin_now: bool) -> Iterator[Session]:
        with factory() as session, self._translated():
            if begin_now:
                session.connection()  # begin now: take the write lock before the caller reads
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn the database failures a user can fix (locked, read-only, disk full, damaged) into ProjectError."""
        try:
            yield
        except DatabaseError as exc:  # OperationalError is one
            reason = str(exc.orig if exc.orig is not None else exc)  # SQLite's words, not the statement's
            if is_damage_error(reason):
                self.damage = reason
                raise ProjectError(damaged_message(self.label, reason)) from exc
            if not isinstance(exc, OperationalError):
                raise
            if is_locked_error(exc):
                raise ProjectError(f"{self.label}: another program kept the project locked; try again") from exc
            if is_disk_full(reason, self.folder):
                raise ProjectError(disk_full_message(self.label)) from exc
            if "readonly database" in reason.lower():
                raise ProjectError(f"read-only: cannot write to {self.label}") from exc
            if any(text in reason.lower() for text in _ENVIRONMENT_ERRORS):
                raise ProjectError(f"{self.label}: {reason}") from exc
            raise

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_project(target: str | os.PathLike | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Project:
    """Open the project at a path or SQLAlchemy URL, creating or upgrading it as needed.

    Parameters
    ----------
    target
        A file path (an SQLite file, created with its folders if missing), or a
        URL containing ``://`` (``sqlite:///…``, ``postgresql://…``; ``sqlite://``
        is a private in-memory project). None: ``resolve_project_target(None)``.
    busy_timeout_s
        How long SQLite waits for another program's write lock before each retry.

    Raises
    ------
    ProjectError
        The target is not a VoiceStudio project, is from a newer VoiceStudio,
        or cannot be opened. The file is left untouched.
    """
    target = str(target) if target is not None else resolve_project_target(None)
    url = database_url(target)
    if url is not None:
        label = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                return open_project(url.database, busy_timeout_s=busy_timeout_s)
            return _opened(sqlite_engine(None), label, state=None)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")  # psycopg 3 (a dependency), not SQLAlchemy's psycopg2
        try:
            from sqlalchemy import create_engine

            engine = create_engine(url, pool_pre_ping=True)
        except Exception as exc:  # unknown dialect, missing driver, bad URL
            raise ProjectError(f"{label}: cannot use this database URL ({exc})") from None
        return _opened(engine, label, state=None)

    path = Path(target).expanduser().absolute()
    state = inspect_file(path, busy_timeout_s)
    if state is not None:
        check_state(str(path), state)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ProjectError(disk_full_message(path)) from None
        raise ProjectError(f"{path}: cannot create its folder ({exc.strerror or exc})") from None
    if not is_writable(path):
        if state is None or state.revision != SCHEMA_REVISION:
            raise ProjectError(f"read-only: cannot write to {path}"
                               + (" (it needs upgrading to this VoiceStudio's schema)" if state else ""))
        return Project(sqlite_engine(path, busy_timeout_s, read_only=True), str(path), read_only=True,
                       folder=path.parent)
    project = _opened(sqlite_engine(path, busy_timeout_s), str(path), state, folder=path.parent)
    if wal_holds_changes(path):
        _check_after_unclean_close(project)
    return project


def _check_after_unclean_close(project: Project) -> None:
    """A non-empty ``-wal`` at open: the project is open elsewhere, or was not closed cleanly. Check it now."""
    try:
        project.check_quickly()
    except ProjectError:
        if project.damage is None:
            project.close()
            raise
        # "malformed" while checking: Project.damage is set and write() refuses; reads go on


def database_url(target: str) -> URL | None:
    """``target`` as a database URL, or None when it is a file path.

    Only a URL whose scheme names a database SQLAlchemy knows is one
    (``sqlite:///…``, ``postgresql://…``); anything else, ``my://project.vsproj``
    included, is a file path (``://`` is legal in a path).
    """
    if "://" not in target:
        return None
    try:
        url = make_url(target)
        url.set(drivername=url.get_backend_name()).get_dialect()  # the database, whatever its driver
    except (ArgumentError, NoSuchModuleError, ValueError):
        return None
    return url


def _opened(engine: Engine, label: str, state: DatabaseState | None, *, folder: Path | None = None) -> Project:
    """The project on ``engine``, migrated to this code's schema (unless it already is)."""
    project = Project(engine, label, folder=folder)
    if state is not None and state.revision == SCHEMA_REVISION:
        return project  # the fast path: no Alembic, no write lock
    try:
        _migrate(project)
    except ProjectError:
        engine.dispose()
        raise
    except DatabaseError as exc:  # includes OperationalError: unreachable server, bad file
        engine.dispose()
        reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
        raise ProjectError(f"{label}: cannot open the project ({reason})") from None
    return project


def _migrate(project: Project) -> None:
    """Upgrade to ``SCHEMA_REVISION`` under the write lock, checking again once it is held."""
    if not project.is_sqlite:
        with project.engine.connect() as connection:
            state = read_state(connection)
        check_state(project.label, state)
        if state.revision == SCHEMA_REVISION:
            return
    with _migration_transaction(project) as connection:
        state = read_state(connection)
        check_state(project.label, state)
        if state.revision != SCHEMA_REVISION:
            from voicestudio.store.migrate import run_migrations

            run_migrations(connection)


@contextmanager
def _migration_transaction(project: Project) -> Iterator:
    """A connection in a write transaction for migrations; on SQLite with foreign keys off.

    SQLite changes a table's constraints by rebuilding it, and dropping the old
    table would cascade into the rows that reference it (clips, labels) unless
    foreign keys are off. They can only be switched off outside a transaction,
    so this connection does it before BEGIN, checks them before COMMIT and
    switches them on again before going back to the pool.
    """
    if not project.is_sqlite:
        with project.write() as session:
            yield session.connection()
        return
    with project._translated(), project.engine.connect() as connection:
        raw = connection.connection.driver_connection
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.execution_options(**{BEGIN_OPTION: "IMMEDIATE"}).begin():
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise ProjectError(f"{project.label}: the upgrade would break {len(broken)} references; nothing was changed")
        finally:
            raw.execute("PRAGMA foreign_keys = ON")
