"""Regions in the window (issue 17, items 6, 7 and 9), driven by the mouse and the keys on a real project:
drag a span on a view and press H, drag its edge, Delete, Z; other annotators' regions in their own colour;
the model's suggestions accepted with H and rejected with N; the overview strip moves the views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from audiofiles import noise, write
from conftest import WAIT_MS
from voicestudio.audio.decode import load_audio
from voicestudio.dataset.importer import import_paths
from voicestudio.dataset.regions import label_region, regions_in
from voicestudio.store import clips as clip_store
from voicestudio.store.project import open_project

SR = 16000
SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
# Real words (the demo clips) said at 10 s and 40 s into a minute of quiet noise: a synthetic voice-like
# buzz is no voice to a detector that generalises to real recordings
WORDS = ((10.0, ("voice-en-ball.ogg", "voice-fr-word.ogg", "voice-es-word.ogg")), (40.0, ("voice-front-left.oga",)))


def spoken(names) -> np.ndarray:
    gap = np.zeros(int(0.2 * SR), np.float32)
    return np.concatenate([x for name in names for x in (load_audio(SAMPLES / name, sample_rate=SR).samples, gap)])


SPEECH = tuple((start, start + len(spoken(names)) / SR) for start, names in WORDS)


@pytest.fixture
def recording_project(tmp_path):
    samples = noise(SR, 60.0, level=0.005)
    for start, names in WORDS:
        words = spoken(names)
        samples[int(start * SR):int(start * SR) + len(words)] += words
    recording = write(tmp_path / "field" / "field_recording.wav", samples, SR)
    path = tmp_path / "regions.vsproj"
    with open_project(path) as project:
        import_paths(project, [recording])
        with project.session() as session:
            file_id = clip_store.find_file_by_path(session, str(recording)).id
        label_region(project, file_id, 30.0, 33.0, "nonhuman", annotator="eve")  # another annotator's region
    return path, file_id


def stored_regions(path, file_id):
    with open_project(path) as project, project.session() as session:
        return [(r.annotator, r.value, round(r.start_s, 1), round(r.end_s, 1))
                for r in regions_in(session, file_id, 0.0, 60.0)]


def widget_point(views, plot, seconds: float) -> QPoint:
    box = plot.getViewBox()
    y = box.viewRect().center().y()
    return views.graphics.mapFromScene(box.mapViewToScene(QPointF(seconds, y)))


def mouse(widget, kind, point: QPoint, buttons) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, QPointF(point), QPointF(widget.mapToGlobal(point)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(qtbot, views, start: QPoint, end: QPoint, steps: int = 8) -> None:
    """A real press-move-release on the views' viewport, as a hand makes it."""
    viewport = views.graphics.viewport()
    held = Qt.MouseButton.LeftButton
    mouse(viewport, QEvent.Type.MouseButtonPress, start, held)
    for i in range(1, steps + 1):
        qtbot.wait(10)
        mouse(viewport, QEvent.Type.MouseMove, start + (end - start) * (i / steps), held)
    mouse(viewport, QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)


def test_a_region_drawn_labelled_adjusted_cleared_and_undone(qtbot, open_window, recording_project):
    path, file_id = recording_project
    window = open_window(path)
    window.resize(1400, 860)  # room to drag in, whatever geometry an earlier window saved
    views = window.views
    qtbot.waitUntil(lambda: views.width() > 500, timeout=WAIT_MS)
    views.zoom_fit()
    qtbot.waitUntil(lambda: len(views.regions) == 1, timeout=WAIT_MS)  # eve's region, read from the project
    assert stored_regions(path, file_id) == [("eve", "nonhuman", 30.0, 33.0)]

    # Drag across the spectrogram from 10 s to 13.5 s: the region handle follows the mouse.
    drag(qtbot, views, widget_point(views, views.spec, 10.0), widget_point(views, views.spec, 13.5))
    low, high = views.loop_region()
    assert low == pytest.approx(10.0, abs=0.2) and high == pytest.approx(13.5, abs=0.2)
    clips_before = len(window.session.table)

    # H labels the region, not the recording: a segment clip with the label, listed and drawn.
    with qtbot.waitSignal(window.label_written, timeout=WAIT_MS) as written:
        qtbot.keyClick(window, Qt.Key.Key_H)
    event = written.args[0]
    assert event["value"] == "human" and event["clip_id"] != window.session.current_clip_id
    assert stored_regions(path, file_id)[0][:2] == ("tester", "human")
    qtbot.waitUntil(lambda: len(window.session.table) == clips_before + 1, timeout=WAIT_MS)  # the list's table
    qtbot.waitUntil(lambda: len(views.regions) == 2, timeout=WAIT_MS)
    assert window.session.current_clip_id != event["clip_id"]  # the recording stays on screen

    # Drag the region's right edge to 15 s: the label moves (the old span is cleared, with notes).
    right_edge = views.region.lines[1].value()
    with qtbot.waitSignal(window.label_written, timeout=WAIT_MS):
        drag(qtbot, views, widget_point(views, views.wave, right_edge), widget_point(views, views.wave, 15.0))
    qtbot.waitUntil(lambda: any(r[0] == "tester" and r[3] == pytest.approx(15.0, abs=0.2)
                                for r in stored_regions(path, file_id)), timeout=WAIT_MS)
    assert [r for r in stored_regions(path, file_id) if r[0] == "tester"][0][2] == pytest.approx(low, abs=0.06)

    # Delete clears it (an event), Z brings it back.
    with qtbot.waitSignal(window.label_written, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_Delete)
    assert [r[0] for r in stored_regions(path, file_id)] == ["eve"]
    with qtbot.waitSignal(window.label_written, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_Z)
    assert sorted(r[0] for r in stored_regions(path, file_id)) == ["eve", "tester"]
    qtbot.waitUntil(lambda: len(views.regions) == 2, timeout=WAIT_MS)

    # Eve's region is drawn dashed in her colour; the handle gone, H labels the whole recording again.
    eve = [item for item in views.regions.items_on(views.wave) if "by eve" in item.toolTip()]
    assert eve and eve[0].lines[0].pen.style() == Qt.PenStyle.DashLine
    views.hide_region()
    with qtbot.waitSignal(window.label_written, timeout=WAIT_MS) as written:
        qtbot.keyClick(window, Qt.Key.Key_N)
    assert written.args[0]["clip_id"] == window.session.current_clip_id or window.auto_advance.isChecked()


def test_suggested_regions_accepted_and_rejected_by_key(qtbot, open_window, recording_project):
    path, file_id = recording_project
    window = open_window(path)
    qtbot.waitUntil(lambda: window.clips.loaded.prediction is not None, timeout=WAIT_MS)
    window.threshold_box.setValue(0.4)
    qtbot.keyClick(window, Qt.Key.Key_S)
    suggestions = window.regions.suggestions
    assert suggestions, window.statusBar().currentMessage()
    for suggestion in suggestions:  # the model's speech regions are where the voice-like bursts are
        assert any(start - 1.0 <= suggestion.start_s and suggestion.end_s <= end + 1.0 for start, end in SPEECH)
    first = suggestions[0]
    low, high = window.views.loop_region()
    assert (low, high) == pytest.approx((first.start_s, first.end_s), abs=1e-3)  # the handle sits on it

    with qtbot.waitSignal(window.label_written, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_H)  # accepted
    stored = stored_regions(path, file_id)
    assert ("tester", "human", round(first.start_s, 1), round(first.end_s, 1)) in stored
    if len(suggestions) > 1:  # the handle moved on to the next suggestion: N rejects it
        second = suggestions[1]
        qtbot.waitUntil(lambda: window.views.loop_region()[0] == pytest.approx(second.start_s, abs=1e-3),
                        timeout=WAIT_MS)
        with qtbot.waitSignal(window.label_written, timeout=WAIT_MS):
            qtbot.keyClick(window, Qt.Key.Key_N)
        assert ("tester", "nonhuman", round(second.start_s, 1), round(second.end_s, 1)) in \
            stored_regions(path, file_id)


def test_overview_strip_moves_the_views_and_shows_where_they_are(qtbot, open_window, recording_project):
    path, _ = recording_project
    window = open_window(path)
    views = window.views
    views.wave.setXRange(0.0, 6.0, padding=0)
    qtbot.waitUntil(lambda: views.overview.window.getRegion()[1] == pytest.approx(6.0, abs=0.1), timeout=WAIT_MS)
    # A click on the strip at 45 s centres the views there.
    box = views.overview.plot.getViewBox()
    point = views.graphics.mapFromScene(box.mapViewToScene(QPointF(45.0, 0.5)))
    qtbot.mouseClick(views.graphics.viewport(), Qt.MouseButton.LeftButton, pos=point)
    low, high = views.visible_range()
    assert (low + high) / 2 == pytest.approx(45.0, abs=0.5) and high - low == pytest.approx(6.0, abs=0.1)
    # The overview holds the whole recording: its envelope spans 60 s.
    x, _ = views.overview.envelope.getData()
    assert x[-1] > 59.0


def test_the_overview_spans_each_clip_shorter_or_longer_than_the_last(qtbot, open_window, project_file):
    """Found on a screenshot: after a 0.9 s clip, a 1.5 s clip's strip still ended at 0.9 s."""
    window = open_window(project_file)
    table = window.session.table
    for name in ("d-noise.wav", "c-voice.wav", "b-tone.wav", "c-voice.wav"):  # 1 s, 3 s, 1.5 s, 3 s
        clip = next(int(table.ids[r]) for r in range(len(table)) if table.paths[r].endswith(name))
        window.clip_list.select_clip(clip)
        qtbot.waitUntil(lambda: window.clips.loaded is not None and window.clips.loaded.clip.path.endswith(name),
                        timeout=WAIT_MS)
        overview = window.views.overview
        assert overview.plot.viewRange()[0] == pytest.approx([0.0, overview.duration_s], abs=1e-3), name
        assert overview.duration_s == pytest.approx(window.views.duration_s)
