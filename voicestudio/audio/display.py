"""What the clip views draw, computed off the main thread: cost follows the screen, not the file.

A short clip is decoded once at the model's rate and everything is computed
from those samples. A long recording gets a peak envelope of the whole file
(streamed, never held in memory at once) and detail — samples, spectrogram,
MFCC — only for the part on screen. A spectrogram never has more columns than
``max_columns``: over a wide range the STFT hop grows instead.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from voicestudio.audio.decode import MAX_RATE, iter_blocks, load_audio, probe
from voicestudio.audio.features import FeatureSpec, analysis_window, features, stft_power
from voicestudio.progress import CancelToken

# Clips longer than this are opened as "long": overview + detail of the visible part.
LONG_CLIP_S = 120.0
FIRST_SCREEN_S = 30.0  # how much of a long clip the first screen shows
MAX_DETAIL_S = 120.0  # widest range drawn with samples and spectrogram; wider shows the overview
MAX_COLUMNS = 2000  # spectrogram/MFCC columns per range, about a screen's width
ENVELOPE_BINS = 8000
SPECTROGRAM_FLOOR_DB = -90.0  # dB levels are explicit, so the colours mean the same on every clip
SPECTROGRAM_TOP_DB = 0.0
# Marked on the spectrogram: from adult speech's lowest fundamentals to the
# top of most of its energy and intelligibility.
VOICE_BAND_HZ = (85.0, 4000.0)


class Cancelled(Exception):
    """The caller's cancel token was set while the work ran."""


@dataclass(frozen=True)
class Envelope:
    """Min and max of the signal over equal bins from ``start_s`` to ``end_s`` (seconds in the clip)."""

    mins: np.ndarray
    maxs: np.ndarray
    start_s: float
    end_s: float

    @property
    def bin_s(self) -> float:
        return (self.end_s - self.start_s) / max(1, len(self.mins))


@dataclass(frozen=True)
class Detail:
    """Everything drawn for ``[start_s, end_s)`` of a clip (seconds from the clip's start)."""

    start_s: float
    end_s: float
    samples: np.ndarray  # float32 at ``sample_rate``
    sample_rate: int
    spectrogram_db: np.ndarray  # (columns, bins) float32 dBFS (a full-scale sine peaks at 0), clipped to the levels
    mfcc: np.ndarray  # (columns, n_mfcc) float32
    column_s: float  # seconds per spectrogram/MFCC column
    max_hz: float  # top of the spectrogram (Nyquist)


def peak_envelope(samples: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max per bin (``n_bins`` at most; fewer when there are fewer samples)."""
    samples = np.asarray(samples, np.float32)
    n_bins = max(1, min(int(n_bins), len(samples)))
    if len(samples) == 0:
        return np.zeros(1, np.float32), np.zeros(1, np.float32)
    per_bin = len(samples) // n_bins
    whole = samples[: per_bin * n_bins].reshape(n_bins, per_bin)
    mins, maxs = whole.min(axis=1), whole.max(axis=1)
    rest = samples[per_bin * n_bins:]
    if len(rest):  # the tail joins the last bin
        mins[-1] = min(mins[-1], rest.min())
        maxs[-1] = max(maxs[-1], rest.max())
    return mins, maxs


def display_spec(spec: FeatureSpec, duration_s: float, max_columns: int = MAX_COLUMNS) -> FeatureSpec:
    """The model's spec with the hop widened so ``duration_s`` gives at most ``max_columns`` frames."""
    hop_ms = max(spec.hop_ms, 1000.0 * duration_s / max(1, max_columns - 1))
    if hop_ms == spec.hop_ms:
        return spec
    return dataclasses.replace(spec, hop_ms=math.ceil(hop_ms), window_hop_s=max(spec.window_hop_s, hop_ms / 1000))


def detail_from_samples(samples: np.ndarray, spec: FeatureSpec, start_s: float = 0.0,
                        max_columns: int = MAX_COLUMNS) -> Detail:
    """Spectrogram and MFCC of samples at ``spec.sample_rate`` starting ``start_s`` into the clip."""
    samples = np.asarray(samples, np.float32)
    duration = len(samples) / spec.sample_rate
    view_spec = display_spec(spec, duration, max_columns)
    power = stft_power(samples, view_spec)
    # dB relative to a full-scale sine (0 dBFS), so levels mean the same for every spec.
    full_scale = (analysis_window(spec.window, spec.frame_length).sum() / 2) ** 2
    spectrogram = 10.0 * np.log10(np.maximum(power / full_scale, 1e-12))
    np.clip(spectrogram, SPECTROGRAM_FLOOR_DB, SPECTROGRAM_TOP_DB, out=spectrogram)
    return Detail(
        start_s=start_s,
        end_s=start_s + duration,
        samples=samples,
        sample_rate=spec.sample_rate,
        spectrogram_db=spectrogram.astype(np.float32, copy=False),
        mfcc=features(samples, view_spec, kind="mfcc"),
        column_s=view_spec.hop_length / spec.sample_rate,
        max_hz=spec.sample_rate / 2,
    )


def load_detail(path, clip_start_s: float, start_s: float, end_s: float, spec: FeatureSpec) -> Detail:
    """Decode ``[start_s, end_s)`` of a clip (seconds from the clip's start) and compute its detail."""
    audio = load_audio(path, start_s=clip_start_s + start_s, end_s=clip_start_s + end_s,
                       sample_rate=spec.sample_rate)
    return detail_from_samples(audio.samples, spec, start_s)


def stream_envelope(path, clip_start_s: float, clip_end_s: float, *, n_bins: int = ENVELOPE_BINS,
                    cancel: CancelToken | None = None, progress=None) -> Envelope:
    """The peak envelope of a clip, decoded in blocks at the file's own rate (memory: one block)."""
    info = probe(path)
    end_s = min(clip_end_s, info.duration_s)
    duration = max(end_s - clip_start_s, 1e-9)
    rate = min(info.sample_rate, MAX_RATE)  # what iter_blocks delivers at its default
    total = max(1, int(round(duration * rate)))
    n_bins = max(1, min(n_bins, total))
    mins = np.full(n_bins, np.inf, np.float32)
    maxs = np.full(n_bins, -np.inf, np.float32)
    done = 0
    for block in iter_blocks(path, start_s=clip_start_s, end_s=end_s, block_s=30.0):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        bins = np.minimum((np.arange(done, done + len(block)) * n_bins) // total, n_bins - 1)
        _reduce_into(mins, maxs, bins, block)
        done += len(block)
        if progress is not None:
            progress(min(done, total), total)
    filled = np.isfinite(mins)
    mins[~filled], maxs[~filled] = 0.0, 0.0
    return Envelope(mins, maxs, 0.0, duration)


def _reduce_into(mins: np.ndarray, maxs: np.ndarray, bins: np.ndarray, block: np.ndarray) -> None:
    """Fold a block into per-bin min/max; ``bins`` is sorted (reduceat, far faster than ufunc.at)."""
    starts = np.concatenate(([0], np.flatnonzero(np.diff(bins)) + 1))
    which = bins[starts]
    mins[which] = np.minimum(mins[which], np.minimum.reduceat(block, starts))
    maxs[which] = np.maximum(maxs[which], np.maximum.reduceat(block, starts))


@dataclass(frozen=True)
class OpenedClip:
    """A clip ready for the views: its first screen of detail and, when cheap, the whole envelope."""

    duration_s: float
    detail: Detail
    envelope: Envelope | None  # None for a long clip until ``stream_envelope`` has run

    @property
    def is_long(self) -> bool:
        """Shown as overview + detail of the part on screen."""
        return self.duration_s > LONG_CLIP_S


def open_clip(path, start_s: float, end_s: float, spec: FeatureSpec) -> OpenedClip:
    """Decode what the first screen needs: the whole clip if short, its first part if long."""
    duration = end_s - start_s
    if duration > LONG_CLIP_S:
        return OpenedClip(duration, load_detail(path, start_s, 0.0, FIRST_SCREEN_S, spec), None)
    detail = load_detail(path, start_s, 0.0, duration, spec)
    mins, maxs = peak_envelope(detail.samples, ENVELOPE_BINS)
    return OpenedClip(detail.end_s, detail, Envelope(mins, maxs, 0.0, detail.end_s))
