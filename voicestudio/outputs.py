"""Where a command may write a file the user named: never over the project, never over a file without --force.

A project is one SQLite file plus the files SQLite keeps beside it while it is
open (``-wal``, ``-shm``) or after a crash (``-journal``); writing over any of
them destroys it. ``store.projectfiles`` tells them apart by resolved name and
by identity on disk (a hard link, another spelling) from ``stat`` alone, so the
check itself never drops this process's SQLite locks. Any other SQLite database
(another project, most likely) is refused too, even with ``--force``.

A link named as the output is followed: its target is written, the link stays.
Files are written atomically (a temporary file beside the target, flushed,
then renamed), so a crash leaves the old file or the whole new one.
"""

from __future__ import annotations

import os
from pathlib import Path

from voicestudio.errors import VoiceStudioError
from voicestudio.files import write_atomically
from voicestudio.store.projectfiles import ProjectFiles, database_kind


def holds_project(path, project) -> bool:
    """Is ``path`` the open project, one of its side files, or a folder that contains them?"""
    if project is None:
        return False
    files = ProjectFiles.of(project)
    real = os.path.realpath(path)
    return (files.owns(real) or files.owns(Path(path).absolute())
            or any(Path(name).is_relative_to(real) for name in files.names))


def check_output_file(path, *, project=None, force: bool = False) -> Path:
    """The file to write for the output ``path``, or a ``VoiceStudioError`` saying why not.

    Refused: the open project or one of its side files (even with ``force``),
    any other SQLite database (another project, most likely), a folder, a
    missing folder, and an existing file unless ``force``. A link is followed.
    """
    path = Path(path).expanduser().absolute()
    target = Path(os.path.realpath(path))
    if holds_project(path, project):
        raise VoiceStudioError(f"{path}: is the open project {project.label} or one of its files; "
                               "write to another file")
    if target.is_dir():
        raise VoiceStudioError(f"{path}: is a folder; name a file to write")
    if not target.parent.is_dir():
        raise VoiceStudioError(f"{path}: cannot write it (no such folder {target.parent})")
    if target.exists():
        kind = database_kind(target)  # safe: the open project's files were ruled out above
        if kind is not None:
            raise VoiceStudioError(f"{path}: is {kind}; refusing to replace it, even with --force")
        if not force:
            raise VoiceStudioError(f"{path}: already exists; replace it with --force")
    return target


def write_output_file(path: Path, data: bytes | str, *, replace: bool) -> None:
    """Write ``data`` to ``path`` atomically (``voicestudio.files.write_atomically``): never a half file.

    Without ``replace`` a file that appeared at ``path`` meanwhile is kept
    (``FileExistsError``).
    """
    write_atomically(path, data, rename=os.replace if replace else _rename_without_replacing)


def write_output_text(path: Path, text: str, *, replace: bool, what: str) -> None:
    """``write_output_file``, its failures said for the user: ``what`` is written ("the labels")."""
    try:
        write_output_file(path, text, replace=replace)
    except FileExistsError:
        raise VoiceStudioError(f"{path}: already exists (written meanwhile by another program); "
                               "replace it with --force") from None
    except OSError as exc:
        raise VoiceStudioError(f"{path}: cannot write {what} ({exc.strerror or exc})") from None


def _rename_without_replacing(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)  # atomic, and fails if path exists
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links (FAT, some network shares)
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(tmp, path)


