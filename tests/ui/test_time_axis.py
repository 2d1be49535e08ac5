"""The time axis reads clock time on every zoom (issue 17, item 8): "30:40", never "1.84 ks"."""

import pytest

from voicestudio.ui.time_axis import clock


@pytest.mark.parametrize("seconds, spacing, text", [
    (0.2, 0.05, "0.20"), (12.5, 0.5, "12.5"), (1840, 60, "30:40"), (1840.25, 0.25, "30:40.25"),
    (3725, 600, "1:02:05"), (3725.5, 0.5, "1:02:05.5"), (59.96, 0.1, "1:00.0"), (7, 1, "7"),
])
def test_clock_labels(seconds, spacing, text):
    assert clock(seconds, spacing) == text


def test_the_views_time_axis_uses_clock_time(open_window, project_file):
    window = open_window(project_file)
    axis = window.views.pred.getAxis("bottom")
    assert axis.tickStrings([1800.0, 1860.0], 1.0, 60.0) == ["30:00", "31:00"]
    assert not axis.autoSIPrefix  # no "ks"


def test_readouts_under_the_mouse(qtbot, open_window, project_file):
    """Issue 17, item 10: time and amplitude, frequency and level, probability, in the status bar."""
    from PySide6.QtCore import QPoint

    window = open_window(project_file)
    views = window.views
    qtbot.waitUntil(lambda: views._prediction is not None, timeout=30000)
    assert views.readout(views.wave, 0.5, 0.0).startswith("0.500 s · amplitude")
    spec = views.readout(views.spec, 0.5, 1000.0)
    assert "1,000 Hz" in spec and spec.endswith("dB")
    assert "MFCC 3:" in views.readout(views.mfcc, 0.5, 3.2)
    track = views.readout(views.pred, 0.5, 0.5)
    assert "window at" in track and ("P(human)" in track or "silent" in track)
    assert views.readout(views.wave, -1.0, 0.0) == ""

    # The real mouse over the spectrogram: the status bar says where it is.
    box = views.spec.getViewBox()
    scene_point = box.mapViewToScene(box.viewRect().center())
    widget_point = views.graphics.mapFromScene(scene_point)
    qtbot.mouseMove(views.graphics.viewport(), QPoint(int(widget_point.x()), int(widget_point.y())))
    qtbot.waitUntil(lambda: " Hz · " in window.readout.text(), timeout=5000)
