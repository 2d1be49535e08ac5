"""Segmentation of long recordings: fixed pieces, and clips between silences of real files."""


import numpy as np
import pytest
import soundfile as sf

from audiofiles import peak_memory
from voicestudio.audio.segment import Segment, fixed_segments, frame_levels, silence_segments

SR = 16000


def test_fixed_segments_merge_a_short_tail():
    assert fixed_segments(25.0, 10.0) == [Segment(0, 10), Segment(10, 20), Segment(20, 25)]
    assert fixed_segments(20.3, 10.0) == [Segment(0, 10), Segment(10, 20.3)]
    assert fixed_segments(30.0, 10.0) == [Segment(0, 10), Segment(10, 20), Segment(20, 30)]
    assert fixed_segments(20.3, 10.0, min_s=0.2) == [Segment(0, 10), Segment(10, 20), Segment(20, 20.3)]
    assert fixed_segments(4.0, 10.0) == [Segment(0, 4.0)]
    assert fixed_segments(0.3, 10.0) == [Segment(0, 0.3)]  # nothing to merge into
    assert fixed_segments(0.0, 10.0) == []
    segments = fixed_segments(3600.7, 0.1, min_s=0.05)
    assert len(segments) == 36007 and segments[-1] == Segment(3600.6, 3600.7)
    assert all(a.end_s == b.start_s for a, b in zip(segments, segments[1:]))
    with pytest.raises(ValueError):
        fixed_segments(10.0, 0.0)


def test_segment_duration():
    assert Segment(1.5, 4.0).duration_s == 2.5


def test_tone_bursts_separated_by_silence(audio_files):
    bursts = [(1.0, 3.0), (6.0, 8.5), (11.0, 13.0)]
    path = audio_files.write("bursts.wav", audio_files.bursts(SR, 16.0, bursts), SR)
    segments = silence_segments(path)
    assert len(segments) == 3
    for segment, (a, b) in zip(segments, bursts):
        # Each clip is its burst plus 0.25 s of context on both sides (to a 50 ms frame).
        assert segment.start_s == pytest.approx(a - 0.25, abs=0.051)
        assert segment.end_s == pytest.approx(b + 0.25, abs=0.051)


def test_short_pauses_do_not_split_and_quiet_hiss_is_silence(audio_files):
    # Two bursts 0.3 s apart (shorter than min_silence_s) are one clip; -66 dBFS hiss is silence.
    y = audio_files.bursts(SR, 10.0, [(2.0, 3.0), (3.3, 4.5), (7.0, 8.0)]) + audio_files.noise(SR, 10.0, level=5e-4)
    path = audio_files.write("pauses.flac", y, SR, subtype="PCM_24")
    segments = silence_segments(path, min_silence_s=0.5)
    assert [(round(s.start_s, 2), round(s.end_s, 2)) for s in segments] == [(1.75, 4.75), (6.75, 8.25)]
    # With a shorter min_silence_s, the pause splits (and each piece is still >= 1 s).
    split = silence_segments(path, min_silence_s=0.2, min_segment_s=0.5)
    assert len(split) == 3


def test_all_silent_file_has_no_segments(audio_files):
    path = audio_files.write("silence.wav", np.zeros(SR * 4, np.float32), SR)
    assert silence_segments(path) == []
    hiss = audio_files.write("hiss.wav", audio_files.noise(SR, 4.0, level=1e-4), SR)
    assert silence_segments(hiss) == []


def test_long_sound_is_split_at_its_quietest_frame(audio_files):
    # 70 s of noise with a dip (still above the threshold) at 25 s and another at 52 s.
    y = audio_files.noise(SR, 70.0, level=0.1)
    for dip in (25.0, 52.0):
        y[int(dip * SR):int((dip + 0.05) * SR)] *= 0.05
    y = np.concatenate([np.zeros(SR * 5, np.float32), y, np.zeros(SR * 5, np.float32)])
    path = audio_files.write("long-noise.flac", y, SR)
    segments = silence_segments(path, max_segment_s=30.0)
    assert all(s.duration_s <= 30.0 + 1e-6 for s in segments)
    assert segments[0].start_s == pytest.approx(4.75)
    assert segments[-1].end_s == pytest.approx(75.25)
    assert [round(s.end_s, 2) for s in segments[:-1]] == [30.0, 57.0]  # the dips, 5 s in
    assert all(a.end_s == b.start_s for a, b in zip(segments, segments[1:]))  # pieces of one sound meet


def test_split_without_dips_leaves_no_short_remainder(audio_files):
    y = audio_files.tone(SR, 30.5, 300, 0.3)  # steady: no quiet frame to prefer
    path = audio_files.write("steady.wav", y, SR)
    segments = silence_segments(path, max_segment_s=30.0, min_segment_s=1.0)
    assert len(segments) == 2
    assert all(1.0 <= s.duration_s <= 30.0 for s in segments)
    assert segments[0].start_s == 0.0 and segments[-1].end_s == pytest.approx(30.5)


def test_short_clip_joins_its_nearer_neighbour(audio_files):
    # A 0.2 s blip 1.5 s after the first burst and 4 s before the second joins the first.
    bursts = [(1.0, 4.0), (5.5, 5.7), (9.7, 12.0)]
    path = audio_files.write("blip.wav", audio_files.bursts(SR, 14.0, bursts), SR)
    segments = silence_segments(path, min_segment_s=1.0)
    assert [(round(s.start_s, 2), round(s.end_s, 2)) for s in segments] == [(0.75, 5.95), (9.45, 12.25)]
    # A lone short sound with no neighbour in reach stays a clip of its own.
    lone = audio_files.write("lone.wav", audio_files.bursts(SR, 60.0, [(30.0, 30.2)]), SR)
    assert [(round(s.start_s, 2), round(s.end_s, 2)) for s in silence_segments(lone)] == [(29.75, 30.45)]


def test_rates_and_channels(audio_files):
    # Non-integer frame hops (22.05 kHz), sound in one channel only, 96 kHz.
    left = audio_files.bursts(22050, 8.0, [(2.0, 5.0)])
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    path = audio_files.write("left-only.wav", stereo, 22050)
    [segment] = silence_segments(path)
    assert segment.start_s == pytest.approx(1.75, abs=0.06) and segment.end_s == pytest.approx(5.25, abs=0.06)
    high = audio_files.write("96k.flac", audio_files.bursts(96000, 4.0, [(1.0, 2.0)]), 96000)
    [segment] = silence_segments(high)
    assert segment.start_s == pytest.approx(0.75) and segment.end_s == pytest.approx(2.25)


def test_frame_levels(audio_files):
    path = audio_files.write("levels.wav", audio_files.bursts(SR, 1.02, [(0.5, 1.02)], level=1.0), SR, subtype="FLOAT")
    levels = frame_levels(path, frame_s=0.05)
    assert levels.frame_s == 0.05 and len(levels.dbfs) == 21  # the last 20 ms frame counts too
    assert levels.dbfs[:10].max() < -150
    assert levels.dbfs[12:] == pytest.approx(-3.01, abs=0.05)  # a full-scale sine is -3 dBFS RMS


def test_hour_long_recording_keeps_only_levels(audio_files):
    # 1 hour at 8 kHz (58 MB of float32 if decoded whole) with a burst every 10 minutes.
    minute = np.zeros(8000 * 60, np.float32)
    burst = audio_files.bursts(8000, 60.0, [(20.0, 23.0)])
    path = audio_files.path("hour.wav")
    with sf.SoundFile(path, "w", samplerate=8000, channels=1, subtype="PCM_16") as f:
        for i in range(60):
            f.write(burst if i % 10 == 0 else minute)
    segments, peak = peak_memory(lambda: silence_segments(path))
    assert peak < 24 * 2**20
    assert [round(s.start_s, 2) for s in segments] == [600 * i + 19.75 for i in range(6)]
    assert all(s.duration_s == pytest.approx(3.5) for s in segments)


def test_bad_parameters(audio_files):
    path = audio_files.write("a.wav", audio_files.tone(SR, 1.0), SR)
    with pytest.raises(ValueError):
        silence_segments(path, min_segment_s=40.0, max_segment_s=30.0)
    with pytest.raises(ValueError):
        silence_segments(path, frame_s=0.0)
