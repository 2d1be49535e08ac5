"""The one rule for annotator names, whatever they come from.

Names arrive from the CLI (``--annotator``, ``$VOICESTUDIO_ANNOTATOR``), CSV columns, Label Studio's
``completed_by``, the window's settings and the store API. They are printed in reports and
``stats`` one per line and exported to other tools, so a name is text on one line that a terminal
shows as it is: no control characters (a newline could forge a line of output, an escape sequence
could rewrite the screen) and a sane length. Kept free of heavy imports: the CLI checks a name
before it opens a project.
"""

from __future__ import annotations

import unicodedata

from voicestudio.errors import VoiceStudioError

MAX_ANNOTATOR_CHARS = 100
# C0 and C1 controls and DEL (Cc), lone surrogates (Cs: not storable as UTF-8), line and paragraph
# separators (Zl, Zp), and the bidirectional overrides and isolates that reorder what a terminal shows.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class AnnotatorError(VoiceStudioError, ValueError):
    """A name that cannot be stored as an annotator (a ValueError too, as the store's checks are)."""


def shown(text: str, limit: int = 40) -> str:
    """``text`` quoted and escaped for a one-line message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def check_annotator(annotator) -> str:
    """The name, stripped of surrounding spaces, if it may be stored; ``AnnotatorError`` otherwise."""
    if not isinstance(annotator, str):
        raise AnnotatorError(f"an annotator name must be text, not {type(annotator).__name__}")
    # Checked before stripping: str.strip() also removes some controls (U+001C-U+001F, U+0085, U+2028).
    bad = next((ch for ch in annotator if unicodedata.category(ch) in _REFUSED_CATEGORIES or ch in _BIDI_CONTROLS),
               None)
    if bad is not None:
        raise AnnotatorError(f"annotator name {shown(annotator)} contains the control character U+{ord(bad):04X}")
    name = annotator.strip()
    if not name:
        raise AnnotatorError("an annotator name is required (it is empty)")
    if len(name) > MAX_ANNOTATOR_CHARS:
        raise AnnotatorError(f"annotator name {shown(name)} is {len(name)} characters long "
                             f"(at most {MAX_ANNOTATOR_CHARS})")
    return name
