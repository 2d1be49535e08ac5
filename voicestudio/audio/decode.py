"""The one decoder: any audio file -> mono float32, whole, in part, or streamed.

libsndfile (through soundfile) reads WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF,
CAF, W64, RF64 and more at any bit depth and channel count. Containers it lacks
(MP4/M4A/AAC, WMA, WebM...) go through PyAV when it is installed
(``voicestudio[formats]``). The content decides, never the extension.

Everything is mixed to mono by averaging channels and, if asked, resampled with
soxr. Nothing above ``MAX_RATE`` is ever returned unless asked for explicitly.
Unusable files raise ``AudioError`` with a specific reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from voicestudio.audio.resample import StreamResampler, resample
from voicestudio.errors import AudioError, MissingExtraError

MAX_RATE = 32000
_BLOCK_FRAMES = 1 << 16


@dataclass(frozen=True)
class AudioInfo:
    path: str
    format: str
    subtype: str | None
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    backend: str  # "soundfile" | "pyav"


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # mono float32
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


# Recognising what a file is ----------------------------------------------------

def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(path, "no such file")
    if path.is_dir():
        raise AudioError(path, "is a folder, not a file")
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise AudioError(path, "empty file (0 bytes)")


def _sniff(path: Path) -> str | None:
    """Name a container libsndfile cannot read, from its first bytes."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head[4:8] == b"ftyp":
        return "MP4/M4A"
    if head.startswith(bytes.fromhex("3026b2758e66cf11")):
        return "ASF/WMA"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "Matroska/WebM"
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
        return "ADTS AAC"
    if head.startswith(b"#!AMR"):
        return "AMR"
    return None


def _pyav():
    try:
        import av
    except ImportError:
        return None
    return av


def probe(path) -> AudioInfo:
    """Read the headers only (libsndfile first, then PyAV)."""
    path = Path(path)
    _check_file(path)
    try:
        with sf.SoundFile(str(path)) as f:
            return _sndfile_info(path, f)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        return _probe_other(path, _reason(exc))


def _sndfile_info(path, f: sf.SoundFile) -> AudioInfo:
    if f.frames <= 0:
        raise AudioError(path, "no audio frames")
    if f.samplerate <= 0 or f.channels <= 0:
        raise AudioError(path, "invalid header (sample rate or channel count)")
    return AudioInfo(
        path=str(path), format=f.format, subtype=f.subtype or None, sample_rate=int(f.samplerate),
        channels=int(f.channels), frames=int(f.frames), duration_s=f.frames / f.samplerate,
        backend="soundfile",
    )


def _reason(exc: Exception) -> str:
    text = str(exc)
    # libsndfile's messages start with the path in quotes; keep just the reason.
    if ": " in text and text.startswith("Error opening"):
        text = text.split(": ", 1)[1]
    return text.strip().rstrip(".") or type(exc).__name__


def _probe_other(path: Path, sndfile_reason: str) -> AudioInfo:
    container = _sniff(path)
    av = _pyav()
    if av is None:
        if container:
            raise MissingExtraError(f"reading {container} audio ({path})", "formats", "av")
        raise AudioError(path, f"not an audio file libsndfile can read ({sndfile_reason})")
    try:
        with av.open(str(path)) as c:
            stream = next((s for s in c.streams if s.type == "audio"), None)
            if stream is None:
                raise AudioError(path, "not an audio file (no audio stream)")
            rate = int(stream.rate or stream.codec_context.sample_rate or 0)
            channels = int(stream.codec_context.channels or 0)
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif c.duration is not None:
                duration = c.duration / 1_000_000
            else:
                duration = 0.0
            codec = stream.codec_context.name
            container_name = c.format.name
    except AudioError:
        raise
    except Exception as exc:  # PyAV raises many error types for garbage input
        raise AudioError(path, f"not an audio file ({sndfile_reason})") from None
    if rate <= 0:
        raise AudioError(path, "not an audio file (no sample rate)")
    if duration <= 0:
        # Some containers carry no duration: decode to count the frames.
        duration = sum(len(b) for b in _pyav_blocks(path, 0.0, None, rate)) / rate
        if duration <= 0:
            raise AudioError(path, "no audio frames")
    return AudioInfo(
        path=str(path), format=container_name.upper(), subtype=codec.upper(), sample_rate=rate,
        channels=max(channels, 1), frames=int(round(duration * rate)), duration_s=duration, backend="pyav",
    )


# Reading ----------------------------------------------------------------------------

def _span(info: AudioInfo, start_s: float, end_s: float | None) -> tuple[int, int]:
    """Frame range [first, last) of a part of the file, clamped to the file."""
    path = info.path
    if start_s < 0:
        raise AudioError(path, f"start {start_s:g} s is negative")
    first = int(round(start_s * info.sample_rate))
    last = info.frames if end_s is None else min(int(round(end_s * info.sample_rate)), info.frames)
    if first >= info.frames:
        raise AudioError(path, f"start {start_s:g} s is beyond the end ({info.duration_s:.3f} s)")
    if last <= first:
        raise AudioError(path, f"empty part: end {end_s:g} s is not after start {start_s:g} s")
    return first, last


def _mono(block: np.ndarray) -> np.ndarray:
    if block.ndim == 2:
        block = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
    return np.ascontiguousarray(block, dtype=np.float32)


def _check_finite(path, block: np.ndarray) -> None:
    if not np.isfinite(block).all():
        raise AudioError(path, "contains NaN/Inf samples")


def _sndfile_blocks(info: AudioInfo, first: int, last: int, block_frames: int) -> Iterator[np.ndarray]:
    path = info.path
    try:
        with sf.SoundFile(path) as f:
            if first:
                f.seek(first)
            remaining = last - first
            while remaining > 0:
                block = f.read(min(block_frames, remaining), dtype="float32", always_2d=True)
                if len(block) == 0:
                    break  # header promised more than the file holds: use what is there
                remaining -= len(block)
                yield _mono(block)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(path, f"cannot decode ({_reason(exc)})") from None


def _pyav_blocks(path, start_s: float, end_s: float | None, rate: int) -> Iterator[np.ndarray]:
    """Decode with PyAV to mono float32 at the stream's own rate."""
    av = _pyav()
    try:
        with av.open(str(path)) as c:
            stream = next(s for s in c.streams if s.type == "audio")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            if start_s > 0 and stream.time_base:
                c.seek(int(start_s / stream.time_base), stream=stream, any_frame=False, backward=True)
            position = None  # sample index of the next decoded sample
            for frame in c.decode(stream):
                if position is None:
                    position = int(round(float(frame.pts * frame.time_base) * rate)) if frame.pts is not None else 0
                for out in resampler.resample(frame):
                    data = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    begin = position
                    position += len(data)
                    lo = max(0, int(round(start_s * rate)) - begin)
                    hi = len(data) if end_s is None else min(len(data), int(round(end_s * rate)) - begin)
                    if hi > lo:
                        yield data[lo:hi]
                if end_s is not None and position >= end_s * rate:
                    return
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(path, f"cannot decode ({exc})") from None


def _target_rate(native: int, sample_rate: int | None, max_rate: int) -> int:
    return sample_rate if sample_rate else min(native, max_rate)


def iter_blocks(
    path,
    *,
    block_s: float = 10.0,
    start_s: float = 0.0,
    end_s: float | None = None,
    sample_rate: int | None = None,
    max_rate: int = MAX_RATE,
    info: AudioInfo | None = None,
) -> Iterator[np.ndarray]:
    """Stream mono float32 blocks of about ``block_s`` seconds (at the output rate).

    Memory follows the block size, never the file length; resampling is
    streamed, so block boundaries leave no trace in the output.
    """
    info = info or probe(path)
    first, last = _span(info, start_s, end_s)
    rate_out = _target_rate(info.sample_rate, sample_rate, max_rate)
    block_frames = max(1, int(block_s * info.sample_rate))
    if info.backend == "soundfile":
        source = _sndfile_blocks(info, first, last, block_frames)
    else:
        source = _pyav_blocks(path, first / info.sample_rate, last / info.sample_rate, info.sample_rate)
    resampler = StreamResampler(info.sample_rate, rate_out) if rate_out != info.sample_rate else None
    produced = False
    for block in source:
        _check_finite(path, block)
        out = resampler.process(block) if resampler else block
        if len(out):
            produced = True
            yield out
    if resampler:
        tail = resampler.flush()
        if len(tail):
            produced = True
            yield tail
    if not produced:
        raise AudioError(path, "no audio could be decoded")


def load_audio(
    path,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
    sample_rate: int | None = None,
    max_rate: int = MAX_RATE,
    info: AudioInfo | None = None,
) -> Audio:
    """Decode ``[start_s, end_s)`` of a file (the whole file by default) to mono float32.

    ``sample_rate`` resamples to that rate; otherwise the native rate is kept
    up to ``max_rate`` (higher rates are downsampled to it).
    """
    if info is None:
        try:  # the common case: one open, headers and data together
            with sf.SoundFile(str(path)) as f:
                info = _sndfile_info(path, f)
                return _finish(path, info, _read_open(path, f, info, start_s, end_s), sample_rate, max_rate)
        except (sf.LibsndfileError, RuntimeError, TypeError, OSError):
            pass  # not for libsndfile, or unreadable: probe() says which, precisely
        info = probe(path)
    first, last = _span(info, start_s, end_s)
    if info.backend == "soundfile":
        try:
            with sf.SoundFile(info.path) as f:
                samples = _read_open(path, f, info, start_s, end_s)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(path, f"cannot decode ({_reason(exc)})") from None
    else:
        blocks = list(_pyav_blocks(path, first / info.sample_rate, last / info.sample_rate, info.sample_rate))
        samples = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    return _finish(path, info, samples, sample_rate, max_rate)


def _read_open(path, f, info: AudioInfo, start_s: float, end_s: float | None) -> np.ndarray:
    first, last = _span(info, start_s, end_s)
    try:
        if first:
            f.seek(first)
        return _mono(f.read(last - first, dtype="float32", always_2d=True))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(path, f"cannot decode ({_reason(exc)})") from None
    except MemoryError:
        raise AudioError(path, "too large to decode at once") from None


def _finish(path, info: AudioInfo, samples: np.ndarray, sample_rate: int | None, max_rate: int) -> Audio:
    if len(samples) == 0:
        raise AudioError(path, "no audio could be decoded")
    _check_finite(path, samples)
    rate_out = _target_rate(info.sample_rate, sample_rate, max_rate)
    if rate_out != info.sample_rate:
        samples = resample(samples, info.sample_rate, rate_out)
    return Audio(samples, rate_out)


def describe(info: AudioInfo) -> str:
    """``WAV PCM_16, 44100 Hz, 2 ch, 3.20 s`` for lists and error panels."""
    kind = f"{info.format} {info.subtype}" if info.subtype else info.format
    return f"{kind}, {info.sample_rate} Hz, {info.channels} ch, {info.duration_s:.2f} s"

