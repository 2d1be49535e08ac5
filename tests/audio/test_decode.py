"""Decoding real files: every libsndfile format, PyAV containers, partial and streamed reads,
and hostile input. Files are written by the tests (see conftest.py); nothing is mocked."""

import importlib.util
import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiofiles import peak_memory
from voicestudio.audio.decode import MAX_RATE, Audio, AudioInfo, iter_blocks, load_audio, probe
from voicestudio.audio.resample import StreamResampler, resample
from voicestudio.errors import AudioError, MissingExtraError

SR = 16000
HAVE_AV = importlib.util.find_spec("av") is not None


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def middle(x: np.ndarray) -> np.ndarray:
    """The middle half (codec start-up and padding excluded)."""
    return x[len(x) // 4: -(len(x) // 4)]


def peak_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * sr / len(x))


# Every format libsndfile reads ------------------------------------------------------

FORMATS = [  # (extension, soundfile format, subtype)
    ("wav", "WAV", "PCM_U8"), ("wav", "WAV", "PCM_16"), ("wav", "WAV", "PCM_24"), ("wav", "WAV", "PCM_32"),
    ("wav", "WAV", "FLOAT"), ("wav", "WAV", "DOUBLE"), ("wav", "WAV", "ULAW"), ("wav", "WAV", "ALAW"),
    ("wav", "WAV", "IMA_ADPCM"), ("wav", "WAV", "MS_ADPCM"),
    ("wav", "WAVEX", "PCM_24"), ("w64", "W64", "FLOAT"), ("rf64", "RF64", "PCM_24"),
    ("flac", "FLAC", "PCM_S8"), ("flac", "FLAC", "PCM_16"), ("flac", "FLAC", "PCM_24"),
    ("aiff", "AIFF", "PCM_S8"), ("aiff", "AIFF", "PCM_16"), ("aiff", "AIFF", "PCM_32"), ("aiff", "AIFF", "FLOAT"),
    ("caf", "CAF", "PCM_16"), ("caf", "CAF", "ALAC_16"), ("caf", "CAF", "ALAC_24"),
    ("au", "AU", "PCM_16"), ("nist", "NIST", "PCM_16"), ("sf", "IRCAM", "FLOAT"), ("voc", "VOC", "PCM_16"),
    ("mat", "MAT5", "DOUBLE"),
    ("ogg", "OGG", "VORBIS"), ("opus", "OGG", "OPUS"), ("mp3", "MP3", "MPEG_LAYER_III"),
]


@pytest.mark.parametrize("ext,fmt,subtype", FORMATS, ids=[f"{f}-{s}" for _, f, s in FORMATS])
def test_every_libsndfile_format_decodes_to_mono_float32(audio_files, ext, fmt, subtype):
    rate = 48000 if subtype == "OPUS" else SR
    path = audio_files.write(f"tone.{ext}", audio_files.tone(rate, 1.0, 440, level=0.5), rate,
                             channels=2, format=fmt, subtype=subtype)
    info = probe(path)
    assert (info.format, info.subtype, info.channels, info.sample_rate) == (fmt, subtype, 2, rate)
    assert info.backend == "soundfile" and abs(info.duration_s - 1.0) < 0.1
    audio = load_audio(path)
    assert isinstance(audio, Audio)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1 and audio.samples.flags.c_contiguous
    assert audio.sample_rate == min(rate, MAX_RATE)
    assert abs(audio.duration_s - 1.0) < 0.1
    # Lossy codecs change the waveform, not the level: RMS of a 0.5 sine is 0.354.
    assert rms(middle(audio.samples)) == pytest.approx(0.354, rel=0.1)
    assert peak_hz(middle(audio.samples), audio.sample_rate) == pytest.approx(440, abs=5)


@pytest.mark.parametrize("fmt,subtype,bits", [
    ("WAV", "PCM_U8", 8), ("AIFF", "PCM_S8", 8), ("WAV", "PCM_16", 16), ("FLAC", "PCM_24", 24),
    ("WAV", "PCM_32", 32), ("WAV", "FLOAT", 24), ("CAF", "ALAC_24", 24),
])
def test_lossless_depths_decode_to_within_one_step(audio_files, fmt, subtype, bits):
    signal = audio_files.chirp(SR, 0.5)
    path = audio_files.write(f"depth.{fmt.lower()}", signal, SR, format=fmt, subtype=subtype)
    decoded = load_audio(path).samples
    assert len(decoded) == len(signal)
    np.testing.assert_allclose(decoded, signal, atol=2.0 ** -(bits - 1))


@pytest.mark.parametrize("channels", [1, 2, 8])
def test_channels_are_averaged(audio_files, channels):
    frames = np.stack([audio_files.tone(SR, 0.5, 200 * (c + 1), level=0.9 / channels) for c in range(channels)], axis=1)
    path = audio_files.write(f"{channels}ch.wav", frames, SR, subtype="FLOAT")
    assert probe(path).channels == channels
    np.testing.assert_allclose(load_audio(path).samples, frames.mean(axis=1), atol=1e-7)


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000, 192000])
def test_native_rate_is_kept_up_to_32k_and_downsampled_above(audio_files, rate):
    path = audio_files.write(f"r{rate}.wav", audio_files.tone(rate, 0.5, 1000), rate, subtype="PCM_16")
    audio = load_audio(path)
    assert audio.sample_rate == min(rate, 32000)
    assert len(audio.samples) == round(0.5 * audio.sample_rate)
    assert peak_hz(audio.samples, audio.sample_rate) == pytest.approx(1000, abs=4)
    asked = load_audio(path, sample_rate=16000)
    assert asked.sample_rate == 16000 and abs(len(asked.samples) - 8000) <= 1


def test_eight_channels_24_bit_at_192k(audio_files):
    path = audio_files.write("multi.wav", audio_files.tone(192000, 0.5, 1000), 192000, channels=8, subtype="PCM_24")
    info = probe(path)
    assert (info.channels, info.sample_rate, info.frames) == (8, 192000, 96000)
    audio = load_audio(path)
    assert audio.sample_rate == 32000 and len(audio.samples) == 16000
    assert rms(middle(audio.samples)) == pytest.approx(0.354, rel=0.01)


def test_sample_rate_and_max_rate(audio_files):
    path = audio_files.write("48k.flac", audio_files.tone(48000, 0.5), 48000)
    assert load_audio(path, max_rate=16000).sample_rate == 16000
    assert load_audio(path, max_rate=96000).sample_rate == 48000
    low = audio_files.write("8k.flac", audio_files.tone(8000, 0.5), 8000)
    up = load_audio(low, sample_rate=48000)  # asked for explicitly: upsampling is allowed
    assert up.sample_rate == 48000 and len(up.samples) == 24000
    with pytest.raises(ValueError):
        load_audio(low, sample_rate=0)


def test_resample_identity_and_validation():
    x = np.arange(10, dtype=np.float32)
    assert resample(x, 16000, 16000) is x
    assert resample(x.astype(np.float64), 16000, 16000).dtype == np.float32
    assert len(resample(np.zeros(0, np.float32), 16000, 8000)) == 0
    with pytest.raises(ValueError):
        resample(x, 0, 16000)
    with pytest.raises(ValueError):
        resample(np.zeros((4, 2), np.float32), 16000, 8000)


def test_stream_resampler_equals_one_shot():
    x = np.random.default_rng(0).standard_normal(44100 * 2).astype(np.float32)
    stream = StreamResampler(44100, 16000)
    pieces = [stream.process(x[i:i + 777]) for i in range(0, len(x), 777)] + [stream.flush()]
    np.testing.assert_array_equal(np.concatenate(pieces), resample(x, 44100, 16000))


# Parts of a file --------------------------------------------------------------------

PARTIAL = [  # formats whose seeking differs: PCM, FLAC, ALAC, Opus seek; MP3, Vorbis decode from 0
    ("wav", {"subtype": "PCM_16"}, SR), ("flac", {}, SR), ("aiff", {}, SR), ("caf", {"subtype": "ALAC_16"}, SR),
    ("ogg", {"format": "OGG", "subtype": "VORBIS"}, SR), ("opus", {"format": "OGG", "subtype": "OPUS"}, 48000),
    ("mp3", {"format": "MP3"}, SR),
]


@pytest.mark.parametrize("ext,kwargs,rate", PARTIAL, ids=[p[0] for p in PARTIAL])
def test_partial_read_equals_slice_of_full_read(audio_files, ext, kwargs, rate):
    # A sweep plus noise: any offset in a read would show (and MP3 gets a realistic bitstream).
    signal = audio_files.chirp(rate, 4.0) + audio_files.noise(rate, 4.0, level=0.02)
    path = audio_files.write(f"sweep.{ext}", signal, rate, channels=2, **kwargs)
    full = load_audio(path, max_rate=rate).samples
    for start_s, end_s in [(0.0, 0.5), (0.73, 2.41), (2.5, 3.9), (3.5, None)]:
        part = load_audio(path, start_s=start_s, end_s=end_s, max_rate=rate).samples
        expected = full[round(start_s * rate): None if end_s is None else round(end_s * rate)]
        np.testing.assert_array_equal(part, expected, err_msg=f"{start_s}-{end_s}")
        streamed = np.concatenate(list(iter_blocks(path, block_s=0.3, start_s=start_s, end_s=end_s, max_rate=rate)))
        np.testing.assert_array_equal(streamed, expected)


def test_partial_read_with_resampling(audio_files):
    path = audio_files.write("sweep.wav", audio_files.chirp(44100, 3.0), 44100)
    part = load_audio(path, start_s=1.0, end_s=2.5, sample_rate=16000)
    assert part.sample_rate == 16000 and len(part.samples) == 24000


def test_end_is_clamped_and_bad_parts_are_clear(audio_files):
    path = audio_files.write("a.wav", audio_files.tone(SR, 1.0), SR)
    assert len(load_audio(path, start_s=0.75, end_s=99).samples) == SR // 4
    assert len(load_audio(path, start_s=0.75, end_s=float("inf")).samples) == SR // 4
    with pytest.raises(AudioError, match="beyond the end"):
        load_audio(path, start_s=1.0)
    with pytest.raises(AudioError, match="beyond the end"):
        iter_blocks(path, start_s=5.0)  # checked when called, not when first iterated
    with pytest.raises(AudioError, match="not after start"):
        load_audio(path, start_s=0.5, end_s=0.5)
    with pytest.raises(AudioError, match="not after start"):
        load_audio(path, start_s=0.5, end_s=0.2)
    with pytest.raises(AudioError, match="no whole sample"):
        load_audio(path, start_s=0.5, end_s=0.50001)
    with pytest.raises(AudioError, match="not a time"):
        load_audio(path, start_s=-1.0)
    with pytest.raises(AudioError, match="not a time"):
        load_audio(path, start_s=float("nan"))


# Streaming --------------------------------------------------------------------------

def test_streamed_blocks_equal_one_shot_decode_and_resample(audio_files):
    path = audio_files.write("s.wav", audio_files.chirp(44100, 6.0) + audio_files.noise(44100, 6.0, level=0.05),
                             44100, subtype="FLOAT")
    blocks = list(iter_blocks(path, block_s=0.7, sample_rate=SR))
    assert [len(b) for b in blocks[:-1]] == [11200] * (len(blocks) - 1) and 0 < len(blocks[-1]) <= 11200
    assert all(b.dtype == np.float32 and b.flags.c_contiguous for b in blocks)
    whole = load_audio(path, sample_rate=SR).samples
    # soxr's output does not depend on how the input is cut: no seams at all.
    np.testing.assert_array_equal(np.concatenate(blocks), whole)
    # The default rate (44.1k -> 32k) streams the same way.
    np.testing.assert_array_equal(np.concatenate(list(iter_blocks(path, block_s=1.3))), load_audio(path).samples)


def test_long_file_streams_in_bounded_blocks(audio_files):
    # 2 hours at 8 kHz, 16-bit: 115 MB on disk, 230 MB as float32; never held whole.
    minute = (audio_files.noise(8000, 60.0) * 32767).astype(np.int16)
    path = audio_files.path("two hours.wav")
    with sf.SoundFile(path, "w", samplerate=8000, channels=1, subtype="PCM_16") as f:
        for _ in range(120):
            f.write(minute)
    assert probe(path).duration_s == 7200.0
    sizes, peak = peak_memory(lambda: [len(block) for block in iter_blocks(path, block_s=60.0)])
    assert sizes == [480000] * 120
    assert peak < 16 * 2**20  # a few blocks of 1.9 MB, not 230 MB


# PyAV containers --------------------------------------------------------------------

def test_m4a_through_pyav(audio_files):
    pytest.importorskip("av")
    path = audio_files.write_m4a("memo.m4a", audio_files.tone(SR, 2.0, 440, 0.5), SR)
    info = probe(path)
    assert (info.backend, info.format, info.subtype, info.sample_rate, info.channels) == ("pyav", "MP4", "AAC", SR, 1)
    assert info.frames == 2 * SR
    audio = load_audio(path)
    assert audio.sample_rate == SR and len(audio.samples) == 2 * SR
    assert rms(middle(audio.samples)) == pytest.approx(0.354, rel=0.05)
    assert peak_hz(middle(audio.samples), SR) == pytest.approx(440, abs=5)
    part = load_audio(path, start_s=0.5, end_s=1.5).samples
    np.testing.assert_allclose(part, audio.samples[SR // 2: 3 * SR // 2], atol=1e-4)
    streamed = np.concatenate(list(iter_blocks(path, block_s=0.3)))
    np.testing.assert_array_equal(streamed, audio.samples)


def test_stereo_m4a_at_44k_is_averaged_and_capped(audio_files):
    pytest.importorskip("av")
    tone = audio_files.tone(44100, 1.0, 440, 0.6)
    path = audio_files.write_m4a("stereo.m4a", np.stack([tone, -0.5 * tone], axis=1), 44100)
    assert probe(path).channels == 2
    audio = load_audio(path)
    assert audio.sample_rate == 32000 and len(audio.samples) == 32000
    assert rms(middle(audio.samples)) == pytest.approx(0.25 * 0.6 / np.sqrt(2), rel=0.05)  # (L + R) / 2


def test_m4a_without_pyav_names_the_extra(audio_files, monkeypatch):
    pytest.importorskip("av")
    path = audio_files.write_m4a("memo.m4a", audio_files.tone(SR, 1.0), SR)
    wma = audio_files.write_bytes("talk.wma", bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + b"\0" * 200)
    junk = audio_files.write_bytes("junk.m4a", b"\x00\x01junk" * 100)
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
    for call in (probe, load_audio, lambda p: list(iter_blocks(p))):
        with pytest.raises(MissingExtraError, match=r"pip install 'voicestudio\[formats\]'") as exc:
            call(path)
        assert str(path) in str(exc.value) and "'av'" in str(exc.value)
    with pytest.raises(MissingExtraError, match="ASF/WMA"):
        probe(wma)
    with pytest.raises(AudioError, match="not an audio file"):  # not a container PyAV would read
        probe(junk)


def test_content_decides_not_the_extension(audio_files):
    signal = audio_files.tone(SR, 0.5)
    flac = audio_files.write("really-flac.mp3", signal, SR, format="FLAC")
    wav = audio_files.write("really-wav.raw", signal, SR, format="WAV")
    mp3 = audio_files.write("really-mp3.wav", signal, SR, format="MP3")
    assert probe(flac).format == "FLAC" and probe(wav).format == "WAV" and probe(mp3).format == "MP3"
    np.testing.assert_allclose(load_audio(wav).samples, signal, atol=2**-15)
    if HAVE_AV:
        m4a = audio_files.write_m4a("really-m4a.wav", signal, SR)
        assert probe(m4a).backend == "pyav"


# Hostile input ----------------------------------------------------------------------

def hostile_files(af):
    """name -> (path, fragment of the reason). Every one must fail in load_audio."""
    files = {}

    def put(name, data, reason):
        files[name] = (af.write_bytes(name, data), reason)

    put("zero.wav", b"", "empty file (0 bytes)")
    put("random.wav", np.random.default_rng(0).bytes(4096), "not an audio file")
    put("text.mp3", b"this is a text file named like an mp3\n" * 50, "not an audio file")
    put("text.wav", b"RIFF? no, just words\n" * 50, "not an audio file")
    put("notes.txt", b"hello", "not an audio file")
    # libsndfile would read these as headerless VOX/GSM/u-law because of the extension alone.
    for ext in ("vox", "gsm", "au"):
        put(f"text.{ext}", b"plain text, not sound\n" * 100, "not an audio file")
    put("header-only.wav", af.wav_header(0), "no audio frames")
    put("truncated-header.wav", af.wav_header(SR)[:30], "corrupt or truncated header")
    flac = af.write("whole.flac", af.chirp(SR, 3.0), SR).read_bytes()
    put("truncated.flac", flac[: len(flac) // 2], "corrupt or truncated data after 1.")
    for name, value in [("nan.wav", np.nan), ("inf.wav", np.inf)]:
        y = af.tone(SR, 1.0)
        y[SR // 2] = value
        files[name] = (af.write(name, y, SR, subtype="FLOAT"), "contains NaN/Inf samples")
    stereo = np.stack([af.tone(SR, 1.0), af.tone(SR, 1.0)], axis=1)
    stereo[100, 1] = -np.inf
    files["stereo-inf.flac"] = (af.write("stereo-inf.wav", stereo, SR, subtype="DOUBLE"), "contains NaN/Inf samples")
    return files


def test_hostile_files_give_one_clear_reason_each(audio_files):
    for name, (path, reason) in hostile_files(audio_files).items():
        for call in (load_audio, lambda p: list(iter_blocks(p, block_s=0.1))):
            with pytest.raises(AudioError) as exc:
                call(path)
            message = str(exc.value)
            assert message.startswith(f"{path}: ") and "\n" not in message, message
            assert reason in exc.value.reason, f"{name}: {exc.value.reason}"


def test_nan_is_found_only_where_it_is_read(audio_files):
    y = audio_files.tone(SR, 2.0)
    y[int(1.5 * SR)] = np.nan
    path = audio_files.write("late-nan.wav", y, SR, subtype="FLOAT")
    assert probe(path).frames == 2 * SR  # headers only: probe does not look at samples
    assert len(load_audio(path, end_s=1.0).samples) == SR
    with pytest.raises(AudioError, match="NaN/Inf"):
        load_audio(path, start_s=1.0)


def test_header_claiming_absurd_size_decodes_what_is_there(audio_files):
    # A WAV header that claims 37 hours, with one second of data behind it.
    body = (audio_files.tone(SR, 1.0) * 32767).astype("<i2").tobytes()
    wav = audio_files.write_bytes("liar.wav", audio_files.wav_header(0x7FFFFFF0 // 2) + body)
    # A FLAC whose STREAMINFO claims 2**36 - 1 samples (49 days), with one second of data.
    flac = bytearray(audio_files.write("one-second.flac", audio_files.tone(SR, 1.0), SR).read_bytes())
    i = flac.index(b"fLaC") + 8  # STREAMINFO body
    flac[i + 13] = (flac[i + 13] & 0xF0) | 0x0F
    flac[i + 14:i + 18] = b"\xff\xff\xff\xff"
    flac_path = audio_files.write_bytes("liar.flac", bytes(flac))
    for path in (wav, flac_path):
        assert probe(path).frames == SR
        audio, peak = peak_memory(lambda: load_audio(path))
        assert len(audio.samples) == SR and peak < 32 * 2**20
        np.testing.assert_array_equal(load_audio(path, start_s=0.5).samples, audio.samples[SR // 2:])


def test_truncated_data_decodes_what_is_there(audio_files):
    data = audio_files.write("whole.wav", audio_files.tone(SR, 1.0), SR).read_bytes()
    path = audio_files.write_bytes("cut.wav", data[: 44 + SR])  # header says 1 s, half is there
    assert probe(path).frames == SR // 2
    assert len(load_audio(path).samples) == SR // 2


def test_missing_file_directory_and_fifo(audio_files, tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        probe(tmp_path / "absent.wav")
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.wav")
        with pytest.raises(AudioError, match="not a regular file"):
            probe(tmp_path / "pipe.wav")  # never opened: opening a FIFO would block


def test_unreadable_file():
    """Permissions do not stop root, so as root the check runs with the effective user 'nobody'."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="vs-unreadable-"))
    os.chmod(folder, 0o755)
    path = folder / "locked.wav"
    sf.write(path, np.zeros(SR // 5, np.float32), SR)
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
        os.chmod(path, 0o644)


# Names and sizes --------------------------------------------------------------------

def test_unicode_and_spaces_in_names(audio_files):
    signal = audio_files.tone(SR, 0.5)
    for name in ["один sample ünïcode.wav", "spaces  and (brackets) [x].flac", "日本語の声 🎤.ogg"]:
        kwargs = {"format": "OGG", "subtype": "VORBIS"} if name.endswith(".ogg") else {}
        path = audio_files.write(f"dir with spaces/{name}", signal, SR, **kwargs)
        assert probe(path).path == str(path)
        assert abs(load_audio(str(path)).duration_s - 0.5) < 0.05
    if HAVE_AV:
        m4a = audio_files.write_m4a("ünï côdé memo.m4a", signal, SR)
        assert abs(load_audio(m4a).duration_s - 0.5) < 0.05


def test_one_sample_file(audio_files):
    path = audio_files.write("one.wav", np.array([0.5], np.float32), SR, subtype="FLOAT")
    info = probe(path)
    assert isinstance(info, AudioInfo) and info.frames == 1 and info.duration_s == 1 / SR
    assert load_audio(path).samples.tolist() == [0.5]
    assert [b.tolist() for b in iter_blocks(path)] == [[0.5]]
    high = audio_files.write("one-48k.wav", np.array([0.5], np.float32), 48000, subtype="FLOAT")
    assert len(load_audio(high).samples) == 1  # resampled to 32 kHz, still one sample


def test_wav_header_helper_is_valid(audio_files):
    # Sanity check of the test helper itself: a header plus its data is a good file.
    body = struct.pack("<4h", 0, 1000, -1000, 0)
    path = audio_files.write_bytes("tiny.wav", audio_files.wav_header(4) + body)
    assert probe(path).frames == 4
