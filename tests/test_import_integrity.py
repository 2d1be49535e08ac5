"""Import integrity (issue 14, items 1, 2 and 17), as users meet it: real files, real
SQLite projects, the ``voicestudio`` command run as a subprocess.

1. A project kept inside the folder it imports, imported while a second process labels:
   the scan never opens the project or its side files, nothing is corrupted or lost.
2. A file re-recorded at the same path: the old recording keeps its clips and labels
   (relinked when it is found under a new name), the new content gets clips of its own,
   and export and the window check a source before using it.
17. A WAV cut short says so; a symlink loop is named.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import audiofiles
import hostile
from voicestudio.audio.features import FeatureSpec
from voicestudio.dataset.cliploading import load_clip
from voicestudio.dataset.importer import import_paths
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project
from voicestudio.store.schema import AudioFile

WORKER = Path(__file__).with_name("label_worker.py")
SR = 8000


def voicestudio(*args, db: Path, check_exit: int | None = 0, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "voicestudio", "--db", str(db), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in done.stderr, done.stderr
    if check_exit is not None:
        assert done.returncode == check_exit, (done.returncode, done.stdout[-3000:], done.stderr[-3000:])
    return done


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


# 1. The project inside the folder it imports --------------------------------------------------

def write_tones(folder: Path, start: int, count: int) -> list[Path]:
    """Small distinct WAVs (0.1 s each: the scan and its locking are what is tested, not decoding)."""
    return [audiofiles.write(folder / f"take-{i:04d}.wav", audiofiles.tone(SR, 0.1, 200 + i, 0.2), SR)
            for i in range(start, start + count)]


def test_importing_the_folder_that_holds_the_project_while_someone_labels(tmp_path):
    folder = tmp_path / "my-dataset"
    db = folder / "a-project.vsproj"  # sorts first: met before any audio
    first = write_tones(folder / "first", 0, 12)
    voicestudio("import", folder / "first", db=db)
    with open_project(db) as project, project.session() as s:
        clip_ids = [c.id for c in clip_store.list_clips(s)]
    assert len(clip_ids) == len(first)
    added = write_tones(folder, 100, 400)

    # The annotator has the project open (its -wal and -shm sit in the folder) while the import runs.
    labeller = subprocess.Popen([sys.executable, str(WORKER), str(db), "ann", "7", "150", *map(str, clip_ids)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    importer = subprocess.run([sys.executable, "-m", "voicestudio", "--db", str(db), "--json", "import", str(folder)],
                              capture_output=True, text=True, timeout=600)
    out, err = labeller.communicate(timeout=600)

    assert importer.returncode == 0, (importer.returncode, importer.stderr[-3000:])  # -135 was SIGBUS
    assert labeller.returncode == 0, (out[-2000:], err[-2000:])
    report = json.loads(importer.stdout)
    assert report["files_added"] == len(added) and not report["failures"]
    assert report["files_unchanged"] == len(first)
    skipped = {Path(p["path"]).name: p["reason"] for p in report["skipped"]}
    assert "a-project.vsproj" in skipped and "never read" in skipped["a-project.vsproj"]
    for side in ("a-project.vsproj-wal", "a-project.vsproj-shm"):
        assert side not in skipped or "never read" in skipped[side]  # present while someone has it open

    assert integrity(db) == "ok"
    acked = [line.split() for line in out.splitlines() if line.startswith("ACK")]
    assert len(acked) == 150 and "FAIL" not in out
    with open_project(db) as project, project.session() as s:
        assert clip_store.count_clips(s) == len(first) + len(added)
        history = [e for c in clip_ids for e in label_store.label_history(s, c, "ann")]
        assert sorted(e.note for e in history) == sorted(f"ann-{i}" for i in range(150))
    stats = voicestudio("--json", "stats", db=db)
    assert json.loads(stats.stdout)  # the project reads back whole


def test_the_import_keeps_this_process_s_sqlite_locks(tmp_path):
    """The root cause, checked deterministically: had the scan opened and closed the project, its
    -wal or -shm, this process would have lost its POSIX locks, and the next program to close the
    project would think itself the last one and delete the WAL under this process's feet."""
    folder = tmp_path / "my-dataset"
    db = folder / "a-project.vsproj"
    write_tones(folder, 0, 3)
    with open_project(db) as project:
        with project.session() as s:  # the connection is open: -wal and -shm exist beside the project
            clip_store.count_clips(s)
        os.link(db, folder / "take-9999.wav")  # the project under another name: known by its inode
        report = import_paths(project, [folder])
        assert report.files_added == 3 and not report.failures
        skipped = {Path(p.path).name: p.reason for p in report.skipped}
        assert sorted(skipped) == ["a-project.vsproj", "a-project.vsproj-shm", "a-project.vsproj-wal", "take-9999.wav"]
        assert set(skipped.values()) == {"the open project's own database file (never read)"}
        voicestudio("label", "1", "human", "--annotator", "other", db=db)  # another program opens and closes it
        assert (folder / "a-project.vsproj-wal").exists() and (folder / "a-project.vsproj-shm").exists()
        with project.write() as s:
            label_store.add_label(s, 2, "me", "nonhuman")
    assert integrity(db) == "ok"
    with open_project(db) as project, project.session() as s:
        assert {c: v.value for c, v in label_store.current_labels(s, "other").items()} == {1: "human"}
        assert {c: v.value for c, v in label_store.current_labels(s, "me").items()} == {2: "nonhuman"}


def test_other_databases_in_an_imported_folder_are_skipped_not_failed(tmp_path):
    folder = tmp_path / "incoming"
    audiofiles.write(folder / "voice.wav", audiofiles.speechlike(SR, 0.5), SR)
    other = folder / "colleague.vsproj"
    with open_project(other) as project, project.write() as s:
        s.connection().exec_driver_sql("SELECT 1")
    conn = sqlite3.connect(folder / "notes.db")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()  # left open: notes.db-wal and -shm exist beside it
    try:
        (folder / "empty.vsproj").write_bytes(b"")
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
        done = voicestudio("--json", "import", folder, db=tmp_path / "p.vsproj")
    finally:
        conn.close()
    report = json.loads(done.stdout)
    assert report["files_added"] == 1 and not report["failures"]
    skipped = {Path(p["path"]).name: p["reason"] for p in report["skipped"]}
    assert skipped["colleague.vsproj"] == "a VoiceStudio project, not audio"
    assert skipped["notes.db"] == "an SQLite database, not audio"
    assert skipped["notes.db-wal"].startswith("a side file of the SQLite database notes.db")
    assert skipped["empty.vsproj"] == "a VoiceStudio project file, not audio"
    assert {name: (folder / name).read_bytes() for name in ("colleague.vsproj", "empty.vsproj")} == {
        name: before[name] for name in ("colleague.vsproj", "empty.vsproj")}


# 2. A file re-recorded at the same path ------------------------------------------------------

def speech(path: Path, seed: int) -> Path:
    return audiofiles.write(path, audiofiles.speechlike(16000, 1.5, seed=seed), 16000, format="OGG", subtype="VORBIS")


def bark(path: Path) -> Path:
    y = audiofiles.noise(16000, 0.8, seed=99, level=0.3) * np.exp(-np.linspace(0, 8, 12800)).astype(np.float32)
    return audiofiles.write(path, y, 16000, format="OGG", subtype="VORBIS")


def clips_json(db: Path) -> list[dict]:
    return json.loads(voicestudio("--json", "clips", db=db).stdout)


@pytest.mark.parametrize("old_name", ["take1-old.ogg", "old/take1.ogg"],
                         ids=["moved-original-scanned-first", "moved-original-scanned-last"])
def test_a_re_recorded_file_keeps_its_label_with_the_old_recording(tmp_path, old_name):
    folder, db = tmp_path / "a", tmp_path / "p.vsproj"
    take = speech(folder / "take1.ogg", seed=1)
    speech(folder / "other.ogg", seed=2)
    voicestudio("import", folder, db=db)
    voicestudio("label", take, "human", "--annotator", "ann", db=db)
    old_sha = sha256(take)

    moved = folder / old_name
    moved.parent.mkdir(exist_ok=True)
    os.rename(take, moved)
    bark(take)
    done = voicestudio("import", folder, db=db)
    lines = done.stdout.splitlines()
    assert any(line.startswith(f"{take}: changed since import: 1 labelled clip kept with the old recording")
               for line in lines), done.stdout
    assert any(line.startswith(f"relinked: {moved}: ") for line in lines), done.stdout
    assert "duplicate:" not in done.stdout
    assert done.stdout.startswith("1 files added (1 clips), 1 unchanged, 1 relinked, 0 duplicates")

    rows = {Path(r["path"]).relative_to(folder).as_posix(): r for r in clips_json(db)}
    assert set(rows) == {old_name, "take1.ogg", "other.ogg"}
    assert rows[old_name]["label"] == "human"  # the label went with the recording it was given for
    assert rows["take1.ogg"]["label"] is None  # the bark is new, unlabelled audio

    out = tmp_path / "out"
    voicestudio("export", out, "--split", "1,0,0", db=db)
    with open(out / "manifest.csv", newline="") as f:
        manifest = list(csv.DictReader(f))
    assert [(m["source_file"], m["label"], m["source_sha256"]) for m in manifest] == [(str(moved), "human", old_sha)]

    # Importing again changes nothing more.
    again = voicestudio("--json", "import", folder, db=db)
    report = json.loads(again.stdout)
    assert (report["files_added"], report["files_unchanged"], report["changed"], report["relinked"]) == (0, 3, [], [])


def test_new_content_that_duplicates_another_file_never_takes_the_old_label(tmp_path):
    folder, db = tmp_path / "a", tmp_path / "p.vsproj"
    take = speech(folder / "take1.ogg", seed=1)
    french = speech(folder / "french.ogg", seed=3)
    voicestudio("import", folder, db=db)
    voicestudio("label", take, "nonhuman", "--annotator", "ann", db=db)  # say take1 was labelled nonhuman
    voicestudio("label", french, "human", "--annotator", "ann", db=db)
    shutil.copyfile(french, take)  # take1.ogg re-recorded: now the French speech again
    done = voicestudio("--json", "import", folder, db=db)
    report = json.loads(done.stdout)
    assert [(Path(p["path"]).name, p["reason"]) for p in report["changed"]] == [
        ("take1.ogg", "changed since import: 1 labelled clip kept with the old recording")]
    assert [(Path(p["path"]).name, p["reason"]) for p in report["duplicates"]] == [
        ("take1.ogg", f"same audio as {french}")]
    rows = clips_json(db)
    assert [(Path(r["path"]).name, r["label"]) for r in rows] == [("french.ogg", "human")]

    out = tmp_path / "out"
    voicestudio("export", out, "--split", "1,0,0", db=db)
    with open(out / "manifest.csv", newline="") as f:
        manifest = list(csv.DictReader(f))
    assert [(Path(m["source_file"]).name, m["label"], m["source_sha256"]) for m in manifest] == [
        ("french.ogg", "human", sha256(french))]  # never the French speech as "nonhuman"


def test_a_touched_file_is_hashed_again_and_only_its_mtime_updated(tmp_path):
    folder, db = tmp_path / "a", tmp_path / "p.vsproj"
    take = speech(folder / "take1.ogg", seed=1)
    voicestudio("import", folder, db=db)
    os.utime(take, (1_700_000_000, 1_700_000_000))
    report = json.loads(voicestudio("--json", "import", folder, db=db).stdout)
    assert (report["files_unchanged"], report["files_added"], report["changed"]) == (1, 0, [])
    with open_project(db) as project, project.session() as s:
        (record,) = s.query(AudioFile).all()
        assert record.mtime == 1_700_000_000 and record.replaced_at is None


def test_export_and_the_window_refuse_audio_that_changed_since_import(tmp_path):
    """No re-import: the file changed behind the project's back."""
    folder, db = tmp_path / "a", tmp_path / "p.vsproj"
    take = speech(folder / "take1.ogg", seed=1)
    kept = speech(folder / "kept.ogg", seed=2)
    voicestudio("import", folder, db=db)
    for path in (take, kept):
        voicestudio("label", path, "human", "--annotator", "ann", db=db)
    bark(take)

    out = tmp_path / "out"
    done = voicestudio("export", out, "--split", "1,0,0", db=db, check_exit=1)
    assert f"voicestudio: {take} (clip " in done.stderr and "changed since it was imported" in done.stderr
    with open(out / "manifest.csv", newline="") as f:
        assert [Path(m["source_file"]).name for m in csv.DictReader(f)] == ["kept.ogg"]

    with open_project(db) as project:
        with project.session() as s:
            (clip,) = clip_store.clips_for_path(s, str(take))
            (good,) = clip_store.clips_for_path(s, str(kept))
        loaded = load_clip(project, clip.id, FeatureSpec())
        assert loaded.opened is None and loaded.source_changed
        assert loaded.error.startswith(f"{take}: changed since it was imported")
        assert load_clip(project, good.id, FeatureSpec()).error is None


def test_a_replaced_clip_takes_no_new_label(tmp_path):
    folder, db = tmp_path / "a", tmp_path / "p.vsproj"
    take = speech(folder / "take1.ogg", seed=1)
    voicestudio("import", folder, db=db)
    (old,) = clips_json(db)
    bark(take)
    voicestudio("import", folder, db=db)
    done = voicestudio("label", old["id"], "human", db=db, check_exit=1)
    assert "replaced by other audio" in done.stderr and len(done.stderr.splitlines()) == 1


# 17. Cut-off files and link loops -------------------------------------------------------------

def test_a_wav_cut_short_imports_and_says_so(tmp_path):
    folder, db = tmp_path / "in", tmp_path / "p.vsproj"
    folder.mkdir()
    voice = audiofiles.speechlike(hostile.SR, 2.0, seed=4)
    wav = hostile.wav_header(len(voice)) + hostile.pcm16(voice)
    (folder / "cut.wav").write_bytes(wav[:60])  # 8 frames of the 32,000 the header promises
    (folder / "whole.wav").write_bytes(wav)
    streaming = hostile.wav_header(0, data_bytes=0xFFFFFFFF, riff_bytes=0xFFFFFFFF) + hostile.pcm16(voice[:490])
    (folder / "streaming.wav").write_bytes(streaming)  # a placeholder size claims nothing
    done = voicestudio("import", folder, db=db)  # exit 0: imported; the warning is no failure
    warnings = [line for line in done.stdout.splitlines() if line.startswith("warning: ")]
    assert warnings == [f"warning: {folder / 'cut.wav'}: truncated: header says 2 s, file holds 0.0005 s"]
    assert done.stderr == ""
    report = json.loads(voicestudio("--json", "import", folder / "cut.wav", db=tmp_path / "q.vsproj").stdout)
    assert report["warnings"] == [{"path": str(folder / "cut.wav"),
                                   "reason": "truncated: header says 2 s, file holds 0.0005 s"}]
    assert report["files_added"] == 1


def test_a_symlink_loop_is_named(tmp_path):
    folder, db = tmp_path / "in", tmp_path / "p.vsproj"
    audiofiles.write(folder / "sub" / "voice.wav", audiofiles.speechlike(SR, 0.5), SR)
    os.symlink("..", folder / "sub" / "back")
    done = voicestudio("import", folder, db=db)
    assert done.stdout.startswith("1 files added")
    assert f"warning: {folder / 'sub' / 'back'}: symbolic link loop: leads back to {folder}" in done.stdout


def test_links_to_nothing_are_named_as_skipped_links_not_failures(tmp_path):
    """A link round to itself, or to nowhere, holds nothing to read: named, and the import exits 0 like
    a folder loop. A dead link named like audio is missing audio: that one is a failure."""
    folder, db = tmp_path / "in", tmp_path / "p.vsproj"
    audiofiles.write(folder / "voice.wav", audiofiles.speechlike(SR, 0.5), SR)
    os.symlink("self", folder / "self")
    os.symlink(tmp_path / "nonexistent" / "notes", folder / "notes")
    done = voicestudio("import", folder, db=db)  # exit 0: nothing failed
    assert done.stdout.startswith("1 files added (1 clips), 0 unchanged, 0 relinked, 0 duplicates, 0 not audio, "
                                  "0 failed, 2 links skipped"), done.stdout
    assert f"skipped link: {folder / 'notes'}: broken symbolic link" in done.stdout
    assert f"skipped link: {folder / 'self'}: symbolic link loop (the link points back to itself)" in done.stdout
    assert done.stderr == ""
    report = json.loads(voicestudio("--json", "import", folder, db=db).stdout)
    assert report["failures"] == [] and sorted(p["path"] for p in report["skipped_links"]) == [
        str(folder / "notes"), str(folder / "self")]

    os.symlink(tmp_path / "nonexistent" / "take.wav", folder / "take.wav")  # audio was promised: missing
    done = voicestudio("import", folder, db=db, check_exit=1)
    assert f"voicestudio: {folder / 'take.wav'}: broken symbolic link" in done.stderr, done.stderr


# The audit: other ways a process with the project open could have opened its files --------------

def test_labels_import_refuses_the_open_project_without_reading_it(tmp_path):
    folder, db = tmp_path / "a", tmp_path / "p.vsproj"
    speech(folder / "take1.ogg", seed=1)
    voicestudio("import", folder, db=db)
    before = integrity(db)
    for target in (db, Path(f"{db}-wal")):
        done = voicestudio("labels", "import", target, "--format", "csv", db=db, check_exit=1)
        assert done.stderr.splitlines() == [
            f"voicestudio: error: {target}: is the open project or one of its files, not a label file"]
    assert before == integrity(db) == "ok"


def test_the_window_refuses_the_open_project_as_its_model(tmp_path):
    from voicestudio.dataset import workspace
    from voicestudio.errors import VoiceStudioError

    db = tmp_path / "p.vsproj"
    with open_project(db) as project:
        with project.session() as s:
            clip_store.count_clips(s)
        with pytest.raises(VoiceStudioError, match="is the open project or one of its files, not a model"):
            workspace.load_model(project, f"{db}-wal", fallback=False)
        assert Path(f"{db}-wal").exists()


def test_labels_by_path_for_a_rerecorded_file_are_refused_until_it_is_imported_again(tmp_path):
    """The annotator heard the new take; the project still holds the old one under that path."""
    folder = tmp_path / "a"
    folder.mkdir()
    take = audiofiles.write(folder / "take1.wav", audiofiles.speechlike(16000, 1.5, seed=3), 16000)
    other = audiofiles.write(folder / "other.wav", audiofiles.tone(16000, 1.0), 16000)
    db = tmp_path / "p.vsproj"
    voicestudio("import", folder, db=db)
    audiofiles.write(take, audiofiles.noise(16000, 2.0, seed=9), 16000)  # re-recorded, not re-imported
    sheet = tmp_path / "labels.csv"
    sheet.write_text(f"path,label,annotator\n{take},nonhuman,ann\n{other},nonhuman,ann\n", encoding="utf-8")

    run = voicestudio("labels", "import", sheet, db=db, check_exit=1)
    assert "take1.wav" in run.stderr and "changed since it was imported" in run.stderr
    assert "1 labels written" in run.stdout  # the other row is taken
    with sqlite3.connect(db) as conn:
        labelled = conn.execute("SELECT f.path FROM label_events e JOIN clips c ON c.id = e.clip_id "
                                "JOIN audio_files f ON f.id = c.file_id").fetchall()
    assert labelled == [(str(other),)]

    run = voicestudio("label", take, "nonhuman", "--annotator", "ann", db=db, check_exit=1)
    assert "changed since it was imported" in run.stderr

    voicestudio("import", folder, db=db)  # the new take gets its own clip
    voicestudio("label", take, "nonhuman", "--annotator", "ann", db=db)
    voicestudio("labels", "import", sheet, db=db)


def test_score_refuses_a_clip_whose_audio_changed_and_scores_the_rest(tmp_path, tiny_model):
    """Speech labelled human is moved away and a bark copied to its path: ``score`` must not store the
    bark's score on the speech clip. The changed (and a missing) clip are reported, the rest scored, exit 1."""
    folder, db = tmp_path / "a", tmp_path / "p.vsproj"
    take = speech(folder / "take1.ogg", seed=1)
    kept = speech(folder / "kept.ogg", seed=2)
    gone = speech(folder / "gone.ogg", seed=3)
    voicestudio("import", folder, db=db)
    voicestudio("label", take, "human", "--annotator", "ann", db=db)
    os.rename(take, tmp_path / "take1-moved.ogg")
    shutil.copyfile(bark(tmp_path / "bark.ogg"), take)
    gone.unlink()

    done = voicestudio("score", "--model", tiny_model, db=db, check_exit=1)
    assert f"voicestudio: {take}: changed since it was imported" in done.stderr, done.stderr
    assert f"voicestudio: {gone}: no such file" in done.stderr, done.stderr
    assert done.stdout.startswith("1 clips scored with ") and "2 failed" in done.stdout
    with open_project(db) as project, project.session() as s:
        paths = {c.id: Path(c.path).name for c in clip_store.list_clips(s)}
    with sqlite3.connect(db) as conn:
        scored = {paths[clip_id] for (clip_id,) in conn.execute("SELECT clip_id FROM predictions")}
    assert scored == {"kept.ogg"}

    # The window's background scoring runs the same core function: the same refusal.
    from voicestudio.dataset.scoring import score_project
    from voicestudio.model.detector import Detector

    with open_project(db) as project:
        report = score_project(project, Detector(tiny_model), workers=1)
    assert report.scored == 0 and sorted(Path(f.path).name for f in report.failures) == ["gone.ogg", "take1.ogg"]


def test_label_by_id_refuses_a_clip_whose_audio_changed(tmp_path):
    """By path the label was already refused; by id it must be too (the same clip, the same audio)."""
    folder, db = tmp_path / "a", tmp_path / "p.vsproj"
    take = speech(folder / "take1.ogg", seed=1)
    voicestudio("import", folder, db=db)
    (row,) = clips_json(db)
    bark(take)  # re-recorded behind the project's back, not imported again
    done = voicestudio("label", row["id"], "human", "--annotator", "ann", db=db, check_exit=1)
    assert "changed since it was imported" in done.stderr and len(done.stderr.splitlines()) == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM label_events").fetchone() == (0,)
