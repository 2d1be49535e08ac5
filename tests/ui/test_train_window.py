"""Model ▸ Train from labels… in a real window (issue 19): the form, the job with per-epoch progress, the
model written and registered; Cancel leaves nothing behind; without TensorFlow the action says why."""

from __future__ import annotations

from pathlib import Path

import pytest

import audiofiles
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.dataset.labels import label_clips
from voicestudio.store import clips as clip_store
from voicestudio.store.models import list_models
from voicestudio.store.project import open_project
from voicestudio.ui import training_control
from voicestudio.ui.train_dialog import TrainDialog, TrainRequest

SR = 16000
TRAIN_MS = 300000


@pytest.fixture
def labelled_project(tmp_path):
    """48 one-second clips from 24 recordings in 8 source folders, labelled by what they are."""
    audio = tmp_path / "audio"
    for i in range(12):
        audiofiles.write(audio / f"spk{i % 4}" / f"take{i}.wav", audiofiles.speechlike(SR, 2.0, seed=i), SR)
    for i in range(6):
        audiofiles.write(audio / "tones" / f"t{i % 2}" / f"tone{i}.wav", audiofiles.tone(SR, 2.0, 200.0 + 150 * i), SR)
        audiofiles.write(audio / "street" / f"s{i % 2}" / f"noise{i}.wav", audiofiles.noise(SR, 2.0, seed=i), SR)
    path = tmp_path / "lab.vsproj"
    with open_project(path) as project:
        assert import_paths(project, [audio], rule=SegmentRule.parse("1")).clips_added == 48
        with project.session() as session:
            rows = clip_store.list_clips(session)
        label_clips(project, [r.id for r in rows if "/spk" in r.path], "human", annotator="ann")
        label_clips(project, [r.id for r in rows if "/spk" not in r.path], "nonhuman", annotator="ann")
    return path


def test_the_form_names_the_model_and_shows_the_command(qtbot, tmp_path):
    dialog = TrainDialog(tmp_path / "lab.models" / "m.tflite", "/models/current.tflite", "majority", "lab.vsproj")
    qtbot.addWidget(dialog)
    dialog.base.setCurrentIndex(dialog.base.findData("current"))
    dialog.epochs.setValue(3)
    request = dialog.request()
    assert request == TrainRequest(tmp_path / "lab.models" / "m.tflite", "/models/current.tflite", 3, 0, "majority")
    assert "train --from-project" in dialog.command.text() and "--base /models/current.tflite" in dialog.command.text()
    dialog.out.setText("m.h5")
    dialog._accept()
    assert dialog.result() == 0 and "must end in .tflite" in dialog.command.text()


def test_training_from_labels_runs_as_a_job_and_registers_the_model(qtbot, open_window, labelled_project, tmp_path):
    window = open_window(labelled_project)
    out = tmp_path / "lab.models" / "lab-tuned.tflite"
    messages = []
    window.tasks.job_progress.connect(lambda job: messages.append(job.progress.message))
    with qtbot.waitSignal(window.training.trained, timeout=TRAIN_MS) as trained:
        window.training.start(TrainRequest(out, "builtin", 2, 0, "latest"))
        assert window.training.job is not None and window.tasks.jobs  # shown in the status bar with Cancel
    result = trained.args[0]
    assert result.model_path == out and out.is_file() and out.with_name("lab-tuned-int8.tflite").is_file()
    assert any("validation AUC" in m for m in messages)  # per-epoch progress reached the status bar
    assert "Trained lab-tuned.tflite: test AUC" in window.statusBar().currentMessage()
    with open_project(labelled_project) as project, project.session() as session:
        assert {Path(m.path).name for m in list_models(session)} >= {"lab-tuned.tflite", "lab-tuned-int8.tflite"}
    assert window.training.job is None

    # Then compared with the window's model on the test clips it never saw, in the Audit tab's Compare page.
    with qtbot.waitSignal(window.compare.shown, timeout=TRAIN_MS) as compared:
        pass
    comparison = compared.args[0].comparison
    assert comparison.split == "test" and comparison.b.path == str(out)
    assert set(comparison.clip_ids) == set(result.clip_ids["test"])


def test_cancelling_the_training_leaves_nothing(qtbot, open_window, labelled_project, tmp_path):
    window = open_window(labelled_project)
    out = tmp_path / "lab.models" / "cancelled.tflite"
    window.training.start(TrainRequest(out, "none", 50, 0, "latest"))
    job = window.training.job
    qtbot.waitUntil(lambda: job.progress is not None and "epoch" in (job.progress.message or ""), timeout=TRAIN_MS)
    job.cancel.set()
    qtbot.waitUntil(lambda: window.training.job is None, timeout=TRAIN_MS)
    assert "cancelled" in (window.last_error or "")
    assert not out.parent.exists() or not any(out.parent.iterdir())
    with open_project(labelled_project) as project, project.session() as session:
        assert not any("cancelled" in m.path for m in list_models(session))


def test_without_tensorflow_the_action_says_what_is_needed(qtbot, open_window, labelled_project, monkeypatch):
    window = open_window(labelled_project)
    shown = []
    monkeypatch.setattr(training_control, "tensorflow_missing", lambda: "training a model needs the optional package "
                                                                        "'tensorflow': pip install 'voicestudio[train]'")
    monkeypatch.setattr(training_control.QMessageBox, "information", lambda *args: shown.append(args[-1]))
    window.actions_by_name["train_model"].trigger()
    assert shown and "pip install 'voicestudio[train]'" in shown[0] and window.training.job is None
