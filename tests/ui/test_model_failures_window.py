"""The window's scoring when the model fails on some clips: those clips show why, the others are scored."""

from pathlib import Path

import numpy as np
import pytest

import tinymodels
from audiofiles import noise, speechlike, tone, write

SR = 16000
WAIT_MS = 60000


@pytest.fixture(scope="module")
def fragile(tmp_path_factory):
    return tinymodels.build_fragile_model(tmp_path_factory.mktemp("fragile"))


@pytest.fixture
def mixed_project(tmp_path):
    """Two voice-like clips the fragile model takes, a quiet tone and quiet noise it fails on."""
    from voicestudio.dataset.importer import import_paths
    from voicestudio.store.project import open_project

    folder = tmp_path / "clips"
    folder.mkdir()
    write(folder / "a-quiet-tone.wav", tone(SR, 2.0, 1000, level=0.01), SR)
    write(folder / "b-voice.wav", speechlike(SR, 2.0, seed=1), SR)
    write(folder / "c-quiet-noise.wav", noise(SR, 1.5, seed=4, level=0.003), SR)
    write(folder / "d-voice.wav", speechlike(SR, 3.0, seed=2), SR)
    path = tmp_path / "mixed.vsproj"
    with open_project(path) as project:
        assert import_paths(project, [folder]).clips_added == 4
    return path


def test_failed_clips_show_the_reason_and_the_others_are_scored(qtbot, open_window, mixed_project, fragile):
    window = open_window(mixed_project, model_path=str(fragile))
    table = window.session.table
    qtbot.waitUntil(lambda: not window.tasks.jobs and np.isfinite(table.score).sum() == 2, timeout=WAIT_MS)
    scored = {Path(p).name for p, s in zip(table.paths, table.score) if np.isfinite(s)}
    assert scored == {"b-voice.wav", "d-voice.wav"}
    status = window.statusBar().currentMessage()
    assert "2 failed (" in status and "the model failed on this audio" in status, status

    ids = {Path(p).name: int(i) for p, i in zip(table.paths, table.ids)}
    for name, fails in (("a-quiet-tone.wav", True), ("b-voice.wav", False), ("c-quiet-noise.wav", True)):
        window.show_clip(ids[name])
        qtbot.waitUntil(lambda: window.clips.loaded is not None and window.clips.loaded.clip_id == ids[name], timeout=WAIT_MS)
        verdict = window.label_panel.model_verdict.text()
        assert window.clips.loaded.error is None and window.clips.loaded.opened is not None  # its audio is shown all the same
        if fails:
            assert verdict.startswith("the model failed on this audio (") and "DIV" in verdict
        else:
            assert "failed" not in verdict and f"{table.score[table.row_of(ids[name])]:.3f}" in verdict
    # A threshold change redraws the verdict: the failure stays.
    window.show_clip(ids["c-quiet-noise.wav"])
    qtbot.waitUntil(lambda: window.clips.loaded.clip_id == ids["c-quiet-noise.wav"], timeout=WAIT_MS)
    window.set_threshold(0.3)
    assert window.label_panel.model_verdict.text().startswith("the model failed on this audio (")
