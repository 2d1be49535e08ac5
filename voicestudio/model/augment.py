"""Waveform augmentation for training: what real recordings do to a voice.

Each training clip yields itself plus ``copies`` variants. A variant may:
- sit at a random place inside a window over background sound (never over
  digital silence: zero padding would be a shortcut the model could learn);
- be mixed, if human, with a non-human background at 0-20 dB SNR (still human);
  if non-human, with another non-human sound (still non-human);
- change level by -24..+6 dB, be band-limited to a telephone's 4 kHz, go
  through a "radio" (300-3400 Hz band-pass and soft clipping), get a random
  equaliser curve, a pitch/tempo change of up to 15%, or a little room
  reverberation. Every effect is applied to both classes, so none is a cue.
- optionally (``cartoon``: the share of variants) be sped up or slowed much more, as game and
  cartoon voices are (x1.25-1.9 up, x0.65-0.8 down): a chipmunk-pitched exclamation is still
  human. Off by default, and then the generator's stream is the same as without it.
- optionally (``voice_pitch``: the share of variants) have their pitch moved as far, with the
  spectral envelope kept: an actor's cartoon voice raises the pitch far more than the formants,
  which a resampler moves together with it. Also off by default, with the same stream.
All randomness comes from one seeded generator: the same seed, the same set.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import istft, stft

from voicestudio.audio.resample import resample


class Augmenter:
    def __init__(self, backgrounds: list[np.ndarray], sample_rate: int, *, copies: int = 3, seed: int = 0,
                 cartoon: float = 0.0, voice_pitch: float = 0.0):
        self.backgrounds = [b.astype(np.float32) for b in backgrounds if len(b) > sample_rate // 10]
        if not self.backgrounds:
            raise ValueError("augmentation needs non-human background sounds")
        self.rate = sample_rate
        self.copies = copies
        self.cartoon = cartoon
        self.voice_pitch = voice_pitch
        self.rng = np.random.default_rng(seed)

    def __call__(self, samples: np.ndarray, item) -> list[np.ndarray]:
        human = item.label == "human"
        return [samples] + [self.variant(samples, human) for _ in range(self.copies)]

    # Pieces ----------------------------------------------------------------------
    def background(self, n: int) -> np.ndarray:
        """``n`` samples of a random background, from a random point, looped if short."""
        source = self.backgrounds[self.rng.integers(len(self.backgrounds))]
        start = self.rng.integers(len(source))
        return np.resize(np.roll(source, -start), n).astype(np.float32)

    @staticmethod
    def rms(y: np.ndarray) -> float:
        return float(np.sqrt(np.mean(y.astype(np.float64) ** 2)) + 1e-9)

    def mix(self, foreground: np.ndarray, background: np.ndarray, snr_db: float) -> np.ndarray:
        scale = self.rms(foreground) / (self.rms(background) * 10 ** (snr_db / 20))
        return foreground + background * scale

    def place(self, samples: np.ndarray) -> np.ndarray:
        """A short clip at a random offset inside at least one window, over quiet background."""
        n = max(len(samples), self.rate)
        bed = self.background(n)
        bed *= (self.rms(samples) * 10 ** (self.rng.uniform(-45, -25) / 20)) / self.rms(bed)
        offset = self.rng.integers(0, n - len(samples) + 1)
        bed[offset:offset + len(samples)] += samples
        return bed

    def reverb(self, y: np.ndarray) -> np.ndarray:
        rt60 = self.rng.uniform(0.15, 0.6)
        length = int(rt60 * self.rate)
        t = np.arange(length) / self.rate
        ir = self.rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
        ir[0] = 1.0
        ir /= np.sqrt(np.sum(ir**2))
        wet = np.convolve(y, ir)[: len(y)]
        return (0.5 * y + 0.5 * wet).astype(np.float32)

    def band_limit(self, y: np.ndarray) -> np.ndarray:
        narrow = resample(y, self.rate, 8000)
        return resample(narrow, 8000, self.rate)[: len(y)]

    def speed(self, y: np.ndarray, factor: float | None = None) -> np.ndarray:
        """Pitch and tempo together, by resampling (a voice actor's or a tape's speed)."""
        factor = self.rng.uniform(0.85, 1.15) if factor is None else factor
        return resample(y, int(round(self.rate * factor)), self.rate)

    def cartoon_factor(self) -> float:
        """Two in three sped up (chipmunk, sped-up tape), one in three slowed (monster, giant)."""
        return self.rng.uniform(1.25, 1.9) if self.rng.random() < 2 / 3 else self.rng.uniform(0.65, 0.8)

    def envelope(self, spectra: np.ndarray) -> np.ndarray:
        """Log spectral envelope of each STFT frame (columns): the cepstrum cut below the shortest
        pitch period (1.2 ms, an 830 Hz voice), so it follows formants and not harmonics."""
        n_fft = 2 * (spectra.shape[0] - 1)
        cepstra = np.fft.irfft(np.log(np.abs(spectra) + 1e-7), n_fft, axis=0)
        cut = max(2, int(0.0012 * self.rate))
        cepstra[cut:n_fft - cut + 1] = 0.0
        return np.fft.rfft(cepstra, axis=0).real

    def pitch_keeping_formants(self, y: np.ndarray, factor: float) -> np.ndarray:
        """Pitch (and tempo) moved by ``factor``; the formants mostly stay where they were.

        Resample (everything moves), then give each frame back the envelope of the original frame it
        came from: frame k of the result plays what frame k * factor of the original did.
        """
        shifted = self.speed(y, factor)
        n_fft = 1 << int(np.ceil(np.log2(0.032 * self.rate)))  # ~32 ms frames, a quarter hop
        options = dict(fs=self.rate, nperseg=n_fft, noverlap=3 * n_fft // 4)
        if min(len(y), len(shifted)) < n_fft:  # shorter than a frame: no envelope to speak of
            return shifted
        _, _, original = stft(y, **options)
        _, _, moved = stft(shifted, **options)
        source = np.minimum(np.round(np.arange(moved.shape[1]) * factor).astype(int), original.shape[1] - 1)
        gain = np.clip(self.envelope(original)[:, source] - self.envelope(moved), -3.5, 3.5)  # within ±30 dB
        kept = self.rng.uniform(0.7, 1.0)  # some actors let the formants rise a little too
        _, out = istft(moved * np.exp(kept * gain), **options)
        return out[: len(shifted)].astype(np.float32)

    def equalise(self, y: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
        """A smooth random gain curve over frequency (±10 dB), or a band-pass."""
        spectrum = np.fft.rfft(y)
        freqs = np.fft.rfftfreq(len(y), 1 / self.rate)
        if low is not None:
            gain = ((freqs >= low) & (freqs <= high)).astype(float)
        else:
            knots = self.rng.uniform(-10, 10, 8)
            gain = 10 ** (np.interp(np.log1p(freqs), np.linspace(0, np.log1p(self.rate / 2), 8), knots) / 20)
        return np.fft.irfft(spectrum * gain, len(y)).astype(np.float32)

    def radio(self, y: np.ndarray) -> np.ndarray:
        y = self.equalise(y, 300.0, 3400.0)
        drive = self.rng.uniform(1, 6)
        return (np.tanh(drive * y / max(float(np.abs(y).max()), 1e-6)) / np.tanh(drive)).astype(np.float32)

    def variant(self, samples: np.ndarray, human: bool) -> np.ndarray:
        rng = self.rng
        samples = samples.astype(np.float32)
        if self.cartoon and rng.random() < self.cartoon:
            samples = self.speed(samples, self.cartoon_factor())
        elif self.voice_pitch and rng.random() < self.voice_pitch:
            samples = self.pitch_keeping_formants(samples, self.cartoon_factor())
        elif rng.random() < 0.3:
            samples = self.speed(samples)
        y = self.place(samples)
        if human and rng.random() < 0.7:
            y = self.mix(y, self.background(len(y)), rng.uniform(0, 20))
        elif not human and rng.random() < 0.5:
            y = self.mix(y, self.background(len(y)), rng.uniform(-10, 10))
        if rng.random() < 0.25:
            y = self.reverb(y)
        effect = rng.random()
        if effect < 0.2:
            y = self.band_limit(y)
        elif effect < 0.4:
            y = self.radio(y)
        elif effect < 0.6:
            y = self.equalise(y)
        y *= 10 ** (rng.uniform(-24, 6) / 20) * 0.5 / max(float(np.abs(y).max()), 1e-6)
        return np.clip(y, -1.0, 1.0).astype(np.float32)
