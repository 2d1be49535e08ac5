"""File names made from user data: no path escapes, no collisions, portable.

Names come from audio file names people chose (spaces, Unicode, ``..``,
``CON``); an export must never write outside its folder or overwrite one clip
with another, on any operating system.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_STEM_BYTES = 120  # room for a suffix, a split/label folder and an extension under 255
# Names Windows reserves in every folder, with any extension.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_stem(text: str, fallback: str = "clip") -> str:
    """``text`` as a single path component: letters, digits, ``-``, ``_`` and ``.`` only."""
    text = unicodedata.normalize("NFC", str(text))
    kept = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
    stem = re.sub(r"_{2,}", "_", kept).strip("._- ")
    stem = re.sub(r"\.{2,}", ".", stem)
    if not stem:
        stem = fallback
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    encoded = stem.encode("utf-8")[:MAX_STEM_BYTES]
    return encoded.decode("utf-8", errors="ignore").rstrip("._- ") or fallback


def unique_names(stems: Iterable[str]) -> list[str]:
    """The stems, made unique without regard to case (``a``, ``a-2``, ``a-3``...), in order."""
    taken: set[str] = set()
    result = []
    for stem in stems:
        name, n = stem, 1
        while name.lower() in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name.lower())
        result.append(name)
    return result
