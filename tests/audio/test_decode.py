"""Decoding real files of every kind libsndfile reads, PyAV containers, and hostile input."""

import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import audiofiles
from voicestudio.audio.decode import MAX_RATE, iter_blocks, load_audio, probe
from voicestudio.errors import AudioError, MissingExtraError

SR = 16000

FORMATS = [
    ("wav", {"subtype": "PCM_16"}),
    ("wav", {"subtype": "PCM_24"}),
    ("wav", {"subtype": "PCM_32"}),
    ("wav", {"subtype": "FLOAT"}),
    ("wav", {"subtype": "PCM_U8"}),
    ("flac", {"subtype": "PCM_16"}),
    ("flac", {"subtype": "PCM_24"}),
    ("aiff", {"subtype": "PCM_16"}),
    ("caf", {"subtype": "PCM_16"}),
    ("w64", {"subtype": "FLOAT"}),
    ("ogg", {"format": "OGG", "subtype": "VORBIS"}),
    ("opus", {"format": "OGG", "subtype": "OPUS"}),
    ("mp3", {"format": "MP3", "subtype": "MPEG_LAYER_III"}),
]


@pytest.mark.parametrize("ext,kwargs", FORMATS, ids=lambda v: v if isinstance(v, str) else v.get("subtype"))
def test_every_libsndfile_format_decodes_to_mono_float32(tmp_path, ext, kwargs):
    rate = 48000 if kwargs.get("subtype") == "OPUS" else SR
    signal = audiofiles.tone(rate, 1.0, 440, level=0.5)
    path = audiofiles.write(tmp_path / f"tone.{ext}", signal, rate, channels=2, **kwargs)
    info = probe(path)
    assert info.channels == 2 and info.backend == "soundfile"
    audio = load_audio(path)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.sample_rate == min(rate, MAX_RATE)
    assert abs(audio.duration_s - 1.0) < 0.1
    # Lossy codecs change the waveform, not the level: RMS of a 0.5 sine is 0.354.
    rms = np.sqrt(np.mean(audio.samples[len(audio.samples) // 4: -len(audio.samples) // 4] ** 2))
    assert rms == pytest.approx(0.354, rel=0.1)


def test_channels_are_averaged(tmp_path):
    left, right = audiofiles.tone(SR, 0.5, 300), audiofiles.tone(SR, 0.5, 700)
    path = tmp_path / "lr.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path).samples, (left + right) / 2, atol=1e-6)


def test_eight_channels_24_bit_at_192k_is_downsampled_to_32k(tmp_path):
    signal = audiofiles.tone(192000, 0.5, 1000)
    path = audiofiles.write(tmp_path / "multi.wav", signal, 192000, channels=8, subtype="PCM_24")
    info = probe(path)
    assert (info.channels, info.sample_rate) == (8, 192000)
    audio = load_audio(path)
    assert audio.sample_rate == 32000 and len(audio.samples) == 16000
    assert load_audio(path, sample_rate=16000).sample_rate == 16000


def test_partial_read_matches_slice_of_full_read(tmp_path):
    signal = audiofiles.speechlike(SR, 5.0)
    path = audiofiles.write(tmp_path / "long.flac", signal, SR)
    full = load_audio(path).samples
    part = load_audio(path, start_s=1.25, end_s=3.5).samples
    np.testing.assert_array_equal(part, full[int(1.25 * SR):int(3.5 * SR)])
    tail = load_audio(path, start_s=4.0, end_s=99).samples  # end clamped to the file
    assert len(tail) == SR


def test_bad_spans_are_clear(tmp_path):
    path = audiofiles.write(tmp_path / "a.wav", audiofiles.tone(SR, 1.0), SR)
    with pytest.raises(AudioError, match="beyond the end"):
        load_audio(path, start_s=2.0)
    with pytest.raises(AudioError, match="not after start"):
        load_audio(path, start_s=0.5, end_s=0.5)


def test_streamed_blocks_equal_one_shot_decode_and_resample(tmp_path):
    signal = audiofiles.speechlike(44100, 6.0, seed=4)
    path = audiofiles.write(tmp_path / "s.wav", signal, 44100, subtype="FLOAT")
    blocks = list(iter_blocks(path, block_s=0.7, sample_rate=SR))
    assert len(blocks) > 5
    streamed = np.concatenate(blocks)
    whole = load_audio(path, sample_rate=SR).samples
    assert abs(len(streamed) - len(whole)) <= 2
    n = min(len(streamed), len(whole))
    np.testing.assert_allclose(streamed[:n], whole[:n], atol=2e-4)


def test_long_file_streams_in_bounded_blocks(tmp_path):
    # 2 hours at 8 kHz, 16-bit: 115 MB on disk, never held whole.
    path = tmp_path / "two-hours.wav"
    block = (audiofiles.noise(8000, 60.0) * 32767 * 0.1).astype(np.int16)
    with sf.SoundFile(path, "w", samplerate=8000, channels=1, subtype="PCM_16") as f:
        for _ in range(120):
            f.write(block)
    sizes = [len(b) for b in iter_blocks(path, block_s=60.0)]
    assert len(sizes) == 120 and max(sizes) == 8000 * 60


def test_m4a_through_pyav(tmp_path):
    pytest.importorskip("av")
    path = audiofiles.write_m4a(tmp_path / "memo.m4a", audiofiles.tone(SR, 2.0, 440, 0.5), SR)
    info = probe(path)
    assert info.backend == "pyav" and abs(info.duration_s - 2.0) < 0.1
    audio = load_audio(path)
    assert audio.sample_rate == SR and abs(audio.duration_s - 2.0) < 0.1
    part = load_audio(path, start_s=0.5, end_s=1.5)
    assert abs(part.duration_s - 1.0) < 0.03
    assert sum(len(b) for b in iter_blocks(path, block_s=0.5)) == pytest.approx(len(audio.samples), abs=2048)


def test_m4a_without_pyav_names_the_extra(tmp_path, monkeypatch):
    pytest.importorskip("av")
    path = audiofiles.write_m4a(tmp_path / "memo.m4a", audiofiles.tone(SR, 1.0), SR)
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(MissingExtraError, match=r"voicestudio\[formats\]"):
        probe(path)


def wav_header(frames_claimed: int, rate=SR) -> bytes:
    data_bytes = frames_claimed * 2
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", data_bytes))


def hostile_files(tmp_path):
    files = {}

    def put(name, data):
        p = tmp_path / name
        p.write_bytes(data)
        files[name] = p

    put("zero.wav", b"")
    put("random.wav", np.random.default_rng(0).bytes(4096))
    put("text.mp3", b"this is a text file named like an mp3\n" * 50)
    put("header-only.wav", wav_header(0))
    put("truncated-header.wav", wav_header(16000)[:30])
    put("notes.txt", b"hello")
    nan = np.full(SR, np.nan, np.float32)
    sf.write(tmp_path / "nan.wav", nan, SR, subtype="FLOAT")
    files["nan.wav"] = tmp_path / "nan.wav"
    inf = audiofiles.tone(SR, 1.0)
    inf[100] = np.inf
    sf.write(tmp_path / "inf.wav", inf, SR, subtype="FLOAT")
    files["inf.wav"] = tmp_path / "inf.wav"
    return files


def test_hostile_files_give_one_clear_reason_each(tmp_path):
    reasons = {}
    for name, path in hostile_files(tmp_path).items():
        with pytest.raises(AudioError) as exc:
            load_audio(path)
        assert str(exc.value).startswith(str(path) + ": ")
        assert "\n" not in str(exc.value)
        reasons[name] = exc.value.reason
    assert "empty" in reasons["zero.wav"]
    assert "NaN/Inf" in reasons["nan.wav"] and "NaN/Inf" in reasons["inf.wav"]
    assert "not an audio file" in reasons["random.wav"]
    assert "not an audio file" in reasons["text.mp3"]


def test_header_claiming_absurd_size_decodes_what_is_there(tmp_path):
    # A header that claims an hour of audio, with one second of data behind it.
    body = (audiofiles.tone(SR, 1.0) * 32767).astype("<i2").tobytes()
    path = tmp_path / "liar.wav"
    path.write_bytes(wav_header(SR * 3600) + body)
    audio = load_audio(path)  # must not allocate an hour
    assert len(audio.samples) <= SR + 1


def test_tiny_and_oddly_named_files(tmp_path):
    one = audiofiles.write(tmp_path / "один sample ünïcode.wav", np.array([0.5], np.float32), SR)
    audio = load_audio(one)
    assert len(audio.samples) == 1


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        probe(tmp_path / "absent.wav")
    with pytest.raises(AudioError, match="folder"):
        probe(tmp_path)


def test_unreadable_file():
    """Permissions do not stop root, so as root the check runs with the effective user 'nobody'."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="vs-unreadable-")
    os.chmod(folder, 0o755)
    path = audiofiles.write(Path(folder) / "locked.wav", audiofiles.tone(SR, 0.2), SR)
    os.chmod(path, 0)
    as_root = os.geteuid() == 0
    if as_root:
        os.seteuid(65534)
    try:
        with pytest.raises(AudioError, match="cannot read"):
            probe(path)
    finally:
        if as_root:
            os.seteuid(0)
