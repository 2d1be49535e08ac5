"""Labels in and out as CSV and Label Studio JSON, between two real projects over the same audio."""

import csv
import json

import pytest

import audiofiles
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.dataset.interchange import export_labels, import_labels
from voicestudio.errors import VoiceStudioError
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project

SR = 16000


@pytest.fixture
def audio(tmp_path):
    folder = tmp_path / "audio"
    audiofiles.write(folder / "dog bark.wav", audiofiles.noise(SR, 1.0), SR)
    audiofiles.write(folder / "hello.wav", audiofiles.speechlike(SR, 1.0), SR)
    audiofiles.write(folder / "long" / "meeting.wav", audiofiles.speechlike(SR, 6.0, seed=3), SR)
    return folder


def new_project(path, audio):
    project = open_project(path)
    import_paths(project, [audio / "dog bark.wav", audio / "hello.wav"])
    import_paths(project, [audio / "long"], rule=SegmentRule.parse("2"))
    return project


def clip_ids(project):
    with project.session() as s:
        return {(row.path.rsplit("/", 1)[1], round(row.start_s)): row.id for row in clip_store.list_clips(s)}


def labels_of(project):
    """{(file name, start, annotator): value} — comparable across projects."""
    ids = {v: k for k, v in clip_ids(project).items()}
    with project.session() as s:
        return {(*ids[clip], who): value for clip, votes in label_store.labels_by_annotator(s).items()
                for who, value in votes.items()}


@pytest.fixture
def labelled(tmp_path, audio):
    project = new_project(tmp_path / "a.vsproj", audio)
    ids = clip_ids(project)
    with project.write() as s:
        label_store.add_label(s, ids["dog bark.wav", 0], "ann", "nonhuman", note="a dog")
        label_store.add_label(s, ids["hello.wav", 0], "ann", "human")
        label_store.add_label(s, ids["hello.wav", 0], "bob", "unsure")
        label_store.add_label(s, ids["meeting.wav", 2], "ann", "human")
        label_store.add_label(s, ids["meeting.wav", 4], "bob", "nonhuman")
        label_store.add_label(s, ids["meeting.wav", 4], "bob", None)  # cleared: not exported
        label_store.add_label(s, ids["meeting.wav", 0], "bob", "human")
    yield project
    project.close()


@pytest.mark.parametrize("name", ["labels.csv", "labels.json"])
def test_round_trip_into_another_project(labelled, audio, tmp_path, name):
    exported = export_labels(labelled, tmp_path / name)
    assert (exported.labels, exported.clips) == (5, 4)
    with new_project(tmp_path / "b.vsproj", audio) as other:
        result = import_labels(other, tmp_path / name, default_annotator="nobody")
        assert (result.labelled, result.failures) == (5, [])
        assert labels_of(other) == labels_of(labelled)
        again = import_labels(other, tmp_path / name, default_annotator="nobody")
        assert (again.labelled, again.unchanged) == (0, 5)  # idempotent
        if name.endswith(".csv"):
            with other.session() as s:
                notes = [e.note for e in label_store.label_history(s, clip_ids(other)["dog bark.wav", 0])]
            assert notes == ["a dog"]


def test_export_formats(labelled, tmp_path, audio):
    export_labels(labelled, tmp_path / "ann.csv", annotator="ann")
    with open(tmp_path / "ann.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["annotator"] for r in rows} == {"ann"} and len(rows) == 3
    assert rows[0].keys() == {"clip_id", "path", "start_s", "end_s", "annotator", "label", "note", "created_at"}
    export_labels(labelled, tmp_path / "ls.json")
    tasks = {t["data"]["audio"].rsplit("/", 1)[1]: t for t in json.loads((tmp_path / "ls.json").read_text())}
    hello = tasks["hello.wav"]["annotations"]
    assert [a["completed_by"]["email"] for a in hello] == ["ann", "bob"]
    assert hello[0]["result"][0]["type"] == "choices" and hello[0]["result"][0]["value"]["choices"] == ["human"]
    meeting = tasks["meeting.wav"]["annotations"]
    region = next(a for a in meeting if a["completed_by"]["email"] == "ann")["result"][0]
    assert region["type"] == "labels" and region["value"]["start"] == pytest.approx(2.0) and region["value"]["labels"] == ["human"]


def test_a_real_label_studio_export(labelled, audio, tmp_path):
    """What Label Studio writes: numeric users, upload URLs with hash prefixes, cancelled work, other result types."""
    tasks = [
        {"id": 1, "data": {"audio": "/data/upload/3/8f2c1a3b-dog bark.wav"},
         "annotations": [{"completed_by": 7, "was_cancelled": False,
                          "result": [{"type": "choices", "from_name": "c", "to_name": "a", "value": {"choices": ["Noise"]}},
                                     {"type": "textarea", "value": {"text": ["barking"]}}]},
                         {"completed_by": 8, "was_cancelled": True,
                          "result": [{"type": "choices", "value": {"choices": ["Speech"]}}]}]},
        {"id": 2, "data": {"audio": "http://ls:8080/data/local-files/?d=long/meeting.wav"},
         "annotations": [{"completed_by": {"email": "eve@lab"},
                          "result": [{"type": "labels", "value": {"start": 2.03, "end": 3.98, "labels": ["Speech"]}},
                                     {"type": "labels", "value": {"start": 4.5, "end": 6.0, "labels": ["Voice"]}},
                                     {"type": "labels", "value": {"start": 0.0, "end": 0.4, "labels": ["Speech"]}}]}]},
        {"id": 3, "data": {"audio": f"file://{audio}/hello.wav"},
         "completions": [{"completed_by": {"email": "eve@lab"}, "result": [{"type": "choices", "value": {"choices": ["Cat"]}}]}]},
        {"id": 4, "data": {"audio": "/data/upload/3/0badc0de-not-here.wav"},
         "annotations": [{"result": [{"type": "choices", "value": {"choices": ["human"]}}]}]},
    ]
    path = tmp_path / "project-1-at-2026.json"
    path.write_text(json.dumps(tasks))
    result = import_labels(labelled, path, default_annotator="ann")
    ids = clip_ids(labelled)
    with labelled.session() as s:
        votes = label_store.labels_by_annotator(s)
    assert votes[ids["dog bark.wav", 0]]["labelstudio-user-7"] == "nonhuman"
    assert "labelstudio-user-8" not in votes[ids["dog bark.wav", 0]]  # cancelled
    assert votes[ids["meeting.wav", 2]]["eve@lab"] == "human"  # a region within 0.05 s of the clip
    assert votes[ids["meeting.wav", 4]]["eve@lab"] == "human"  # covers most of the clip
    assert result.labelled == 3
    assert [f.split(":")[0] for f in result.failures] == ["task 2", "task 3", "task 4"]
    assert "no clip spans 0-0.4" in result.failures[0] and "unknown label 'cat'" in result.failures[1]
    assert "not in the project" in result.failures[2]


def test_ambiguous_names_and_bad_files(labelled, audio, tmp_path):
    audiofiles.write(audio / "other" / "hello.wav", audiofiles.tone(SR, 1.0), SR)
    import_paths(labelled, [audio / "other"])
    path = tmp_path / "ls.json"
    path.write_text(json.dumps([{"data": {"audio": "/data/upload/1/hello.wav"},
                                 "annotations": [{"result": [{"type": "choices", "value": {"choices": ["human"]}}]}]}]))
    assert "ambiguous" in import_labels(labelled, path, default_annotator="ann").failures[0]
    (tmp_path / "broken.json").write_text("[{\"data\": ")
    with pytest.raises(VoiceStudioError, match="not valid JSON"):
        import_labels(labelled, tmp_path / "broken.json", default_annotator="ann")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(VoiceStudioError, match="not a UTF-8"):
        import_labels(labelled, tmp_path / "binary.csv", default_annotator="ann")
    (tmp_path / "object.json").write_text('"just a string"')
    with pytest.raises(VoiceStudioError, match="not a Label Studio export"):
        import_labels(labelled, tmp_path / "object.json", default_annotator="ann")
    with pytest.raises(VoiceStudioError, match="cannot tell"):
        import_labels(labelled, tmp_path / "labels.txt", default_annotator="ann")


def test_cli_labels_commands(labelled, tmp_path, capsys):
    from voicestudio.cli import main

    db = labelled.label
    assert main(["--db", db, "labels", "export", str(tmp_path / "out.json")]) == 0
    assert "5 labels of 4 clips" in capsys.readouterr().out
    assert main(["--db", db, "--json", "labels", "import", str(tmp_path / "out.json")]) == 0
    assert json.loads(capsys.readouterr().out) == {"labelled": 0, "unchanged": 5, "failures": []}
