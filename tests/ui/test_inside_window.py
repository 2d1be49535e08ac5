"""Model ▸ Inside in a real window (issue 21): the window that decided the clip, a layer's channels,
stepping and clicking to other windows, and the occlusion map drawn on the MFCC view."""

from __future__ import annotations

import numpy as np
import pytest

import tinymodels
from conftest import WAIT_MS, scoring_done
from voicestudio.model.inside import window_image


def inside_shown(qtbot, window, start: float | None = None):
    """Wait until the panel shows a computed window (at ``start`` seconds when given)."""
    control = window.inside

    def ready():
        shown = control.shown
        return shown is not None and (start is None or abs(shown.start_s - start) < 1e-6)

    qtbot.waitUntil(ready, timeout=WAIT_MS)
    return control.shown


def test_inside_view_layers_windows_and_occlusion(qtbot, open_window, project_file):
    window = open_window(project_file)
    scoring_done(qtbot, window)
    table = window.session.table
    voice = next(int(table.ids[r]) for r in range(len(table)) if table.paths[r].endswith("c-voice.wav"))
    window.clip_list.select_clip(voice)  # 3 s of speech-like sound: several windows
    qtbot.waitUntil(lambda: window.clips.loaded is not None and window.clips.loaded.clip.path.endswith("c-voice.wav"),
                    timeout=WAIT_MS)
    window.actions_by_name["inside"].trigger()
    assert window.inside.active
    prediction = window.clips.loaded.prediction
    decisive = float(prediction.window_starts_s[np.nanargmax(prediction.window_probs)])
    shown = inside_shown(qtbot, window, decisive)  # the window that decided the clip score comes first
    panel = window.inside_panel
    assert shown.probability == pytest.approx(float(np.nanmax(prediction.window_probs)), abs=1e-3)
    assert "P(human)" in panel.info.text() and f"of {len(prediction.window_starts_s)}" in panel.info.text()
    assert panel.layers.count() > 10  # the feature image and every layer of the built-in model

    # The occlusion map lies over the MFCC view on the window's own time span.
    overlay = window.inside.overlay
    assert overlay.isVisible() and overlay.parentItem() is not None
    rect = overlay.mapRectToParent(overlay.boundingRect())
    assert rect.left() == pytest.approx(shown.start_s, abs=1e-3)
    assert rect.width() == pytest.approx(shown.window_s, abs=1e-3)
    assert rect.height() == pytest.approx(window.views.detail.mfcc.shape[1], abs=1e-3)
    assert np.array_equal(overlay.image, shown.occlusion.drop) and shown.occlusion.strongest > 0

    # A layer (the 1 s network's last): one image per channel, each scaled to its own range.
    index = next(i for i in range(panel.layers.count()) if "member_0_1/re_lu_21_1" in (panel.layers.itemData(i) or ""))
    panel.layers.setCurrentIndex(index)
    qtbot.waitUntil(lambda: "member_0_1/re_lu_21_1" in window.inside.shown.layer, timeout=WAIT_MS)
    assert window.inside.shown.activation.shape == (7, 3, 256)
    assert len(panel._images) == 64 and "the first 64 of 256" in panel.caption.text()

    # The next window with the button; a click on the views picks the window under it.
    starts = window.inside.starts
    before = window.inside.index
    panel.step_requested.emit(-1 if before else 1)
    moved = before - 1 if before else before + 1
    inside_shown(qtbot, window, float(starts[moved]))
    window.views.seek_requested.emit(float(starts[0]) + 0.1)
    shown = inside_shown(qtbot, window, float(starts[0]))
    # What the model was given is the detector's own image of that window.
    clip = window.clips.loaded.clip
    expected = window_image(clip.path, clip.start_s, clip.end_s, float(starts[0]), window.session.detector.spec)
    assert np.allclose(shown.image, expected)

    panel.occlusion.setChecked(False)
    assert not overlay.isVisible()
    panel.occlusion.setChecked(True)
    assert overlay.isVisible()


def test_occlusion_on_the_mfcc_view_marks_exactly_the_band_a_model_reads(qtbot, open_window, project_file, tmp_path):
    band_model = tinymodels.build_band_model(tmp_path / "models")
    window = open_window(project_file)
    window.actions_by_name["inside"].trigger()
    inside_shown(qtbot, window)
    window.models.switch(str(band_model))
    qtbot.waitUntil(lambda: window.session.detector is not None and window.session.detector.path == band_model,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.inside.shown is not None and window.inside._readers
                    and next(iter(window.inside._readers.values())).path == band_model, timeout=WAIT_MS)
    drop = window.inside.overlay.image
    low, high = tinymodels.BAND
    assert np.all(np.delete(drop, np.s_[low:high], axis=1) == 0)
    assert np.abs(drop[:, low:high]).min() > 0
    assert window.inside_panel.layers.count() >= 2  # the band model's own few operators
