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
