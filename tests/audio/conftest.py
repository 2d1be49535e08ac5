"""Real audio files for the decoder and segmentation tests, written into tmp_path.

Use the ``audio_files`` fixture: ``audio_files.write("a.flac", samples, 16000)``.
Signals are deterministic; nothing is mocked.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import audiofiles

_WRITE_BLOCK = 1 << 16  # libsndfile 1.2.2 can crash writing long Vorbis in one call


class AudioFiles:
    """Writers of test audio files under one folder, and the signals to put in them."""

    def __init__(self, root: Path):
        self.root = root

    # Signals --------------------------------------------------------------------------

    @staticmethod
    def tone(sr: int, seconds: float, freq: float = 440.0, level: float = 0.5) -> np.ndarray:
        t = np.arange(int(round(sr * seconds))) / sr
        return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)

    @staticmethod
    def chirp(sr: int, seconds: float, f0: float = 200.0, f1: float = 3000.0, level: float = 0.4) -> np.ndarray:
        """A rising sweep: no two stretches alike, so any offset in a read shows."""
        t = np.arange(int(round(sr * seconds))) / sr
        phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
        return (level * np.sin(phase)).astype(np.float32)

    @staticmethod
    def noise(sr: int, seconds: float, seed: int = 0, level: float = 0.1) -> np.ndarray:
        return (level * np.random.default_rng(seed).standard_normal(int(round(sr * seconds)))).astype(np.float32)

    @classmethod
    def bursts(cls, sr: int, seconds: float, spans, freq: float = 500.0, level: float = 0.5) -> np.ndarray:
        """Silence with a tone in each ``(start_s, end_s)`` span."""
        y = np.zeros(int(round(sr * seconds)), np.float32)
        for a, b in spans:
            i, j = int(round(a * sr)), int(round(b * sr))
            y[i:j] = cls.tone(sr, (j - i) / sr, freq, level)
        return y

    # Files ----------------------------------------------------------------------------

    def path(self, name: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write(self, name: str, samples: np.ndarray, sr: int, *, channels: int = 1, **sf_kwargs) -> Path:
        """Write ``samples`` (1-D, repeated on every channel, or 2-D frames x channels) with soundfile."""
        data = np.asarray(samples, np.float32)
        if data.ndim == 1:
            data = np.repeat(data[:, None], channels, axis=1)
        path = self.path(name)
        with sf.SoundFile(path, "w", samplerate=sr, channels=data.shape[1], **sf_kwargs) as f:
            for i in range(0, len(data), _WRITE_BLOCK):
                f.write(data[i:i + _WRITE_BLOCK])
        return path

    def write_m4a(self, name: str, samples: np.ndarray, sr: int) -> Path:
        """AAC in an MP4 container through PyAV. ``samples``: 1-D, or 2-D frames x channels."""
        return audiofiles.write_m4a(self.path(name), samples, sr)

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = self.path(name)
        path.write_bytes(data)
        return path

    @staticmethod
    def wav_header(frames_claimed: int, sr: int = 16000, channels: int = 1) -> bytes:
        """A 16-bit PCM WAV header claiming ``frames_claimed`` frames of data."""
        block = 2 * channels
        data_bytes = min(frames_claimed * block, 0xFFFFFFFF - 36)
        return (
            b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, sr, sr * block, block, 16)
            + b"data" + struct.pack("<I", data_bytes)
        )


@pytest.fixture
def audio_files(tmp_path) -> AudioFiles:
    return AudioFiles(tmp_path)
