"""Split long recordings into clips: at silences, or in fixed pieces.

Silence segmentation streams the file once and keeps only one level per frame
(50 ms by default), so a multi-hour recording costs kilobytes, not gigabytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from voicestudio.audio.decode import iter_blocks, probe

_BLOCK_S = 30.0  # decode this much at a time
_MAX_PAD_S = 0.25  # context kept around the sound of a segment
_ROUND = 6  # decimals of segment times (microseconds)


@dataclass(frozen=True)
class Segment:
    """A part of a file, in seconds from its start."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def fixed_segments(duration_s: float, length_s: float, *, min_s: float = 0.5) -> list[Segment]:
    """Consecutive pieces of ``length_s``; a last piece shorter than ``min_s`` joins the one before."""
    if not length_s > 0:
        raise ValueError(f"length_s must be positive, not {length_s!r}")
    if not duration_s > 0:
        return []
    count = max(1, math.ceil(duration_s / length_s - 1e-9))
    edges = [round(i * length_s, _ROUND) for i in range(count)] + [round(duration_s, _ROUND)]
    if len(edges) > 2 and edges[-1] - edges[-2] < min_s:
        del edges[-2]
    return [Segment(a, b) for a, b in zip(edges, edges[1:])]


@dataclass(frozen=True)
class FrameLevels:
    """RMS level in dBFS of consecutive frames of ``hop`` samples at ``sample_rate``."""

    dbfs: np.ndarray
    hop: int
    sample_rate: int
    duration_s: float  # of the file

    @property
    def frame_s(self) -> float:
        return self.hop / self.sample_rate


def frame_levels(path, *, frame_s: float = 0.05) -> FrameLevels:
    """The level of every ``frame_s`` frame of a file, streamed (a short last frame counts too).

    Levels are measured at the file's own rate: no resampling is needed to
    measure loudness.
    """
    if not frame_s > 0:
        raise ValueError(f"frame_s must be positive, not {frame_s!r}")
    info = probe(path)
    rate = info.sample_rate
    hop = max(1, int(round(frame_s * rate)))
    block_s = max(1, round(_BLOCK_S * rate / hop)) * hop / rate  # whole frames per block
    powers, carry = [], np.zeros(0, np.float32)
    for block in iter_blocks(path, block_s=block_s, sample_rate=rate):
        if len(carry):
            block = np.concatenate([carry, block])
        whole = len(block) // hop
        frames = block[: whole * hop].reshape(whole, hop).astype(np.float64)
        powers.append(np.einsum("ij,ij->i", frames, frames) / hop)
        carry = block[whole * hop:]
    if len(carry):
        powers.append(np.array([np.dot(carry.astype(np.float64), carry) / len(carry)]))
    power = np.concatenate(powers) if powers else np.zeros(0)
    dbfs = (10 * np.log10(np.maximum(power, 1e-20))).astype(np.float32)
    return FrameLevels(dbfs, hop, rate, info.duration_s)


def silence_segments(
    path,
    *,
    silence_dbfs: float = -50.0,
    min_silence_s: float = 0.5,
    min_segment_s: float = 1.0,
    max_segment_s: float = 30.0,
    frame_s: float = 0.05,
) -> list[Segment]:
    """Clips of sound between silences of at least ``min_silence_s``.

    A frame is silent when its RMS level is below ``silence_dbfs``. Silent
    stretches of ``min_silence_s`` or more split the file and are dropped
    (each clip keeps up to 0.25 s of context on both sides); shorter pauses
    stay inside a clip. A clip longer than ``max_segment_s`` is cut at its
    quietest frame in the last third before the limit. A clip shorter than
    ``min_segment_s`` joins its nearer neighbour when the result is no longer
    than ``max_segment_s``, and otherwise stays as it is. An entirely silent
    file gives no clips.
    """
    if not max_segment_s > 0 or not min_silence_s >= 0:
        raise ValueError("max_segment_s must be positive and min_silence_s not negative")
    if min_segment_s > max_segment_s:
        raise ValueError(f"min_segment_s ({min_segment_s}) is longer than max_segment_s ({max_segment_s})")
    levels = frame_levels(path, frame_s=frame_s)
    step = levels.frame_s
    n = len(levels.dbfs)
    min_gap = max(1, int(round(min_silence_s / step)))
    max_len = max(1, int(max_segment_s / step + 1e-9))
    min_len = min(max_len, int(math.ceil(min_segment_s / step - 1e-9)))
    pad = min(int(round(_MAX_PAD_S / step)), min_gap // 2)

    pieces: list[tuple[int, int]] = []
    for start, end in _sound_runs(levels.dbfs >= silence_dbfs, min_gap):
        pieces += _split_long(levels.dbfs, max(0, start - pad), min(n, end + pad), max_len, min_len)
    pieces = _merge_short(pieces, min_len, max_len)

    end_s = levels.duration_s
    return [Segment(round(a * step, _ROUND), round(min(b * step, end_s), _ROUND)) for a, b in pieces]


def _sound_runs(loud: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """Frame ranges of sound, joined across silences shorter than ``min_gap`` frames."""
    if not loud.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[False], loud, [False]]).astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    runs: list[tuple[int, int]] = []
    for start, end in zip(starts.tolist(), ends.tolist()):
        if runs and start - runs[-1][1] < min_gap:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def _split_long(dbfs: np.ndarray, start: int, end: int, max_len: int, min_len: int) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` into pieces of at most ``max_len`` frames at quiet frames."""
    pieces = []
    while end - start > max_len:
        lo = start + max(min_len, (2 * max_len) // 3)
        hi = min(start + max_len, end - min_len)  # leave the rest no shorter than min_len
        if hi <= lo:
            cut = min(start + max_len, max(lo, hi))
        else:
            cut = lo + int(np.argmin(dbfs[lo:hi + 1]))
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def _merge_short(pieces: list[tuple[int, int]], min_len: int, max_len: int) -> list[tuple[int, int]]:
    """Join each piece shorter than ``min_len`` to its nearer neighbour, if the join fits ``max_len``."""
    pieces = list(pieces)
    merged: list[tuple[int, int]] = []
    i = 0
    while i < len(pieces):
        start, end = pieces[i]
        if end - start >= min_len:
            merged.append((start, end))
            i += 1
            continue
        before = merged[-1] if merged and end - merged[-1][0] <= max_len else None
        after = pieces[i + 1] if i + 1 < len(pieces) and pieces[i + 1][1] - start <= max_len else None
        if before and (after is None or start - before[1] <= after[0] - end):
            merged[-1] = (before[0], end)
        elif after:
            pieces[i + 1] = (start, after[1])  # looked at again as one piece
        else:
            merged.append((start, end))
        i += 1
    return merged
