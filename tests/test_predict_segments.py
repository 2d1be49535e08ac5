"""``predict --segments`` as a pipeline step (issue 18, item 5): speech segments of a recording whose
speech positions are known, in every output format, read back by the format's own reader where one exists
(praatio for TextGrid), as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from praatio import textgrid

from audiofiles import noise, write
from voicestudio.audio.decode import load_audio
from voicestudio.dataset.demo import SAMPLES_DIR

SR = 16000
# Real words (the demo clips: a German word, an English "ball") at known places in a minute of room noise.
WORDS = {10.0: "voice-de-word.ogg", 40.0: "voice-en-ball.ogg"}
RECORDINGS = {start: load_audio(SAMPLES_DIR / name, sample_rate=SR).samples for start, name in WORDS.items()}
SPEECH = tuple((start, start + len(words) / SR) for start, words in RECORDINGS.items())


def voicestudio(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicestudio", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=180)


@pytest.fixture(scope="module")
def meeting(tmp_path_factory):
    folder = tmp_path_factory.mktemp("segments")
    samples = noise(SR, 60.0, level=0.005)
    for start, words in RECORDINGS.items():
        samples[int(start * SR):int(start * SR) + len(words)] += words
    return write(folder / "meeting one.wav", samples, SR)


def near_speech(start, end):
    return any(s - 1.0 <= start and end <= e + 1.0 for s, e in SPEECH)


def test_segments_json_find_the_speech_and_say_how(meeting):
    done = voicestudio("--json", "predict", meeting, "--segments", "--threshold", "0.4", "--min-speech", "0.5")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["threshold"] == 0.4 and out["min_speech_s"] == 0.5 and out["window_s"] == 1.0 and out["hop_s"] == 0.5
    (result,) = out["results"]
    assert result["duration_s"] == 60.0
    segments = [(s["start_s"], s["end_s"]) for s in result["segments"]]
    assert len(segments) == 2 and all(near_speech(*s) for s in segments), segments
    assert all(0.4 <= s["score"] <= 1.0 for s in result["segments"])


def test_windows_carry_their_end_and_the_header_the_window_length(meeting):
    out = json.loads(voicestudio("--json", "predict", meeting).stdout)
    assert out["model"]["window_s"] == 1.0 and out["model"]["hop_s"] == 0.5
    window = out["results"][0]["windows"][3]
    assert window["end_s"] == pytest.approx(window["start_s"] + 1.0)


def test_every_output_format_opens_in_its_tool(meeting, tmp_path):
    base = ("predict", meeting, "--segments", "--threshold", "0.4")
    audacity = voicestudio(*base, "--output-format", "audacity").stdout.splitlines()
    spans = [tuple(map(float, line.split("\t")[:2])) for line in audacity]
    assert len(spans) == 2 and all(near_speech(*s) for s in spans)
    assert all(line.split("\t")[2] == "speech" for line in audacity)

    rttm = voicestudio(*base, "--output-format", "rttm").stdout.splitlines()
    for line in rttm:  # SPEAKER uri channel onset duration <NA> <NA> label <NA> <NA>
        fields = line.split()
        assert len(fields) == 10 and fields[0] == "SPEAKER" and fields[1] == "meeting_one"
        assert near_speech(float(fields[3]), float(fields[3]) + float(fields[4]))

    grid_file = tmp_path / "meeting.TextGrid"
    grid_file.write_text(voicestudio(*base, "--output-format", "textgrid").stdout)
    grid = textgrid.openTextgrid(str(grid_file), includeEmptyIntervals=False)
    tier = grid.getTier("speech")
    assert [round(e.end - e.start, 1) > 0 for e in tier.entries] == [True, True]
    assert all(near_speech(e.start, e.end) and e.label == "speech" for e in tier.entries)
    assert grid.maxTimestamp == 60.0

    csv_lines = voicestudio(*base, "--output-format", "csv").stdout.splitlines()
    assert csv_lines[0] == "path,start_s,end_s,label,score" and len(csv_lines) == 3


def test_output_dir_writes_one_file_per_recording_and_keeps_what_is_there(meeting, tmp_path):
    other = write(tmp_path / "quiet.wav", noise(SR, 3.0, level=0.001), SR)
    out = tmp_path / "out"
    done = voicestudio("predict", meeting, other, "--segments", "--output-format", "audacity", "--output-dir", out)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["meeting one.txt", "quiet.txt"]
    again = voicestudio("predict", meeting, "--segments", "--output-format", "audacity", "--output-dir", out)
    assert again.returncode != 0 and "exists" in again.stderr
    assert voicestudio("predict", meeting, "--segments", "--output-format", "audacity", "--output-dir", out,
                       "--force").returncode == 0


def test_bad_input_fails_alone_and_usage_errors_exit_2(meeting, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    done = voicestudio("predict", broken, meeting, "--segments", "--threshold", "0.4")
    assert done.returncode == 1 and "broken.wav" in done.stderr
    assert done.stdout.count("meeting one.wav") == 2  # the good file's segments are still printed
    assert voicestudio("predict", meeting, meeting, "--segments", "--output-format", "textgrid").returncode == 2
    assert voicestudio("predict", meeting, "--output-format", "csv").returncode == 2
    assert voicestudio("predict", meeting, "--segments", "--threshold", "1.5").returncode == 2
