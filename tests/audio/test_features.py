"""Feature parity with librosa (the reference) and the classifier-window helpers.

Tolerances: power spectra and filter banks agree to float32 precision (relative
1e-5 of the peak); MFCC/log-mel agree within 1e-3 dB-scale units relative to the
largest coefficient, i.e. far below anything a classifier could notice.
"""

import numpy as np
import pytest

librosa = pytest.importorskip("librosa")

from audiofiles import speechlike
from voicestudio.audio import features as F
from voicestudio.audio.features import FeatureSpec


def librosa_kwargs(spec: FeatureSpec) -> dict:
    return dict(
        n_fft=spec.n_fft, hop_length=spec.hop_length, win_length=spec.frame_length,
        window=spec.window, center=True, pad_mode="constant",
    )


SPECS = [
    FeatureSpec(),
    FeatureSpec(sample_rate=8000, n_fft=256, fmax=8000, n_mels=32, n_mfcc=13),  # fmax capped at Nyquist
    FeatureSpec(sample_rate=32000, n_fft=1024, fmax=12000, n_mels=64, window="hann"),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.sample_rate}Hz-{s.window}")
def test_stft_power_matches_librosa(spec):
    y = speechlike(spec.sample_rate, 1.3)
    ours = F.stft_power(y, spec)
    ref = np.abs(librosa.stft(y, **librosa_kwargs(spec))) ** 2
    assert ours.shape == ref.T.shape
    assert np.max(np.abs(ours - ref.T)) <= 1e-5 * ref.max()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.sample_rate}Hz")
def test_mel_filterbank_matches_librosa(spec):
    ours = F.mel_filterbank(spec.sample_rate, spec.n_fft, spec.n_mels, float(spec.fmin), spec.effective_fmax)
    ref = librosa.filters.mel(
        sr=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels, fmin=spec.fmin, fmax=spec.effective_fmax
    )
    assert ours.shape == ref.shape
    assert np.max(np.abs(ours - ref)) <= 1e-5 * ref.max()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.sample_rate}Hz")
def test_mfcc_matches_librosa(spec):
    y = speechlike(spec.sample_rate, 2.0, seed=1)
    ours = F.mfcc(y, spec)
    ref = librosa.feature.mfcc(
        y=y, sr=spec.sample_rate, n_mfcc=spec.n_mfcc, n_mels=spec.n_mels,
        fmin=spec.fmin, fmax=spec.effective_fmax, **librosa_kwargs(spec),
    )
    assert ours.shape == ref.T.shape
    assert np.max(np.abs(ours - ref.T)) <= 1e-3 * np.abs(ref).max()


def test_log_mel_matches_librosa_without_top_db():
    spec = FeatureSpec()
    # Silence then sound: a dynamic range over 80 dB, where librosa's top_db would clip.
    y = np.concatenate([np.zeros(8000, np.float32), speechlike(spec.sample_rate, 1.0)])
    ours = F.log_mel(y, spec)
    mel = librosa.feature.melspectrogram(
        y=y, sr=spec.sample_rate, n_mels=spec.n_mels, fmin=spec.fmin, fmax=spec.fmax, **librosa_kwargs(spec)
    )
    ref = librosa.power_to_db(mel, amin=spec.log_floor, top_db=None)
    assert np.max(np.abs(ours - ref.T)) <= 1e-3 * np.abs(ref).max()


def test_small_and_large_input_paths_agree(monkeypatch):
    spec = FeatureSpec()
    y = speechlike(spec.sample_rate, 3.0, seed=2)
    whole = F.mfcc(y, spec)
    power = F.stft_power(y, spec)
    assert len(whole) <= F._SMALL_INPUT_FRAMES  # numpy-only path
    # Force the batched scipy path on the same input, with many small batches.
    monkeypatch.setattr(F, "_SMALL_INPUT_FRAMES", 0)
    monkeypatch.setattr(F, "_FRAMES_PER_BATCH", 17)
    # Same maths; BLAS may sum in another order for other batch shapes.
    np.testing.assert_allclose(F.mfcc(y, spec), whole, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(F.stft_power(y, spec), power, rtol=1e-4, atol=1e-6 * power.max())


def test_feature_spec_round_trip_and_validation():
    spec = FeatureSpec(n_mfcc=13, window_s=0.96)
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    assert spec.frame_length == 400 and spec.hop_length == 160
    assert spec.image_shape == (96, 13)
    assert FeatureSpec(fmax=20000).effective_fmax == 8000
    with pytest.raises(ValueError, match="sample_rate"):
        FeatureSpec(sample_rate=44100)  # never process above 32 kHz
    with pytest.raises(ValueError, match="exceeds n_fft"):
        FeatureSpec(frame_ms=40)  # 640 samples > 512
    with pytest.raises(ValueError, match="unknown FeatureSpec fields"):
        FeatureSpec.from_dict({"sample_rate": 16000, "colour": "blue"})


def test_window_starts_cover_the_tail():
    spec = FeatureSpec()  # 100-frame windows, hop 50
    assert F.window_starts(101, spec).tolist() == [0]
    assert F.window_starts(80, spec).tolist() == [0]  # shorter clips are padded by the caller
    assert F.window_starts(201, spec).tolist() == [0, 50, 100]
    assert F.window_starts(202, spec).tolist() == [0, 50, 100, 102]
    starts = F.window_starts(231, spec)
    assert starts.tolist() == [0, 50, 100, 131]
    assert starts[-1] + spec.window_frames == 231


def test_window_images_are_slices_of_clip_features():
    spec = FeatureSpec()
    y = F.pad_to_window(speechlike(spec.sample_rate, 0.4), spec)
    assert len(y) == spec.window_samples
    y = np.concatenate([y, speechlike(spec.sample_rate, 1.7)])
    frames = F.mfcc(y, spec)
    starts = F.window_starts(len(frames), spec)
    images = F.window_images(frames, starts, spec)
    assert images.shape == (len(starts), *spec.image_shape)
    for image, start in zip(images, starts):
        np.testing.assert_array_equal(image, frames[start:start + spec.window_frames])


def test_silence_gate_marks_quiet_windows():
    spec = FeatureSpec()
    sr = spec.sample_rate
    loud = speechlike(sr, 1.0)
    quiet = (10 ** (-75 / 20) * np.random.default_rng(3).standard_normal(sr)).astype(np.float32)
    y = np.concatenate([loud, quiet, quiet, loud])
    frames = F.n_frames(len(y), spec)
    starts = F.window_starts(frames, spec)
    levels = F.window_rms_dbfs(y, starts, spec)
    silent = F.silent_windows(y, starts, spec)
    start_s = starts * spec.hop_length / sr
    assert silent.tolist() == [bool(1.0 <= s and s + 1.0 <= 3.0) for s in start_s]
    # The gate measures real RMS: a full-scale sine is -3 dBFS.
    sine = np.sin(2 * np.pi * 1000 * np.arange(sr) / sr).astype(np.float32)
    assert F.window_rms_dbfs(sine, np.array([0]), spec)[0] == pytest.approx(-3.01, abs=0.05)
    assert levels.max() > -30


def test_features_refuse_wrong_rate_and_shape():
    spec = FeatureSpec()
    with pytest.raises(ValueError, match="resample first"):
        F.mfcc(np.zeros(44100, np.float32), spec, sample_rate=44100)
    with pytest.raises(ValueError, match="mono"):
        F.mfcc(np.zeros((2, 1000), np.float32), spec)


def test_cold_numpy_path_and_fast_scipy_path_agree():
    """A fresh process computes its first clip with numpy only; later ones use scipy."""
    spec = FeatureSpec()
    frames = F._frames(speechlike(spec.sample_rate, 2.0, seed=5), spec)
    for kind in ("mfcc", "logmel"):
        cold = F._features(frames, spec, kind, fast=False)
        fast = F._features(frames, spec, kind, fast=True)
        np.testing.assert_allclose(fast, cold, rtol=1e-4, atol=1e-3 * np.abs(cold).max())
    np.testing.assert_allclose(F._power(frames, spec, True), F._power(frames, spec, False), rtol=1e-3, atol=1e-9)


def test_first_clip_in_a_fresh_process_imports_no_scipy():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from voicestudio.audio.features import FeatureSpec, mfcc\n"
        "mfcc(np.zeros(16000, np.float32), FeatureSpec())\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
