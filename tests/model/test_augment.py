"""The training augmenter: cartoon-speed variants move the pitch as far as they claim, and leave the
default stream (the shipped networks' training sets) exactly as it was."""

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
