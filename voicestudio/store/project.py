"""Opening a project: one database, a SQLite file by default or any SQLAlchemy URL.

SQLite runs in WAL mode (readers never block the writer) with foreign keys on,
``synchronous=FULL`` (a label is on disk when its transaction returns) and a
busy timeout. Write transactions start with ``BEGIN IMMEDIATE``: the write lock
is taken up front, waiting for other writers, instead of failing with
"database is locked" halfway through when a read turns into a write.

Alembic migrations run when a project opens, inside that same locked
transaction, so two programs opening a new project at once cannot race. A
project already at the current schema does not even import Alembic.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from voicestudio.errors import ProjectError

PROJECT_SUFFIX = ".vsproj"  # a SQLite file
# The migration chain, oldest first. Its last entry is the schema this code
# writes; a test checks it against Alembic's own history.
KNOWN_REVISIONS = ("0001_initial",)
SCHEMA_REVISION = KNOWN_REVISIONS[-1]
BUSY_TIMEOUT_MS = 30_000
_SQLITE_MAGIC = b"SQLite format 3\x00"


def default_project_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("VoiceStudio", appauthor=False) / f"default{PROJECT_SUFFIX}"


def resolve_project_target(cli_value: str | None = None) -> str:
    """``--db`` value, else ``$VOICESTUDIO_DB``, else the default project."""
    return cli_value or os.environ.get("VOICESTUDIO_DB") or str(default_project_path())


def _is_url(target: str) -> bool:
    return "://" in target


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not one of our projects before anything writes to it.

    Opening for real sets WAL mode, which rewrites the header: so existing
    files are first inspected through a read-only connection.
    """
    if path.is_dir():
        raise ProjectError(f"{path}: is a folder, not a project file")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if head != _SQLITE_MAGIC:
        raise ProjectError(f"{path}: not a VoiceStudio project (not an SQLite database)")
    import sqlite3

    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            revision = (
                conn.execute("SELECT version_num FROM alembic_version").fetchone()
                if "alembic_version" in tables else None
            )
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"{path}: not a usable project database ({exc})") from None
    _check_revision(str(path), revision[0] if revision else None, tables)


def _check_revision(label: str, revision: str | None, tables) -> None:
    if revision is None and tables:
        raise ProjectError(f"{label}: not a VoiceStudio project (it has other tables: {', '.join(sorted(tables)[:5])})")
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise ProjectError(f"{label}: written by a newer VoiceStudio (schema {revision}); upgrade VoiceStudio to open it")


def _sqlite_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Take transaction control from the sqlite3 module: we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Project:
    """An open project. ``session()`` for reads, ``write()`` for writes."""

    def __init__(self, url: str, engine: Engine, label: str):
        self.url = url
        self.engine = engine
        self.label = label  # what to call it in messages: the path, or the URL without password
        self.is_sqlite = engine.dialect.name == "sqlite"
        write_engine = engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine
        self._read = sessionmaker(bind=engine, expire_on_commit=False)
        self._write = sessionmaker(bind=write_engine, expire_on_commit=False)

    @contextmanager
    def session(self):
        """A session for reading (commits on success, rolls back on error)."""
        with self._read() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def write(self):
        """A write transaction holding the write lock from its start."""
        with self._write() as session:
            _acquire(session, self.label)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _acquire(session: Session, label: str, attempts: int = 5) -> None:
    """Begin the transaction now; the busy timeout waits, and we retry a few times beyond it."""
    for attempt in range(attempts):
        try:
            session.connection()
            return
        except OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            session.rollback()
            if attempt == attempts - 1:
                raise ProjectError(f"{label}: the project stayed locked by another program; try again") from None
            time.sleep(0.1 * (attempt + 1))


def open_project(target: str | os.PathLike | None = None) -> Project:
    """Open (creating and migrating as needed) the project at a path or URL."""
    target = str(target) if target is not None else resolve_project_target()
    if _is_url(target):
        from sqlalchemy.engine import make_url

        url = make_url(target)
        label = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return open_project(url.database)
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except Exception as exc:
            raise ProjectError(f"{label}: cannot use this database URL ({exc})") from None
    else:
        path = Path(target).expanduser().absolute()
        _check_sqlite_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"{path}: cannot create its folder ({exc.strerror or exc})") from None
        label = str(path)
        engine = _sqlite_engine(path)
    project = Project(str(engine.url), engine, label)
    try:
        _migrate(project)
    except ProjectError:
        engine.dispose()
        raise
    except (DatabaseError, OperationalError) as exc:
        engine.dispose()
        reason = str(exc.orig) if getattr(exc, "orig", None) is not None else str(exc)
        if "not a database" in reason:
            reason = "not a VoiceStudio project (not an SQLite database)"
        raise ProjectError(f"{label}: {reason}") from None
    return project


def current_revision(connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _migrate(project: Project) -> None:
    with project.write() as session:
        connection = session.connection()
        revision = current_revision(connection)
        if revision == SCHEMA_REVISION:
            return
        _check_revision(project.label, revision, inspect(connection).get_table_names())
        run_migrations(connection)


def migrations_dir() -> Path:
    return Path(__file__).with_name("migrations")


def alembic_config(connection=None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["connection"] = connection
    return config


def run_migrations(connection, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)
