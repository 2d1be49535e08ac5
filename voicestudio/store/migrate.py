"""Schema versions: what this code knows, what a database holds, and upgrading it.

``SCHEMA_REVISION`` is the Alembic revision this code writes. Opening a project
already at that revision never imports Alembic (it costs start-up time); a
test checks these constants against Alembic's own history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicestudio.errors import ProjectError

# The migration chain, oldest first; the last entry is the schema this code writes.
KNOWN_REVISIONS = ("0001_initial", "0002_project_marker", "0003_postgres_append_only", "0004_replaced_files",
                   "0005_project_settings")
SCHEMA_REVISION = KNOWN_REVISIONS[-1]
# SQLite header field marking the file as a VoiceStudio project ("VSPJ"), set by 0002.
APPLICATION_ID = 0x5653504A
# A table every VoiceStudio schema has: tells "newer project" from "someone else's
# Alembic database" where there is no application id (databases other than SQLite).
MARKER_TABLE = "label_events"


# application_id values of well-known SQLite formats, to name them in the refusal.
KNOWN_APPLICATIONS = {0x47504B47: "GeoPackage", 0x47503130: "GeoPackage 1.0", 0x47503131: "GeoPackage 1.1"}


@dataclass(frozen=True)
class DatabaseState:
    """What a database holds, read without changing it."""

    revision: str | None  # alembic_version, None without one
    tables: frozenset[str]
    application_id: int | None = None  # SQLite only
    user_version: int | None = None  # SQLite only: another application's own schema version
    other_objects: frozenset[str] = frozenset()  # SQLite only: "view v", "trigger t", "index i"


def check_state(label: str, state: DatabaseState) -> None:
    """Refuse a database this code must not touch, with one line naming it and why.

    Only a database with nothing at all in it becomes a new project: no table,
    view, index or trigger, no other application's id, no ``user_version``.
    """
    if state.application_id not in (None, 0, APPLICATION_ID):
        owner = f"a {KNOWN_APPLICATIONS[state.application_id]}" if state.application_id in KNOWN_APPLICATIONS \
            else "another application's"
        raise ProjectError(f"{label}: not a VoiceStudio project ({owner} database: "
                           f"application_id {state.application_id:#010x})")
    if state.revision is None:
        if state.tables:
            listed = ", ".join(sorted(state.tables)[:5])
            raise ProjectError(f"{label}: not a VoiceStudio project (it has other tables: {listed})")
        if state.other_objects:
            listed = ", ".join(sorted(state.other_objects)[:5])
            raise ProjectError(f"{label}: not a VoiceStudio project (it holds {listed})")
        if state.user_version:
            raise ProjectError(f"{label}: not a VoiceStudio project (another application's database: "
                               f"user_version {state.user_version})")
        return
    if state.revision in KNOWN_REVISIONS:
        return
    ours = (
        state.application_id == APPLICATION_ID
        if state.application_id is not None
        else MARKER_TABLE in state.tables
    )
    if ours:
        raise ProjectError(
            f"{label}: written by a newer VoiceStudio (schema {state.revision}); upgrade VoiceStudio to open it"
        )
    raise ProjectError(f"{label}: not a VoiceStudio project (its schema version {state.revision!r} is not ours)")


def read_state(connection) -> DatabaseState:
    """The state of the database behind a SQLAlchemy connection."""
    from sqlalchemy import inspect, text

    tables = frozenset(inspect(connection).get_table_names())
    revision = None
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if connection.dialect.name != "sqlite":
        return DatabaseState(revision, tables)
    others = frozenset(f"{kind} {name}" for kind, name in connection.exec_driver_sql(
        "SELECT type, name FROM sqlite_master WHERE type != 'table'"))
    return DatabaseState(revision, tables, connection.exec_driver_sql("PRAGMA application_id").scalar(),
                         user_version=connection.exec_driver_sql("PRAGMA user_version").scalar(),
                         other_objects=others)


def migrations_dir() -> Path:
    return Path(__file__).with_name("migrations")


def alembic_config(connection=None):
    """An Alembic config built in code (no alembic.ini at run time)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def run_migrations(connection, revision: str = "head") -> None:
    """Upgrade the database on ``connection`` inside its open transaction."""
    from alembic import command

    command.upgrade(alembic_config(connection), revision)
