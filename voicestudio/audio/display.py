"""What the clip views draw, computed off the main thread: cost follows the screen, not the file.

A short clip is decoded once at the model's rate and everything is computed
from those samples. A long recording gets a peak envelope of the whole file
(streamed, never held in memory at once) and detail — samples, spectrogram,
MFCC — only for the part on screen. A spectrogram never has more columns than
``max_columns``: over a wide range the STFT hop grows instead.

What the views show is the user's ``ViewSettings``: the spectrogram's top
frequency, FFT size and dB range. The MFCC is always the model's, at the
model's rate; the spectrogram is computed at a higher rate only when the user
asks for more of the file's band than the model's rate holds (never above
32 kHz, the reference design's ceiling, so never above 16 kHz on screen).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from voicestudio.audio.decode import MAX_RATE, iter_blocks, load_audio, probe
from voicestudio.audio.features import FeatureSpec, analysis_window, features, mel_filterbank, stft_power
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
MAX_VIEW_HZ = MAX_RATE / 2  # the reference design never works above 32 kHz
FFT_SIZES = (256, 512, 1024, 2048)
COLOUR_MAPS = ("inferno", "magma", "viridis", "plasma", "grey")
MFCC_SCALES = ("fixed", "per-screen")
PER_SCREEN_SPREAD = 2.5  # per-screen contrast: ±this many standard deviations fill the colours
# Fixed MFCC scale: a cosine ripple of this amplitude (dB) across the mel bands, of a
# coefficient's own order, fills that coefficient's colours (speech's coefficients 1-7 reach about this).
MFCC_RIPPLE_DB = 15.0


@dataclass(frozen=True)
class ViewSettings:
    """What the user chose for the spectrogram and MFCC views (saved in Settings)."""

    max_hz: float = 8000.0  # top of the spectrogram; each clip stops at its own Nyquist frequency
    n_fft: int = 512
    floor_db: float = SPECTROGRAM_FLOOR_DB  # dBFS levels the colour map spans
    top_db: float = SPECTROGRAM_TOP_DB
    colour_map: str = "inferno"
    mfcc_scale: str = "fixed"  # or "per-screen": each coefficient standardised over the range shown

    def problems(self) -> list[str]:
        """Why these settings cannot be used (empty when they can)."""
        found = []
        if not 500.0 <= self.max_hz <= MAX_VIEW_HZ:
            found.append(f"maximum frequency must be 500..{MAX_VIEW_HZ:g} Hz")
        if self.n_fft not in FFT_SIZES:
            found.append(f"FFT size must be one of {FFT_SIZES}")
        if not -200.0 <= self.floor_db < self.top_db <= 40.0:
            found.append("dB range must have floor < top, within -200..40 dB")
        if self.colour_map not in COLOUR_MAPS:
            found.append(f"colour map must be one of {COLOUR_MAPS}")
        if self.mfcc_scale not in MFCC_SCALES:
            found.append(f"MFCC scale must be one of {MFCC_SCALES}")
        return found


DEFAULT_VIEW = ViewSettings()


@dataclass(frozen=True)
class MfccScale:
    """A fixed colour scale per coefficient: ``(mfcc - centre) / half_range`` spans -1..1."""

    centre: np.ndarray
    half_range: np.ndarray


@lru_cache(maxsize=8)
def fixed_mfcc_scale(spec: FeatureSpec) -> MfccScale:
    """The same scale for every clip, derived from the MFCC definition alone (no data).

    Every mel band's log power lies between the log floor (silence: ``10 log10(log_floor)``)
    and the level full-scale white noise gives it (the filter's weight sum times the
    window's energy). Coefficient 0 is ``sqrt(n_mels)`` times the mean band level, so it
    spans silence .. full scale. The orthonormal DCT gives a ripple of amplitude ``a`` dB of
    a coefficient's own order ``a * sqrt(n_mels / 2)``: coefficients 1.. span ±that for
    ``MFCC_RIPPLE_DB`` around 0 (a flat spectrum). Silence is dark in row 0 and mid-scale
    above it; loud noise is bright in row 0: they no longer look alike.
    """
    bank = mel_filterbank(spec.sample_rate, spec.n_fft, spec.n_mels, float(spec.fmin), spec.effective_fmax)
    window = analysis_window(spec.window, spec.frame_length).astype(np.float64)
    floor_db = 10.0 * math.log10(spec.log_floor)
    full_db = 10.0 * math.log10(float((window**2).sum() * bank.sum(axis=1).mean()))
    root = math.sqrt(spec.n_mels)
    centre = np.zeros(spec.n_mfcc, np.float32)
    half = np.full(spec.n_mfcc, MFCC_RIPPLE_DB * math.sqrt(spec.n_mels / 2), np.float32)
    centre[0], half[0] = root * (floor_db + full_db) / 2, root * (full_db - floor_db) / 2
    return MfccScale(centre, half)


def mfcc_image(mfcc: np.ndarray, scale: MfccScale | None, mode: str) -> np.ndarray:
    """The MFCC as drawn, -1..1 filling the colour map: on the fixed scale, or standardised per screen."""
    mfcc = np.asarray(mfcc, np.float32)
    if mode == "fixed" and scale is not None and len(scale.centre) == mfcc.shape[1]:
        return (mfcc - scale.centre) / scale.half_range
    spread = np.maximum(mfcc.std(axis=0), 1e-6) * PER_SCREEN_SPREAD
    return (mfcc - mfcc.mean(axis=0)) / spread


def display_rate(native_rate: int, model_rate: int, max_hz: float) -> int:
    """The rate the spectrogram is computed at: the model's, or higher when the user asks for
    more of the file's band. Whole kHz, so hops are whole samples and its columns line up
    with the MFCC's; never above ``MAX_RATE``."""
    wanted = min(2.0 * max_hz, native_rate, MAX_RATE)
    if wanted <= model_rate:
        return model_rate
    return max(model_rate, int(wanted // 1000) * 1000)


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
    max_hz: float  # top of the spectrogram (the view's maximum, at most the Nyquist frequency)
    mfcc_scale: MfccScale | None = None  # the model's fixed MFCC colour scale (see ``fixed_mfcc_scale``)


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


def spectrogram_spec(spec: FeatureSpec, rate: int, n_fft: int, hop_ms: float) -> FeatureSpec:
    """The STFT the spectrogram uses: ``n_fft`` points at ``rate``, with the frame filling the same
    share of the FFT as the model's (400 of 512 samples), so the default is the model's own STFT."""
    frame = max(2, round(n_fft * spec.frame_length / spec.n_fft))
    if (rate, n_fft, frame, hop_ms) == (spec.sample_rate, spec.n_fft, spec.frame_length, spec.hop_ms):
        return spec
    return dataclasses.replace(spec, sample_rate=rate, n_fft=n_fft, frame_ms=1000.0 * frame / rate, hop_ms=hop_ms,
                               fmax=min(spec.fmax, rate / 2), window_hop_s=max(spec.window_hop_s, hop_ms / 1000))


def detail_from_samples(samples: np.ndarray, spec: FeatureSpec, start_s: float = 0.0,
                        max_columns: int = MAX_COLUMNS, view: ViewSettings = DEFAULT_VIEW,
                        wide: tuple[np.ndarray, int] | None = None) -> Detail:
    """Spectrogram and MFCC of samples at ``spec.sample_rate`` starting ``start_s`` into the clip.

    ``wide`` is the same audio at a higher rate ``(samples, rate)`` for a spectrogram above
    the model's Nyquist frequency; the MFCC always comes from ``samples``.
    """
    samples = np.asarray(samples, np.float32)
    duration = len(samples) / spec.sample_rate
    view_spec = display_spec(spec, duration, max_columns)
    wide_samples, rate = wide if wide is not None else (samples, spec.sample_rate)
    stft = spectrogram_spec(spec, rate, view.n_fft, view_spec.hop_ms)
    power = stft_power(np.asarray(wide_samples, np.float32), stft)
    max_hz = min(float(view.max_hz), rate / 2)
    bins = min(power.shape[1], int(max_hz / (rate / stft.n_fft)) + 1)  # up to the view's top only
    # dB relative to a full-scale sine (0 dBFS), so levels mean the same for every spec.
    full_scale = (analysis_window(stft.window, stft.frame_length).sum() / 2) ** 2
    spectrogram = 10.0 * np.log10(np.maximum(power[:, :bins] / full_scale, 1e-12))
    np.clip(spectrogram, view.floor_db, view.top_db, out=spectrogram)
    mfcc = features(samples, view_spec, kind="mfcc")
    columns = min(len(mfcc), len(spectrogram))  # the two rates may differ by a frame
    return Detail(
        start_s=start_s,
        end_s=start_s + duration,
        samples=samples,
        sample_rate=spec.sample_rate,
        spectrogram_db=spectrogram[:columns].astype(np.float32, copy=False),
        mfcc=mfcc[:columns],
        column_s=view_spec.hop_length / spec.sample_rate,
        max_hz=max_hz if bins < power.shape[1] else rate / 2,
        mfcc_scale=fixed_mfcc_scale(spec),
    )


def load_detail(path, clip_start_s: float, start_s: float, end_s: float, spec: FeatureSpec,
                view: ViewSettings = DEFAULT_VIEW) -> Detail:
    """Decode ``[start_s, end_s)`` of a clip (seconds from the clip's start) and compute its detail.

    The model's rate is decoded as always (waveform, playback and prediction use it); a view
    above the model's Nyquist frequency decodes the part once more at the wider rate.
    """
    first, last = clip_start_s + start_s, clip_start_s + end_s
    audio = load_audio(path, start_s=first, end_s=last, sample_rate=spec.sample_rate)
    wide = None
    if view.max_hz > spec.sample_rate / 2:
        rate = display_rate(probe(path).sample_rate, spec.sample_rate, view.max_hz)
        if rate > spec.sample_rate:
            wide = (load_audio(path, start_s=first, end_s=last, sample_rate=rate).samples, rate)
    return detail_from_samples(audio.samples, spec, start_s, view=view, wide=wide)


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


def open_clip(path, start_s: float, end_s: float, spec: FeatureSpec, view: ViewSettings = DEFAULT_VIEW) -> OpenedClip:
    """Decode what the first screen needs: the whole clip if short, its first part if long."""
    duration = end_s - start_s
    if duration > LONG_CLIP_S:
        return OpenedClip(duration, load_detail(path, start_s, 0.0, FIRST_SCREEN_S, spec, view), None)
    detail = load_detail(path, start_s, 0.0, duration, spec, view)
    mins, maxs = peak_envelope(detail.samples, ENVELOPE_BINS)
    return OpenedClip(detail.end_s, detail, Envelope(mins, maxs, 0.0, detail.end_s))
