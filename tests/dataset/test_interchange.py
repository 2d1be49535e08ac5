"""Labels in and out as CSV and Label Studio JSON, between two real projects over the same audio."""

import csv
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import audiofiles
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.dataset.interchange import (ANNOTATOR_CONTROL, LABEL_STUDIO_CONFIG, LabelStudioOptions,
                                             detect_format, export_labels, import_labels)
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
    # no completed_by (a stock Label Studio refuses unknown emails): the annotator is a text result
    assert all("completed_by" not in a for a in hello)
    assert [a["result"][-1] for a in hello] == [
        {"id": "annotator", "from_name": ANNOTATOR_CONTROL, "to_name": "audio", "type": "textarea",
         "value": {"text": [who]}} for who in ("ann", "bob")]
    assert hello[0]["result"][0]["type"] == "choices" and hello[0]["result"][0]["value"]["choices"] == ["human"]
    assert tasks["hello.wav"]["data"] == {"audio": str(audio / "hello.wav"), "path": str(audio / "hello.wav")}
    meeting = tasks["meeting.wav"]["annotations"]
    region = next(a for a in meeting if a["result"][-1]["value"]["text"] == ["ann"])["result"][0]
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
    with labelled.session() as s:
        made = {(c.start_s, c.end_s): c.id for c in clip_store.list_clips(s) if c.path.endswith("meeting.wav")}
    assert "eve@lab" not in votes.get(made[4.0, 6.0], {})  # only partly inside the region 4.5-6
    assert votes[made[4.5, 6.0]]["eve@lab"] == "human" and votes[made[0.0, 0.4]]["eve@lab"] == "human"
    assert (result.labelled, result.created) == (4, 2)
    assert result.notes == ["task 2: region 4.5-6 s is no clip's span: made its segment clip",
                            "task 2: region 4.5-6 s partly overlaps clip 4-6 s (not labelled)",
                            "task 2: region 0-0.4 s is no clip's span: made its segment clip",
                            "task 2: region 0-0.4 s partly overlaps clip 0-2 s (not labelled)"]
    assert [f.split(":")[0] for f in result.failures] == ["task 3", "task 4"]
    assert "unknown label 'Cat'" in result.failures[0] and "not in the project" in result.failures[1]
    again = import_labels(labelled, path, default_annotator="ann")  # the made clips match the second time
    assert (again.labelled, again.created, again.unchanged) == (0, 0, 4)


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
    assert json.loads(capsys.readouterr().out) == {"labelled": 0, "unchanged": 5, "failures": [], "segments_created": 0,
                                                   "notes": []}


def test_csv_notes_over_several_lines_and_the_short_form(labelled, audio, tmp_path):
    ids = clip_ids(labelled)
    note = "first line\nsecond, with a comma and \"quotes\"\u2028and a line separator — ünïcode"
    with labelled.write() as s:
        label_store.add_label(s, ids["meeting.wav", 2], "ann", "unsure", note=note)
    export_labels(labelled, tmp_path / "notes.csv")
    with new_project(tmp_path / "b.vsproj", audio) as other:
        assert import_labels(other, tmp_path / "notes.csv", default_annotator="x").failures == []
        with other.session() as s:
            assert label_store.label_history(s, clip_ids(other)["meeting.wav", 2])[-1].note == note
        # The old form: path,label[,annotator], no header, paths relative to the CSV's folder.
        (tmp_path / "csvs").mkdir()
        (tmp_path / "csvs" / "short.csv").write_text(
            "../audio/hello.wav,H\n\n../audio/dog bark.wav,non-human,zoe\n../audio/hello.wav,clear,ann\n")
        result = import_labels(other, tmp_path / "csvs" / "short.csv", default_annotator="kim")
        assert (result.labelled, result.failures) == (3, [])
        votes = labels_of(other)
        assert votes["hello.wav", 0, "kim"] == "human" and votes["dog bark.wav", 0, "zoe"] == "nonhuman"
        assert ("hello.wav", 0, "ann") not in votes  # cleared


def test_bad_csv_rows_are_reported_one_line_each_and_the_rest_written(labelled, audio, tmp_path):
    meeting, hello = audio / "long" / "meeting.wav", audio / "hello.wav"
    (tmp_path / "mixed.csv").write_text(
        "path,start_s,end_s,annotator,label,note\n"
        f'{hello},,,zoe,human,"a note\nover two lines"\n'     # lines 2-3: fine
        f"{meeting},2.0004,3.9996,zoe,nonhuman,\n"           # line 4: fine (within 1e-3 s)
        f"{meeting},2,,zoe,human,\n"                          # line 5: half a span
        f"{hello},,,zoe,maybe,\n"                             # line 6: unknown label
        f"{audio}/nowhere.wav,,,zoe,human,\n"                 # line 7: not imported
        f"{meeting},,,zoe,human,\n"                           # line 8: a segmented file needs a span
        f"{meeting},1,3,zoe,human,\n"                         # line 9: no such clip
    )
    result = import_labels(labelled, tmp_path / "mixed.csv", default_annotator="x")
    assert result.labelled == 2
    assert [f.split(":")[0] for f in result.failures] == [f"line {n}" for n in range(5, 10)]
    assert "start_s and end_s" in result.failures[0] and "unknown label 'maybe'" in result.failures[1]
    assert result.failures[2] == f"line 7: {audio}/nowhere.wav: not in the project (import it first)"
    assert "has 3 clips" in result.failures[3] and "no clip spans 1-3 s" in result.failures[4]
    assert all("\n" not in f for f in result.failures)
    votes = labels_of(labelled)
    assert votes["hello.wav", 0, "zoe"] == "human" and votes["meeting.wav", 2, "zoe"] == "nonhuman"


def test_label_studio_config_matches_the_export(labelled, tmp_path):
    view = ET.fromstring(LABEL_STUDIO_CONFIG)
    names = [tag.get("name") for tag in view.iter() if tag.get("name")]
    assert len(names) == len(set(names))  # Label Studio refuses a config with repeated names
    controls = {tag.get("name"): tag for tag in view if tag.tag in ("Choices", "Labels", "TextArea")}
    assert controls[ANNOTATOR_CONTROL].tag == "TextArea"
    for tag in controls.values():
        assert tag.get("toName") == "audio"
        if tag.tag != "TextArea":
            assert [c.get("value") for c in tag] == ["human", "nonhuman", "unsure"]
    export_labels(labelled, tmp_path / "ls.json")
    results = [r for task in json.loads((tmp_path / "ls.json").read_text())
               for a in task["annotations"] for r in a["result"]]
    assert {r["type"] for r in results} == {"choices", "labels", "textarea"}
    for r in results:
        assert r["to_name"] == "audio" and controls[r["from_name"]].tag.lower() == r["type"]
        if r["type"] == "labels":
            assert r["original_length"] == pytest.approx(6.0) and r["value"]["channel"] == 0


def test_odd_label_studio_tasks_fail_alone(labelled, audio, tmp_path):
    meeting, hello = str(audio / "long" / "meeting.wav"), str(audio / "hello.wav")
    choice = {"type": "choices", "value": {"choices": ["Speech"]}}
    tasks = [
        {"id": 1, "data": {"audio": meeting}, "annotations": [{"result": [choice]}]},  # segmented: needs regions
        {"id": 2, "data": {"audio": hello}, "annotations": [{"result": [{"type": "choices", "value": ["human"]}]}]},
        {"id": 3, "data": {"audio": hello},
         "annotations": [{"result": [{"type": "choices", "value": {"choices": ["None"]}}]}]},
        {"id": 4, "data": {"audio": hello}, "annotations": {"result": []}},
        {"id": 5, "data": {"audio": meeting},
         "annotations": [{"result": [{"type": "labels", "value": {"labels": ["Noise"]}}]}]},
        {"id": 6, "data": {"count": 3}, "annotations": [{"result": [choice]}]},
        {"id": 7, "data": {"url": f"{audio}/dog bark.wav"}, "annotations": [{"completed_by": {"id": 4}, "result": [
            {"type": "choices", "value": {"choices": ["Non-speech"]}}, {"type": "rating", "value": {"rating": 3}}]}]},
    ]
    (tmp_path / "odd.json").write_text(json.dumps(tasks))
    result = import_labels(labelled, tmp_path / "odd.json", default_annotator="ann")
    assert result.labelled == 1 and labels_of(labelled)["dog bark.wav", 0, "labelstudio-user-4"] == "nonhuman"
    assert [f.split(":")[0] for f in result.failures] == [f"task {n}" for n in range(1, 7)]
    assert "regions" in result.failures[0] and "not a list" in result.failures[3]
    assert "start and end" in result.failures[4]
    assert "unknown label 'None'" in result.failures[2] and "no audio" in result.failures[5]
    assert labels_of(labelled)["hello.wav", 0, "ann"] == "human"  # "None" is not a way to clear


def test_export_is_atomic_and_import_is_all_or_nothing(labelled, tmp_path, monkeypatch):
    target = tmp_path / "labels.csv"
    export_labels(labelled, target)
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    before = target.read_bytes()
    with labelled.write() as s:
        label_store.add_label(s, clip_ids(labelled)["hello.wav", 0], "new", "human")

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(VoiceStudioError, match="cannot write the labels"):
        export_labels(labelled, target, force=True)
    monkeypatch.undo()
    assert target.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    with pytest.raises(VoiceStudioError, match="cannot write"):
        export_labels(labelled, tmp_path / "missing" / "labels.json")

    (tmp_path / "two.csv").write_text("path,label,annotator\n"
                                      f"{labelled_path(labelled, 'hello.wav')},nonhuman,cy\n"
                                      f"{labelled_path(labelled, 'dog bark.wav')},human,cy\n")
    calls = []
    real = label_store.add_label

    def add_then_fail(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(label_store, "add_label", add_then_fail)
    with pytest.raises(RuntimeError):
        import_labels(labelled, tmp_path / "two.csv", default_annotator="x")
    assert not any(who == "cy" for (_, _, who) in labels_of(labelled))  # the first row was rolled back too


def labelled_path(project, name):
    with project.session() as s:
        return next(r.path for r in clip_store.list_clips(s) if r.path.endswith("/" + name))


def test_detect_format():
    assert detect_format("x/Labels.CSV") == "csv" and detect_format("/a/project-3.json") == "labelstudio"
    with pytest.raises(VoiceStudioError, match="cannot tell"):
        detect_format("labels.xlsx")


LS_FIXTURES = Path(__file__).parent.parent / "fixtures" / "labelstudio"  # written by Label Studio 1.23.2
TEAM_CONFIG = """<View><Header value="$title"/><Audio name="recording" value="$url"/>
  <Labels name="speech" toName="recording"><Label value="Speech"/><Label value="Noise"/></Labels></View>"""


@pytest.mark.parametrize("name", ["team-calls-json.json", "team-calls-json-min.json", "team-calls.csv"])
@pytest.mark.parametrize("config", [TEAM_CONFIG, None], ids=["team-config", "no-config"])
def test_label_studios_three_exports_with_wide_regions(tmp_path, name, config):
    """A real export (JSON, JSON-MIN, CSV): "title" before "url", a 0-25 s region over 10 s clips."""
    audiofiles.write(tmp_path / "calls" / "team" / "call 17.wav", audiofiles.speechlike(SR, 40.0, seed=5), SR)
    audiofiles.write(tmp_path / "calls" / "other" / "call 17.wav", audiofiles.tone(SR, 40.0), SR)  # same name
    with open_project(tmp_path / "p.vsproj") as project:
        import_paths(project, [tmp_path / "calls"], rule=SegmentRule.parse("10"))
        options = LabelStudioOptions(config=config) if config else None  # without: ours, which names no $url
        result = import_labels(project, LS_FIXTURES / name, default_annotator="x", label_studio=options)
        assert result.failures == [] and (result.labelled, result.created, result.unchanged) == (4, 2, 1)
        with project.session() as s:
            spans = {c.id: (c.path.split("/")[-2], c.start_s, c.end_s) for c in clip_store.list_clips(s)}
            by_clip = label_store.labels_by_annotator(s)
        votes = {spans[clip]: v for clip, by in by_clip.items() for v in by.values()}
        assert {who for by in by_clip.values() for who in by} == {"labelstudio-user-1"}  # the server's admin
        assert votes == {("team", 0.0, 10.0): "human", ("team", 10.0, 20.0): "human", ("team", 0.0, 25.0): "human",
                         ("team", 31.2, 33.7): "nonhuman"}  # the audio ?d=team/call 17.wav, never "call 17"
        assert result.notes == ["task 4: region 0-25 s labels the 2 clips inside it",
                                "task 4: region 0-25 s is no clip's span: made its segment clip",
                                "task 4: region 0-25 s partly overlaps clip 20-30 s (not labelled)",
                                "task 4: region 31.2-33.7 s is no clip's span: made its segment clip",
                                "task 4: region 31.2-33.7 s partly overlaps clip 30-40 s (not labelled)"]
        again = import_labels(project, LS_FIXTURES / name, default_annotator="x", label_studio=options)
        # idempotent: the 0-25 s region is now the span of the clip it made (which holds its label)
        assert (again.labelled, again.created, again.unchanged, again.failures) == (0, 0, 3, [])


def test_the_audio_is_the_field_the_config_names(labelled, audio, tmp_path):
    hello = str(audio / "hello.wav")
    records = [  # JSON-MIN: the task's data at the top level, "title" first
        {"title": "call 17", "clip": hello, "id": 28, "label": "Speech", "annotator": "eve@lab", "annotation_id": 3},
        {"title": "call 18", "id": 29, "label": "Speech", "annotator": 4, "annotation_id": 4},
    ]
    (tmp_path / "min.json").write_text(json.dumps(records))
    config = ('<View><Audio name="a" value="$clip"/>'
              '<Choices name="label" toName="a"><Choice value="Speech"/></Choices></View>')
    result = import_labels(labelled, tmp_path / "min.json", default_annotator="x",
                           label_studio=LabelStudioOptions(config=config))
    assert result.labelled == 1 and labels_of(labelled)["hello.wav", 0, "eve@lab"] == "human"
    assert result.failures == ["task 29: no audio in its data (no field 'clip', which the labelling config names, "
                               "and no value that is an audio file)"]


def test_label_studio_audio_urls_users_and_the_config_command(labelled, audio, tmp_path, capsys):
    root = audio.parent
    export_labels(labelled, tmp_path / "local.json", label_studio=LabelStudioOptions(document_root=root))
    export_labels(labelled, tmp_path / "http.json", label_studio=LabelStudioOptions(
        audio_url_prefix="https://files.lab/audio/", users={"ann": "ann@lab.org"}))
    local = {t["data"]["path"].rsplit("/", 1)[1]: t for t in json.loads((tmp_path / "local.json").read_text())}
    assert local["dog bark.wav"]["data"]["audio"] == "/data/local-files/?d=audio/dog%20bark.wav"
    assert local["meeting.wav"]["data"]["audio"] == "/data/local-files/?d=audio/long/meeting.wav"
    web = {t["data"]["path"].rsplit("/", 1)[1]: t for t in json.loads((tmp_path / "http.json").read_text())}
    assert web["meeting.wav"]["data"]["audio"] == "https://files.lab/audio/long/meeting.wav"  # below the common folder
    hello = web["hello.wav"]["annotations"]
    assert hello[0]["completed_by"] == {"email": "ann@lab.org"} and hello[0]["result"][-1]["type"] == "choices"
    assert "completed_by" not in hello[1] and hello[1]["result"][-1]["value"]["text"] == ["bob"]
    with pytest.raises(VoiceStudioError, match="not under the document root"):
        export_labels(labelled, tmp_path / "out.json", label_studio=LabelStudioOptions(document_root=tmp_path / "x"))
    with new_project(tmp_path / "b.vsproj", audio) as other:  # the email comes back as the annotator
        result = import_labels(other, tmp_path / "http.json", default_annotator="x",
                               label_studio=LabelStudioOptions(users={"ann": "ann@lab.org"}))
        assert result.failures == [] and labels_of(other) == labels_of(labelled)
    from voicestudio.cli import main

    assert main(["labels", "config", "--format", "labelstudio"]) == 0
    assert capsys.readouterr().out == LABEL_STUDIO_CONFIG
    assert main(["--db", str(tmp_path / "c.vsproj"), "labels", "export", str(tmp_path / "u.json"),
                 "--ls-user", "ann"]) == 2
    assert "--ls-user takes NAME=EMAIL" in capsys.readouterr().err
