"""The one decoder: any audio file -> mono float32, whole, in part, or streamed.

libsndfile (through soundfile) reads WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF,
CAF, W64, RF64 and more at any bit depth and channel count. Containers it lacks
(MP4/M4A/AAC, WMA, WebM...) go through PyAV when it is installed
(``voicestudio[formats]``). The content decides, never the extension.

Everything is mixed to mono by averaging channels and resampled with soxr:
to ``sample_rate`` when one is asked for, else to the native rate capped at
``max_rate`` (``MAX_RATE`` = 32 kHz by default). Unusable files raise
``AudioError`` with a specific reason; nothing is ever allocated from what a
header claims beyond what the file could hold.
"""

from __future__ import annotations

import io
import math
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import soundfile as sf

from voicestudio.audio.resample import StreamResampler, resample
from voicestudio.errors import AudioError, MissingExtraError

MAX_RATE = 32000

_READ_FRAMES = 1 << 16  # frames per libsndfile read: memory follows this, not the file
# Bytes per sample of uncompressed subtypes in uncompressed containers (FLAC also says
# "PCM_16"): a header may not claim more frames than the file's bytes can hold.
_PCM_BYTES = {
    "PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
    "FLOAT": 4, "DOUBLE": 8, "ULAW": 1, "ALAW": 1,
}
_UNCOMPRESSED = {
    "WAV", "WAVEX", "W64", "RF64", "AIFF", "AU", "CAF", "NIST", "IRCAM", "VOC",
    "MAT4", "MAT5", "PAF", "SVX", "SD2", "HTK", "PVF", "AVR", "MPC2K", "SDS", "WVE",
}
# No codec libsndfile reads packs more frames into a byte (FLAC of digital silence
# comes closest, a few thousand); beyond this a header is lying.
_MAX_FRAMES_PER_BYTE = 16384
# A compressed file's header frame count is trusted for preallocation up to this ratio.
_TRUSTED_FRAMES_PER_BYTE = 64
# libsndfile 1.2's seek is off for these (MP3 by up to seconds on VBR files, Vorbis
# by a few hundred samples): decode from the start and discard instead.
_INEXACT_SEEK = {"MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III", "VORBIS"}
_PYAV_PREROLL_S = 0.2  # decode this much before a seek target so the codec settles
# Above these a header is lying: no recorder samples faster than a few hundred kHz
# (ultrasound at 768 kHz is the fastest in use) and libsndfile stops at 1024 channels.
MAX_DECLARED_RATE = 2_000_000
MAX_CHANNELS = 1024
# Names libsndfile guesses a format from when the content says nothing: a text file
# called .mp3 goes to mpg123, which then prints its complaints on our stderr.
_GUESSED_BY_NAME = {".mp3"}
# (offset, bytes) that mark an audio container: if its header is unreadable it is broken, not absent.
_AUDIO_MAGIC = [(0, b"fLaC"), (0, b"OggS"), (0, b"caff"), (0, b".snd\x00\x00\x00"), (8, b"WAVE"), (8, b"AIFF"),
                (8, b"AIFC")]


@dataclass(frozen=True)
class AudioInfo:
    """What a file's headers say (frames corrected when they claim the impossible)."""

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
    """Mono float32 samples (C-contiguous) and their rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


# Recognising what a file is ---------------------------------------------------------

def _check_file(path) -> Path:
    """The file to read, checked: a project's stored path goes through this machine's path map."""
    from voicestudio import pathmap

    path = Path(pathmap.active().local(str(path)))
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AudioError(path, "no such file") from None
    except OSError as exc:
        raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioError(path, "is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise AudioError(path, "not a regular file")  # a FIFO or device: never open (it may block)
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
    if st.st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    return path


_CONTAINERS = [  # (offset, magic bytes, name) of containers libsndfile cannot read
    (4, b"ftyp", "MP4/M4A"),
    (0, bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"), "ASF/WMA"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (0, b"#!AMR", "AMR"),
    (0, b"OggS", "Ogg (a codec libsndfile lacks)"),
    (0, b"MAC ", "Monkey's Audio"),
    (0, b"wvpk", "WavPack"),
    (0, b"TTA1", "TTA"),
    (0, b".RMF", "RealMedia"),
    (0, b"FLV", "FLV"),
    (0, b"\x0b\x77", "AC-3"),
]


def _sniff(path: Path) -> str | None:
    """Name a container libsndfile cannot read, from its first bytes."""
    with open(path, "rb") as f:
        head = f.read(16)
    for offset, magic, name in _CONTAINERS:
        if head[offset:offset + len(magic)] == magic:
            return name
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "ADTS AAC"  # 12-bit sync, MPEG-4/2 id, layer 0 (MP3 has layer != 0)
    return None


def _pyav():
    try:
        import av
    except ImportError:
        return None
    return av


class _Nameless(io.FileIO):
    """A file read through Python by a library that must judge it by content only.

    It carries no name (soundfile and ffmpeg would guess formats from the
    extension), and a seek the OS refuses (a lying header asking for a negative
    offset) returns -1 instead of raising, which the libraries report as a
    failed seek rather than printing a Python traceback from a C callback.
    """

    def __init__(self, path):
        super().__init__(path, "rb")
        self.name = None

    def seek(self, offset, whence=os.SEEK_SET):
        try:
            return super().seek(offset, whence)
        except (OSError, ValueError, OverflowError):
            return -1


class _NotForSndfile(Exception):
    """libsndfile cannot read this file; the message says why."""


@contextmanager
def _open_sndfile(path: Path):
    """Open with libsndfile, judging by content only."""
    fileobj = None
    try:
        try:
            if path.suffix.lower() in _GUESSED_BY_NAME:
                raise TypeError("judge it by content")
            f = sf.SoundFile(str(path))
        except TypeError:
            # soundfile treats a '.raw' name as headerless data, libsndfile an '.mp3'
            # name as MPEG whatever it holds: open it nameless instead.
            fileobj = _Nameless(path)
            f = sf.SoundFile(fileobj)
    except (RuntimeError, TypeError, ValueError) as exc:
        if fileobj is not None:
            fileobj.close()
        raise _NotForSndfile(_sndfile_reason(exc)) from None
    try:
        if f.format == "RAW":
            # libsndfile guesses headerless data from names like .vox, .gsm, .au:
            # that is the extension deciding, not the content.
            raise _NotForSndfile("no header libsndfile recognises")
        yield f
    finally:
        f.close()
        if fileobj is not None:
            fileobj.close()


def _sndfile_reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    # "Error opening 'path': Format not recognised." -> "Format not recognised"
    if text.startswith("Error opening") and ": " in text:
        text = text.rsplit(": ", 1)[1]
    if text.startswith("Error : "):
        text = text[len("Error : "):]
    if "does not exist or is not a regular file" in text:
        # libsndfile says this of files whose format it cannot make out (the file
        # itself was checked before): do not send the user looking for it.
        text = "Format not recognised"
    return text.rstrip(".") or type(exc).__name__


def probe(path) -> AudioInfo:
    """Read a file's headers (libsndfile first, then PyAV) without decoding it.

    Raises
    ------
    AudioError
        The file is missing, unreadable, empty, not audio or has no frames.
    MissingExtraError
        The file is a container only PyAV reads and PyAV is not installed.
    """
    path = _check_file(path)
    try:
        with _open_sndfile(path) as f:
            return _sndfile_info(path, f)
    except _NotForSndfile as exc:
        return _probe_pyav(path, str(exc))


def _check_fields(path: Path, rate: int, channels: int) -> None:
    """Refuse a sample rate or channel count no recording has (nothing is allocated from them)."""
    if not 0 < rate <= MAX_DECLARED_RATE:
        raise AudioError(path, f"corrupt header (sample rate {rate:,} Hz)")
    if not 0 < channels <= MAX_CHANNELS:
        raise AudioError(path, f"corrupt header ({channels:,} channels)")


def _sndfile_info(path: Path, f: sf.SoundFile) -> AudioInfo:
    _check_fields(path, int(f.samplerate), int(f.channels))
    frames = int(f.frames)
    size = path.stat().st_size
    width = _PCM_BYTES.get(f.subtype) if f.format in _UNCOMPRESSED else None
    if width:
        frames = min(frames, size // (width * f.channels))  # never more than the bytes hold
    elif frames > size * _MAX_FRAMES_PER_BYTE:
        frames = _count_frames(path, f)  # the header lies: count what is really there
    if frames <= 0:
        raise AudioError(path, "no audio frames")
    return AudioInfo(
        path=str(path), format=f.format, subtype=f.subtype or None, sample_rate=int(f.samplerate),
        channels=int(f.channels), frames=frames, duration_s=frames / f.samplerate, backend="soundfile",
    )


def _count_frames(path: Path, f: sf.SoundFile) -> int:
    read = _frame_reader(f)
    buf = np.empty((_READ_FRAMES, f.channels), np.float32)
    total = 0
    try:
        while n := read(buf):
            total += n
    except _DecodeError as exc:
        at = (total + exc.decoded) / f.samplerate
        raise AudioError(path, f"corrupt or truncated data after {at:.2f} s ({exc})") from None
    return total


def _probe_pyav(path: Path, sndfile_reason: str) -> AudioInfo:
    av = _pyav()
    if av is None:
        container = _sniff(path)
        if container:
            raise MissingExtraError(f"{path} ({container} audio)", "formats", "av")
        raise AudioError(path, f"{_what_is_wrong(path, sndfile_reason)} (libsndfile: {sndfile_reason})")
    try:
        with _pyav_open(av, path) as c:
            if not c.streams.audio:
                raise AudioError(path, f"not an audio file (libsndfile: {sndfile_reason}; ffmpeg: no audio stream)")
            stream = c.streams.audio[0]
            ctx = stream.codec_context
            rate = int(ctx.sample_rate or stream.rate or 0)
            channels = int(ctx.channels or 0)
            if stream.duration is not None and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            elif c.duration is not None:
                duration = c.duration / 1_000_000
            else:
                duration = 0.0
            codec = ctx.name
            container = c.format.name.split(",")[0]
            # Headers alone can be fooled by noise: one decoded frame proves it is audio.
            if next(iter(c.decode(stream)), None) is None:
                raise AudioError(path, "no audio frames")
    except AudioError:
        raise
    except Exception as exc:  # PyAV raises many error types for garbage input
        detail = f"libsndfile: {sndfile_reason}; ffmpeg: {_ffmpeg_reason(exc)}"
        raise AudioError(path, f"{_what_is_wrong(path, sndfile_reason)} ({detail})") from None
    _check_fields(path, rate, max(channels, 1))
    info = AudioInfo(
        path=str(path), format={"mov": "MP4"}.get(container, container.upper()), subtype=codec.upper(),
        sample_rate=rate, channels=max(channels, 1), frames=int(round(duration * rate)),
        duration_s=duration, backend="pyav",
    )
    if info.frames <= 0:
        # Some streams carry no duration: count the samples (streamed, bounded memory).
        frames = sum(len(b) for b in _pyav_blocks(info, 0, None))
        if frames <= 0:
            raise AudioError(path, "no audio frames")
        info = replace(info, frames=frames, duration_s=frames / rate)
    return info


def _what_is_wrong(path: Path, sndfile_reason: str) -> str:
    """A file libsndfile knows but finds broken is corrupt; anything else is not audio."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        head = b""
    fields = _header_fields(head)
    if fields is not None:
        _check_fields(path, *fields)  # says which field is impossible
    if "malformed" in sndfile_reason or sndfile_reason.startswith("Error in ") or any(head[i:i + len(m)] == m for i, m in _AUDIO_MAGIC):
        return "corrupt or truncated header"
    return "not an audio file"


def _header_fields(head: bytes) -> tuple[int, int] | None:
    """(sample rate, channels) as a WAV or AU header states them, read by hand.

    Only used to say why libsndfile and ffmpeg refused a file whose header
    they could not accept.
    """
    if head[:4] == b".snd" and len(head) >= 24:  # AU: big-endian 32-bit fields
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        at = 12
        while at + 8 <= len(head):
            size = int.from_bytes(head[at + 4:at + 8], "little")
            if head[at:at + 4] == b"fmt " and at + 16 <= len(head):
                return int.from_bytes(head[at + 12:at + 16], "little"), int.from_bytes(head[at + 10:at + 12], "little")
            at += 8 + size + (size & 1)
    return None


def _ffmpeg_reason(exc: Exception) -> str:
    text = " ".join(str(getattr(exc, "strerror", None) or exc).split())
    return text.split(": '")[0].rstrip(".") or type(exc).__name__


# Reading ----------------------------------------------------------------------------

def _span(info: AudioInfo, start_s: float, end_s: float | None) -> tuple[int, int]:
    """Frame range ``[first, last)`` of a part of the file, end clamped to the file."""
    path = info.path
    if not math.isfinite(start_s) or start_s < 0:
        raise AudioError(path, f"start {start_s:g} s is not a time in the file")
    if end_s is not None and math.isnan(end_s):
        raise AudioError(path, "end is not a number")
    first = int(round(start_s * info.sample_rate))
    if first >= info.frames:
        raise AudioError(path, f"start {start_s:g} s is beyond the end ({info.duration_s:.3f} s)")
    if end_s is None:
        return first, info.frames
    if end_s <= start_s:
        raise AudioError(path, f"empty part: end {end_s:g} s is not after start {start_s:g} s")
    last = info.frames if end_s == math.inf else min(int(round(end_s * info.sample_rate)), info.frames)
    if last <= first:
        raise AudioError(path, f"empty part: {start_s:g}-{end_s:g} s holds no whole sample")
    return first, last


def _target_rate(native: int, sample_rate: int | None, max_rate: int) -> int:
    if sample_rate is not None:
        if int(sample_rate) != sample_rate or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive whole number of Hz, not {sample_rate!r}")
        return int(sample_rate)
    if int(max_rate) != max_rate or max_rate <= 0:
        raise ValueError(f"max_rate must be a positive whole number of Hz, not {max_rate!r}")
    return min(native, int(max_rate))


def _mono(block: np.ndarray) -> np.ndarray:
    """Average the channels of a (frames, channels) block into a new 1-D array."""
    if block.shape[1] == 1:
        return block[:, 0].copy()
    return block.mean(axis=1, dtype=np.float32)


def _blocks(info: AudioInfo, first: int, last: int) -> Iterator[np.ndarray]:
    """Mono float32 blocks of frames ``[first, last)`` at the native rate, checked finite.

    Stops early, without error, where the data ends before the header said.
    """
    source = _sndfile_blocks(info, first, last) if info.backend == "soundfile" else _pyav_blocks(info, first, last)
    for block in source:
        if not np.isfinite(block).all():
            raise AudioError(info.path, "contains NaN/Inf samples")
        yield block


class _DecodeError(Exception):
    """libsndfile failed in the middle of the data (after ``decoded`` frames of this read)."""

    def __init__(self, reason: str, decoded: int = 0):
        super().__init__(reason)
        self.decoded = decoded


def _frame_reader(f: sf.SoundFile):
    """A function filling a (frames, channels) float32 buffer from ``f``, returning the count.

    soundfile's ``read`` asks libsndfile for the position before and after every
    read; with a FLAC header that lies about its length that seek fails at the
    real end of the data. Reading through libsndfile's ``sf_readf_float``
    directly avoids it (and the two seeks per block), with soundfile's public
    ``read`` as the fallback should its internals ever change.
    """
    snd, ffi, handle = getattr(sf, "_snd", None), getattr(sf, "_ffi", None), getattr(f, "_file", None)
    if snd is None or ffi is None or handle is None or not hasattr(snd, "sf_readf_float"):
        def read_public(out: np.ndarray) -> int:
            try:
                return len(f.read(out=out))
            except RuntimeError as exc:
                raise _DecodeError(_sndfile_reason(exc)) from None
        return read_public

    def read(out: np.ndarray) -> int:
        count = max(0, int(snd.sf_readf_float(handle, ffi.from_buffer("float[]", out), len(out))))
        if count < len(out) and snd.sf_error(handle):
            message = ffi.string(snd.sf_strerror(handle)).decode(errors="replace")
            raise _DecodeError(_sndfile_reason(RuntimeError(message)), count)
        return count
    return read


def _sndfile_blocks(info: AudioInfo, first: int, last: int) -> Iterator[np.ndarray]:
    path = Path(info.path)
    position = 0  # frames decoded so far, for error messages
    try:
        with _open_sndfile(path) as f:
            read = _frame_reader(f)
            buf = np.empty((_READ_FRAMES, f.channels), np.float32)
            if first and f.subtype not in _INEXACT_SEEK and f.frames == info.frames:
                f.seek(first)
                position = first
            while position < first:  # no exact seek here: decode from the start and discard
                n = read(buf[: min(_READ_FRAMES, first - position)])
                if n == 0:
                    return
                position += n
            while position < last:
                n = read(buf[: min(_READ_FRAMES, last - position)])
                if n == 0:
                    return  # the header promised more than the file holds: keep what is there
                position += n
                yield _mono(buf[:n])
    except _NotForSndfile as exc:  # the file changed since it was probed
        raise AudioError(path, f"cannot decode ({exc})") from None
    except _DecodeError as exc:
        at = (position + exc.decoded) / info.sample_rate
        raise AudioError(path, f"corrupt or truncated data after {at:.2f} s ({exc})") from None
    except RuntimeError as exc:
        raise AudioError(path, f"cannot decode ({_sndfile_reason(exc)})") from None


@contextmanager
def _pyav_open(av, path):
    """Open with PyAV from a nameless file object, so ffmpeg judges by content only.

    Given a name, ffmpeg picks headerless formats by extension (a text file
    called .gsm "is" GSM audio) and reads names like 'concat:a|b' as protocols.
    """
    with _Nameless(path) as fileobj, av.open(fileobj, metadata_errors="ignore") as container:
        yield container


def _pyav_blocks(info: AudioInfo, first: int, last: int | None) -> Iterator[np.ndarray]:
    """Decode with PyAV to mono float32 at the stream's own rate, trimmed by timestamps."""
    av = _pyav()
    path = info.path
    if av is None:
        raise MissingExtraError(f"{path} ({info.format} audio)", "formats", "av")
    rate = info.sample_rate
    try:
        with _pyav_open(av, path) as c:
            stream = c.streams.audio[0]
            origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
            if first > 0 and stream.time_base:
                target = max(0.0, first / rate - _PYAV_PREROLL_S) + origin
                c.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
            position = None  # index (from the stream's start) of the next sample
            for when, block in _pyav_decode(c, stream, av.AudioResampler(format="fltp", rate=rate)):
                if position is None:
                    position = int(round(((when if when is not None else origin) - origin) * rate))
                begin, position = position, position + len(block)
                lo = max(0, first - begin)
                hi = len(block) if last is None else min(len(block), last - begin)
                if hi > lo:
                    yield block[lo:hi]
                if last is not None and position >= last:
                    return
    except (AudioError, MissingExtraError):
        raise
    except Exception as exc:
        raise AudioError(path, f"cannot decode ({_ffmpeg_reason(exc)})") from None


def _pyav_decode(container, stream, converter) -> Iterator[tuple[float | None, np.ndarray]]:
    """(time of the decoded frame or None, mono float32 block) for the stream, flushed at the end."""
    for frame in container.decode(stream):
        when = float(frame.pts * frame.time_base) if frame.pts is not None else None
        for out in converter.resample(frame):
            yield when, _planar_mono(out.to_ndarray())
            when = None
    for out in converter.resample(None):
        yield None, _planar_mono(out.to_ndarray())


def _planar_mono(data: np.ndarray) -> np.ndarray:
    """Average a (channels, samples) float array into a new 1-D float32 array."""
    if data.shape[0] > 1:
        return data.mean(axis=0, dtype=np.float32)
    return np.array(data[0], dtype=np.float32)


def _gather(blocks: Iterable[np.ndarray], expected: int) -> np.ndarray:
    """Concatenate blocks into one array, preallocating ``expected`` and growing if needed."""
    out = np.empty(max(expected, 1), np.float32)
    filled = 0
    for block in blocks:
        if filled + len(block) > len(out):
            grown = np.empty(max(2 * len(out), filled + len(block)), np.float32)
            grown[:filled] = out[:filled]
            out = grown
        out[filled:filled + len(block)] = block
        filled += len(block)
    if filled < 0.9 * len(out):
        return out[:filled].copy()  # release a buffer sized for a header that promised more
    return out[:filled]


def _expected_frames(info: AudioInfo, frames: int) -> int:
    """How many frames to preallocate: all of them unless a compressed header could be lying."""
    if info.backend == "soundfile" and info.format in _UNCOMPRESSED and info.subtype in _PCM_BYTES:
        return frames  # already bounded by the file's size
    size = Path(info.path).stat().st_size
    return min(frames, max(1 << 20, size * _TRUSTED_FRAMES_PER_BYTE))


def load_audio(
    path,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
    sample_rate: int | None = None,
    max_rate: int = MAX_RATE,
) -> Audio:
    """Decode ``[start_s, end_s)`` of a file (the whole file by default) to mono float32.

    Parameters
    ----------
    start_s, end_s
        The part to read, in seconds; ``end_s`` is clamped to the file's end.
    sample_rate
        Resample to this rate. When ``None`` the native rate is kept, but never
        above ``max_rate`` (higher rates are downsampled to it).

    Raises
    ------
    AudioError
        The file is unusable (the reason says why), the part lies outside it,
        or the samples contain NaN/Inf.
    MissingExtraError
        PyAV is needed for this container and not installed.
    """
    info = probe(path)
    first, last = _span(info, start_s, end_s)
    rate_out = _target_rate(info.sample_rate, sample_rate, max_rate)
    try:
        samples = _gather(_blocks(info, first, last), _expected_frames(info, last - first))
    except MemoryError:
        raise AudioError(path, "too large to decode at once (read it in blocks)") from None
    if len(samples) == 0:
        raise AudioError(path, "no audio could be decoded")
    out = resample(samples, info.sample_rate, rate_out)
    if len(out) == 0:
        raise AudioError(path, _too_short(len(samples), info.sample_rate, rate_out))
    return Audio(out, rate_out)


def _too_short(frames: int, rate: int, rate_out: int) -> str:
    return f"too short: {frames} sample(s) at {rate:,} Hz make no sample at {rate_out:,} Hz"


def iter_blocks(
    path,
    *,
    block_s: float = 10.0,
    start_s: float = 0.0,
    end_s: float | None = None,
    sample_rate: int | None = None,
    max_rate: int = MAX_RATE,
) -> Iterator[np.ndarray]:
    """Stream ``[start_s, end_s)`` as mono float32 blocks of ``block_s`` seconds.

    Every block holds exactly ``round(block_s * rate)`` samples at the output
    rate, except the last, which holds the rest. Memory follows the block
    size, never the file's length. Resampling is streamed, so the concatenated
    blocks equal ``load_audio`` of the same part with the same rate.

    The file is probed and the part checked when this is called; decoding
    errors (corrupt data, NaN/Inf) are raised while iterating.
    """
    if not block_s > 0:
        raise ValueError(f"block_s must be positive, not {block_s!r}")
    info = probe(path)
    first, last = _span(info, start_s, end_s)
    rate_out = _target_rate(info.sample_rate, sample_rate, max_rate)
    block_len = max(1, int(round(block_s * rate_out)))
    return _stream(info, first, last, rate_out, block_len)


def _stream(info: AudioInfo, first: int, last: int, rate_out: int, block_len: int) -> Iterator[np.ndarray]:
    pieces = _blocks(info, first, last)
    if rate_out != info.sample_rate:
        pieces = _resampled(pieces, StreamResampler(info.sample_rate, rate_out))
    produced = False
    for block in _rebuffer(pieces, block_len):
        produced = True
        yield block
    if not produced:
        if rate_out != info.sample_rate and last - first < info.sample_rate:
            raise AudioError(info.path, _too_short(last - first, info.sample_rate, rate_out))
        raise AudioError(info.path, "no audio could be decoded")


def _resampled(pieces: Iterable[np.ndarray], resampler: StreamResampler) -> Iterator[np.ndarray]:
    for piece in pieces:
        yield resampler.process(piece)
    yield resampler.flush()


def _rebuffer(pieces: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Cut a stream of arrays into arrays of exactly ``size`` (the last may be shorter)."""
    buf = np.empty(size, np.float32)
    filled = 0
    for piece in pieces:
        while len(piece):
            take = min(size - filled, len(piece))
            buf[filled:filled + take] = piece[:take]
            filled += take
            piece = piece[take:]
            if filled == size:
                yield buf
                buf = np.empty(size, np.float32)
                filled = 0
    if filled:
        yield buf[:filled].copy()
