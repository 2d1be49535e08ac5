"""The window shows every odd-but-good clip, and says why for clips whose file went bad after import."""

import os
import shutil

import numpy as np
import pytest
from sqlalchemy import select

import hostile
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.store import clips as clip_store
from voicestudio.store.project import open_project

WAIT_MS = 60000
GOOD_KINDS = {"one-sample", "8-channel-24-bit", "192-kHz", "unicode-name", "truncated-data", "absurd-size",
              "wrong-extension"}


def clips_by_path(project_file) -> dict[str, list[int]]:
    with open_project(project_file) as project, project.session() as s:
        rows = s.execute(select(clip_store.AudioFile.path, clip_store.Clip.id)
                         .join(clip_store.Clip, clip_store.Clip.file_id == clip_store.AudioFile.id)
                         .order_by(clip_store.Clip.id)).all()
    out: dict[str, list[int]] = {}
    for path, clip_id in rows:
        out.setdefault(path, []).append(clip_id)
    return out


@pytest.fixture
def weird_project(tmp_path):
    """The corpus' good files, a 3-hour recording (split at silences) and a 20-minute one kept whole,
    and five files that go bad after import: deleted, truncated, NaN, a FIFO, a folder."""
    corpus = hostile.make_corpus(tmp_path / "corpus")
    folder = tmp_path / "weird"
    folder.mkdir()
    good = []
    for f in corpus:
        if f.good and f.kind in GOOD_KINDS:
            target = folder / f.path.relative_to(tmp_path / "corpus")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f.path, target)
            good.append(str(target))
    hostile.make_long_wav(folder / "three hours.wav")
    good.append(str(folder / "three hours.wav"))
    doomed = {}
    for i, how in enumerate(["deleted", "truncated", "nan", "fifo", "folder"]):
        path = folder / "doomed" / f"{how}.wav"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(hostile.wav_header(8000) + hostile.pcm16(hostile.speechlike(16000, 0.5, seed=20 + i)))
        doomed[how] = str(path)
    whole = hostile.make_long_wav(tmp_path / "twenty minutes.wav", hours=1 / 3, every_s=45.0)
    project_file = tmp_path / "weird.vsproj"
    with open_project(project_file) as project:
        report = import_paths(project, [folder])
        assert not report.failures, report.failures
        assert import_paths(project, [whole], rule=SegmentRule.parse("none")).clips_added == 1
    good.append(str(whole))
    # Now the files go bad behind the project's back.
    os.unlink(doomed["deleted"])
    with open(doomed["truncated"], "r+b") as f:
        f.truncate(30)
    y = hostile.tone(16000, 0.5)
    y[100] = np.nan
    with open(doomed["nan"], "wb") as f:
        f.write(hostile.encoded(y, 16000, "WAV", "FLOAT"))
    os.unlink(doomed["fifo"])
    os.mkfifo(doomed["fifo"])
    os.unlink(doomed["folder"])
    os.mkdir(doomed["folder"])
    return project_file, good, doomed


def show(qtbot, window, clip_id):
    """Show a clip and wait until its views (or the panel saying why not) are up."""
    shown = []
    window.clip_shown.connect(shown.append)
    try:
        window.show_clip(clip_id, force=True)
        qtbot.waitUntil(lambda: clip_id in shown, timeout=WAIT_MS)
    finally:
        window.clip_shown.disconnect(shown.append)
    assert window.isVisible() and window.clips.loaded is not None and window.clips.loaded.clip_id == clip_id


def test_every_weird_clip_is_shown_and_bad_ones_say_why(qtbot, open_window, weird_project):
    project_file, good, doomed = weird_project
    clips = clips_by_path(project_file)
    window = open_window(project_file)
    long_clips = clips[good[-2]]
    assert len(long_clips) == 180  # one per voice burst
    for path in good:
        ids = clips[path]
        for clip_id in dict.fromkeys([ids[0], ids[len(ids) // 2], ids[-1]]):
            show(qtbot, window, clip_id)
            assert window.clips.loaded.error is None, window.clips.loaded.error
            assert window.views.currentWidget() is window.views.graphics
            assert window.views.detail is not None and len(window.views.detail.samples) >= 1
    # The 20-minute clip: overview and prediction arrive in the background.
    assert window.clips.loaded.opened.is_long
    qtbot.waitUntil(lambda: window.clips.loaded.opened.envelope is not None, timeout=WAIT_MS)
    expected = {"deleted": "no such file", "truncated": "corrupt or truncated header", "nan": "NaN/Inf",
                "fifo": "not a regular file", "folder": "is a folder"}
    for how, path in doomed.items():
        show(qtbot, window, clips[path][0])
        error = window.clips.loaded.error
        assert error is not None and error.startswith(f"{path}: ") and expected[how] in error, (how, error)
        assert "\n" not in error and "Traceback" not in error
        assert window.views.currentWidget() is window.views.message
        assert "cannot be shown" in window.views.message.text() and expected[how] in window.views.message.text()
    # And the window goes on: a good clip again.
    show(qtbot, window, clips[good[0]][0])
    assert window.clips.loaded.error is None and window.views.currentWidget() is window.views.graphics
    qtbot.waitUntil(lambda: not window.tasks.jobs, timeout=WAIT_MS)
