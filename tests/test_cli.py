"""End to end through the command line: real files, a real SQLite project, a real .tflite model."""

import csv
import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

import audiofiles
from voicestudio.cli import main


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    files = audiofiles.mixed_folder(root)
    (root / "README.txt").write_text("notes about the recordings\n")  # not audio: skipped
    (root / "street" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 7)  # truncated
    (root / "street" / "lyrics.mp3").write_text("this is text, not audio\n" * 20)
    return root, files


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "project.vsproj")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, "--json", *argv)
    return code, json.loads(out), err


def test_import_mixed_folder_reports_bad_files_and_goes_on(capsys, corpus, db):
    root, files = corpus
    code, report, err = run_json(capsys, "--db", db, "import", str(root))
    assert code == 1  # some files failed ...
    assert report["files_added"] == len(files)  # ... and every good one is in
    failed = {p["path"].split("/")[-1]: p["reason"] for p in report["failures"]}
    assert set(failed) == {"broken.wav", "lyrics.mp3"}
    assert [p["path"].split("/")[-1] for p in report["skipped"]] == ["README.txt"]
    assert "broken.wav" in err and "lyrics.mp3" in err
    assert report["clips_added"] > len(files)  # the long recording became several clips

    code, clips, _ = run_json(capsys, "--db", db, "clips")
    long_clips = [c for c in clips if c["path"].endswith("recording.wav")]
    assert 3 <= len(long_clips) <= 8
    assert all(c["end_s"] - c["start_s"] <= 31 for c in long_clips)

    # Re-import: nothing new, nothing read again.
    code, again, _ = run_json(capsys, "--db", db, "import", str(root))
    assert again["files_added"] == 0 and again["clips_added"] == 0
    assert again["files_unchanged"] == len(files)


def test_moved_file_is_relinked_by_hash(capsys, corpus, db, tmp_path):
    root, files = corpus
    run(capsys, "--db", db, "import", str(files["speech_flac"]))
    moved = tmp_path / "elsewhere" / "renamed.flac"
    moved.parent.mkdir()
    shutil.move(files["speech_flac"], moved)
    code, report, _ = run_json(capsys, "--db", db, "import", str(moved))
    assert report["files_relinked"] == 1 and report["files_added"] == 0
    code, clips, _ = run_json(capsys, "--db", db, "clips")
    assert [c["path"] for c in clips] == [str(moved)]
    # A copy at a second path is a duplicate, not a second file.
    copy = tmp_path / "copy.flac"
    shutil.copy(moved, copy)
    code, report, _ = run_json(capsys, "--db", db, "import", str(copy))
    assert report["files_added"] == 0 and len(report["duplicates"]) == 1


def test_score_predict_label_stats_end_to_end(capsys, corpus, db, tiny_model, tmp_path):
    root, files = corpus
    run(capsys, "--db", db, "import", str(root))
    code, scored, _ = run_json(capsys, "--db", db, "score", "--model", str(tiny_model))
    assert code == 0 and scored["scored"] >= len(files) and scored["failures"] == []
    code, again, _ = run_json(capsys, "--db", db, "score", "--model", str(tiny_model))
    assert again["scored"] == 0 and again["already_scored"] == scored["scored"]

    code, predicted, _ = run_json(capsys, "predict", "--model", str(tiny_model), str(files["speech_wav"]), str(files["noise_ogg"]))
    assert code == 0
    first = predicted["results"][0]
    assert first["label"] in ("human", "nonhuman") and 0 <= first["score"] <= 1
    assert first["windows"][0]["start_s"] == 0 and len(first["windows"]) >= 2

    code, clips, _ = run_json(capsys, "--db", db, "clips")
    by_name = {c["path"].split("/")[-1]: c for c in clips}
    code, event, _ = run_json(capsys, "--db", db, "label", str(by_name["hello.wav"]["id"]), "human", "--annotator", "ann")
    assert code == 0 and event["value"] == "human" and event["annotator"] == "ann"
    code, event, _ = run_json(capsys, "--db", db, "label", str(files["noise_ogg"]), "nonhuman", "--annotator", "ann")
    assert event["clip_id"] == by_name["noise.ogg"]["id"]

    labels_csv = tmp_path / "labels.csv"
    with open(labels_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "annotator"])
        w.writerow([str(files["speech_opus"]), "human", "bea"])
        w.writerow([str(files["tone_mp3"]), "non-human", ""])
        w.writerow([str(files["long_wav"]), "human", "bea"])  # several clips: refused, by line
        w.writerow([str(tmp_path / "nowhere.wav"), "human", ""])
        w.writerow([str(files["tone_aiff"]), "maybe", ""])
    code, result, err = run_json(capsys, "--db", db, "label", "--from-csv", str(labels_csv), "--annotator", "ann")
    assert code == 1 and result["labelled"] == 2
    assert [f.split(":")[0] for f in result["failures"]] == ["line 4", "line 5", "line 6"]

    code, stats, _ = run_json(capsys, "--db", db, "stats", "--model", str(tiny_model))
    assert code == 0
    assert stats["labels"] == {"human": 2, "nonhuman": 2}
    assert stats["annotators"] == {"ann": {"human": 1, "nonhuman": 2}, "bea": {"human": 1}}
    model = stats["model"]
    c = model["confusion"]
    assert c["tp"] + c["fp"] + c["tn"] + c["fn"] == 4 and model["labelled_unscored"] == 0
    assert model["roc"]["area"] == model["roc_auc"] and len(model["pr"]["x"]) == len(model["pr"]["y"])

    # The text form says the same in words; plots go to PNG files.
    code, out, err = run(capsys, "--db", db, "stats", "--model", str(tiny_model), "--pick", "recall=1",
                         "--plots", str(tmp_path / "plots"))
    assert code == 0 and "labelled: 4" in out and "threshold for recall=1:" in out and "predicted human" in out
    for name in ("confusion", "roc", "pr", "histogram"):
        assert (tmp_path / "plots" / f"{name}.png").read_bytes().startswith(b"\x89PNG")

    # Review queues: the model's mistakes, and a confusion cell.
    code, mistakes, _ = run_json(capsys, "--db", db, "clips", "--queue", "mistakes", "--model", str(tiny_model))
    assert len(mistakes) == c["fp"] + c["fn"] and all(m["score"] is not None for m in mistakes)
    code, cell, _ = run_json(capsys, "--db", db, "clips", "--queue", "tp", "--model", str(tiny_model))
    assert len(cell) == c["tp"]
    assert run(capsys, "--db", db, "clips", "--queue", "nonsense")[0] == 2


def test_clear_and_unknown_labels(capsys, corpus, db):
    root, files = corpus
    run(capsys, "--db", db, "import", str(files["tone_aiff"]))
    assert run(capsys, "--db", db, "label", str(files["tone_aiff"]), "unsure")[0] == 0
    code, event, _ = run_json(capsys, "--db", db, "label", str(files["tone_aiff"]), "clear")
    assert event["value"] is None
    code, out, err = run(capsys, "--db", db, "label", str(files["tone_aiff"]), "perhaps")
    assert code == 1 and "unknown label 'perhaps'" in err
    code, out, err = run(capsys, "--db", db, "label", "999", "human")
    assert code == 1 and "no clip with id 999" in err


def test_not_a_project_is_refused_and_left_alone(capsys, tmp_path):
    bogus = tmp_path / "notes.vsproj"
    bogus.write_bytes(b"this is not a database at all" * 100)
    before = bogus.read_bytes()
    code, out, err = run(capsys, "--db", str(bogus), "clips")
    assert code == 1 and str(bogus) in err and err.count("\n") == 1
    assert bogus.read_bytes() == before


def test_missing_model_and_bad_model_are_clear(capsys, tmp_path, monkeypatch):
    wav = audiofiles.write(tmp_path / "a.wav", audiofiles.tone(16000, 1.0), 16000)
    fake = tmp_path / "fake.tflite"
    fake.write_bytes(b"\x00" * 64)
    code, out, err = run(capsys, "predict", "--model", str(fake), str(wav))
    assert code == 1 and "fake.tflite" in err and "TensorFlow Lite" in err
    import voicestudio.model.detector as detector

    monkeypatch.setattr(detector, "DEFAULT_MODEL", tmp_path / "absent.tflite")
    code, out, err = run(capsys, "predict", str(wav))
    assert code == 1 and "model" in err.lower() and err.count("\n") == 1


def test_predict_reports_bad_files_and_continues(capsys, tmp_path, tiny_model):
    good = audiofiles.write(tmp_path / "good.wav", audiofiles.speechlike(16000, 1.0), 16000)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    code, result, err = run_json(capsys, "predict", "--model", str(tiny_model), str(empty), str(good))
    assert code == 1
    assert "error" in result["results"][0] and result["results"][1]["label"] in ("human", "nonhuman")
    assert "empty.wav" in err


def test_usage_errors_exit_2(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["import"])
    assert exc.value.code == 2
    code, out, err = run(capsys, "--db", str(tmp_path / "p.vsproj"), "import", str(tmp_path), "--segment", "often")
    assert code == 2 and "--segment" in err


def test_module_entry_point_and_env_project(tmp_path):
    db = tmp_path / "env.vsproj"
    wav = audiofiles.write(tmp_path / "in" / "a.wav", audiofiles.tone(16000, 1.0), 16000)
    env = {**__import__("os").environ, "VOICESTUDIO_DB": str(db)}
    done = subprocess.run([sys.executable, "-m", "voicestudio", "--json", "import", str(wav.parent)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files_added"] == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from clips").fetchone()[0] == 1


def test_predict_walks_folders_and_skips_non_audio(capsys, tmp_path, tiny_model):
    audiofiles.write(tmp_path / "in" / "a.wav", audiofiles.speechlike(16000, 1.0), 16000)
    audiofiles.write(tmp_path / "in" / "sub" / "b.flac", audiofiles.tone(16000, 1.0), 16000)
    (tmp_path / "in" / "LICENSES.md").write_text("# notes\n")
    code, result, err = run_json(capsys, "predict", "--model", str(tiny_model), str(tmp_path / "in"))
    assert code == 0 and err == ""
    assert [r["path"].split("/")[-1] for r in result["results"]] == ["a.wav", "b.flac"]


def test_first_use_of_the_default_project_is_the_scored_demo(capsys):
    from voicestudio.model.detector import DEFAULT_MODEL

    code, clips, err = run_json(capsys, "clips")
    assert code == 0 and "created the default project" in err
    assert len(clips) == 12
    if DEFAULT_MODEL.exists():
        code, stats, _ = run_json(capsys, "stats")
        assert stats["clips"] == 12
        code, out, err = run(capsys, "clips")
        assert "created" not in err  # only the first time


def test_no_command_opens_the_window_on_the_demo_project(tmp_path):
    """``voicestudio`` alone: the window (offscreen) on the default project, its first clip drawn."""
    import os
    import time

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), VOICESTUDIO_STARTUP_CLOCK=str(time.time()))
    env.pop("VOICESTUDIO_DB", None)
    done = subprocess.run([sys.executable, "-m", "voicestudio"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("visible ") and lines[-1].startswith("first clip "), done.stdout
    assert list((tmp_path / "data").rglob("default.vsproj"))
