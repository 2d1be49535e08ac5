"""The views' settings (issue 17, items 12-13): a spectrogram above the model's Nyquist frequency,
other FFT sizes and dB ranges, and an MFCC colour scale that tells silence from noise."""

import numpy as np
import pytest

from audiofiles import noise, tone, write
from voicestudio.audio.display import (
    DEFAULT_VIEW,
    ViewSettings,
    detail_from_samples,
    display_rate,
    fixed_mfcc_scale,
    load_detail,
    mfcc_image,
    open_clip,
)
from voicestudio.audio.features import FeatureSpec

SPEC = FeatureSpec()


def test_display_rate_follows_the_view_the_file_and_the_32_khz_ceiling():
    assert display_rate(44100, 16000, 8000) == 16000  # the model's band is enough
    assert display_rate(44100, 16000, 16000) == 32000  # never above 32 kHz
    assert display_rate(22050, 16000, 16000) == 22000  # the file's own band, in whole kHz
    assert display_rate(8000, 16000, 16000) == 16000  # a narrow file never goes below the model's rate
    assert display_rate(48000, 16000, 12000) == 24000


def test_a_32_khz_file_shows_up_to_16_khz_when_asked(tmp_path):
    path = write(tmp_path / "high.wav", tone(32000, 2.0, 12000.0), 32000)
    default = open_clip(path, 0.0, 2.0, SPEC).detail
    assert default.max_hz == 8000.0  # the model's band, as before
    wide = open_clip(path, 0.0, 2.0, SPEC, ViewSettings(max_hz=16000.0)).detail
    assert wide.max_hz == 16000.0 and wide.sample_rate == SPEC.sample_rate  # samples stay at the model's rate
    column = wide.spectrogram_db[len(wide.spectrogram_db) // 2]
    assert column.argmax() * wide.max_hz / (len(column) - 1) == pytest.approx(12000.0, abs=100.0)
    assert column.max() > -20.0  # the 12 kHz tone is there, loud
    assert wide.mfcc.shape == default.mfcc.shape  # the MFCC is the model's, whatever the view
    np.testing.assert_array_equal(wide.mfcc, default.mfcc)
    assert len(wide.spectrogram_db) == len(wide.mfcc)  # columns line up on the shared time axis


def test_fft_size_and_levels():
    x = tone(16000, 2.0, 1000.0)
    big = detail_from_samples(x, SPEC, view=ViewSettings(n_fft=2048, floor_db=-60.0, top_db=-20.0))
    assert big.spectrogram_db.shape[1] == 2048 // 2 + 1
    assert big.spectrogram_db.min() >= -60.0 and big.spectrogram_db.max() <= -20.0
    narrow = detail_from_samples(x, SPEC, view=ViewSettings(max_hz=4000.0, n_fft=256))
    assert narrow.max_hz == 4000.0 and narrow.spectrogram_db.shape[1] == 4000 // (16000 // 256) + 1


def test_detail_of_a_part_at_a_wider_rate(tmp_path):
    path = write(tmp_path / "n.wav", noise(44100, 5.0), 44100)
    detail = load_detail(path, 0.0, 1.0, 3.0, SPEC, ViewSettings(max_hz=16000.0, n_fft=2048))
    assert (detail.start_s, detail.end_s, detail.max_hz) == (1.0, 3.0, 16000.0)
    assert len(detail.samples) == 2 * SPEC.sample_rate


def test_view_settings_are_checked():
    assert DEFAULT_VIEW.problems() == []
    assert ViewSettings(max_hz=20000.0).problems() and ViewSettings(n_fft=300).problems()
    assert ViewSettings(floor_db=0.0, top_db=-10.0).problems() and ViewSettings(colour_map="rainbow").problems()
    assert ViewSettings(mfcc_scale="auto").problems()


def test_fixed_mfcc_scale_tells_silence_from_noise():
    silence = np.zeros(16000, np.float32)
    quiet = noise(16000, 1.0, seed=1, level=1e-4)  # room tone, -80 dBFS
    loud = noise(16000, 1.0, seed=2, level=0.3)
    images = {name: mfcc_image(detail_from_samples(x, SPEC).mfcc, fixed_mfcc_scale(SPEC), "fixed")
              for name, x in (("silence", silence), ("quiet", quiet), ("loud", loud))}
    for image in images.values():
        assert np.abs(image).max() <= 1.2  # the scale holds them all
    assert images["silence"][:, 0].mean() == pytest.approx(-1.0, abs=0.02)  # the log floor: the darkest
    assert images["loud"][:, 0].mean() > 0.5  # near full scale: bright
    assert images["loud"][:, 0].mean() - images["quiet"][:, 0].mean() > 0.5
    # Per-screen contrast makes quiet and loud noise look alike: the reason it is not the default.
    quiet_ps, loud_ps = (mfcc_image(detail_from_samples(x, SPEC).mfcc, None, "per-screen") for x in (quiet, loud))
    assert abs(quiet_ps.mean() - loud_ps.mean()) < 0.05 and abs(quiet_ps.std() - loud_ps.std()) < 0.05
