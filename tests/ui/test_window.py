"""The workstation window, driven by key presses, checked against the project database."""

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from audiofiles import speechlike, write
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project


SR = 16000
WAIT_MS = 30000  # generous: CI machines are slow; a passing wait returns at once


def events(project_file):
    with open_project(project_file) as project, project.session() as session:
        return [(e.clip_id, e.annotator, e.value, e.note, e.undoes_id)
                for e in session.query(label_store.LabelEvent).order_by(label_store.LabelEvent.id)]


def press(qtbot, window, key, *, wait=True):
    if not wait:
        qtbot.keyClick(window, key)
        return None
    with qtbot.waitSignal(window.label_written, timeout=WAIT_MS) as signal:
        qtbot.keyClick(window, key)
    return signal.args[0]


def test_keys_label_the_clip_shown_and_advance(qtbot, open_window, project_file):
    window = open_window(project_file)
    first = window.session.current_clip_id
    event = press(qtbot, window, Qt.Key.Key_H)
    assert (event["clip_id"], event["value"], event["annotator"]) == (first, "human", "tester")
    qtbot.waitUntil(lambda: window.clips.loaded is not None and window.clips.loaded.clip_id != first, timeout=WAIT_MS)
    second = window.session.current_clip_id
    window.label_panel.note.setText("hiss under it")
    press(qtbot, window, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: window.session.current_clip_id not in (first, second), timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_U)
    assert events(project_file) == [
        (first, "tester", "human", None, None),
        (second, "tester", "nonhuman", "hiss under it", None),
        (events(project_file)[2][0], "tester", "unsure", None, None),
    ]
    # The list shows the labels without being reloaded, and the session counts them.
    model = window.clip_list.model
    assert model.data(model.index(model.row_of_clip(first), 2)) == "human"
    assert "3 labelled" in window.label_panel.session.text()


def test_one_label_per_key_press_while_a_write_is_in_flight(qtbot, open_window, project_file):
    window = open_window(project_file)
    qtbot.keyClick(window, Qt.Key.Key_H)  # the write is now in flight...
    qtbot.keyClick(window, Qt.Key.Key_N)  # ...so this press is ignored, not queued
    qtbot.waitUntil(lambda: not window.labels.write_in_flight, timeout=WAIT_MS)
    qtbot.wait(100)
    assert [e[2] for e in events(project_file)] == ["human"]


def test_undo_appends_an_event_and_returns_to_the_clip(qtbot, open_window, project_file):
    window = open_window(project_file)
    first = window.session.current_clip_id
    press(qtbot, window, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: window.session.current_clip_id != first, timeout=WAIT_MS)
    undo = press(qtbot, window, Qt.Key.Key_Z)
    assert undo["clip_id"] == first and undo["value"] is None
    history = events(project_file)
    assert len(history) == 2 and history[1][4] is not None  # the undo points at the event it undid
    assert window.session.current_clip_id == first
    model = window.clip_list.model
    assert model.data(model.index(model.row_of_clip(first), 2)) == ""
    with open_project(project_file) as project, project.session() as session:
        assert label_store.current_labels(session) == {}


def test_auto_repeat_is_off_for_every_shortcut(open_window, project_file):
    window = open_window(project_file)
    assert all(not action.autoRepeat() for action in window.actions_by_name.values())


def test_queues_follow_labels_and_threshold(qtbot, open_window, project_file):
    window = open_window(project_file)
    assert window.clip_list.model.rowCount() == 4
    for _ in range(2):
        press(qtbot, window, Qt.Key.Key_H)
    window.clip_list.set_queue_name("unlabelled")
    window.recompute_queue()
    qtbot.waitUntil(lambda: window.clip_list.model.remaining() == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not np.isnan(window.session.table.score[window.session.table.label == 1]).any(), timeout=WAIT_MS)
    # A threshold of 0 makes the model call every clip human; 1 makes it call none.
    window.clip_list.set_queue_name("disagreements")
    window.threshold_box.setValue(1.0)
    qtbot.waitUntil(lambda: window.clip_list.model.request.threshold == 1.0, timeout=WAIT_MS)
    scored_humans = [r for r in window.clip_list.model.rows
                     if window.session.table.label[r] == 1 and not np.isnan(window.session.table.score[r])]
    assert len(window.clip_list.model.rows) == len(scored_humans) >= 1
    window.threshold_box.setValue(0.0)
    qtbot.waitUntil(lambda: window.clip_list.model.request.threshold == 0.0, timeout=WAIT_MS)
    assert window.clip_list.model.rowCount() == 0
    assert "human" in window.label_panel.model_verdict.text()


def test_model_switch_rescores_the_visible_clip_then_the_rest(qtbot, open_window, project_file, tiny_model):
    window = open_window(project_file)
    before = window.session.model.model_id
    window.models.switch(str(tiny_model))
    qtbot.waitUntil(lambda: window.session.model.model_id != before and window.clips.loaded is not None
                    and window.clips.loaded.prediction is not None
                    and window.clips.loaded.prediction.model_id == window.session.model.model_id, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not np.isnan(window.session.table.score).any(), timeout=WAIT_MS)
    assert window.model_label.text() == window.session.model.detector.card.name
    assert window.settings.model_path == str(tiny_model)


def test_a_bad_model_keeps_the_current_one(qtbot, open_window, project_file, tmp_path):
    window = open_window(project_file)
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"not a model at all")
    before = window.session.model.model_id
    window.models.switch(str(bad))
    qtbot.waitUntil(lambda: "broken.tflite" in (window.last_error or ""), timeout=WAIT_MS)
    assert "not a TensorFlow Lite model" in window.last_error
    assert window.session.model.model_id == before
    assert window.settings.model_path == ""


def test_an_unreadable_clip_shows_a_panel_and_the_window_goes_on(qtbot, open_window, project_file, clip_folder):
    (clip_folder / "b-tone.wav").write_bytes(b"RIFF\x00\x00\x00\x00garbage")
    (clip_folder / "c-voice.wav").unlink()
    window = open_window(project_file)
    shown = []
    window.clip_shown.connect(shown.append)
    for _ in range(3):
        with qtbot.waitSignal(window.clip_shown, timeout=WAIT_MS):
            window.next_clip()
        if window.clips.loaded.error:
            assert window.views.currentWidget() is window.views.message
            assert "cannot be shown" in window.views.message.text()
            assert window.clips.loaded.clip.path in window.clips.loaded.error
    errors = [window.clips.cache[c].error for c in shown if c in window.clips.cache]
    assert sum(e is not None for e in errors) == 2
    press(qtbot, window, Qt.Key.Key_N)  # a clip that cannot be played can still be labelled
    assert window.views.currentWidget() is window.views.graphics or window.clips.loaded.error


def test_first_start_opens_the_demo_project(qtbot, open_window):
    from voicestudio.dataset.demo import SAMPLES_DIR
    from voicestudio.settings import Settings
    from voicestudio.store.project import default_project_path
    from voicestudio.ui.app import project_to_open

    target = project_to_open(None, Settings())
    assert target == str(default_project_path())
    window = open_window(target)
    assert window.session.ws.created_demo
    assert len(window.session.table) == len(list(SAMPLES_DIR.glob("*.oga")) + list(SAMPLES_DIR.glob("*.ogg")))
    assert not np.isnan(window.session.table.score).any()  # the demo comes scored
    assert window.settings.recent_projects[0] == target
    assert project_to_open(None, window.settings) == target  # next start: the last project


def test_drop_imports_with_progress_and_scores_the_new_clips(qtbot, open_window, project_file, tmp_path):
    window = open_window(project_file)
    extra = tmp_path / "more"
    extra.mkdir()
    write(extra / "e-voice.wav", speechlike(SR, 1.2, seed=5), SR)
    (extra / "notes.txt").write_text("not audio")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(extra))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: len(window.session.table) == 5, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not np.isnan(window.session.table.score).any(), timeout=WAIT_MS)
    assert "Imported 1 new clips" in window.statusBar().currentMessage() or window.tasks.jobs == []


def test_long_recording_opens_with_overview_and_detail(qtbot, open_window, tmp_path, monkeypatch):
    from voicestudio.audio.display import FIRST_SCREEN_S
    from voicestudio.dataset.importer import SegmentRule, import_paths
    from voicestudio.model.detector import Detector

    predicted = []  # the recording is predicted once, though scoring and the view both want it
    real_predict_file = Detector.predict_file
    monkeypatch.setattr(Detector, "predict_file",
                        lambda self, *a, **k: predicted.append(a) or real_predict_file(self, *a, **k))

    path = tmp_path / "long.wav"
    sr = 8000
    write(path, np.tile(speechlike(sr, 10.0, seed=3), 30), sr)  # five minutes
    target = tmp_path / "long.vsproj"
    with open_project(target) as project:
        import_paths(project, [path], rule=SegmentRule.parse("none"))
    window = open_window(target)
    assert window.clips.loaded.opened.is_long
    assert window.views.detail.end_s == pytest.approx(FIRST_SCREEN_S)
    # The envelope and the prediction of the whole recording arrive in the background.
    qtbot.waitUntil(lambda: window.clips.loaded.opened.envelope is not None and window.clips.loaded.prediction is not None,
                    timeout=WAIT_MS)
    assert window.clips.loaded.prediction.window_starts_s[-1] > 250
    qtbot.waitUntil(lambda: window.tasks.jobs == [], timeout=WAIT_MS)  # the project's scoring is done too
    assert len(predicted) == 1
    # Zooming onto a later part decodes that part only.
    window.views.wave.setXRange(200, 210, padding=0)
    qtbot.waitUntil(lambda: window.views.detail.start_s <= 200 and window.views.detail.end_s >= 210, timeout=WAIT_MS)
    assert window.views.detail.end_s - window.views.detail.start_s < 60


def test_playback_without_an_output_is_disabled_with_a_reason(open_window, project_file):
    window = open_window(project_file)
    if window.player.available:
        pytest.skip("this machine has an audio output")  # CI has none; a desk machine may
    assert not window.actions_by_name["toggle_play"].isEnabled()
    assert "no audio output" in window.playback_note.text()


def test_shortcut_overlay_lists_every_shortcut(qtbot, open_window, project_file):
    from voicestudio.ui.shortcuts import with_keys

    window = open_window(project_file)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert window.overlay.isVisible()
    text = window.overlay.findChild(type(window.playback_note)).text()
    assert all(c.plain_text in text.replace("&amp;", "&") for c in with_keys())
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert not window.overlay.isVisible()


def test_geometry_and_settings_persist(qtbot, open_window, project_file, tmp_path):
    from voicestudio.settings import load_settings

    window = open_window(project_file)
    window.resize(window.minimumSizeHint().width(), 560)  # within the offscreen screen (800x600)
    size = (window.width(), window.height())
    window.clip_list.set_queue_name("all")
    window.close()
    saved = load_settings(tmp_path / "settings.json")
    assert saved.queue == "all" and saved.recent_projects[0] == str(project_file)
    again = open_window(project_file)
    assert (again.width(), again.height()) == size


def test_chosen_queue_comes_back_after_a_restart(qtbot, open_window, project_file, tmp_path):
    """"mistakes" once came back as "unlabelled": the settings knew fewer queues than the list."""
    from voicestudio.settings import load_settings

    window = open_window(project_file)
    window.clip_list.set_queue_name("mistakes")
    window.close()
    saved = load_settings(tmp_path / "settings.json")
    assert saved.queue == "mistakes"
    again = open_window(project_file, queue=saved.queue, wait_clip=False)  # no labels yet: no mistakes to show
    assert again.clip_list.queue_name == "mistakes"


def test_long_jobs_show_progress_and_cancel(qtbot, open_window, project_file):
    from voicestudio.progress import Progress

    window = open_window(project_file)
    qtbot.waitUntil(lambda: not window.tasks.jobs, timeout=WAIT_MS)  # background scoring done
    stopped = []

    def endless(progress, cancel):
        done = 0
        while not cancel.is_set():
            done += 1
            progress(Progress(done % 100, 100, "working"))
            cancel.wait(0.01)
        return done

    window.tasks.start_job("Endless", endless, on_done=stopped.append)
    qtbot.waitUntil(lambda: window.job_bar.isVisible() and window.job_bar.bar.maximum() == 100, timeout=WAIT_MS)
    assert window.job_bar.title.text() == "Endless"
    qtbot.mouseClick(window.job_bar.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(stopped) and not window.job_bar.isVisible(), timeout=WAIT_MS)
