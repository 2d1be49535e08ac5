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


def rttm_uri(path: str) -> str:
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
    lines = [f"SPEAKER {rttm_uri(path)} 1 {span.start_s:.3f} {span.end_s - span.start_s:.3f} <NA> <NA> {span.label} <NA> <NA>"
             for path, spans in spans_by_path.items() for span in spans]
    return "".join(line + "\n" for line in lines)


def to_audacity(spans: list[Span]) -> str:
    """An Audacity label track: ``start<TAB>end<TAB>label`` per line (seconds, six decimals as Audacity writes)."""
    return "".join(f"{span.start_s:.6f}\t{span.end_s:.6f}\t{span.label}\n" for span in spans)


def _praat_number(x: float) -> str:
    text = format(x, ".15g")
    return text if float(text) == x else repr(x)


def _praat_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def textgrid_text(tiers: dict[str, list[tuple[float, float, str]]], duration_s: float) -> str:
    """A TextGrid in Praat's long text format, as Praat 6 writes it (values followed by a space): one
    interval tier per entry of ``tiers`` (name -> (start, end, text) spans); the gaps are empty intervals."""
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0 ",
             f"xmax = {_praat_number(duration_s)} ", "tiers? <exists> ", f"size = {len(tiers)} ", "item []: "]
    for number, (name, spans) in enumerate(tiers.items(), 1):
        intervals, cursor = [], 0.0
        for start, end, text in sorted(spans):
            start, end = max(start, cursor), min(end, duration_s)  # a tier's intervals never overlap
            if end <= start:
                continue
            if start > cursor:
                intervals.append((cursor, start, ""))
            intervals.append((start, end, text))
            cursor = end
        if cursor < duration_s or not intervals:
            intervals.append((cursor, duration_s, ""))
        lines += [f"    item [{number}]:", '        class = "IntervalTier" ', f"        name = {_praat_string(name)} ",
                  "        xmin = 0 ", f"        xmax = {_praat_number(duration_s)} ",
                  f"        intervals: size = {len(intervals)} "]
        for index, (start, end, text) in enumerate(intervals, 1):
            lines += [f"        intervals [{index}]:", f"            xmin = {_praat_number(start)} ",
                      f"            xmax = {_praat_number(end)} ", f"            text = {_praat_string(text)} "]
    return "\n".join(lines) + "\n"


def to_textgrid(spans: list[Span], duration_s: float, tier: str = "speech") -> str:
    """One interval tier named ``tier`` holding the spans."""
    return textgrid_text({tier: [(s.start_s, s.end_s, s.label) for s in spans]}, duration_s)
