"""Text that is safe to show on a terminal.

Names, notes, metadata and paths come from files, models, cards, label files
and devices that anyone can write. Shown raw, an ESC sequence can clear the
screen or retitle the window, and a newline can forge a line that looks like
VoiceStudio's own ("voicestudio: error: ..."). Two layers stop that:

- ``one_line(value)``: a value embedded in a line of output; every control
  character, newlines included, is shown escaped (``\\n``, ``\\x1b``).
- ``EscapingWriter``: wraps stdout/stderr for the whole CLI run; control
  characters other than the newline and tab the CLI writes itself are escaped,
  so a value that was not passed through ``one_line`` still cannot drive the
  terminal.

JSON needs neither: ``json.dump`` with its default ``ensure_ascii=True`` writes
every control character as ``\\uXXXX``.
"""

from __future__ import annotations

import io
import re

# C0 controls except tab and newline, DEL, C1 controls (U+0080-U+009F: U+009B is a CSI on
# some terminals), and lone surrogates (undecodable bytes of a file name, unwritable as UTF-8).
_UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _escaped(match: re.Match) -> str:
    return _escaped_char(match.group())


def escape_controls(text: str) -> str:
    """``text`` with every control character except ``\\n`` and ``\\t`` escaped."""
    return _UNSAFE_IN_TEXT.sub(_escaped, text)


def one_line(value) -> str:
    """``str(value)`` on one line: newlines, other control and unprintable characters escaped, spaces kept."""
    return "".join(ch if ch.isprintable() or ch == " " else _escaped_char(ch) for ch in str(value))


def _escaped_char(ch: str) -> str:
    return ch.encode("unicode_escape", errors="backslashreplace").decode("ascii")


class EscapingWriter(io.TextIOBase):
    """A text stream that writes to ``stream`` with control characters escaped (see the module doc).

    ``raw`` is the stream underneath, for the few writers that draw on the
    terminal on purpose (the progress bar) and escape their own text.
    """

    def __init__(self, stream):
        super().__init__()
        self.raw = stream

    def write(self, text: str) -> int:
        self.raw.write(escape_controls(text))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self):
        return self.raw.encoding

    @property
    def errors(self):
        return self.raw.errors


def raw_stream(stream):
    """The stream under an ``EscapingWriter`` (``stream`` itself otherwise)."""
    return stream.raw if isinstance(stream, EscapingWriter) else stream
