"""A corpus of the files people really have: broken, lying, huge, oddly named, not files at all.

``make_corpus(folder)`` writes the small corpus (about 1 MB, well under a
second) and returns one ``HostileFile`` per entry: ``good`` says whether the
importer must import it (else it must report it, with a reason containing
``why``). The two big cases have their own writers, meant to run once per
session: ``make_long_wav`` (a 3-hour WAV, mostly holes in a sparse file) and
``make_many`` (a folder of 50,000 distinct 64-byte WAVs).

Everything is deterministic: random bytes come from fixed seeds.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from audiofiles import speechlike, tone

SR = 16000


@dataclass(frozen=True)
class HostileFile:
    path: Path
    kind: str
    good: bool  # must be imported; else must be reported (failure, or skipped when not named as audio)
    why: str  # for a bad file, a fragment of the reason the importer must give; for a good one, the point


def wav_header(frames: int, *, rate: int = SR, channels: int = 1, bits: int = 16, tag: int = 1,
               data_bytes: int | None = None, riff_bytes: int | None = None) -> bytes:
    """A canonical 44-byte WAV header whose every field can lie."""
    block = channels * bits // 8
    data = frames * block if data_bytes is None else data_bytes
    riff = 36 + data if riff_bytes is None else riff_bytes
    return (b"RIFF" + struct.pack("<I", riff & 0xFFFFFFFF) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, tag, channels & 0xFFFF, rate & 0xFFFFFFFF,
                          (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits)
            + b"data" + struct.pack("<I", data & 0xFFFFFFFF))


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def encoded(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def make_corpus(folder: Path) -> list[HostileFile]:
    """Write the small hostile corpus into ``folder`` (created; must be empty or absent)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(8)
    out: list[HostileFile] = []

    def put(name: str, data: bytes, kind: str, good: bool, why: str) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append(HostileFile(path, kind, good, why))
        return path

    voice = speechlike(SR, 2.0, seed=4)
    wav = wav_header(len(voice)) + pcm16(voice)
    flac = encoded(voice, SR, "FLAC")
    ogg = encoded(voice, SR, "OGG", "VORBIS")

    # Nothing, or not enough.
    put("empty.wav", b"", "zero-bytes", False, "empty file (0 bytes)")
    put("empty.flac", b"", "zero-bytes", False, "empty file (0 bytes)")
    put("cut/header.wav", wav[:30], "truncated-header", False, "corrupt or truncated header")
    put("cut/header.flac", flac[:40], "truncated-header", False, "corrupt or truncated header")
    put("cut/header.ogg", ogg[:60], "truncated-header", False, "corrupt or truncated header")
    put("cut/data.wav", wav[:44 + len(voice)], "truncated-data", True,
        "a recorder that died mid-file: the frames that are there are kept")
    put("cut/data.flac", flac[:len(flac) // 2], "truncated-data", False, "corrupt or truncated data after")
    put("cut/data.ogg", ogg[:len(ogg) * 3 // 4], "truncated-data", True, "the Vorbis pages that are there decode")

    # Headers that are garbage, or lie.
    put("corrupt/riff.wav", rng.bytes(44) + wav[44:], "corrupt-header", False, "not an audio file")
    put("corrupt/fmt.wav", wav[:20] + rng.bytes(16) + wav[36:], "corrupt-header", False, "corrupt")
    put("lying/data-4GB.wav", wav_header(0, data_bytes=0xFFFFFFFF, riff_bytes=0xFFFFFFFF) + pcm16(voice[:490]),
        "absurd-size", True, "a streaming recorder's placeholder size: the 490 frames there are kept")
    put("lying/65535-channels.wav", wav_header(0, channels=65535, data_bytes=4096) + rng.bytes(4096),
        "absurd-channels", False, "channels")
    au = b".snd" + struct.pack(">IIIII", 24, 4096, 3, SR, 2**31) + rng.bytes(1000)  # AU: 32-bit channel field
    put("lying/2^31-channels.au", au, "absurd-channels", False, "channels")
    put("lying/0Hz.wav", wav_header(len(voice), rate=0) + pcm16(voice), "absurd-rate", False, "sample rate")
    put("lying/4GHz.wav", wav_header(len(voice), rate=0xFFFFFFFF) + pcm16(voice), "absurd-rate", False,
        "sample rate")
    caf = bytearray(encoded(voice, SR, "CAF", "PCM_16"))
    desc = caf.index(b"desc") + 12
    caf[desc:desc + 8] = struct.pack(">d", 10e9)  # CAF's rate is a float64: it can say 10 GHz
    put("lying/10GHz.caf", bytes(caf), "absurd-rate", False, "sample rate")

    # Not audio at all.
    put("random.wav", rng.bytes(8192), "random-bytes", False, "not an audio file")
    put("text.mp3", b"Dear diary, today I recorded nothing.\n" * 40, "text-as-audio", False, "not an audio file")
    put("notes.txt", b"not audio, not named as audio\n", "not-audio", False, "not an audio file")

    # Odd but real audio.
    put("one-sample.wav", wav_header(1) + pcm16(np.array([0.25])), "one-sample", True, "one frame is a clip")
    for value, name in [(np.nan, "nan"), (np.inf, "inf")]:
        y = tone(SR, 1.0)
        y[SR // 3] = value
        put(f"float-{name}.wav", encoded(y, SR, "WAV", "FLOAT"), "nan-inf", False, "NaN/Inf")
    eight = np.stack([tone(SR, 1.0, 200 + 100 * c, 0.1) for c in range(8)], axis=1)
    put("8ch-24bit.wav", encoded(eight, SR, "WAV", "PCM_24"), "8-channel-24-bit", True, "mixed to mono")
    put("192k.flac", encoded(speechlike(192000, 1.0, seed=5), 192000, "FLAC", "PCM_24"), "192-kHz", True,
        "downsampled to 32 kHz")
    put("flac-named.wav", encoded(speechlike(SR, 1.0, seed=6), SR, "FLAC"), "wrong-extension", True,
        "content decides, not the name")

    # Names.
    for i, name in enumerate(["voix d'été 🎤.wav", "日本語の録音.wav", "تسجيل صوتي.wav", "  spaces  .wav",
                              "-starts-with-dash.wav"]):
        put(f"names/{name}", wav_header(SR // 2) + pcm16(tone(SR, 0.5, 300 + 50 * i)), "unicode-name", True,
            "any name the file system allows")
    latin1 = os.fsdecode(b"names/\xe9t\xe9 latin-1.wav")  # not UTF-8: a name from an old zip
    put(latin1, wav_header(SR // 2) + pcm16(tone(SR, 0.5, 900)), "non-utf8-name", False, "UTF-8")

    # Not regular files.
    locked = put("locked.wav", wav_header(SR // 2) + pcm16(tone(SR, 0.5, 1000)), "unreadable", False,
                 "Permission denied")
    os.chmod(locked, 0)
    links = folder / "links"
    links.mkdir()
    os.symlink(".", links / "loop")  # a folder inside itself
    out.append(HostileFile(links / "loop", "folder-loop", True, "walked once, never reported"))
    os.symlink("self.wav", links / "self.wav")
    out.append(HostileFile(links / "self.wav", "file-loop", False, "symbolic link loop"))
    os.symlink("gone.wav", links / "dangling.wav")
    out.append(HostileFile(links / "dangling.wav", "dangling-link", False, "broken symbolic link"))
    os.mkfifo(folder / "fifo.wav")
    out.append(HostileFile(folder / "fifo.wav", "fifo", False, "not a regular file"))
    return out


def make_long_wav(path: Path, *, hours: float = 3.0, rate: int = 8000, every_s: float = 60.0) -> Path:
    """A ``hours``-long 16-bit mono WAV: a 2 s voice burst every ``every_s``, holes between.

    The silence is never written (the file is sparse where the file system
    allows), so writing 170 MB costs a few hundred kilobytes and milliseconds.
    """
    frames = int(hours * 3600 * rate)
    burst = pcm16(speechlike(rate, 2.0, seed=7))
    with open(path, "wb") as f:
        f.write(wav_header(frames, rate=rate))
        f.truncate(44 + 2 * frames)
        for start in np.arange(every_s / 2, hours * 3600 - 2, every_s):
            f.seek(44 + 2 * int(start * rate))
            f.write(burst)
    return path


def make_many(folder: Path, count: int = 50_000) -> Path:
    """``count`` distinct 10-sample WAVs (64 bytes each) in one flat folder."""
    folder.mkdir(parents=True, exist_ok=True)
    header = wav_header(10)
    tail = np.full(8, 1000, "<i2").tobytes()
    for i in range(count):
        with open(folder / f"{i:05d}.wav", "wb") as f:
            f.write(header + struct.pack("<hh", i % 30000 + 1, i // 30000 + 1) + tail)
    return folder
