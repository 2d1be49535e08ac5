"""The window checks a clip's file before drawing it: other audio at the path (re-recorded after
import) gets a clear panel, never the new audio under the old recording's labels."""

from audiofiles import noise, write
from voicestudio.store import clips as clip_store
from voicestudio.store.project import open_project

SR = 16000
WAIT_MS = 30000


def test_a_re_recorded_file_is_not_drawn_under_its_old_labels(qtbot, open_window, project_file, clip_folder):
    with open_project(project_file) as project, project.session() as s:
        ids = {c.path.rsplit("/", 1)[1]: c.id for c in clip_store.list_clips(s)}
    write(clip_folder / "c-voice.wav", noise(SR, 2.5, seed=7, level=0.3), SR)  # a dog bark where speech was
    window = open_window(project_file)
    for name, changed in (("c-voice.wav", True), ("a-voice.wav", False)):
        with qtbot.waitSignal(window.clip_shown, timeout=WAIT_MS):
            window.show_clip(ids[name], force=True)
        assert window.clips.loaded.clip_id == ids[name]
        if changed:
            assert window.clips.loaded.opened is None and window.clips.loaded.source_changed
            assert window.views.currentWidget() is window.views.message
            text = window.views.message.text()
            assert "changed since it was imported" in text and "Its labels stay with the recording" in text
        else:
            assert window.clips.loaded.error is None and window.views.currentWidget() is window.views.graphics


def test_a_file_replaced_and_re_imported_elsewhere_leaves_the_list(qtbot, open_window, project_file, clip_folder):
    """Another process imports the folder after a file was re-recorded: the clip count stays the same
    (one replaced, one new), and the window's list still swaps the old clip for the new one."""
    import subprocess
    import sys

    window = open_window(project_file)
    before = set(int(i) for i in window.session.table.ids)
    with open_project(project_file) as project, project.session() as s:
        (old,) = clip_store.clips_for_path(s, str(clip_folder / "b-tone.wav"))
    write(clip_folder / "b-tone.wav", noise(SR, 1.0, seed=8), SR)
    done = subprocess.run([sys.executable, "-m", "voicestudio", "--db", str(project_file), "import", str(clip_folder)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "changed since import" in done.stdout, (done.stdout, done.stderr)
    qtbot.waitUntil(lambda: old.id not in set(int(i) for i in window.session.table.ids), timeout=WAIT_MS)
    now = set(int(i) for i in window.session.table.ids)
    assert len(now) == len(before) and len(now - before) == 1
