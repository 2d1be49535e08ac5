"""Does a file on disk still hold the audio the project recorded for it?

A label was given for the audio that was at a path when it was imported. If
that path now holds other audio (re-recorded, replaced, restored from another
take), using it would put the label on audio it was never given for: export
would write a dog bark as ``train/human``, the window would draw it under the
old label. ``check_source`` is asked first: the same size and mtime as stored
are taken as unchanged (as the importer does); otherwise the file is hashed and
must have the stored SHA-256.
"""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass

from voicestudio import pathmap
from voicestudio.files import file_sha256

SAME, CHANGED, MISSING, UNREADABLE = "same", "changed", "missing", "unreadable"


@dataclass(frozen=True)
class SourceCheck:
    status: str  # SAME, CHANGED (other content at the path), MISSING or UNREADABLE
    reason: str = ""  # why it cannot be used, in words for the user

    @property
    def ok(self) -> bool:
        return self.status == SAME


@dataclass(frozen=True)
class SourceRecord:
    """What the project stored about a file when it was imported."""

    path: str  # as stored (this machine's path map applies)
    sha256: str
    size_bytes: int
    mtime: float




# Hashes of files already confirmed, by (path, size, mtime_ns): an export reads many clips of
# one long recording, and each should not hash it again.
_confirmed: dict[tuple[str, int, int], str] = {}
_confirmed_lock = threading.Lock()
_CONFIRMED_AT_MOST = 10_000  # a window open for days forgets, rather than grows


def check_source(record) -> SourceCheck:
    """Whether the file at ``record.path`` still holds the content the project stored for it.

    ``record``: a ``SourceRecord``, or anything with its four fields (a ``ClipRow``).
    """
    local = pathmap.active().local(str(record.path))
    try:
        st = os.stat(local)
    except FileNotFoundError:
        return SourceCheck(MISSING, "no such file")
    except OSError as exc:
        return SourceCheck(UNREADABLE, f"cannot read ({exc.strerror or exc})")
    if not stat.S_ISREG(st.st_mode):
        return SourceCheck(CHANGED, "not a regular file any more")  # and never hashed: a FIFO would block
    if st.st_size == record.size_bytes and st.st_mtime == record.mtime:
        return SourceCheck(SAME)
    key = (local, st.st_size, st.st_mtime_ns)
    with _confirmed_lock:
        digest = _confirmed.get(key)
    if digest is None:
        try:
            digest = file_sha256(local)
        except OSError as exc:
            return SourceCheck(UNREADABLE, f"cannot read ({exc.strerror or exc})")
        with _confirmed_lock:
            if len(_confirmed) >= _CONFIRMED_AT_MOST:
                _confirmed.clear()
            _confirmed[key] = digest
    if digest != record.sha256:
        return SourceCheck(CHANGED, "changed since it was imported: the file holds other audio than the clip "
                                    "was made from (its labels belong to the old recording; import it again)")
    return SourceCheck(SAME)
