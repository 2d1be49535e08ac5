"""Regions of a long recording (issue 17, item 6): labelled spans stored as segment clips, from the
command line (``label AUDIO --span START-END VALUE``) and the dataset API, then exported like any clip."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import soundfile as sf

from audiofiles import noise, speechlike, write
from voicestudio.dataset.regions import (
    clear_region,
    label_region,
    move_region,
    parse_span,
    parse_time,
    regions_in,
)
from voicestudio.errors import VoiceStudioError
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project

SR = 16000


def voicestudio(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicestudio", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def recording(tmp_path):
    """60 s of quiet noise with voice-like bursts at 10-13.5 s and 40-42 s."""
    samples = noise(SR, 60.0, level=0.01)
    samples[10 * SR:int(13.5 * SR)] += speechlike(SR, 3.5, seed=3)
    samples[40 * SR:42 * SR] += speechlike(SR, 2.0, seed=4)
    return write(tmp_path / "field" / "field_recording_60min.wav", samples, SR)


def test_times_and_spans_parse_as_people_type_them():
    assert parse_time("95.5") == 95.5
    assert parse_time("1:35.5") == 95.5
    assert parse_time("1:02:05") == 3725.0
    assert parse_span("12:31.4-12:35") == (751.4, 755.0)
    for bad in ("", "1:2:3:4", "abc", "-5"):
        with pytest.raises(VoiceStudioError):
            parse_time(bad)
    with pytest.raises(VoiceStudioError, match="START-END"):
        parse_span("12")


def test_label_span_from_the_command_line_then_export(tmp_path, recording):
    db = tmp_path / "p.vsproj"
    assert voicestudio("--db", str(db), "import", str(recording)).returncode == 0
    done = voicestudio("--db", str(db), "--json", "label", str(recording), "human", "--span", "0:10-0:13.5",
                       "--annotator", "ann", "--note", "first words")
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout)
    assert (event["start_s"], event["end_s"], event["value"]) == (10.0, 13.5, "human")
    # The identical span again reuses its clip; a second annotator's label sits on the same clip.
    again = json.loads(voicestudio("--db", str(db), "--json", "label", str(recording), "unsure", "--span",
                                   "10-13.5", "--annotator", "bob").stdout)
    assert again["clip_id"] == event["clip_id"]
    done = voicestudio("--db", str(db), "label", str(recording), "nonhuman", "--span", "20-30", "--annotator", "ann")
    assert done.returncode == 0 and "20.000-30.000 s" in done.stdout

    # Refused, with the reason and nothing stored: past the end, backwards, not imported.
    for span, reason in (("55-99", "<= 60.000 s"), ("20-19", "start < end")):
        done = voicestudio("--db", str(db), "label", str(recording), "human", "--span", span, "--annotator", "ann")
        assert done.returncode != 0 and reason in done.stderr
    other = write(tmp_path / "other.wav", noise(SR, 1.0), SR)
    done = voicestudio("--db", str(db), "label", str(other), "human", "--span", "0-1", "--annotator", "ann")
    assert done.returncode != 0 and "not in the project" in done.stderr

    with open_project(db) as project, project.session() as session:
        record = clip_store.find_file_by_path(session, str(recording))
        regions = regions_in(session, record.id, 0.0, 60.0)
        assert [(r.start_s, r.end_s, r.value, r.annotator) for r in regions] == [
            (10.0, 13.5, "human", "ann"), (10.0, 13.5, "unsure", "bob"), (20.0, 30.0, "nonhuman", "ann")]
        assert regions[0].note == "first words"
        whole = clip_store.clips_for_path(session, str(recording))[0]
        assert (whole.start_s, whole.end_s) == (0.0, 60.0)  # the recording's own clip is no region of itself
        assert all(r.clip_id != whole.id for r in regions_in(session, record.id, 0.0, 60.0, shown_clip_id=whole.id))

    # Export treats the regions like imported segments: their audio, under their label.
    out = tmp_path / "export"
    done = voicestudio("--db", str(db), "export", str(out), "--annotator", "ann")
    assert done.returncode == 0, done.stderr
    exported = {p.parent.name: sf.info(str(p)).duration for p in out.rglob("*.wav")}
    assert exported["human"] == pytest.approx(3.5, abs=0.01)
    assert exported["nonhuman"] == pytest.approx(10.0, abs=0.01)


def test_moving_and_clearing_a_region_keeps_every_event(tmp_path, recording):
    with open_project(tmp_path / "p.vsproj") as project:
        from voicestudio.dataset.importer import import_paths

        import_paths(project, [recording])
        with project.session() as session:
            file_id = clip_store.find_file_by_path(session, str(recording)).id
        first = label_region(project, file_id, 10.0, 13.5, "human", annotator="ann")
        label_region(project, file_id, 10.0, 13.5, "nonhuman", annotator="bob")  # bob's stays where it is

        moved, cleared = move_region(project, first["clip_id"], 9.8, 13.9, annotator="ann")
        assert moved["value"] == "human" and (moved["start_s"], moved["end_s"]) == (9.8, 13.9)
        assert cleared["clip_id"] == first["clip_id"] and cleared["value"] is None
        assert "moved to 9.800-13.900" in cleared["note"] and "moved from 10.000-13.500" in moved["note"]
        assert move_region(project, moved["clip_id"], 9.8, 13.9, annotator="ann") == []  # no change, no event
        with pytest.raises(VoiceStudioError, match="no label"):
            move_region(project, first["clip_id"], 1.0, 2.0, annotator="ann")  # ann's label moved away

        clear_region(project, moved["clip_id"], annotator="ann")
        with project.session() as session:
            assert [(r.annotator, r.value, r.start_s) for r in regions_in(session, file_id, 0, 60)] == [
                ("bob", "nonhuman", 10.0)]
            history = [(e.value, e.note) for e in label_store.label_history(session, moved["clip_id"], "ann")]
            assert history == [("human", moved["note"]), (None, "region cleared")]
            # Z after a clear brings the region back: undo works on region clips like any clip.
        undone = label_store.undo_last_label
        with project.write() as session:
            assert undone(session, "ann").value == "human"
        with project.session() as session:
            assert [(r.annotator, r.start_s) for r in regions_in(session, file_id, 0, 60)] == [
                ("ann", 9.8), ("bob", 10.0)]
