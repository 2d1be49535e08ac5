"""Which files are the open project's, and which are SQLite databases, told apart safely.

Code that reads arbitrary files (the importer's scan) must never open the open
project's database or its ``-wal``, ``-shm`` or ``-journal`` with ``open()``:
closing any descriptor of a file drops every POSIX lock this process holds on
it, and SQLite then no longer protects the project from other programs (the
trap ``voicestudio.store.sqlite`` documents; it showed as SIGBUS, "locking
protocol" and a malformed database when a folder holding its own project was
imported while someone labelled). So the project's own files are recognised
by name and by (device, inode), from ``stat`` alone. Any other file may be
opened to read its 16-byte header: this process holds no lock on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
SQLITE_HEADER = b"SQLite format 3\x00"
PROJECT_SUFFIX = ".vsproj"  # as voicestudio.store.project names them (not imported: it pulls in SQLAlchemy)


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def main_file_of(path: str) -> str | None:
    """``x.vsproj`` for ``x.vsproj-wal`` (or ``-shm``, ``-journal``); None for any other name."""
    for suffix in SIDE_SUFFIXES:
        if path.endswith(suffix) and len(path) > len(suffix):
            return path[: -len(suffix)]
    return None


@dataclass(frozen=True)
class ProjectFiles:
    """The open project's database and side files: their names and the identities of those that exist."""

    names: frozenset[str]
    identities: frozenset[tuple[int, int]]

    @classmethod
    def none(cls) -> "ProjectFiles":
        """For a project that is not a file (PostgreSQL, in memory)."""
        return cls(frozenset(), frozenset())

    @classmethod
    def of(cls, project) -> "ProjectFiles":
        """The files of an open ``Project`` (none unless it is an SQLite file)."""
        database = project.engine.url.database if project.is_sqlite else None
        if not database or database == ":memory:" or database.startswith("file:"):
            return cls.none()
        return cls.at(Path(database))

    @classmethod
    def at(cls, database: Path) -> "ProjectFiles":
        """The files of the SQLite database at ``database`` (as named, and with links resolved)."""
        mains = {str(Path(database).absolute()), os.path.realpath(database)}
        names = frozenset(main + suffix for main in mains for suffix in ("", *SIDE_SUFFIXES))
        identities = set()
        for name in names:
            try:
                identities.add(_identity(os.stat(name)))
            except OSError:
                pass  # a side file that does not exist (yet): its name still counts
        return cls(names, frozenset(identities))

    def owns(self, path, st: os.stat_result | None = None) -> bool:
        """Whether ``path`` is one of these files, decided without opening it."""
        path = str(path)
        if path in self.names:
            return True
        if not self.identities:
            return False
        try:
            if _identity(st or os.stat(path)) in self.identities:
                return True  # the project under another name (a hard link, a linked folder)
            main = main_file_of(path)
            return main is not None and _identity(os.stat(main)) in self.identities  # a side file made since
        except OSError:
            return False


def database_kind(path) -> str | None:
    """What kind of database file ``path`` is, or None for anything else.

    Opens ``path`` (or the database a side file belongs to) to read 16 bytes:
    never call it on the open project's files (``ProjectFiles.owns`` first).
    """
    path = str(path)
    main = main_file_of(path)
    if main is not None and os.path.isfile(main) and _has_sqlite_header(main):
        return f"a side file of the SQLite database {os.path.basename(main)}"
    if _has_sqlite_header(path):
        return "a VoiceStudio project" if path.endswith(PROJECT_SUFFIX) else "an SQLite database"
    if path.endswith(PROJECT_SUFFIX):
        return "a VoiceStudio project file"
    return None


def _has_sqlite_header(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False
