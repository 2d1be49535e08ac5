"""A failure stays with its clip: the interpreter failing on one clip's audio is reported for that
clip, and predict, score, model convert and the export go on with the rest and exit 1 at the end.

The model is tinymodels' fragile int8 model, whose DIV refuses quiet audio the way the shipped
int8 detector once refused engine noise and rain ("div.cc ... data[i] != zero_point"); the audio
is real files, the commands run as a user runs them, in a subprocess of the CLI on a real project.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

import audiofiles
import tinymodels
from voicestudio.model.detector import Detector
from voicestudio.store import clips as clip_store
from voicestudio.store import predictions as prediction_store
from voicestudio.store.project import open_project
from voicestudio.store.schema import Model

SR = 16000
GOOD = ("speech.wav", "tone.flac", "speech-2.ogg")  # normal levels: the fragile model takes them
BAD = ("quiet-tone.wav", "quiet-noise.flac")  # -40 dBFS and below: its DIV fails on them


@pytest.fixture(scope="module")
def fragile(tmp_path_factory):
    return tinymodels.build_fragile_model(tmp_path_factory.mktemp("fragile"))


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("audio") / "clips"
    folder.mkdir()
    audiofiles.write(folder / "speech.wav", audiofiles.speechlike(SR, 3.0, seed=1), SR)
    audiofiles.write(folder / "tone.flac", audiofiles.tone(SR, 2.0, 1000), SR)
    audiofiles.write(folder / "speech-2.ogg", audiofiles.speechlike(SR, 2.5, seed=2), SR)
    audiofiles.write(folder / "quiet-tone.wav", audiofiles.tone(SR, 2.0, 1000, level=0.01), SR)
    audiofiles.write(folder / "quiet-noise.flac", audiofiles.noise(SR, 2.0, seed=3, level=0.003), SR)
    return folder


def voicestudio(*args, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "voicestudio", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def failure_lines(stderr: str) -> dict[str, str]:
    """File name -> reason, from the ``voicestudio: PATH: reason`` lines on stderr."""
    lines = [line for line in stderr.splitlines() if line.startswith("voicestudio: ")]
    out = {}
    for line in lines:
        path, _, reason = line.removeprefix("voicestudio: ").partition(": ")
        out[Path(path).name] = reason
    return out


def check_div_failures(stderr: str) -> None:
    failed = failure_lines(stderr)
    assert sorted(failed) == sorted(BAD), stderr
    for reason in failed.values():
        assert reason.startswith("the model failed on this audio (") and "DIV" in reason
        assert reason.count("failed to invoke") == 1, reason


def stored_predictions(db: Path) -> dict[str, prediction_store.StoredPrediction]:
    """File name -> the stored prediction of its clip (one model in the project)."""
    with open_project(db) as project, project.session() as s:
        model_id = s.scalar(select(Model.id))
        found = {Path(c.path).name: prediction_store.get_prediction(s, c.id, model_id)
                 for c in clip_store.list_clips(s)}
    return {name: p for name, p in found.items() if p is not None}


def test_predict_reports_the_failing_files_and_prints_the_others(fragile, audio):
    done = voicestudio("predict", "--model", fragile, audio)
    assert done.returncode == 1
    printed = {Path(line.split("\t")[0]).name: line.split("\t") for line in done.stdout.splitlines()}
    assert sorted(printed) == sorted(GOOD), done.stdout
    check_div_failures(done.stderr)
    # Each printed score is the one the file gets alone.
    detector = Detector(fragile)
    for name, (_, label, score) in printed.items():
        assert float(score) == pytest.approx(detector.predict_file(audio / name).clip_score, abs=1e-3)

    as_json = voicestudio("--json", "predict", "--model", fragile, audio)
    assert as_json.returncode == 1
    results = {Path(r["path"]).name: r for r in json.loads(as_json.stdout)["results"]}
    assert sorted(results) == sorted(GOOD + BAD)
    assert all("DIV" in results[name]["error"] for name in BAD)
    assert all(results[name]["windows"] and "error" not in results[name] for name in GOOD)


def test_score_stores_the_others_and_reports_the_failing_clips(fragile, audio, tmp_path):
    db = tmp_path / "p.vsproj"
    assert voicestudio("--db", db, "import", audio).returncode == 0
    done = voicestudio("--db", db, "score", "--model", fragile)
    assert done.returncode == 1
    assert done.stdout.startswith(f"{len(GOOD)} clips scored with fragile-int8 (0 already had predictions, "
                                  f"{len(BAD)} failed)"), done.stdout
    check_div_failures(done.stderr)
    stored = stored_predictions(db)
    assert sorted(stored) == sorted(GOOD)
    # Scored in one batch across clips, then clip by clip after the failure: the same values as alone.
    detector = Detector(fragile)
    for name, prediction in stored.items():
        alone = detector.predict_file(audio / name)
        np.testing.assert_allclose(prediction.window_probs, alone.window_probs, atol=1e-6)

    again = voicestudio("--db", db, "score", "--model", fragile)  # only the failed clips are tried again
    assert again.returncode == 1
    assert again.stdout.startswith(f"0 clips scored with fragile-int8 ({len(GOOD)} already had predictions, "
                                   f"{len(BAD)} failed)"), again.stdout
    check_div_failures(again.stderr)
    assert stored_predictions(db).keys() == stored.keys()


def test_score_reports_both_kinds_of_failure_and_goes_on(fragile, audio, tmp_path):
    """A clip whose file is gone and clips the model fails on, among good ones: each reported once."""
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in GOOD + BAD:
        (folder / name).write_bytes((audio / name).read_bytes())
    db = tmp_path / "p.vsproj"
    assert voicestudio("--db", db, "import", folder).returncode == 0
    (folder / "speech-2.ogg").unlink()
    done = voicestudio("--db", db, "score", "--model", fragile)
    assert done.returncode == 1
    failed = failure_lines(done.stderr)
    assert sorted(failed) == sorted(BAD + ("speech-2.ogg",)), done.stderr
    assert sorted(stored_predictions(db)) == ["speech.wav", "tone.flac"]


def test_convert_compares_the_files_the_converted_model_takes(audio, tmp_path):
    """The int8 conversion of the fragile function: the files it fails on are named, the rest compared."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    module = tf.Module()
    module.f = tf.function(tinymodels.fragile_fn(tf), input_signature=[tf.TensorSpec([None, 100, 20, 1], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures=module.f)
    out = tmp_path / "fragile.tflite"
    done = voicestudio("--json", "model", "convert", tmp_path / "saved", out, "--quantize", "int8", "--audio", audio)
    assert done.returncode == 1, done.stderr
    check_div_failures(done.stderr)
    report = json.loads(done.stdout)
    assert sorted(Path(f["path"]).name for f in report["failures"]) == sorted(BAD)
    assert 0 < report["compared"] < report["windows"] and report["max_abs_diff"] < 0.05
    assert out.is_file()  # the model is written: it is the user's to judge
    conversion = json.loads(out.with_suffix(".json").read_text())["training"]["conversion"]
    assert conversion["failed_files"] == len(BAD)


def test_export_with_features_after_the_model_failed_on_some_clips(fragile, audio, tmp_path):
    """Every labelled clip is exported with its MFCC; the clips the model failed on have no model score."""
    import csv

    db = tmp_path / "p.vsproj"
    assert voicestudio("--db", db, "import", audio).returncode == 0
    for name in GOOD + BAD:
        labelled = voicestudio("--db", db, "label", audio / name, "human" if "speech" in name else "nonhuman",
                               "--annotator", "ann")
        assert labelled.returncode == 0, labelled.stderr
    assert voicestudio("--db", db, "score", "--model", fragile).returncode == 1
    out = tmp_path / "out"
    done = voicestudio("--db", db, "export", out, "--features", "mfcc-npy", "--model", fragile)
    assert done.returncode == 0, done.stderr
    with open(out / "manifest.csv", newline="") as f:
        rows = {Path(r["source_file"]).name: r for r in csv.DictReader(f)}
    assert sorted(rows) == sorted(GOOD + BAD)
    for name, row in rows.items():
        coefficients = np.load(out / row["features"])
        assert coefficients.ndim == 2 and len(coefficients) > 0 and np.isfinite(coefficients).all()
        assert (row["model_score"] == "") == (name in BAD), row
