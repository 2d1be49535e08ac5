"""The training augmenter: cartoon-speed and voice-pitch variants move the pitch as far as they claim
(voice-pitch ones keeping the formants), and leave the default stream (the shipped networks' training
sets) exactly as it was."""

from dataclasses import dataclass

import numpy as np
import pytest

from voicestudio.model.augment import Augmenter

RATE = 16000


@dataclass
class Item:
    label: str


def tone(hz: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def peak_hz(y: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1 / RATE)[spectrum.argmax()])


def variants(cartoon: float, label: str = "nonhuman", copies: int = 40) -> list[np.ndarray]:
    # A silent background: whatever else a variant goes through, its loudest frequency is the tone's.
    quiet = [np.zeros(RATE, np.float32)]
    return Augmenter(quiet, RATE, copies=copies, seed=7, cartoon=cartoon)(tone(1000.0), Item(label))[1:]


def test_cartoon_speed_moves_the_pitch_into_its_ranges_for_both_classes():
    for label in ("human", "nonhuman"):
        peaks = np.array([peak_hz(v) for v in variants(1.0, label)])
        up, down = (peaks >= 1240) & (peaks <= 1910), (peaks >= 640) & (peaks <= 810)
        assert np.all(up | down), peaks
        assert up.sum() > down.sum() > 0  # two in three sped up, one in three slowed


def test_without_cartoon_speed_the_pitch_moves_at_most_15_percent():
    peaks = np.array([peak_hz(v) for v in variants(0.0)])
    assert np.all((peaks >= 840) & (peaks <= 1160)), peaks
    assert np.any(peaks != 1000.0)  # some variants do change speed


def test_cartoon_off_draws_the_same_variants_as_before_it_existed():
    # Fingerprints of the variants the augmenter drew before cartoon speed was added (commit 6880b04):
    # the cached training sets of the shipped networks depend on this stream.
    rng = np.random.default_rng(1)
    backgrounds = [rng.standard_normal(RATE).astype(np.float32)]
    clip = rng.standard_normal(RATE // 2).astype(np.float32)
    drawn = Augmenter(backgrounds, RATE, copies=8, seed=0)(clip, Item("human"))[1:]
    before = [391.9, 455.93, 682.49, 57.56, 502.06, 181.25, 1048.55, 196.47]
    assert [float(np.abs(v).sum()) for v in drawn] == pytest.approx(before, rel=1e-4)


def vowel(f0: float = 150.0, seconds: float = 1.0) -> np.ndarray:
    """A pulse train through three formant resonators (700, 1200, 2600 Hz): a sung 'ah'."""
    from scipy.signal import lfilter

    y = np.zeros(int(seconds * RATE))
    y[:: int(RATE / f0)] = 1.0
    for hz, bandwidth in ((700, 80), (1200, 90), (2600, 120)):
        r, theta = np.exp(-np.pi * bandwidth / RATE), 2 * np.pi * hz / RATE
        y = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], y)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def pitch_hz(y: np.ndarray) -> float:
    """The strongest pitch period between 60 and 800 Hz, from the cepstrum."""
    cepstrum = np.fft.irfft(np.log(np.abs(np.fft.rfft(y * np.hanning(len(y)))) + 1e-7))
    low, high = RATE // 800, RATE // 60
    return RATE / (low + int(cepstrum[low:high].argmax()))


def centroid_hz(y: np.ndarray) -> float:
    """Where the energy below 4 kHz sits on average: it follows the formants, not the pitch."""
    power = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / RATE)
    band = freqs < 4000
    return float(np.sum(freqs[band] * power[band]) / np.sum(power[band]))


@pytest.mark.parametrize("factor", [1.6, 0.7])
def test_voice_pitch_moves_the_pitch_and_keeps_the_formants(factor):
    augmenter = Augmenter([np.zeros(RATE, np.float32)], RATE, seed=3)
    original = vowel()
    resampled = augmenter.speed(original, factor)
    kept = augmenter.pitch_keeping_formants(original, factor)
    assert len(kept) == len(resampled)  # the tempo moves with the pitch, as in a sped-up voice
    assert pitch_hz(kept) == pytest.approx(pitch_hz(original) * factor, rel=0.05)
    # A resampler moves the formants by the factor; the formant-keeping shift takes 70-100 % of the
    # envelope back (an actor lets the formants rise a little), so they end much nearer home.
    assert centroid_hz(resampled) == pytest.approx(centroid_hz(original) * factor, rel=0.1)
    moved_by_resampling = abs(np.log(centroid_hz(resampled) / centroid_hz(original)))
    moved_here = abs(np.log(centroid_hz(kept) / centroid_hz(original)))
    assert moved_here < 0.6 * moved_by_resampling


def test_voice_pitch_takes_clips_shorter_than_its_frame():
    augmenter = Augmenter([np.zeros(RATE, np.float32)], RATE, seed=3)
    for n in (1, 300, 511, 512, 700):
        for factor in (1.9, 0.65):
            assert len(augmenter.pitch_keeping_formants(vowel()[:n], factor)) == len(augmenter.speed(vowel()[:n], factor))


def test_voice_pitch_variants_land_in_the_cartoon_ranges_for_both_classes():
    quiet = [np.zeros(RATE, np.float32)]
    original = pitch_hz(vowel())
    for label in ("human", "nonhuman"):
        drawn = Augmenter(quiet, RATE, copies=30, seed=5, voice_pitch=1.0)(vowel(), Item(label))[1:]
        ratios = np.array([pitch_hz(v) / original for v in drawn])
        up, down = (ratios >= 1.2) & (ratios <= 1.95), (ratios >= 0.6) & (ratios <= 0.85)
        assert np.all(up | down), ratios
        assert up.sum() > down.sum() > 0
