"""Importer edge cases on real folders: links, loops, odd names, unreadable folders."""

import os

import numpy as np

import audiofiles
from voicestudio.audio.scan import DeadLink, FileProblem, FoundFile, LinkLoop, scan
from voicestudio.dataset.importer import SegmentRule, import_paths, source_group
from voicestudio.store import clips as clip_store
from voicestudio.store.project import open_project

SR = 16000


def test_symlink_loops_and_duplicate_links_are_walked_once(tmp_path):
    root = tmp_path / "data"
    audiofiles.write(root / "a" / "one.wav", audiofiles.tone(SR, 0.5), SR)
    os.symlink(root, root / "a" / "loop")  # a folder that contains itself
    os.symlink(root / "a", root / "alias")  # the same folder twice
    os.symlink(root / "missing.wav", root / "dangling.wav")
    found = list(scan([root]))
    files = [f for f in found if isinstance(f, FoundFile)]
    assert [f.path.name for f in files] == ["one.wav"]
    assert not [f for f in found if isinstance(f, FileProblem)]
    assert [(d.path, d.reason) for d in found if isinstance(d, DeadLink)] == [  # named by the importer
        (str(root / "dangling.wav"), "broken symbolic link")]
    # The loop is named (the folder it leads back to); the second link to one folder is not a loop.
    assert [(loop.path, loop.target) for loop in found if isinstance(loop, LinkLoop)] == [
        (str(root / "a" / "loop"), str(root))]


def test_unicode_spaces_and_source_groups(tmp_path):
    root = tmp_path / "corpus"
    path = audiofiles.write(root / "de" / "anna maria" / "grüß gott 👋.flac", audiofiles.speechlike(SR, 1.0), SR)
    top = audiofiles.write(root / "top.wav", audiofiles.tone(SR, 0.5), SR)
    assert source_group(FoundFile(path, root)) == "de/anna maria"
    assert source_group(FoundFile(top, root)) == "corpus"
    project = open_project(tmp_path / "p.vsproj")
    report = import_paths(project, [root])
    assert report.files_added == 2 and not report.failures
    with project.session() as s:
        assert clip_store.find_file_by_path(s, str(path)).source_group == "de/anna maria"


def test_unreadable_folder_is_reported_and_the_rest_imported():
    import tempfile
    from pathlib import Path

    root = Path(tempfile.mkdtemp(prefix="vs-import-"))
    os.chmod(root, 0o755)
    audiofiles.write(root / "ok" / "a.wav", audiofiles.tone(SR, 0.5), SR)
    locked = root / "locked"
    audiofiles.write(locked / "b.wav", audiofiles.tone(SR, 0.5), SR)
    os.chmod(locked, 0)
    as_root = os.geteuid() == 0
    try:
        if as_root:
            os.seteuid(65534)  # root ignores permissions: look as 'nobody'
        found = list(scan([root]))
    finally:
        if as_root:
            os.seteuid(0)
        os.chmod(locked, 0o755)
    assert any(getattr(f, "reason", "").startswith("cannot read folder") for f in found)
    assert [f.path.name for f in found if isinstance(f, FoundFile)] == ["a.wav"]


def test_segment_rules(tmp_path):
    path = audiofiles.write(tmp_path / "long.wav", audiofiles.noise(SR, 25.0), SR)
    project = open_project(tmp_path / "p.vsproj")
    assert import_paths(project, [path], rule=SegmentRule.parse("10")).clips_added == 3
    assert import_paths(project, [path], rule=SegmentRule.parse("none")).clips_added == 0  # file unchanged
    other = audiofiles.write(tmp_path / "other.wav", audiofiles.noise(SR, 25.0, seed=3), SR)
    assert import_paths(project, [other], rule=SegmentRule.parse("none")).clips_added == 1


def test_cancel_stops_between_files(tmp_path):
    for i in range(5):
        audiofiles.write(tmp_path / "in" / f"{i}.wav", audiofiles.tone(SR, 0.3, 200 + i * 50), SR)
    project = open_project(tmp_path / "p.vsproj")

    class CancelAfterTwo:
        calls = 0

        def is_set(self):
            self.calls += 1
            return self.calls > 2

    report = import_paths(project, [tmp_path / "in"], cancel=CancelAfterTwo())
    assert report.cancelled and report.files_added == 2
    assert import_paths(project, [tmp_path / "in"]).files_added == 3  # the rest, later
