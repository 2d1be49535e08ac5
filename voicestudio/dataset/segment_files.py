"""Time-span files other tools open: Audacity label tracks, Praat TextGrids, RTTM and a plain CSV.

``predict --segments`` writes its speech segments in these formats, so the result
opens directly in Audacity (File ▸ Import ▸ Labels), Praat (Read from file) or
a diarisation pipeline (RTTM, as pyannote reads it).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("json", "csv", "rttm", "audacity", "textgrid")
PER_RECORDING = ("audacity", "textgrid")  # one file describes one recording
SUFFIXES = {"csv": ".csv", "rttm": ".rttm", "audacity": ".txt", "textgrid": ".TextGrid", "json": ".json"}


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float
    label: str
    score: float | None = None


def _uri(path: str) -> str:
    """RTTM's file id: the file name without its suffix, with no spaces (fields are space-separated)."""
    return re.sub(r"\s+", "_", Path(path).stem) or "recording"


def to_csv(spans_by_path: dict[str, list[Span]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["path", "start_s", "end_s", "label", "score"])
    for path, spans in spans_by_path.items():
        for span in spans:
            writer.writerow([path, f"{span.start_s:.3f}", f"{span.end_s:.3f}", span.label,
                             "" if span.score is None else f"{span.score:.4f}"])
    return out.getvalue()


def to_rttm(spans_by_path: dict[str, list[Span]]) -> str:
    """``SPEAKER <uri> 1 <onset> <duration> <NA> <NA> <label> <NA> <NA>`` per span."""
    lines = [f"SPEAKER {_uri(path)} 1 {span.start_s:.3f} {span.end_s - span.start_s:.3f} <NA> <NA> {span.label} <NA> <NA>"
             for path, spans in spans_by_path.items() for span in spans]
    return "".join(line + "\n" for line in lines)


def to_audacity(spans: list[Span]) -> str:
    """An Audacity label track: ``start<TAB>end<TAB>label`` per line (seconds, six decimals as Audacity writes)."""
    return "".join(f"{span.start_s:.6f}\t{span.end_s:.6f}\t{span.label}\n" for span in spans)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def to_textgrid(spans: list[Span], duration_s: float, tier: str = "speech") -> str:
    """A Praat TextGrid (long text format) with one interval tier; the gaps are empty intervals."""
    intervals, cursor = [], 0.0
    for span in sorted(spans, key=lambda s: s.start_s):
        start, end = max(span.start_s, cursor), min(span.end_s, duration_s)
        if end <= start:
            continue
        if start > cursor:
            intervals.append((cursor, start, ""))
        intervals.append((start, end, span.label))
        cursor = end
    if cursor < duration_s or not intervals:
        intervals.append((cursor, duration_s, ""))
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0", f"xmax = {duration_s}",
             "tiers? <exists>", "size = 1", "item []:", "    item [1]:", '        class = "IntervalTier"',
             f"        name = {_quoted(tier)}", "        xmin = 0", f"        xmax = {duration_s}",
             f"        intervals: size = {len(intervals)}"]
    for number, (start, end, text) in enumerate(intervals, 1):
        lines += [f"        intervals [{number}]:", f"            xmin = {start}", f"            xmax = {end}",
                  f"            text = {_quoted(text)}"]
    return "\n".join(lines) + "\n"
