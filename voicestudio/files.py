"""Small file-system helpers every layer shares: a file's SHA-256, a durable rename, an atomic write.

``write_atomically`` is the one way VoiceStudio writes a whole file: a crash
leaves the old file or the whole new one, never half of one.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def file_sha256(path, block_size: int = 1 << 20) -> str:
    """SHA-256 of a file's content, read in blocks.

    Never call it on the open project's files: closing any descriptor of a file
    drops this process's SQLite locks on it (see ``voicestudio.store.projectfiles``).
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(block_size):
            digest.update(block)
    return digest.hexdigest()


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX; Windows cannot open a folder for this)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path, data: bytes | str, *, rename: Callable[[Path, Path], None] | None = None) -> None:
    """Write ``data`` (text is written as UTF-8) to ``path`` whole, or not at all.

    The data goes to a temporary file with a random name beside ``path``
    (two writers never share one), is flushed and fsynced, then ``rename``
    moves it to ``path`` (``os.replace`` by default; ``voicestudio.outputs``
    passes one that refuses to replace a file) and the folder is fsynced.
    The temporary file is removed whatever happens. The file gets mode 0666
    less the umask, like any new file (``mkstemp`` would make it 0600).
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        (rename or os.replace)(tmp, path)
        fsync_folder(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
