"""What an uncompressed file's header claims, read by hand, to tell a cut-off file from a whole one.

libsndfile quietly corrects a header that claims more data than the file holds
(a recorder that died, a copy cut short): the file then imports as a few
milliseconds of audio without a word. ``claimed_frames`` reads the frame count
the header states (WAV: the ``data`` chunk's size; AIFF/AIFC: the ``COMM``
chunk's frame count) so the importer can say "truncated: header says X s, file
holds Y s". Streaming recorders write a placeholder size (0 or 0xFFFFFFFF)
while recording: that claims nothing.
"""

from __future__ import annotations

import struct
from pathlib import Path

_PLACEHOLDERS = {0, 0xFFFFFFFF}
_MAX_CHUNKS = 64  # a header walk stops here: a crafted file could chain chunks for ever


def claimed_frames(path) -> int | None:
    """The number of frames the header of a WAV or AIFF file states, or None (other formats, placeholders)."""
    try:
        with open(Path(path), "rb") as f:
            head = f.read(12)
            if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
                return _wav_frames(f)
            if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
                return _aiff_frames(f)
    except (OSError, struct.error):
        return None
    return None


def _chunks(f, byteorder: str):
    """(id, size, body offset) of each chunk after the 12-byte file header."""
    fmt = "<I" if byteorder == "little" else ">I"
    at = 12
    for _ in range(_MAX_CHUNKS):
        f.seek(at)
        header = f.read(8)
        if len(header) < 8:
            return
        size = struct.unpack(fmt, header[4:])[0]
        yield header[:4], size, at + 8
        at += 8 + size + (size & 1)


def _wav_frames(f) -> int | None:
    block_align = None
    for chunk, size, body in _chunks(f, "little"):
        if chunk == b"fmt ":
            f.seek(body + 12)
            block_align = struct.unpack("<H", f.read(2))[0]
        elif chunk == b"data":
            if size in _PLACEHOLDERS or not block_align:
                return None
            return size // block_align
    return None


def _aiff_frames(f) -> int | None:
    for chunk, _size, body in _chunks(f, "big"):
        if chunk == b"COMM":
            f.seek(body + 2)
            frames = struct.unpack(">I", f.read(4))[0]
            return None if frames in _PLACEHOLDERS else frames
    return None
