"""Split long recordings into clips: at silences, or in fixed pieces.

Silence segmentation streams the file once and keeps only a level per 50 ms
frame, so a multi-hour recording costs kilobytes, not gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicestudio.audio.decode import AudioInfo, iter_blocks, probe

_ANALYSIS_RATE = 16000  # levels only: no need for more


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def fixed_segments(duration_s: float, length_s: float, *, min_s: float = 0.5) -> list[Segment]:
    """Consecutive pieces of ``length_s``; a last piece shorter than ``min_s`` joins the one before."""
    if duration_s <= 0:
        return []
    edges = list(np.arange(0.0, duration_s, length_s)) + [duration_s]
    if len(edges) > 2 and edges[-1] - edges[-2] < min_s:
        del edges[-2]
    return [Segment(round(a, 6), round(b, 6)) for a, b in zip(edges, edges[1:])]


def frame_levels_dbfs(path, *, frame_s: float = 0.05, info: AudioInfo | None = None) -> np.ndarray:
    """RMS level of each ``frame_s`` frame of the whole file, streamed."""
    hop = int(round(frame_s * _ANALYSIS_RATE))
    levels, carry = [], np.zeros(0, np.float32)
    for block in iter_blocks(path, block_s=30.0, sample_rate=_ANALYSIS_RATE, info=info):
        block = np.concatenate([carry, block]) if len(carry) else block
        whole = len(block) // hop
        frames = block[: whole * hop].reshape(whole, hop)
        levels.append(np.einsum("ij,ij->i", frames, frames) / hop)
        carry = block[whole * hop:]
    if len(carry):
        levels.append(np.array([np.dot(carry, carry) / len(carry)], np.float32))
    power = np.concatenate(levels) if levels else np.zeros(0)
    return 10 * np.log10(np.maximum(power, 1e-12))


def silence_segments(
    path,
    *,
    silence_dbfs: float = -50.0,
    min_silence_s: float = 0.5,
    min_segment_s: float = 1.0,
    max_segment_s: float = 30.0,
    frame_s: float = 0.05,
    info: AudioInfo | None = None,
) -> list[Segment]:
    """Sound between silences of at least ``min_silence_s``, as clips.

    Entirely silent stretches are dropped; pieces longer than ``max_segment_s``
    are cut at the quietest frame in their last third before the limit; pieces
    shorter than ``min_segment_s`` are merged into the nearest neighbour (or
    dropped when alone and very short).
    """
    info = info or probe(path)
    levels = frame_levels_dbfs(path, frame_s=frame_s, info=info)
    loud = levels >= silence_dbfs
    min_gap = max(1, int(round(min_silence_s / frame_s)))

    # Runs of loud frames, joined across gaps shorter than min_silence_s.
    runs: list[list[int]] = []
    for i in np.flatnonzero(loud):
        if runs and i - runs[-1][1] <= min_gap:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])

    # Keep a little context around the sound (half the silence, up to 0.25 s).
    pad = min(int(round(0.25 / frame_s)), min_gap // 2)
    n = len(levels)
    pieces: list[list[int]] = []
    for start, end in runs:
        start, end = max(0, start - pad), min(n, end + pad)
        limit = max(1, int(max_segment_s / frame_s))
        while end - start > limit:
            window = levels[start + (2 * limit) // 3: start + limit]
            cut = start + (2 * limit) // 3 + int(np.argmin(window))
            pieces.append([start, cut])
            start = cut
        pieces.append([start, end])

    min_frames = int(round(min_segment_s / frame_s))
    merged: list[list[int]] = []
    for piece in pieces:
        if merged and (piece[1] - piece[0] < min_frames or merged[-1][1] - merged[-1][0] < min_frames) \
                and piece[1] - merged[-1][0] <= max_segment_s / frame_s:
            merged[-1][1] = piece[1]
        else:
            merged.append(piece)
    duration = info.duration_s
    return [
        Segment(round(a * frame_s, 6), round(min(b * frame_s, duration), 6))
        for a, b in merged
        if (b - a) >= min(min_frames, 2)
    ]
