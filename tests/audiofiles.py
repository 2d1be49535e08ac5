"""Write real audio files for tests: tones, noise and speech-like signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def speechlike(sr: int, seconds: float, seed: int = 0, level: float = 0.2) -> np.ndarray:
    """Harmonic bursts with a gliding pitch over light noise (voice-band content)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.5 * (1 + np.sign(np.sin(2 * np.pi * 2.5 * t)))
    return (level * voiced * envelope / 2 + 0.005 * rng.standard_normal(len(t))).astype(np.float32)


def tone(sr: int, seconds: float, freq: float = 440.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(sr: int, seconds: float, seed: int = 0, level: float = 0.1) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(sr * seconds))).astype(np.float32)


def write(path: Path, samples: np.ndarray, sr: int, channels: int = 1, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.repeat(samples[:, None], channels, axis=1) if channels > 1 else samples
    sf.write(str(path), data, sr, **kwargs)
    return path


def write_m4a(path: Path, samples: np.ndarray, sr: int) -> Path:
    """AAC in an MP4 container through PyAV (libsndfile cannot read it).

    ``samples``: 1-D, or 2-D frames x channels (mono or stereo).
    """
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.asarray(samples, np.float32)
    planar = data[None, :] if data.ndim == 1 else np.ascontiguousarray(data.T)
    layout = {1: "mono", 2: "stereo"}[planar.shape[0]]
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=sr, layout=layout)
        for start in range(0, planar.shape[1], 1024):
            chunk = np.ascontiguousarray(planar[:, start:start + 1024])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = sr
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def peak_memory(fn):
    """``(fn(), peak bytes Python allocated while it ran)``, measured with tracemalloc."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def mixed_folder(root: Path) -> dict[str, Path]:
    """A folder of real-world-like files: rates, channels, formats, one long recording."""
    files = {
        "speech_wav": write(root / "alice" / "hello.wav", speechlike(44100, 2.0), 44100, channels=2, subtype="PCM_24"),
        "speech_flac": write(root / "bob" / "hi there.flac", speechlike(8000, 1.5, seed=1), 8000),
        "noise_ogg": write(root / "street" / "noise.ogg", noise(22050, 1.2), 22050, format="OGG", subtype="VORBIS"),
        "tone_mp3": write(root / "street" / "beep.mp3", tone(16000, 1.0), 16000, format="MP3", subtype="MPEG_LAYER_III"),
        "speech_opus": write(root / "carol" / "word.opus", speechlike(48000, 1.0, seed=2), 48000, format="OGG", subtype="OPUS"),
        "tone_aiff": write(root / "lab" / "sweep.aiff", tone(32000, 0.7, 1000), 32000),
        "speech_m4a": write_m4a(root / "dan" / "memo.m4a", speechlike(16000, 1.5, seed=3), 16000),
    }
    # A 100 s recording: speech bursts separated by long silences -> several clips.
    sr = 16000
    parts = []
    for i in range(5):
        parts += [speechlike(sr, 8.0, seed=10 + i), np.zeros(sr * 12, np.float32)]
    files["long_wav"] = write(root / "field" / "recording.wav", np.concatenate(parts), sr)
    return files
