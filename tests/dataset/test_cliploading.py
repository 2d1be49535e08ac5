"""Opening a clip for the window: prediction from the store or computed and stored; bad files."""

import pytest

from audiofiles import speechlike, write
from voicestudio.audio.features import FeatureSpec
from voicestudio.dataset.cliploading import load_clip
from voicestudio.dataset.importer import import_paths
from voicestudio.dataset.labels import label_clip, undo_last
from voicestudio.dataset.workspace import load_model, open_workspace
from voicestudio.errors import VoiceStudioError
from voicestudio.store import predictions
from voicestudio.store.project import open_project


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    write(folder / "v.wav", speechlike(16000, 2.0), 16000)
    with open_project(tmp_path / "p.vsproj") as project:
        import_paths(project, [folder])
        project.folder = folder
        yield project


def test_prediction_is_computed_once_then_read_back(project, tiny_model):
    model = load_model(project, str(tiny_model))
    first = load_clip(project, 1, model.detector.spec, detector=model.detector, model_id=model.model_id)
    assert first.error is None and first.prediction is not None
    with project.session() as s:
        stored = predictions.get_prediction(s, 1, model.model_id)
    assert stored.clip_score == pytest.approx(first.prediction.clip_score)
    again = load_clip(project, 1, model.detector.spec, detector=None, model_id=model.model_id)
    assert again.prediction.clip_score == pytest.approx(first.prediction.clip_score)


def test_history_and_labels(project):
    label_clip(project, 1, "human", annotator="ana", note="clear voice")
    label_clip(project, 1, "unsure", annotator="bob")
    assert undo_last(project, annotator="bob")["value"] is None
    assert undo_last(project, annotator="bob") is None
    history = load_clip(project, 1, FeatureSpec()).history
    assert [(h.annotator, h.value) for h in history] == [("ana", "human"), ("bob", "unsure"), ("bob", None)]
    assert history[0].note == "clear voice" and history[2].undoes_id == history[1].event_id


def test_a_missing_file_comes_back_as_an_error_not_an_exception(project):
    (project.folder / "v.wav").unlink()
    loaded = load_clip(project, 1, FeatureSpec())
    assert loaded.opened is None and "v.wav" in loaded.error


def test_a_bad_model_falls_back_only_when_asked(project, tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    chosen = load_model(project, str(bad))
    assert chosen.detector is not None and "bad.tflite" in chosen.warning
    with pytest.raises(VoiceStudioError, match="bad.tflite"):
        load_model(project, str(bad), fallback=False)


def test_open_workspace_on_a_new_project(tmp_path):
    ws = open_workspace(str(tmp_path / "new.vsproj"), annotator="ana")
    try:
        assert len(ws.table) == 0 and ws.model.detector is not None and not ws.created_demo
    finally:
        ws.project.close()
