"""training/window_mix.py: the estimate of a two-detector graph combines the right windows."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from voicestudio.audio.features import FeatureSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
from window_mix import halves, mixed  # noqa: E402


def detector(window_s, hop_s):
    return SimpleNamespace(spec=FeatureSpec(window_s=window_s, window_hop_s=hop_s))


def test_same_windows_are_averaged_and_silent_ones_stay_skipped():
    a, b = np.array([0.2, np.nan, 0.8]), np.array([0.4, np.nan, 0.6])
    assert halves(detector(1.0, 0.5), detector(1.0, 0.5)) is None
    assert np.allclose(mixed(a, b, None), [0.3, np.nan, 0.7], equal_nan=True)


def test_a_half_length_detector_scores_each_window_by_its_louder_half():
    # A: 1 s windows every 0.5 s (starts 0, 0.5, 1.0); B: 0.5 s every 0.25 s (starts 0, 0.25, ..., 1.5)
    offset = halves(detector(1.0, 0.5), detector(0.5, 0.25))
    assert offset == 2  # A's window j is B's windows 2j and 2j + 2
    a = np.array([0.5, 0.5, np.nan])
    b = np.array([0.1, 0.9, 0.3, np.nan, 0.7, 0.2, 0.0])
    # window 0: halves B0 = 0.1, B2 = 0.3; window 1: B2 = 0.3, B4 = 0.7; window 2 was silent for A
    assert np.allclose(mixed(a, b, offset), [0.4, 0.6, np.nan], equal_nan=True)
    # a half B skipped as silent, or past the clip's end, counts as 0
    assert np.allclose(mixed(np.array([0.6, 0.6]), np.array([np.nan, 0.9, np.nan]), offset), [0.3, 0.3])


def test_other_window_lengths_are_refused():
    with pytest.raises(SystemExit, match="half as long"):
        halves(detector(1.0, 0.5), detector(0.5, 0.5))
