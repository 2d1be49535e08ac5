import numpy as np
import pytest

import audiofiles
from voicestudio.audio.segment import Segment, fixed_segments, silence_segments

SR = 16000


def test_fixed_segments_merge_a_short_tail():
    assert fixed_segments(25.0, 10.0) == [Segment(0, 10), Segment(10, 20), Segment(20, 25)]
    assert fixed_segments(20.3, 10.0) == [Segment(0, 10), Segment(10, 20.3)]
    assert fixed_segments(4.0, 10.0) == [Segment(0, 4.0)]
    assert fixed_segments(0.0, 10.0) == []


def test_silence_segments_find_the_bursts(tmp_path):
    quiet = np.zeros(SR * 3, np.float32)
    bursts = [(1.0, 3.0), (6.0, 8.5), (11.5, 12.0)]  # the last one is short
    y = np.zeros(SR * 15, np.float32)
    for a, b in bursts:
        y[int(a * SR):int(b * SR)] = audiofiles.speechlike(SR, b - a, seed=int(a))
    path = audiofiles.write(tmp_path / "bursts.wav", np.concatenate([y, quiet]), SR)
    segments = silence_segments(path, min_segment_s=1.0)
    assert len(segments) == 3
    for segment, (a, b) in zip(segments, bursts):
        assert segment.start_s <= a + 0.05 and segment.end_s >= b - 0.3  # speechlike gates itself off at times
        assert segment.start_s >= a - 0.3 and segment.end_s <= b + 0.35


def test_silence_segments_split_long_sound_and_drop_silence(tmp_path):
    y = np.concatenate([np.zeros(SR * 5, np.float32), audiofiles.noise(SR, 70.0), np.zeros(SR * 5, np.float32)])
    path = audiofiles.write(tmp_path / "long-noise.flac", y, SR)
    segments = silence_segments(path, max_segment_s=30.0)
    assert all(s.duration_s <= 30.0 + 1e-6 for s in segments)
    assert segments[0].start_s == pytest.approx(4.75, abs=0.1)
    assert segments[-1].end_s == pytest.approx(75.25, abs=0.1)
    # consecutive pieces of the one sound meet exactly
    assert all(a.end_s == b.start_s for a, b in zip(segments, segments[1:]))


def test_all_silent_file_has_no_segments(tmp_path):
    path = audiofiles.write(tmp_path / "silence.wav", np.zeros(SR * 4, np.float32), SR)
    assert silence_segments(path) == []
