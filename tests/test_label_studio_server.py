"""VoiceStudio's labels through a real Label Studio server (tests/lshost.py), in both directions.

Our export goes into a stock server through its import API with the config that
``labels config --format labelstudio`` prints; the tasks, their annotations and their audio are
checked on the server; Label Studio's own JSON, JSON-MIN and CSV exports come back into fresh
VoiceStudio projects with the same labels. A second Label Studio project, set up the way a team
would (its own config, ``$url`` after a ``title``, "Speech" regions drawn over a long recording),
is read back with that config: a wide region labels every clip inside it.
"""

import csv
import io
import json
import subprocess

import audiofiles
from voicestudio.cli import main
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.dataset.interchange import LABEL_STUDIO_CONFIG, LabelStudioOptions, export_labels, import_labels
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project

SR = 16000
EXPORTS = {"JSON": "json", "JSON_MIN": "json", "CSV": "csv"}


def clip_ids(project):
    with project.session() as s:
        return {(row.path.rsplit("/", 1)[1], row.start_s, row.end_s): row.id for row in clip_store.list_clips(s)}


def labels_of(project):
    """{(file name, start, end, annotator): value}, comparable across projects."""
    ids = {v: k for k, v in clip_ids(project).items()}
    with project.session() as s:
        return {(*ids[clip], who): value for clip, votes in label_store.labels_by_annotator(s).items()
                for who, value in votes.items()}


def new_project(path, audio):
    project = open_project(path)
    import_paths(project, [audio / "hello.wav", audio / "dog bark.wav"])
    import_paths(project, [audio / "long"], rule=SegmentRule.parse("2"))
    return project


def validation_errors(server, config, annotations) -> list[str]:
    """What Label Studio's own validator (label_studio_sdk, in the server's venv) says of the results."""
    script = ("import json, sys\n"
              "from label_studio_sdk.label_interface import LabelInterface\n"
              "config, annotations = json.load(sys.stdin)\n"
              "li = LabelInterface(config)\n"
              "print(json.dumps([e for a in annotations for e in li.validate_prediction(a, return_errors=True)]))\n")
    done = subprocess.run([str(server.venv / "bin" / "python"), "-c", script], input=json.dumps([config, annotations]),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def ls_export(server, project_id, kind, folder):
    status, raw, _ = server.request("GET", f"/api/projects/{project_id}/export?exportType={kind}")
    assert status == 200, raw[:1000]
    path = folder / f"label-studio-{kind.lower()}.{EXPORTS[kind]}"
    path.write_bytes(raw)
    return path


def test_our_export_goes_through_a_real_label_studio_and_back(label_studio, tmp_path, capsys):
    import lshost

    server = label_studio
    audio = server.document_root / "voicestudio"  # what the server may serve: below its document root
    audiofiles.write(audio / "dog bark.wav", audiofiles.noise(SR, 1.0), SR)
    audiofiles.write(audio / "hello.wav", audiofiles.speechlike(SR, 1.0), SR)
    audiofiles.write(audio / "long" / "meeting.wav", audiofiles.speechlike(SR, 6.0, seed=3), SR)
    project = new_project(tmp_path / "a.vsproj", audio)
    ids = clip_ids(project)
    with project.write() as s:
        label_store.add_label(s, ids["dog bark.wav", 0, 1], "ann", "nonhuman")
        label_store.add_label(s, ids["hello.wav", 0, 1], "ann", "human")
        label_store.add_label(s, ids["hello.wav", 0, 1], "bob", "unsure")
        label_store.add_label(s, ids["meeting.wav", 2, 4], "ann", "human")
        label_store.add_label(s, ids["meeting.wav", 0, 2], "bob", "human")
        label_store.add_label(s, ids["meeting.wav", 4, 6], "bob", "nonhuman")
    expected = labels_of(project)
    exported = tmp_path / "voicestudio-ls.json"
    export_labels(project, exported, label_studio=LabelStudioOptions(document_root=server.document_root))
    tasks = json.loads(exported.read_text())

    # The config the CLI prints is the one the export is valid for, by Label Studio's own validator.
    assert main(["labels", "config", "--format", "labelstudio"]) == 0
    config = capsys.readouterr().out
    assert config == LABEL_STUDIO_CONFIG
    assert validation_errors(server, config, [a for t in tasks for a in t["annotations"]]) == []

    # A stock server: a project with our config, local files under the document root, our export imported.
    version = server.api("GET", "/api/version")["release"]
    assert version == lshost.VERSION
    ls_project = server.api("POST", "/api/projects", {"title": "VoiceStudio round trip", "label_config": config})
    server.api("POST", "/api/storages/localfiles", {"project": ls_project["id"], "path": str(audio),
                                                     "title": "VoiceStudio audio", "use_blob_urls": True})
    imported = server.api("POST", f"/api/projects/{ls_project['id']}/import", tasks)
    assert (imported["task_count"], imported["annotation_count"]) == (3, 5)

    on_server = server.api("GET", f"/api/tasks?project={ls_project['id']}&page_size=100")["tasks"]
    assert sorted(t["data"]["audio"] for t in on_server) == [
        "/data/local-files/?d=voicestudio/dog%20bark.wav", "/data/local-files/?d=voicestudio/hello.wav",
        "/data/local-files/?d=voicestudio/long/meeting.wav"]
    results = {}
    for task in on_server:
        annotations = server.api("GET", f"/api/tasks/{task['id']}/annotations")
        name = task["data"]["path"].rsplit("/", 1)[1]
        results[name] = sorted([r["value"]["text"][0] for r in a["result"] if r["type"] == "textarea"]
                               for a in annotations)
        status, body, headers = server.request("GET", task["data"]["audio"])  # the audio plays: the file's bytes
        assert status == 200 and body == (audio / task["data"]["path"].split("/voicestudio/", 1)[1]).read_bytes()
        assert body[:4] == b"RIFF" and headers["Content-Type"].startswith("audio/")
    assert results == {"dog bark.wav": [["ann"]], "hello.wav": [["ann"], ["bob"]], "meeting.wav": [["ann"], ["bob"]]}

    # Label Studio's three exports, each into a fresh project over the same audio: the same labels.
    for kind in EXPORTS:
        path = ls_export(server, ls_project["id"], kind, tmp_path)
        with new_project(tmp_path / f"b-{kind}.vsproj", audio) as other:
            result = import_labels(other, path, default_annotator="nobody",
                                   label_studio=LabelStudioOptions(document_root=server.document_root))
            assert (result.failures, result.created, result.labelled) == ([], 0, 6), kind
            assert labels_of(other) == expected, kind
    project.close()


TEAM_CONFIG = """<View>
  <Header value="$title"/>
  <Audio name="recording" value="$url"/>
  <Labels name="speech" toName="recording"><Label value="Speech"/><Label value="Noise"/></Labels>
</View>"""


def test_a_teams_label_studio_project_with_wide_regions(label_studio, tmp_path):
    """Regions drawn in Label Studio over a recording VoiceStudio split into 10 s clips."""
    server = label_studio
    audio = server.document_root / "team"
    audiofiles.write(audio / "call 17.wav", audiofiles.speechlike(SR, 40.0, seed=5), SR)
    ls_project = server.api("POST", "/api/projects", {"title": "Team calls", "label_config": TEAM_CONFIG})
    server.api("POST", "/api/storages/localfiles", {"project": ls_project["id"], "path": str(audio),
                                                     "title": "calls", "use_blob_urls": True})
    server.api("POST", f"/api/projects/{ls_project['id']}/import",
               [{"data": {"title": "call 17", "url": "/data/local-files/?d=team/call%2017.wav"}}])
    task = server.api("GET", f"/api/tasks?project={ls_project['id']}")["tasks"][0]
    regions = [(0.0, 25.0, "Speech"), (31.2, 33.7, "Noise"), (10.0, 20.0, "Speech")]
    server.api("POST", f"/api/tasks/{task['id']}/annotations", {"result": [
        {"id": f"r{n}", "from_name": "speech", "to_name": "recording", "type": "labels", "original_length": 40.0,
         "value": {"start": start, "end": end, "channel": 0, "labels": [label]}}
        for n, (start, end, label) in enumerate(regions)]})

    for kind in EXPORTS:
        path = ls_export(server, ls_project["id"], kind, tmp_path)
        with open_project(tmp_path / f"calls-{kind}.vsproj") as project:
            import_paths(project, [audio], rule=SegmentRule.parse("10"))
            result = import_labels(project, path, default_annotator="nobody",
                                   label_studio=LabelStudioOptions(config=TEAM_CONFIG))
            assert result.failures == [], kind
            votes = {(start, end): value for (_, start, end, _), value in labels_of(project).items()}
            assert votes == {(0.0, 10.0): "human", (10.0, 20.0): "human", (0.0, 25.0): "human",
                             (31.2, 33.7): "nonhuman"}, kind
            assert result.created == 2
            assert any("partly overlaps clip 20-30 s" in note for note in result.notes), result.notes
            assert any("31.2-33.7 s is no clip's span: made its segment clip" in note for note in result.notes)
            (tmp_path / f"team-{kind}.notes").write_text("\n".join(result.notes))
    if kind == "CSV":
        header = next(csv.reader(io.StringIO(path.read_text())))
        assert "path" not in header and "annotation_id" in header  # Label Studio's CSV: a header, not data
