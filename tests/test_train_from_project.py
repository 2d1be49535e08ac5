"""``voicestudio train --from-project`` (issue 19): fine-tuning the built-in model on a real SQLite project
of audio written here, labelled with dataset.labels; the split checked against the export's own plan."""

from __future__ import annotations

import json
import sys
import threading

import numpy as np
import pytest

import audiofiles
from voicestudio.audio.decode import load_audio
from voicestudio.cli import main
from voicestudio.dataset.compare import split_plan
from voicestudio.dataset.consensus import Consensus
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.dataset.labels import label_clips
from voicestudio.dataset.project_training import (
    TrainingCancelled, _ids_digest, default_output, int8_path_for, train_from_project)
from voicestudio.dataset.regions import label_region
from voicestudio.errors import MissingExtraError
from voicestudio.model.detector import DEFAULT_MODEL, Detector
from voicestudio.model.windows import clip_windows
from voicestudio.store import clips as clip_store
from voicestudio.store.models import find_model, list_models
from voicestudio.store.project import open_project

pytestmark = pytest.mark.tf
SR = 16000


@pytest.fixture(scope="module")
def project_db(tmp_path_factory):
    """40 two-second recordings cut into 1-s clips (80 clips, 2 per source): 20 speech-like, 10 tones,
    10 noises, labelled by what they are; plus one region clip (0.2-1.7 s of a speech-like recording)."""
    root = tmp_path_factory.mktemp("project")
    audio = root / "audio"
    for i in range(20):
        audiofiles.write(audio / f"spk{i % 5}" / f"take{i}.wav", audiofiles.speechlike(SR, 2.0, seed=i), SR)
    for i in range(10):
        audiofiles.write(audio / "tones" / f"tone{i}.wav", audiofiles.tone(SR, 2.0, 150.0 + 170 * i), SR)
        audiofiles.write(audio / "street" / f"noise{i}.wav", audiofiles.noise(SR, 2.0, seed=i), SR)
    db = root / "lab.vsproj"
    project = open_project(db)
    assert import_paths(project, [audio], rule=SegmentRule.parse("1")).clips_added == 80
    with project.session() as session:
        rows = clip_store.list_clips(session)
    label_clips(project, [r.id for r in rows if "/spk" in r.path], "human", annotator="ann")
    label_clips(project, [r.id for r in rows if "/spk" not in r.path], "nonhuman", annotator="ann")
    region = label_region(project, rows[0].file_id, 0.2, 1.7, "human", annotator="ann")
    project.close()
    return db, region["clip_id"]


@pytest.fixture
def project(project_db):
    opened = open_project(project_db[0])
    yield opened
    opened.close()


def test_cli_writes_both_models_and_cards_registers_them_and_keeps_test_clips_out(project_db, tmp_path, capsys):
    db, region_clip = project_db
    out = tmp_path / "models" / "lab-tuned.tflite"
    code = main(["--db", str(db), "--json", "train", "--from-project", str(out), "--epochs", "1", "--seed", "2"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    int8 = int8_path_for(out)
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        [out.name, int8.name, out.with_suffix(".json").name, int8.with_suffix(".json").name])
    card = json.loads(out.with_suffix(".json").read_text())
    int8_card = json.loads(int8.with_suffix(".json").read_text())
    assert card["quantization"] == "float32" and int8_card["quantization"] == "int8"
    assert card["training"]["project"] == "lab" and card["training"]["base"]["name"] == "voice-detector"
    assert card["training"]["label_counts"] == {"human": 41, "nonhuman": 40}  # the region clip counts
    for key in ("validation", "test", "base"):
        assert key in card["metrics"]
    assert card["metrics"]["base"]["test"]["n"] == card["metrics"]["test"]["n"]  # the same test clips

    project = open_project(db)
    try:
        plan = split_plan(project, Consensus(), 2)
        with project.session() as session:
            models = {m.sha256: m for m in list_models(session)}
            assert {find_model(session, Detector(p).sha256).id for p in (out, int8)} == set(result["model_ids"])
    finally:
        project.close()
    assert len(models) == 2
    split_ids = {s: {i.clip_id for i in plan.items if i.split == s} for s in ("train", "val", "test")}
    assert card["training"]["split"]["clip_ids_sha256"] == {s: _ids_digest(ids) for s, ids in split_ids.items()}
    assert {s: set(ids) for s, ids in result["clip_ids"].items()} == split_ids
    assert not split_ids["test"] & (split_ids["train"] | split_ids["val"])
    assert region_clip in split_ids["train"] | split_ids["val"] | split_ids["test"]
    for s, ids in split_ids.items():
        labels = [i.label for i in plan.items if i.split == s]
        assert card["training"]["split"]["clips"][s] == {"human": labels.count("human"),
                                                         "nonhuman": labels.count("nonhuman")}

    # The int8 twin runs every window of every test clip, one window per invoke, without a failure.
    detector = Detector(int8, threads=1)
    windows = 0
    for item in (i for i in plan.items if i.split == "test"):
        samples = load_audio(item.source, start_s=item.start_s, end_s=item.end_s, sample_rate=SR).samples
        for image in clip_windows(samples, detector.spec):
            p = detector.invoke_images(image[None])
            assert 0.0 <= float(p[0]) <= 1.0
            windows += 1
    assert windows >= len(split_ids["test"])


def test_epoch_zero_is_the_base_model(project, tmp_path):
    """With no epoch run, the written model scores as the built-in does (the rebuild is exact)."""
    result = train_from_project(project, tmp_path / "same.tflite", epochs=0, seed=0, augment_copies=0)
    assert result.metrics["test"]["roc_auc"] == result.metrics["base"]["test"]["roc_auc"]
    builtin, written = Detector(DEFAULT_MODEL, threads=1), Detector(result.model_path, threads=1)
    plan = split_plan(project, Consensus(), 0)
    images = np.concatenate([
        clip_windows(load_audio(i.source, start_s=i.start_s, end_s=i.end_s, sample_rate=SR).samples, builtin.spec)
        for i in plan.items if i.split == "test"])
    assert np.max(np.abs(written.invoke_images(images) - builtin.invoke_images(images))) <= 1e-4


def test_the_builtin_model_is_rebuilt_exactly_and_an_int8_model_is_refused(tmp_path):
    from voicestudio.errors import ModelError
    from voicestudio.model.from_tflite import keras_probabilities, rebuild_from_tflite, rebuild_keras

    speech = audiofiles.speechlike(SR, 3.0, seed=5)
    noise = audiofiles.noise(SR, 3.0, seed=5)
    builtin = Detector(DEFAULT_MODEL, threads=1)
    images = np.concatenate([clip_windows(s, builtin.spec) for s in (speech, noise)])
    model = rebuild_from_tflite(DEFAULT_MODEL, images)
    assert np.max(np.abs(keras_probabilities(model, images) - builtin.invoke_images(images))) <= 1e-4
    int8 = DEFAULT_MODEL.with_name("voice-detector-int8.tflite")
    with pytest.raises(ModelError, match="cannot be fine-tuned: it is quantised .* float twin voice-detector.tflite"):
        rebuild_keras(int8)


@pytest.mark.parametrize("when", ["epoch 1/", "checking the int8 twin"])  # mid-training; models staged
def test_cancel_leaves_nothing_behind(project, tmp_path, when):
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.message)
        if p.message.startswith(when):
            cancel.set()

    out = tmp_path / "gone" / "deeper" / "m.tflite"
    with project.session() as session:
        before = len(list_models(session))
    with pytest.raises(TrainingCancelled, match="nothing was written"):
        train_from_project(project, out, epochs=3, seed=0, augment_copies=0, progress=progress, cancel=cancel)
    assert any(m.startswith("epoch 0/3: validation AUC") for m in seen)
    assert any(m.startswith(when) for m in seen) and not (tmp_path / "gone").exists()
    with project.session() as session:
        assert len(list_models(session)) == before


def test_from_nothing_and_from_a_keras_file(project, tmp_path):
    from voicestudio.audio.features import FeatureSpec
    from voicestudio.model.robust import build_robust_model

    scratch = train_from_project(project, tmp_path / "scratch.tflite", base="none", epochs=1, augment_copies=0)
    assert scratch.base is None and "base" not in scratch.metrics and scratch.card["training"]["base"] is None
    keras_file = tmp_path / "start.keras"
    build_robust_model(FeatureSpec()).save(keras_file)
    tuned = train_from_project(project, tmp_path / "tuned.tflite", base=keras_file, epochs=1, augment_copies=0)
    assert tuned.base.name == "start" and tuned.card["training"]["base"]["path"] == str(keras_file)
    assert Detector(tuned.int8_path).card.quantization == "int8"


def test_default_output_is_beside_the_project(project, project_db):
    assert default_output(project, "x") == project_db[0].parent / "lab.models" / "x.tflite"


def test_data_dir_and_from_project_exclude_each_other(project_db, tmp_path, capsys):
    code = main(["--db", str(project_db[0]), "train", "--from-project", str(tmp_path / "d"), str(tmp_path / "o.tflite")])
    assert code == 2 and "exclude each other" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "d")]) == 2


def test_data_dir_settings_are_refused_with_from_project(project_db, tmp_path, capsys):
    for option in (["--group-balance", "0.5"], ["--networks", "2"], ["--half-width", "16"]):
        code = main(["--db", str(project_db[0]), "train", "--from-project", *option])
        assert code == 2 and "with DATA_DIR" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "d"), str(tmp_path / "o.tflite"), "--networks", "0"]) == 2
    assert "--networks must be 1 or more" in capsys.readouterr().err


def test_without_tensorflow_the_error_says_what_to_install(project, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'voicestudio\[train\]'"):
        train_from_project(project, tmp_path / "m.tflite")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(MissingExtraError, match="packaged VoiceStudio leaves out"):
        train_from_project(project, tmp_path / "m.tflite")
