"""Seeded synthetic non-human sounds: noises, mains hum, clicks, tones, sweeps, notes.

Each file has its own generator seeded from (seed, kind, index), so a file's
content depends only on those three values: the output is bit-identical from
run to run and does not change when ``per_kind`` changes.
"""

from __future__ import annotations

import numpy as np

KINDS = ("white", "pink", "brown", "hum", "clicks", "tone", "sweep", "notes")
# Instrument-like notes are the non-human sound most easily taken for a voice
# (harmonic, pitched, with vibrato): more of them.
WEIGHT = {"notes": 3}
RATES = (16000, 22050, 44100, 48000)


def _fade(y: np.ndarray, sr: int, seconds: float = 0.005) -> np.ndarray:
    n = min(len(y) // 2, int(sr * seconds))
    if n > 0:
        ramp = np.linspace(0.0, 1.0, n)
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]
    return y


def _colored(rng, n: int, sr: int, exponent: float) -> np.ndarray:
    """Gaussian noise with a 1/f**exponent power spectrum (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    f[0] = f[1]
    shaped = spectrum / f ** (exponent / 2)
    shaped[f < 10] = 0  # no DC / sub-audio drift (brown noise would wander off)
    return np.fft.irfft(shaped, n)


def _hum(rng, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    f0 = rng.choice([50.0, 60.0]) * (1 + rng.uniform(-0.004, 0.004))
    y = np.zeros(n)
    odd_only = rng.random() < 0.4  # rectifier / transformer buzz is mostly odd harmonics
    for k in range(1, int(min(20, sr / 2 / f0 - 1)) + 1):
        if odd_only and k % 2 == 0:
            continue
        amplitude = rng.uniform(0.2, 1.0) / k ** rng.uniform(0.5, 1.5)
        y += amplitude * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.5:  # a little background hiss
        y += _colored(rng, n, sr, 0) * rng.uniform(0.003, 0.05) * np.abs(y).max() / 3
    return y


def _clicks(rng, n: int, sr: int) -> np.ndarray:
    y = np.zeros(n)
    if rng.random() < 0.5:  # a regular impulse train
        period = sr / rng.uniform(1.0, 60.0)
        positions = np.arange(rng.uniform(0, period), n, period).astype(int)
    else:  # random (Poisson) clicks, like crackle or a Geiger counter
        count = rng.poisson(rng.uniform(2, 80) * n / sr)
        positions = rng.integers(0, n, size=count)
    y[positions] = rng.choice([-1.0, 1.0], size=len(positions)) * rng.uniform(0.3, 1.0, size=len(positions))
    decay = rng.uniform(0.00005, 0.003) * sr  # from single-sample ticks to short thumps
    kernel = np.exp(-np.arange(int(decay * 8) + 1) / decay)
    if rng.random() < 0.5:
        kernel = kernel * np.sin(2 * np.pi * rng.uniform(300, 0.4 * sr) * np.arange(len(kernel)) / sr + 0.5)
    return np.convolve(y, kernel)[:n]


def _tone(rng, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    freq = np.exp(rng.uniform(np.log(40), np.log(min(12000, 0.45 * sr))))
    return np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))


def _sweep(rng, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    duration = n / sr
    lo, hi = np.log(40), np.log(min(12000, 0.45 * sr))
    f0, f1 = np.exp(rng.uniform(lo, hi, size=2))
    if rng.random() < 0.5:  # linear sweep
        phase = f0 * t + (f1 - f0) * t * t / (2 * duration)
    else:  # exponential (log) sweep
        k = np.log(f1 / f0) / duration
        phase = f0 * (np.exp(k * t) - 1) / k if abs(k) > 1e-9 else f0 * t
    return np.sin(2 * np.pi * phase)


def _notes(rng, n: int, sr: int) -> np.ndarray:
    """A melody of harmonic notes with one timbre, attack-decay envelopes and light vibrato.

    Pitched harmonic sound is not a voice by itself; without these the model
    learns "harmonic = human" from the speech it sees.
    """
    y = np.zeros(n)
    weights = rng.uniform(0, 1, 12) ** rng.uniform(1, 4)  # the timbre: harmonic amplitudes
    position = 0
    while position < n:
        length = min(int(sr * rng.uniform(0.1, 0.8)), n - position)
        t = np.arange(length) / sr
        f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
        vibrato = 1 + rng.uniform(0, 0.01) * np.sin(2 * np.pi * rng.uniform(4, 7) * t)
        phase = 2 * np.pi * f0 * np.cumsum(vibrato) / sr
        note = sum(w * np.sin((k + 1) * phase) for k, w in enumerate(weights) if (k + 1) * f0 < 0.45 * sr)
        envelope = np.minimum(1, t / 0.01) * np.exp(-t * rng.uniform(1, 8))
        y[position:position + length] = note * envelope
        position += length
    return y


_MAKERS = {
    "white": lambda rng, n, sr: _colored(rng, n, sr, 0),
    "pink": lambda rng, n, sr: _colored(rng, n, sr, 1),
    "brown": lambda rng, n, sr: _colored(rng, n, sr, 2),
    "hum": _hum,
    "clicks": _clicks,
    "tone": _tone,
    "sweep": _sweep,
    "notes": _notes,
}


def make(kind: str, index: int, seed: int = 0) -> tuple[np.ndarray, int, dict]:
    """One synthetic clip: (float32 mono samples, sample rate, parameters)."""
    rng = np.random.default_rng([seed, KINDS.index(kind), index])
    sr = int(rng.choice(RATES))
    duration = float(rng.uniform(1.0, 8.0))
    n = int(sr * duration)
    y = _MAKERS[kind](rng, n, sr)
    peak_dbfs = float(rng.uniform(-45.0, -1.0))  # random level, from faint to nearly full scale
    y = y / (np.abs(y).max() + 1e-12) * 10 ** (peak_dbfs / 20)
    y = _fade(y, sr)
    return y.astype(np.float32), sr, {"kind": kind, "index": index, "seed": seed, "peak_dbfs": round(peak_dbfs, 2)}
