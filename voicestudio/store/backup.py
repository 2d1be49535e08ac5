"""Backing up a project: a consistent copy of a live SQLite project file.

Annotators may be labelling in other programs while the copy is made. SQLite's
online backup API copies the database inside one read transaction: in WAL mode
(every project is) the writers carry on meanwhile, and the copy is the project
as it was when that transaction began, with every label committed before the
backup started and nothing half written. It copies in one step on purpose: a
step-by-step backup starts again from the first page whenever another process
commits between two steps, so while annotators keep labelling it may never end.

The copy is written to a hidden temporary file beside ``out``, checked with
``PRAGMA integrity_check``, flushed to disk and only then renamed to ``out``:
``out`` is never a partial file, and a failure (disk full, unwritable folder)
leaves nothing behind. PostgreSQL projects are backed up with ``pg_dump``.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from voicestudio.errors import ProjectError
from voicestudio.files import fsync_folder
from voicestudio.staging import make_partial_file, remove_stale
from voicestudio.store.migrate import check_state
from voicestudio.store.sqlite import (
    BUSY_TIMEOUT_S,
    check_problems,
    damaged_message,
    inspect_file,
    is_damage_error,
    read_only_uri,
)

# Files SQLite keeps beside a database while it is open (or after a crash).
_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class BackupReport:
    """What was written: the backup file and what it holds."""

    path: Path  # the backup file
    size_bytes: int
    label_events: int
    clips: int
    files: int  # audio files
    schema_revision: str  # the source's, copied as it is (opening the copy upgrades it if older)
    duration_s: float  # how long the backup took
    integrity: str  # PRAGMA integrity_check of the copy: always "ok" (anything else raises)
    stale_removed: list[str] = field(default_factory=list)  # partial files of killed backups, removed first


def backup_project(source, out, *, force: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S) -> BackupReport:
    """Copy the project at ``source`` (a path or ``sqlite:///`` URL) to the file ``out``.

    Other programs may keep writing to the project meanwhile. ``out`` must be
    in an existing folder and is replaced only with ``force``.

    Raises
    ------
    ProjectError
        ``source`` is not a VoiceStudio SQLite project; ``out`` exists (without
        ``force``), is the project itself, is open elsewhere, or cannot be
        written (no space, no permission). Nothing is left at ``out`` then.
    """
    started = time.monotonic()
    src = project_file(source)
    state = inspect_file(src, busy_timeout_s)
    if state is None:
        raise ProjectError(f"{src}: no project there to back up")
    check_state(str(src), state)
    if state.revision is None:
        raise ProjectError(f"{src}: not a VoiceStudio project (an empty database)")
    out = check_target(src, Path(out).expanduser().absolute(), force)
    stale = [found.describe() for found in remove_stale(out.parent)]  # a killed backup left its partial file
    with replacing(out, "backup") as partial:
        counts = _copy(src, partial, out, busy_timeout_s)
    return BackupReport(path=out, size_bytes=out.stat().st_size, duration_s=time.monotonic() - started,
                        integrity="ok", stale_removed=stale, **counts)


@contextmanager
def replacing(out: Path, what: str) -> Iterator[Path]:
    """A new empty file beside ``out`` to fill; flushed and renamed to ``out`` at the end, removed on failure.

    ``out`` is never a partial file: it is the old file or the whole new one.
    ``what`` names the file in messages ("backup", "recovered copy").
    """
    try:
        partial = make_partial_file(out)  # named after this process: removed by the next run if it is killed
    except OSError as exc:
        raise ProjectError(f"{out.parent}: cannot write the {what} there ({exc.strerror or exc})") from None
    try:
        yield partial
        _fsync(partial)
        os.replace(partial, out)  # atomic: out is the old file or the whole new one
        fsync_folder(out.parent)
    except OSError as exc:
        _remove(partial)
        full = exc.errno == errno.ENOSPC
        raise ProjectError(f"{'disk full: ' if full else ''}{out}: cannot write the {what} "
                           f"({exc.strerror or exc})") from None
    except BaseException:
        _remove(partial)
        raise


def project_file(source) -> Path:
    """The project file behind a path, an ``sqlite:///`` URL or an open ``Project``."""
    from voicestudio.store.project import database_url

    text = str(getattr(source, "url", source))  # a Project gives its URL
    url = database_url(text)
    if url is None:
        return Path(text).expanduser().absolute()
    label = url.render_as_string(hide_password=True)
    backend = url.get_backend_name()
    if backend == "postgresql":
        raise ProjectError(f"{label}: back up PostgreSQL projects with pg_dump (voicestudio backs up SQLite files)")
    if backend != "sqlite":
        raise ProjectError(f"{label}: voicestudio backs up SQLite project files only; use the {backend} "
                           "database's own backup tool")
    if not url.database or url.database == ":memory:":
        raise ProjectError(f"{label}: an in-memory project has no file to back up")
    return Path(url.database).expanduser().absolute()


def check_target(src: Path, out: Path, force: bool) -> Path:
    """``out`` if a copy of the project ``src`` may be written there, else a ProjectError saying why."""
    if out.is_dir():
        raise ProjectError(f"{out}: is a folder; name the backup file, e.g. {out / src.name}")
    source_files = {src.resolve(), *(Path(f"{src.resolve()}{side}") for side in _SIDE_FILES)}
    if out.resolve() in source_files or (out.exists() and os.path.samefile(out, src)):
        raise ProjectError(f"{out}: is the project itself; back it up to another file")
    if not out.parent.is_dir():  # not created: a missing folder is often a drive that is not mounted
        raise ProjectError(f"{out.parent}: no such folder")
    if out.exists() and not force:
        raise ProjectError(f"{out}: already exists; replace it with --force")
    # A -wal left beside out would be replayed into the new file by the next program to open it.
    wal = Path(f"{out}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ProjectError(f"{out}: is open in another program (or was not closed cleanly); "
                           f"close it, or remove {wal.name}")
    needed = sum(p.stat().st_size for p in (src, Path(f"{src}-wal")) if p.exists())
    free = shutil.disk_usage(out.parent).free
    if free < needed:
        raise ProjectError(f"{out.parent}: not enough free space for the backup "
                           f"(needs up to {_mib(needed)}, {_mib(free)} free)")
    return out


def _copy(src: Path, partial: Path, out: Path, busy_timeout_s: float) -> dict:
    """Back ``src`` up into the empty file ``partial``, check the copy and count what it holds."""
    try:
        # Read-only: the backup can never change the project. The timeout is the busy handler
        # that waits for the project's lock, as every VoiceStudio connection does.
        source = sqlite3.connect(read_only_uri(src), uri=True, timeout=busy_timeout_s)
        try:
            target = sqlite3.connect(partial, isolation_level=None)
            try:
                target.execute("PRAGMA journal_mode = OFF")  # nothing to roll back to: it is a new file
                source.backup(target)  # pages=-1: the whole database in one read transaction
                check = [row[0] for row in target.execute("PRAGMA integrity_check")]
                if check != ["ok"]:
                    raise ProjectError(damaged_message(src, "; ".join(check_problems(check)[:3])))
                return {
                    "label_events": _scalar(target, "SELECT count(*) FROM label_events"),
                    "clips": _scalar(target, "SELECT count(*) FROM clips"),
                    "files": _scalar(target, "SELECT count(*) FROM audio_files"),
                    "schema_revision": _scalar(target, "SELECT version_num FROM alembic_version"),
                }
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise _copy_error(exc, src, out) from None


def _scalar(connection: sqlite3.Connection, sql: str):
    return connection.execute(sql).fetchone()[0]


def _copy_error(exc: sqlite3.Error, src: Path, out: Path) -> ProjectError:
    code = getattr(exc, "sqlite_errorname", "")
    if is_damage_error(exc):
        return ProjectError(damaged_message(src, exc))
    if code == "SQLITE_FULL" or "full" in str(exc):
        return ProjectError(f"{out}: not enough disk space for the backup ({exc})")
    if code.startswith("SQLITE_IOERR"):
        return ProjectError(f"{out}: cannot write the backup ({exc}; is the disk full?)")
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return ProjectError(f"{src}: another program kept the project locked; try again")
    return ProjectError(f"{src}: cannot back up the project ({exc})")


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())




def _remove(partial: Path) -> None:
    for path in (partial, *(Path(f"{partial}{side}") for side in _SIDE_FILES)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass  # best effort: the original error is the one to report


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"
