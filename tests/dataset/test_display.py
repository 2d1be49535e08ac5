"""What the views draw: envelopes, spectrogram size limits, long clips, bad files."""

import numpy as np
import pytest

from audiofiles import noise, speechlike, tone, write
from voicestudio.audio.display import (
    FIRST_SCREEN_S,
    MAX_COLUMNS,
    SPECTROGRAM_FLOOR_DB,
    detail_from_samples,
    display_spec,
    open_clip,
    peak_envelope,
    stream_envelope,
)
from voicestudio.audio.features import FeatureSpec, stft_power
from voicestudio.errors import AudioError

SPEC = FeatureSpec()


def test_peak_envelope_keeps_every_extreme():
    x = noise(16000, 1.0, seed=4)
    x[12345] = 0.99
    x[777] = -0.98
    mins, maxs = peak_envelope(x, 100)
    assert len(mins) == 100 and maxs.max() == pytest.approx(0.99) and mins.min() == pytest.approx(-0.98)
    assert (mins <= maxs).all()
    mins, maxs = peak_envelope(x[:10], 100)  # fewer samples than bins
    assert len(mins) == 10


def test_streamed_envelope_matches_the_decoded_signal(tmp_path):
    sr = 8000
    x = speechlike(sr, 95.0, seed=2)  # longer than one 30 s block
    path = write(tmp_path / "v.wav", x, sr)
    envelope = stream_envelope(path, 10.0, 80.0, n_bins=700)
    part = x[10 * sr:80 * sr]
    expected_min, expected_max = peak_envelope(part, 700)
    assert envelope.end_s == pytest.approx(70.0)
    np.testing.assert_allclose(envelope.mins, expected_min, atol=1e-4)
    np.testing.assert_allclose(envelope.maxs, expected_max, atol=1e-4)


def test_spectrogram_columns_follow_the_screen_not_the_length():
    hour = display_spec(SPEC, 3600.0)
    assert 3600.0 / (hour.hop_length / SPEC.sample_rate) <= MAX_COLUMNS
    assert display_spec(SPEC, 5.0) is SPEC  # short clips keep the model's hop
    detail = detail_from_samples(noise(16000, 300.0), SPEC)
    assert detail.spectrogram_db.shape[0] <= MAX_COLUMNS + 1 and detail.mfcc.shape[0] == detail.spectrogram_db.shape[0]


def test_detail_is_the_models_stft_in_db_with_fixed_levels():
    x = tone(16000, 2.0, 1000.0)
    detail = detail_from_samples(x, SPEC, start_s=3.0)
    assert (detail.start_s, detail.end_s, detail.max_hz) == (3.0, 5.0, 8000.0)
    full_scale = (np.hamming(SPEC.frame_length + 1)[:-1].sum() / 2) ** 2  # periodic Hamming
    reference = 10 * np.log10(np.maximum(stft_power(x, SPEC) / full_scale, 1e-12))
    np.testing.assert_allclose(detail.spectrogram_db, np.clip(reference, SPECTROGRAM_FLOOR_DB, 0), atol=1e-3)
    column = detail.spectrogram_db[50]
    assert column.argmax() * 8000 / (SPEC.n_fft // 2) == pytest.approx(1000, abs=16)
    assert column.max() == pytest.approx(20 * np.log10(0.3), abs=1.0)  # a 0.3 sine reads about -10.5 dBFS


def test_open_clip_short_and_long(tmp_path):
    short = write(tmp_path / "s.wav", speechlike(16000, 4.0), 16000)
    opened = open_clip(short, 1.0, 3.0, SPEC)
    assert not opened.is_long and opened.envelope is not None and opened.detail.end_s == pytest.approx(2.0)
    long = write(tmp_path / "l.wav", noise(8000, 200.0), 8000)
    opened = open_clip(long, 0.0, 200.0, SPEC)
    assert opened.is_long and opened.envelope is None
    assert opened.detail.end_s == pytest.approx(FIRST_SCREEN_S)


def test_unreadable_files_raise_audio_errors(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioError):
        open_clip(bad, 0.0, 1.0, SPEC)
    with pytest.raises(AudioError):
        open_clip(tmp_path / "missing.wav", 0.0, 1.0, SPEC)
