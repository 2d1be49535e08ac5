"""The project store on real SQLite files."""

import multiprocessing
import os
import sqlite3

import numpy as np
import pytest
from sqlalchemy import text

from voicestudio.errors import ProjectError
from voicestudio.store import clips, labels, predictions, stats
from voicestudio.store.project import KNOWN_REVISIONS, SCHEMA_REVISION, migrations_dir, open_project


def add_clips(project, n=3, path_prefix="/audio/f"):
    ids = []
    with project.write() as s:
        for i in range(n):
            f = clips.add_or_update_file(
                s, path=f"{path_prefix}{i}.wav", sha256=f"{i:064d}", size_bytes=100, mtime=1.0, format="WAV",
                subtype="PCM_16", sample_rate=16000, channels=1, frames=16000, duration_s=1.0, source_group="g",
            )
            ids.append(clips.add_clip(s, f.id, 0.0, 1.0)[0].id)
    return ids


@pytest.fixture
def project(tmp_path):
    p = open_project(tmp_path / "p.vsproj")
    yield p
    p.close()


def test_new_project_is_migrated_with_wal_and_foreign_keys(project, tmp_path):
    with project.session() as s:
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert s.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_schema_revision_is_alembics_head_and_history():
    from alembic.script import ScriptDirectory

    from voicestudio.store.project import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_current_head() == SCHEMA_REVISION
    assert tuple(r.revision for r in reversed(list(script.walk_revisions()))) == KNOWN_REVISIONS
    assert migrations_dir().is_dir()


def test_migrated_schema_matches_the_models(project):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from voicestudio.store.schema import Base

    with project.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_reopening_at_head_does_not_import_alembic(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "p.vsproj"
    open_project(path).close()
    code = (
        "import sys\nfrom voicestudio.store.project import open_project\n"
        f"open_project({str(path)!r}).close()\nprint('alembic' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_clips_are_idempotent(project):
    first = add_clips(project)
    assert add_clips(project) == first
    with project.session() as s:
        assert clips.count_clips(s) == 3
        assert [c.path for c in clips.clips_for_path(s, "/audio/f1.wav")] == ["/audio/f1.wav"]


def test_labels_are_append_only_with_undo(project):
    clip, other = add_clips(project, 2)
    with project.write() as s:
        labels.add_label(s, clip, "ann", "human")
        labels.add_label(s, clip, "ann", "nonhuman")
        labels.add_label(s, clip, "bob", "unsure")
        labels.add_label(s, other, "ann", "human")
    with project.session() as s:
        assert labels.current_labels(s, "ann")[clip].value == "nonhuman"
        assert labels.current_labels(s)[clip].value == "unsure"  # latest across annotators: bob's
    with project.write() as s:
        undo = labels.undo_label(s, clip, "ann")
        assert undo.value == "human" and undo.undoes_id is not None
    with project.session() as s:
        assert labels.current_labels(s, "ann")[clip].value == "human"
    with project.write() as s:
        assert labels.undo_label(s, clip, "ann").value is None  # back before the first label
        assert labels.undo_label(s, clip, "ann") is None  # nothing left to undo
    with project.session() as s:
        assert clip not in labels.current_labels(s, "ann")
        history = labels.history(s, clip, "ann")
        assert [e.value for e in history] == ["human", "nonhuman", "human", None]  # nothing overwritten
        assert labels.labels_by_annotator(s) == {clip: {"bob": "unsure"}, other: {"ann": "human"}}
    with project.write() as s, pytest.raises(ValueError, match="label must be one of"):
        labels.add_label(s, clip, "ann", "maybe")


def test_database_refuses_label_values_outside_the_set(project, tmp_path):
    (clip,) = add_clips(project, 1)
    conn = sqlite3.connect(tmp_path / "p.vsproj")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO label_events (clip_id, annotator, value, created_at) VALUES (?, 'x', 'cat', '2026-01-01')", (clip,))
    conn.close()


def test_predictions_round_trip_with_nan_and_confusion(project):
    ids = add_clips(project, 4)
    with project.write() as s:
        model = predictions.register_model(s, "a" * 64, "/m.tflite", {"name": "m", "version": "1"})
        assert predictions.register_model(s, "a" * 64, "/moved/m.tflite", {"name": "m"}).id == model.id
        for clip_id, score in zip(ids, (0.9, 0.2, 0.7, 0.1)):
            predictions.save_prediction(s, clip_id, model.id, score, 0.5, [0.0, 0.5], [score, np.nan])
        predictions.save_prediction(s, ids[0], model.id, 0.95, 0.5, [0.0], [0.95])  # replaces
        for clip_id, value in zip(ids, ("human", "human", "nonhuman", "unsure")):
            labels.add_label(s, clip_id, "ann", value)
    with project.session() as s:
        stored = predictions.get_prediction(s, ids[1], model.id)
        assert stored.clip_score == pytest.approx(0.2)
        assert stored.window_starts_s.tolist() == [0.0, 0.5] and np.isnan(stored.window_probs[1])
        assert predictions.get_prediction(s, ids[0], model.id).window_probs.tolist() == pytest.approx([0.95])
        assert predictions.clips_to_score(s, model.id) == []
        assert len(predictions.clips_to_score(s, model.id, rescore=True)) == 4
        c = stats.confusion(s, model.id, 0.5)
        assert (c.tp, c.fn, c.fp, c.tn, c.n_unscored) == (1, 1, 1, 0, 0)
        st = stats.label_stats(s)
        assert st.clips_total == 4 and st.clips_labelled == 4
        assert st.by_label == {"human": 2, "nonhuman": 1, "unsure": 1}


@pytest.mark.parametrize("content", [b"random bytes " * 50, b"SQLite format 3\x00" + b"\xff" * 200, b"id,label\n1,human\n"])
def test_non_projects_are_refused_and_untouched(tmp_path, content):
    path = tmp_path / "thing.vsproj"
    path.write_bytes(content)
    with pytest.raises(ProjectError) as exc:
        open_project(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)
    assert path.read_bytes() == content


def test_foreign_database_and_newer_schema_are_refused(tmp_path):
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE songs (id INTEGER)")
    before = foreign.read_bytes()
    with pytest.raises(ProjectError, match="not a VoiceStudio project"):
        open_project(foreign)
    assert foreign.read_bytes() == before

    newer = tmp_path / "newer.vsproj"
    open_project(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(ProjectError, match="newer VoiceStudio"):
        open_project(newer)


def _label_many(path, annotator, clip_ids, rounds):
    project = open_project(path)
    for i in range(rounds):
        with project.write() as s:
            labels.add_label(s, clip_ids[i % len(clip_ids)], annotator, ("human", "nonhuman")[i % 2])
    project.close()


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "shared.vsproj"
    project = open_project(path)
    ids = add_clips(project, 5)
    project.close()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_label_many, args=(str(path), f"ann{i}", ids, 60)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0] * 4
    project = open_project(path)
    with project.session() as s:
        assert labels.count_events(s) == 240
        assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    project.close()


def test_env_and_default_locations(monkeypatch, tmp_path):
    from voicestudio.store.project import default_project_path, resolve_project_target

    assert resolve_project_target("x.vsproj") == "x.vsproj"
    monkeypatch.setenv("VOICESTUDIO_DB", str(tmp_path / "env.vsproj"))
    assert resolve_project_target(None) == str(tmp_path / "env.vsproj")
    monkeypatch.delenv("VOICESTUDIO_DB")
    default = default_project_path()
    assert str(default).startswith(os.environ["XDG_DATA_HOME"])  # isolated by conftest
    open_project(None).close()
    assert default.exists()


def test_sqlite_url_is_accepted(tmp_path):
    p = open_project(f"sqlite:///{tmp_path / 'url.vsproj'}")
    assert p.is_sqlite
    p.close()
    assert (tmp_path / "url.vsproj").exists()
