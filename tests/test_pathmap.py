"""Path prefix maps: one shared project, its audio in a different place on each machine."""

import json

import pytest

from voicestudio import pathmap
from voicestudio.pathmap import PathMap
from voicestudio.settings import Settings, save_settings, settings_path


def test_prefixes_map_both_ways_on_whole_components():
    m = PathMap.parse("/mnt/team=/Volumes/team; /mnt/team/archive = /Volumes/archive\n")
    assert m.local("/mnt/team/audio/x.wav") == "/Volumes/team/audio/x.wav"
    assert m.local("/mnt/team/archive/2019/y.wav") == "/Volumes/archive/2019/y.wav"  # the longest prefix wins
    assert m.local("/mnt/teammate/z.wav") == "/mnt/teammate/z.wav"  # not a component match
    assert m.local("/elsewhere/a.wav") == "/elsewhere/a.wav"
    assert m.stored("/Volumes/team/audio/x.wav") == "/mnt/team/audio/x.wav"
    assert m.stored(m.local("/mnt/team/é t/ü.wav")) == "/mnt/team/é t/ü.wav"


def test_windows_drives_and_separators():
    m = PathMap.parse("/mnt/team/audio=Z:\\audio")
    assert m.local("/mnt/team/audio/day 1/x.wav") == "Z:\\audio\\day 1\\x.wav"
    assert m.stored("Z:\\audio\\day 1\\x.wav") == "/mnt/team/audio/day 1/x.wav"


@pytest.mark.parametrize("text", ["/mnt/team", "=/x", "/x=", "a=b;=c"])
def test_malformed_maps_are_refused(text):
    with pytest.raises(ValueError, match="STORED_PREFIX=LOCAL_PREFIX"):
        PathMap.parse(text)


def test_the_active_map_comes_from_the_environment_then_the_settings(monkeypatch):
    monkeypatch.setattr(pathmap, "_active", None)
    monkeypatch.delenv(pathmap.ENV_VAR, raising=False)
    assert not pathmap.active()
    pathmap.use(None)
    save_settings(Settings(path_map="/srv/a=/home/me/a"), settings_path())
    assert pathmap.active().local("/srv/a/x.wav") == "/home/me/a/x.wav"
    pathmap.use(None)
    monkeypatch.setenv(pathmap.ENV_VAR, "/srv/a=/data/a")
    assert pathmap.active().local("/srv/a/x.wav") == "/data/a/x.wav"
    pathmap.use(None)


def test_a_project_moves_between_machines(tmp_path, capsys):
    """Imported on machine A; machine B has the same audio elsewhere and a path map."""
    import shutil

    import audiofiles
    from voicestudio.cli import main
    from voicestudio.store import clips as clip_store
    from voicestudio.store.project import open_project

    a_audio, b_audio = tmp_path / "machine-a" / "audio", tmp_path / "machine-b" / "share"
    a_audio.mkdir(parents=True)
    for i in range(3):
        audiofiles.write(a_audio / f"clip{i}.wav", audiofiles.speechlike(16000, 1.5, seed=i), 16000)
    db = str(tmp_path / "team.vsproj")
    assert main(["--db", db, "import", str(a_audio)]) == 0
    assert main(["--db", db, "label", str(a_audio / "clip0.wav"), "human", "--annotator", "a"]) == 0
    shutil.copytree(a_audio, b_audio)
    shutil.rmtree(tmp_path / "machine-a")  # only machine B's copy exists now
    audiofiles.write(b_audio / "new.wav", audiofiles.speechlike(16000, 1.5, seed=9), 16000)
    capsys.readouterr()

    on_b = ["--db", db, "--path-map", f"{a_audio}={b_audio}"]
    assert main([*on_b, "--json", "import", str(b_audio)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["files_added"], report["files_unchanged"], report["files_relinked"]) == (1, 3, 0)
    with open_project(db) as project, project.session() as s:
        assert sorted(r.path for r in clip_store.list_clips(s)) == [
            str(a_audio / f"clip{i}.wav") for i in range(3)] + [str(a_audio / "new.wav")]  # one shared form
    assert main([*on_b, "--json", "score"]) == 0
    assert json.loads(capsys.readouterr().out)["scored"] == 4  # the audio is read where it is on B
    assert main([*on_b, "label", str(b_audio / "clip1.wav"), "nonhuman", "--annotator", "b"]) == 0
    assert main([*on_b, "export", str(tmp_path / "out")]) == 0
    assert main(["--db", db, "score", "--rescore"]) == 1  # without the map, machine B finds nothing
    assert "no such file" in capsys.readouterr().err
