"""MFCC and log-mel features in numpy/scipy (no numba, no librosa).

The conventions follow librosa so that tests can use it as the reference:
centred frames with zero padding, a periodic Hamming window of ``frame_length``
samples centred in an ``n_fft`` frame, a Slaney-style mel filter bank with
Slaney area normalisation, ``10*log10(max(S, log_floor))`` as the log, and an
orthonormal DCT-II. Unlike ``librosa.feature.mfcc`` there is no ``top_db`` clip:
that clip depends on the loudest frame of the whole input, so a window's
features would change with what else is in the clip.

Arrays are time-major: ``(n_frames, n_coeffs)``. A classifier window is a
slice of whole-clip frames, so overlapping windows share frames and nothing is
computed twice.
"""

from __future__ import annotations

import numbers
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from functools import lru_cache

import numpy as np

MAX_FEATURE_RATE = 32000
MIN_FEATURE_RATE = 4000
# Sane ranges of the numeric FeatureSpec fields, (low, high, integer): what a voice
# detector can use, and small enough that nothing derived from a card (filter bank,
# frames, images) can exhaust memory. n_fft must also be FFT-friendly (2^a 3^b 5^c).
SPEC_RANGES = {
    "sample_rate": (MIN_FEATURE_RATE, MAX_FEATURE_RATE, True),
    "frame_ms": (0.1, 500.0, False),
    "hop_ms": (0.1, 60000.0, False),  # views of long clips widen it (audio.display)
    "n_fft": (16, 8192, True),
    "n_mels": (1, 256, True),
    "fmin": (0.0, 48000.0, False),
    "fmax": (1.0, 48000.0, False),  # capped at Nyquist when used
    "n_mfcc": (1, 256, True),
    "log_floor": (1e-30, 1.0, False),
    "window_s": (0.01, 60.0, False),
    "window_hop_s": (0.01, 60.0, False),
    "silence_dbfs": (-200.0, 0.0, False),
}
MAX_WINDOW_FRAMES = 10_000  # height of one classifier image
# Generalised cosine windows a0 - (1 - a0) cos(2 pi n / N): scipy.signal's
# definitions, without importing scipy.signal (slow to import) at start-up.
WINDOWS = {"hamming": 0.54, "hann": 0.5}
FEATURE_KINDS = ("mfcc", "logmel")

# Inputs up to this many frames (about 40 s at a 10 ms hop) are done in one
# pass. Importing scipy.fft costs ~130 ms, more than the work on one clip, so a
# cold start (one clip in a fresh process) uses numpy's FFT; once scipy.fft is
# loaded (any long input, a batch job, the window), everything uses it.
# Longer inputs go through scipy's pocketfft (5x numpy's float32 FFT here) in
# batches of _FRAMES_PER_BATCH on a small thread pool: memory follows the batch,
# not the input, and numpy/scipy release the GIL so both cores work.
_SMALL_INPUT_FRAMES = 4096
_FRAMES_PER_BATCH = 1024
_WORKERS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class FeatureSpec:
    """Everything that decides what a model sees; saved in every model card."""

    sample_rate: int = 16000
    frame_ms: float = 25.0
    hop_ms: float = 10.0
    window: str = "hamming"
    n_fft: int = 512
    n_mels: int = 40
    fmin: float = 20.0
    fmax: float = 8000.0
    n_mfcc: int = 20
    log_floor: float = 1e-10
    feature: str = "mfcc"  # what a classifier window's image is made of
    window_s: float = 1.0
    window_hop_s: float = 0.5
    silence_dbfs: float = -60.0  # windows quieter than this (RMS) are skipped

    def __post_init__(self):
        problems = [problem for name, (low, high, integer) in SPEC_RANGES.items()
                    if (problem := _out_of_range(name, getattr(self, name), low, high, integer))]
        if not isinstance(self.window, str) or self.window not in WINDOWS:
            problems.append(f"window must be one of {tuple(WINDOWS)}")
        if not isinstance(self.feature, str) or self.feature not in FEATURE_KINDS:
            problems.append(f"feature must be one of {FEATURE_KINDS}")
        if problems:  # the checks below compute with the values: only once each is sane
            raise ValueError("invalid FeatureSpec: " + "; ".join(problems))
        if not _fft_friendly(self.n_fft):
            problems.append(f"n_fft must be a product of 2s, 3s and 5s (e.g. 256, 400, 512), not {self.n_fft}")
        if self.hop_length < 1 or self.frame_length < 2:
            problems.append("frame_ms and hop_ms are too small for the sample rate")
        if self.frame_length > self.n_fft:
            problems.append(f"frame of {self.frame_length} samples exceeds n_fft={self.n_fft}")
        if not 0 <= self.fmin < self.effective_fmax:
            problems.append(f"fmin must be 0..fmax (fmax capped at Nyquist: {self.effective_fmax:g} Hz), "
                            f"not {self.fmin:g}")
        if not 1 <= self.n_mfcc <= self.n_mels:
            problems.append(f"n_mfcc must be 1..n_mels ({self.n_mels}), not {self.n_mfcc}")
        if self.window_frames < 1 or self.window_hop_frames < 1:
            problems.append("window_s and window_hop_s must cover at least one hop")
        elif self.window_frames > MAX_WINDOW_FRAMES:
            problems.append(f"window_s covers {self.window_frames:,} frames (at most {MAX_WINDOW_FRAMES:,}): "
                            "make it shorter or hop_ms longer")
        if problems:
            raise ValueError("invalid FeatureSpec: " + "; ".join(problems))

    # Derived sizes --------------------------------------------------------
    @property
    def frame_length(self) -> int:
        return int(round(self.sample_rate * self.frame_ms / 1000))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000))

    @property
    def effective_fmax(self) -> float:
        """fmax capped at Nyquist."""
        return min(float(self.fmax), self.sample_rate / 2)

    @property
    def n_coeffs(self) -> int:
        return self.n_mfcc if self.feature == "mfcc" else self.n_mels

    @property
    def window_frames(self) -> int:
        """Frames in one classifier window (the image height)."""
        return int(round(self.window_s * self.sample_rate / self.hop_length))

    @property
    def window_hop_frames(self) -> int:
        return int(round(self.window_hop_s * self.sample_rate / self.hop_length))

    @property
    def window_samples(self) -> int:
        return int(round(self.window_s * self.sample_rate))

    @property
    def image_shape(self) -> tuple[int, int]:
        """(time frames, coefficients) of one classifier window."""
        return (self.window_frames, self.n_coeffs)

    # Serialisation ----------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureSpec":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown FeatureSpec fields: {', '.join(unknown)}")
        return cls(**data)


def _out_of_range(name: str, value, low, high, integer: bool) -> str | None:
    """Why ``value`` does not fit ``low..high`` (NaN and infinities never do), or None."""
    kind = "an integer" if integer else "a number"
    numeric = numbers.Integral if integer else numbers.Real  # numpy's scalars too
    if isinstance(value, bool) or not isinstance(value, numeric) or not low <= value <= high:
        return f"{name} must be {kind} {low:g}..{high:g}, not {value!r:.40}"
    return None


def _fft_friendly(n: int) -> bool:
    for factor in (2, 3, 5):
        while n % factor == 0:
            n //= factor
    return n == 1


# Building blocks -----------------------------------------------------------

def hz_to_mel(hz):
    """Slaney mel scale: linear below 1 kHz, logarithmic above (librosa htk=False)."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    mel = hz / f_sp
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-12) / min_log_hz) / logstep, mel)


def mel_to_hz(mel):
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


@lru_cache(maxsize=16)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular mel filters with Slaney area normalisation, ``(n_mels, n_fft//2+1)``.

    Same construction as ``librosa.filters.mel(htk=False, norm='slaney')``.
    """
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mel_edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(mel_edges)
    ramps = mel_edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_edges[2:] - mel_edges[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


@lru_cache(maxsize=16)
def analysis_window(kind: str, length: int) -> np.ndarray:
    """Periodic window (scipy's ``fftbins=True``), as librosa uses for the STFT."""
    a0 = WINDOWS[kind]
    window = (a0 - (1 - a0) * np.cos(2 * np.pi * np.arange(length) / length)).astype(np.float32)
    window.flags.writeable = False
    return window


@lru_cache(maxsize=16)
def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """First ``n_out`` orthonormal DCT-II basis rows, as ``(n_in, n_out)`` for ``x @ M``.

    Same transform as ``scipy.fft.dct(x, type=2, norm="ortho")[:n_out]``.
    """
    k = np.arange(n_out)[None, :]
    n = np.arange(n_in)[:, None]
    matrix = np.sqrt(2.0 / n_in) * np.cos(np.pi * k * (2 * n + 1) / (2 * n_in))
    matrix[:, 0] /= np.sqrt(2.0)
    matrix.flags.writeable = False
    return matrix


def n_frames(n_samples: int, spec: FeatureSpec) -> int:
    """Frames of a centred STFT over ``n_samples`` samples (librosa's count)."""
    return 1 + n_samples // spec.hop_length


def _frames(samples: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Unwindowed frames ``(n_frames, frame_length)`` as a strided view (no copy).

    Only the ``frame_length`` samples under the window are taken: zero-padding
    them to ``n_fft`` at the end instead of centring them in the FFT frame is a
    circular shift, which leaves the power spectrum unchanged.
    """
    y = np.asarray(samples, dtype=np.float32)
    pad = spec.n_fft // 2
    offset = (spec.n_fft - spec.frame_length) // 2
    padded = np.zeros(len(y) + 2 * pad, dtype=np.float32)
    padded[pad:pad + len(y)] = y
    frames = np.lib.stride_tricks.sliding_window_view(padded[offset:], spec.frame_length)[:: spec.hop_length]
    return frames[: n_frames(len(y), spec)]


def _check_input(samples: np.ndarray, spec: FeatureSpec, sample_rate: int | None) -> None:
    if sample_rate is not None and sample_rate != spec.sample_rate:
        raise ValueError(
            f"audio at {sample_rate} Hz given to features for {spec.sample_rate} Hz; resample first"
        )
    if np.ndim(samples) != 1:
        raise ValueError("features take mono audio (a 1-D array)")


def _windowed(frames: np.ndarray, spec: FeatureSpec, dtype) -> np.ndarray:
    """Frames times the window, zero-padded to ``n_fft``."""
    out = np.zeros((len(frames), spec.n_fft), dtype=dtype)
    np.multiply(frames, analysis_window(spec.window, spec.frame_length), out=out[:, : spec.frame_length])
    return out


def _fast() -> bool:
    """scipy.fft and scipy.sparse are loaded: use them (and keep OpenBLAS out)."""
    return "scipy.fft" in sys.modules and "scipy.sparse" in sys.modules


def load_fast_fft() -> None:
    """Import scipy's FFT and sparse products now (batch jobs and the window call this once)."""
    import scipy.fft  # noqa: F401
    import scipy.sparse  # noqa: F401


def _power(frames: np.ndarray, spec: FeatureSpec, fast: bool) -> np.ndarray:
    if not fast:  # cold start: numpy only (its float32 FFT is slow, float64 is fine)
        spectrum = np.fft.rfft(_windowed(frames, spec, np.float64), axis=-1)
        return spectrum.real**2 + spectrum.imag**2
    import scipy.fft

    spectrum = scipy.fft.rfft(_windowed(frames, spec, np.float32), axis=-1)
    power = spectrum.real**2
    power += spectrum.imag**2
    return power


@lru_cache(maxsize=16)
def _sparse_filters(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float):
    """The mel filter bank as a sparse matrix for ``power @ filters`` (about 5% non-zero).

    Besides skipping the zeros, a sparse product keeps OpenBLAS out: its
    threads spin between calls and starve the other workers and the
    interpreter on a small machine.
    """
    import scipy.sparse

    return scipy.sparse.csc_matrix(mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax).T)


def _log(mel_power: np.ndarray, floor: float) -> np.ndarray:
    np.maximum(mel_power, floor, out=mel_power)
    np.log10(mel_power, out=mel_power)
    mel_power *= 10.0
    return mel_power


def _features(frames: np.ndarray, spec: FeatureSpec, kind: str, fast: bool) -> np.ndarray:
    """Log-mel or MFCC of a batch of frames."""
    bank = (spec.sample_rate, spec.n_fft, spec.n_mels, float(spec.fmin), spec.effective_fmax)
    power = _power(frames, spec, fast)
    if fast:
        import scipy.fft

        logmel = _log(np.asarray(power @ _sparse_filters(*bank)), spec.log_floor)
        if kind == "logmel":
            return logmel
        return scipy.fft.dct(logmel, type=2, norm="ortho", axis=-1)[:, : spec.n_mfcc]
    logmel = _log(power @ mel_filterbank(*bank).T.astype(np.float64), spec.log_floor)
    return logmel if kind == "logmel" else logmel @ dct_matrix(spec.n_mels, spec.n_mfcc)


_pool: ThreadPoolExecutor | None = None


def _map_batches(work, total: int) -> None:
    """Run ``work(start)`` for each batch of frames, on every core."""
    global _pool
    starts = range(0, total, _FRAMES_PER_BATCH)
    if _WORKERS < 2:
        for start in starts:
            work(start)
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="voicestudio-features")
    for _ in _pool.map(work, starts):
        pass


def _compute(samples, spec: FeatureSpec, sample_rate, width: int, batch_fn) -> np.ndarray:
    """Apply ``batch_fn(frames, fast)`` to all frames: one pass when short, batches on the pool when long."""
    _check_input(samples, spec, sample_rate)
    frames = _frames(samples, spec)
    if len(frames) <= _SMALL_INPUT_FRAMES:
        return batch_fn(frames, _fast()).astype(np.float32, copy=False)
    load_fast_fft()
    out = np.empty((len(frames), width), np.float32)

    def work(start):
        batch = frames[start:start + _FRAMES_PER_BATCH]
        out[start:start + len(batch)] = batch_fn(batch, True)

    _map_batches(work, len(frames))
    return out


def stft_power(samples: np.ndarray, spec: FeatureSpec, sample_rate: int | None = None) -> np.ndarray:
    """Power spectrogram ``|STFT|**2``, ``(n_frames, n_fft//2+1)`` float32."""
    return _compute(samples, spec, sample_rate, spec.n_fft // 2 + 1, lambda f, fast: _power(f, spec, fast))


def features(samples: np.ndarray, spec: FeatureSpec, sample_rate: int | None = None, kind: str | None = None) -> np.ndarray:
    """Log-mel (dB) or MFCC of the whole signal, ``(n_frames, n_coeffs)`` float32.

    ``kind`` defaults to ``spec.feature``.
    """
    kind = kind or spec.feature
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature kind {kind!r}")
    width = spec.n_mfcc if kind == "mfcc" else spec.n_mels
    return _compute(samples, spec, sample_rate, width, lambda f, fast: _features(f, spec, kind, fast))


def log_mel(samples: np.ndarray, spec: FeatureSpec, sample_rate: int | None = None) -> np.ndarray:
    return features(samples, spec, sample_rate, kind="logmel")


def mfcc(samples: np.ndarray, spec: FeatureSpec, sample_rate: int | None = None) -> np.ndarray:
    return features(samples, spec, sample_rate, kind="mfcc")


# Classifier windows -----------------------------------------------------------

def window_starts(total_frames: int, spec: FeatureSpec) -> np.ndarray:
    """First frame of each classifier window.

    Windows step by ``window_hop_frames``; when that grid leaves more than one
    frame at the end uncovered, one more window is aligned to the end so the
    tail is seen. (A centred STFT of exactly one window's samples has one frame
    more than a window: that frame alone is not worth a window.)
    A clip shorter than one window has a single window at 0 (the caller pads).
    """
    size, hop = spec.window_frames, spec.window_hop_frames
    if total_frames <= size + 1:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, total_frames - size + 1, hop, dtype=np.int64)
    if starts[-1] + size < total_frames - 1:
        starts = np.append(starts, total_frames - size)
    return starts


def pad_to_window(samples: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Zero-pad a clip shorter than one classifier window to exactly one window."""
    if len(samples) >= spec.window_samples:
        return samples
    padded = np.zeros(spec.window_samples, dtype=np.float32)
    padded[: len(samples)] = samples
    return padded


def window_images(frame_features: np.ndarray, starts: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Stack the windows' images, ``(n_windows, window_frames, n_coeffs)`` (a copy)."""
    size = spec.window_frames
    if len(frame_features) < size:
        raise ValueError(f"{len(frame_features)} frames are fewer than one window ({size}); pad the audio first")
    view = np.lib.stride_tricks.sliding_window_view(frame_features, size, axis=0)
    # sliding_window_view puts the window axis last: (n, coeffs, size) -> (n, size, coeffs)
    return np.ascontiguousarray(view[starts].transpose(0, 2, 1))


def window_rms_dbfs(samples: np.ndarray, starts: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """RMS level in dBFS of each classifier window (the frames' hop-sized blocks).

    Energies are summed per hop block first, so the cumulative sum runs over
    ``len/hop`` values, not over every sample of a long recording.
    """
    y = np.asarray(samples, dtype=np.float32)
    hop = spec.hop_length
    whole = len(y) // hop
    blocks = y[: whole * hop].reshape(whole, hop)
    energy = np.einsum("ij,ij->i", blocks, blocks).astype(np.float64)
    if len(y) > whole * hop:
        tail = y[whole * hop:]
        energy = np.append(energy, float(np.dot(tail, tail)))
    cumulative = np.concatenate(([0.0], np.cumsum(energy)))
    first = np.minimum(starts, len(energy))
    last = np.minimum(starts + spec.window_frames, len(energy))
    n_samples = np.minimum(last * hop, len(y)) - first * hop
    mean_square = (cumulative[last] - cumulative[first]) / np.maximum(n_samples, 1)
    return 10.0 * np.log10(np.maximum(mean_square, 1e-20))


def silent_windows(samples: np.ndarray, starts: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Boolean mask of windows below ``spec.silence_dbfs``: the energy gate."""
    return window_rms_dbfs(samples, starts, spec) < spec.silence_dbfs
