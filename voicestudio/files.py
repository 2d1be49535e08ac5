"""Small file-system helpers every layer shares: a file's SHA-256, and a durable rename."""

from __future__ import annotations

import hashlib
import os
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
