"""Window tests: a real MainWindow on Qt's offscreen platform, on a real project file."""

import gc
import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before pytest-qt makes the QApplication

import pytest  # noqa: E402

from audiofiles import noise, speechlike, tone, write  # noqa: E402

SR = 16000
WAIT_MS = 30000


def scoring_done(qtbot, window) -> None:
    """The background scoring has finished (its "Scored N clips" would overwrite the status bar)."""
    import numpy as np

    qtbot.waitUntil(lambda: not np.isnan(window.session.table.score).any(), timeout=WAIT_MS)


@pytest.fixture
def clip_folder(tmp_path):
    """Four short clips: two voice-like, a tone, noise."""
    folder = tmp_path / "clips"
    folder.mkdir()
    write(folder / "a-voice.wav", speechlike(SR, 2.0, seed=1), SR)
    write(folder / "b-tone.wav", tone(SR, 1.5), SR)
    write(folder / "c-voice.wav", speechlike(SR, 3.0, seed=2), SR)
    write(folder / "d-noise.wav", noise(SR, 1.0), SR)
    return folder


# What each clip of ``clip_folder`` is.
TRUTH = {"a-voice.wav": "human", "b-tone.wav": "nonhuman", "c-voice.wav": "human", "d-noise.wav": "nonhuman"}


def label_by_truth(project) -> list:
    """Label every clip of ``project`` (``project_file``'s) by what it is, as annotator "ann"; its clip rows."""
    from voicestudio.dataset.labels import label_clip
    from voicestudio.store import clips as clip_store

    with project.session() as s:
        rows = clip_store.list_clips(s)
    for row in rows:
        label_clip(project, row.id, TRUTH[row.path.rsplit("/", 1)[1]], annotator="ann")
    return rows


@pytest.fixture
def project_file(tmp_path, clip_folder):
    from voicestudio.dataset.importer import import_paths
    from voicestudio.store.project import open_project

    path = tmp_path / "test.vsproj"
    with open_project(path) as project:
        report = import_paths(project, [clip_folder])
    assert report.clips_added == 4
    return path


@pytest.fixture
def open_window(qtbot, qapp, tmp_path):
    """``open_window(target, **settings)``: a shown window with the project open and its first clip drawn."""
    from voicestudio.settings import Settings
    from voicestudio.ui.app import make_app
    from voicestudio.ui.main_window import MainWindow

    make_app()  # organisation and application names, as in the real app (QSettings use them)
    from PySide6.QtCore import QSettings

    QSettings().remove("window")  # each test starts from the default size and layout, not the last test's
    windows = []

    def make(target, *, wait_clip=True, **fields):
        fields.setdefault("annotator", "tester")
        window = MainWindow(Settings(**fields), settings_file=tmp_path / "settings.json")
        windows.append(window)
        window.show()
        with qtbot.waitSignal(window.project_opened, timeout=WAIT_MS):
            window.open_project(str(target))
        if wait_clip and window.clips.loaded is None:
            qtbot.waitUntil(lambda: window.clips.loaded is not None, timeout=WAIT_MS)
        return window

    yield make
    for window in windows:
        window.close()
        window.deleteLater()
    qapp.processEvents()
    windows.clear()
    gc.collect()  # the windows' reference cycles go here, on the main thread, not on some worker later
    leaked = [t.name for t in threading.enumerate()
              if t.name.startswith(("voicestudio-view", "voicestudio-write", "voicestudio-background"))]
    assert not leaked, f"worker threads outlived their window: {leaked}"
