"""Speech segments from a prediction track: where the voice is, as start/end times.

Windows at or above the threshold are speech; silent windows (not run, NaN) are
not. Neighbouring speech windows merge into one segment, a gap shorter than
``min_silence_s`` is bridged (a breath between words is not the end of a
sentence), a segment shorter than ``min_speech_s`` is dropped (a click), and
each is padded so its edges do not cut the first and last syllable. Used by
``predict --segments`` and by the window's "Suggest regions".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SPEECH_S = 0.25
MIN_SILENCE_S = 0.3
PAD_S = 0.1


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    peak: float  # the highest window probability inside: how sure the model is

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def speech_segments(
    window_starts_s, window_probs, window_s: float, threshold: float, *,
    duration_s: float | None = None, min_speech_s: float = MIN_SPEECH_S, min_silence_s: float = MIN_SILENCE_S,
    pad_s: float = PAD_S,
) -> list[Segment]:
    """Segments, in order and never overlapping, within 0..``duration_s`` (the last window's end if None)."""
    starts = np.asarray(window_starts_s, np.float64)
    probs = np.asarray(window_probs, np.float64)
    if len(starts) == 0:
        return []
    end_of_clip = float(starts[-1] + window_s) if duration_s is None else float(duration_s)
    speech = np.nan_to_num(probs, nan=-1.0) >= threshold
    merged: list[list[float]] = []  # [start, end, peak]
    for index in np.flatnonzero(speech):
        start, end, prob = starts[index], starts[index] + window_s, probs[index]
        if merged and start - merged[-1][1] < min_silence_s:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] = max(merged[-1][2], prob)
        else:
            merged.append([start, end, prob])
    segments = []
    for start, end, peak in merged:
        if end - start < min_speech_s:
            continue
        start, end = max(0.0, start - pad_s), min(end_of_clip, end + pad_s)
        if segments and start < segments[-1].end_s:  # padding made neighbours touch: share the gap
            middle = (segments[-1].end_s - pad_s + start + pad_s) / 2
            segments[-1] = Segment(segments[-1].start_s, middle, segments[-1].peak)
            start = middle
        segments.append(Segment(round(start, 3), round(end, 3), round(float(peak), 4)))
    return segments
