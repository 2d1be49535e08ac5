"""Find the files under folders, once each, and say what is wrong with the ones that cannot be read.

``scan`` walks files and folders the way an import does (links followed, loops
named, pipes and devices never opened); ``AUDIO_SUFFIXES`` are the names that
promise audio. Nothing here decodes: callers probe what they find.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# Names that promise audio: a file named like this that does not decode is a
# failure worth reporting; any other non-audio file is just skipped.
AUDIO_SUFFIXES = {
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc",
    ".caf", ".w64", ".rf64", ".au", ".snd", ".m4a", ".mp4", ".aac", ".wma", ".webm", ".mka",
}


@dataclass(frozen=True)
class FileProblem:
    path: str
    reason: str


@dataclass(frozen=True)
class FoundFile:
    path: Path
    root: Path  # the import argument it was found under (for its source group)


@dataclass(frozen=True)
class LinkLoop:
    """A link to a folder that holds the link itself: followed once, never again."""

    path: str
    target: str


@dataclass(frozen=True)
class DeadLink:
    """A link inside a scanned folder that leads to no file: to nowhere, or round to itself.

    Not a file that failed: there is nothing there to read. Callers skip it and
    name it (unless its name promised audio: then the audio is missing).
    """

    path: str
    reason: str


_BROKEN_LINK = "broken symbolic link"
_SELF_LINK = "symbolic link loop (the link points back to itself)"


def scan(paths) -> Iterator[FoundFile | FileProblem | LinkLoop | DeadLink]:
    """Files under ``paths`` (recursively, sorted), once each.

    Symlinked folders are followed, but a folder already visited (a symlink
    loop, or two links to one place) is not entered again; a loop comes out
    as ``LinkLoop`` so that it can be named, a link in a folder that leads
    to no file as ``DeadLink``. Unreadable folders, a given path that is a
    broken or looping link, names the project cannot store and things that
    are not regular files (FIFOs, sockets, devices: never opened, a FIFO would
    block) come out as ``FileProblem``.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for given in paths:
        root = Path(given).expanduser().absolute()
        try:
            is_dir = stat.S_ISDIR(root.stat().st_mode)
        except FileNotFoundError:
            yield FileProblem(str(root), _BROKEN_LINK if root.is_symlink() else "no such file or folder")
            continue
        except OSError as exc:
            yield FileProblem(str(root), _os_reason(exc))
            continue
        if not is_dir:
            if str(root) not in seen_files:
                seen_files.add(str(root))
                yield _found(root, root.parent)
            continue
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                info = folder.stat()
                if (info.st_dev, info.st_ino) in seen_dirs:
                    loop = _loop_target(folder)
                    if loop is not None:
                        yield LinkLoop(str(folder), loop)
                    continue
                seen_dirs.add((info.st_dev, info.st_ino))
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                yield FileProblem(str(folder), f"cannot read folder ({exc.strerror or exc})")
                continue
            subfolders = []
            for entry in entries:
                kind = _entry_kind(entry)
                if kind == "dir":
                    subfolders.append(Path(entry.path))
                elif kind == "file":
                    if entry.path not in seen_files:
                        seen_files.add(entry.path)
                        yield _found(Path(entry.path), root)
                elif kind in (_BROKEN_LINK, _SELF_LINK) and entry.is_symlink():
                    yield DeadLink(entry.path, kind)
                else:
                    yield FileProblem(entry.path, kind)
            stack.extend(reversed(subfolders))  # depth-first, in name order


def _loop_target(folder: Path) -> str | None:
    """Where ``folder`` leads if it is a link back to a folder that contains it, else None."""
    if not folder.is_symlink():
        return None
    target, parent = os.path.realpath(folder), os.path.realpath(folder.parent)
    return target if parent == target or parent.startswith(target.rstrip(os.sep) + os.sep) else None


def _entry_kind(entry: os.DirEntry) -> str:
    """``"dir"``, ``"file"`` (regular) or the reason it is neither, following symlinks."""
    try:
        if entry.is_dir():
            return "dir"
        if entry.is_file():
            return "file"
        mode = entry.stat().st_mode  # not a plain file or folder: say what it is
    except FileNotFoundError:
        return _BROKEN_LINK  # DirEntry says so for a link to nowhere (or a file just deleted)
    except OSError as exc:
        return _os_reason(exc)
    what = {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
            stat.S_IFBLK: "a device"}.get(stat.S_IFMT(mode), "not a file")
    return f"not a regular file ({what})"


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return _SELF_LINK
    return f"cannot read ({exc.strerror or exc})"


def _found(path: Path, root: Path) -> FoundFile | FileProblem:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        # The project stores paths as text; a name in a legacy encoding (an old zip) cannot be.
        return FileProblem(str(path), "the file name is not valid UTF-8: rename the file to import it")
    return FoundFile(path, root)
