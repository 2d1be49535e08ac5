"""Speech segments from a prediction track (``predict --segments`` and the window's suggestions)."""

import numpy as np

from voicestudio.model.segments import speech_segments


def track(probs, hop=0.25):
    return np.arange(len(probs)) * hop, np.asarray(probs, np.float32)


def test_windows_above_the_threshold_merge_short_gaps_bridge_and_clicks_drop():
    # speech 1.0-2.0 s, a 0.25 s gap (bridged), speech to 2.75; a lone window at 5 s (a click); silence NaN
    probs = [0.1] * 4 + [0.9] * 3 + [0.2] + [0.8] * 2 + [0.1] * 10 + [0.95] + [np.nan] * 4
    starts, values = track(probs)
    segments = speech_segments(starts, values, 0.25, 0.5, min_speech_s=0.4, pad_s=0.1)
    assert [(s.start_s, s.end_s) for s in segments] == [(0.9, 2.6)]
    assert segments[0].peak == 0.9


def test_padding_stays_inside_the_clip_and_neighbours_never_overlap():
    probs = [0.9] * 4 + [0.1] * 2 + [0.9] * 4
    starts, values = track(probs)
    segments = speech_segments(starts, values, 0.25, 0.5, duration_s=2.5, min_silence_s=0.3, pad_s=0.2)
    assert segments[0].start_s == 0.0 and segments[-1].end_s == 2.5
    assert len(segments) == 2 and segments[0].end_s <= segments[1].start_s


def test_nothing_to_find():
    assert speech_segments([], [], 0.5, 0.5) == []
    starts, values = track([np.nan, 0.2, 0.3])
    assert speech_segments(starts, values, 0.25, 0.5) == []
