"""Projects written by every released schema version open, upgrade and lose nothing.

Each ``tests/fixtures/projects/schema-<revision>.vsproj`` is a small complete
project at that revision, with ``schema-<revision>.expected.json`` listing what
it holds; both are made by ``make_fixtures.py`` there (see its README). Adding
a schema revision means committing a fixture of the one before it: a test
below fails until there is one.
"""

import json
import shutil
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from voicestudio.store import devices, labels, models, predictions
from voicestudio.store.migrate import APPLICATION_ID, KNOWN_REVISIONS, SCHEMA_REVISION
from voicestudio.store.project import open_project
from voicestudio.store.schema import LabelEvent
from voicestudio.store.sqlite import inspect_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"
FIXTURE_REVISIONS = sorted(p.name[len("schema-"):-len(".vsproj")] for p in FIXTURES.glob("schema-*.vsproj"))
MAX_BYTES = 200_000


def _manifest(revision):
    return json.loads((FIXTURES / f"schema-{revision}.expected.json").read_text(encoding="utf-8"))


def _utc(stored: str) -> datetime:
    return datetime.fromisoformat(stored).replace(tzinfo=timezone.utc)


def _rows(connection, table, columns):
    """The table's rows as stored (driver values, blobs in hex), like make_fixtures.dump."""
    cursor = connection.exec_driver_sql(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")
    return [{c: ({"hex": v.hex()} if isinstance(v, bytes) else v) for c, v in zip(columns, row)} for row in cursor]


def _triggers(connection):
    return {row[0] for row in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}


def test_every_released_schema_has_a_fixture():
    """A new revision in KNOWN_REVISIONS needs a fixture of the schema it replaces (and of every older one)."""
    missing = [r for r in KNOWN_REVISIONS[:-1]
               if not (FIXTURES / f"schema-{r}.vsproj").is_file()
               or not (FIXTURES / f"schema-{r}.expected.json").is_file()]
    assert not missing, (
        f"no upgrade fixture for schema {', '.join(missing)}: projects written by it must keep opening. "
        f"Run python tests/fixtures/projects/make_fixtures.py {' '.join(missing)} and commit what it writes "
        "(see tests/fixtures/projects/README.md)"
    )


def _copy(revision, folder, journal_mode="delete"):
    """A copy of the fixture to open (never the fixture itself: opening a project changes it)."""
    path = folder / "old.vsproj"
    shutil.copyfile(FIXTURES / f"schema-{revision}.vsproj", path)
    if journal_mode != "delete":
        conn = sqlite3.connect(path)
        try:
            assert conn.execute(f"PRAGMA journal_mode = {journal_mode}").fetchone()[0] == journal_mode
        finally:
            conn.close()
    return path


@pytest.mark.parametrize("revision", FIXTURE_REVISIONS)
def test_fixture_is_a_small_complete_project_at_its_revision(revision, tmp_path):
    assert revision in KNOWN_REVISIONS
    assert (FIXTURES / f"schema-{revision}.vsproj").stat().st_size < MAX_BYTES
    assert inspect_file(_copy(revision, tmp_path)).revision == revision
    manifest = _manifest(revision)
    assert manifest["revision"] == revision
    empty = [table for table, content in manifest["tables"].items() if content["count"] == 0]
    assert not empty, f"every table should hold rows in an upgrade fixture; empty: {empty}"


# Projects VoiceStudio has opened are in WAL mode; the fixtures are stored in rollback mode.
@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
@pytest.mark.parametrize("revision", FIXTURE_REVISIONS)
def test_fixture_upgrades_to_the_current_schema_without_loss(revision, journal_mode, tmp_path):
    path = _copy(revision, tmp_path, journal_mode)
    manifest = _manifest(revision)
    with open_project(path) as project, project.session() as s:
        conn = s.connection()
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == SCHEMA_REVISION
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.exec_driver_sql("PRAGMA application_id").scalar() == APPLICATION_ID

        # Every row of every table, exactly as it was stored.
        for table, expected in manifest["tables"].items():
            if table == "alembic_version":
                continue
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == expected["count"], table
            assert _rows(conn, table, list(expected["rows"][0])) == expected["rows"], table

        # Read back through the store as today's code reads it.
        annotators = {row["annotator"] for row in manifest["tables"]["label_events"]["rows"]}
        current = {a: {str(c): label.value for c, label in labels.current_labels(s, a).items()} for a in annotators}
        assert {a: v for a, v in current.items() if v} == manifest["current_labels"]
        for clip_id, event_ids in manifest["history"].items():
            assert [e.id for e in labels.label_history(s, int(clip_id))] == event_ids
        for row in manifest["tables"]["label_events"]["rows"]:
            event = s.get(LabelEvent, row["id"])
            assert (event.value, event.note, event.undoes_id) == (row["value"], row["note"], row["undoes_id"])
            assert event.created_at == _utc(row["created_at"]) and event.created_at.tzinfo is not None

        (model_row,) = manifest["tables"]["models"]["rows"]
        model = models.find_model(s, model_row["sha256"])
        assert models.model_card(model) == json.loads(model_row["card_json"])
        for row in manifest["tables"]["predictions"]["rows"]:
            stored = predictions.get_prediction(s, row["clip_id"], model.id)
            assert stored.clip_score == row["clip_score"]
            for name, array in (("window_starts", stored.window_starts_s), ("window_probs", stored.window_probs)):
                expected = np.frombuffer(bytes.fromhex(row[name]["hex"]), dtype="<f4")
                assert np.array_equal(array, expected, equal_nan=True)  # NaN: a silent window
        (device_row,) = manifest["tables"]["devices"]["rows"]
        device = devices.get_device(s, device_row["name"])
        runs = devices.list_benchmark_runs(s, device.id)
        by_id = {row["id"]: row for row in manifest["tables"]["benchmark_runs"]["rows"]}
        assert sorted(run.id for run in runs) == sorted(by_id)
        for run in runs:
            assert (run.raw_log, run.status, run.error) == (by_id[run.id]["raw_log"], by_id[run.id]["status"],
                                                            by_id[run.id]["error"])
            assert run.started_at == _utc(by_id[run.id]["started_at"])


@pytest.mark.parametrize("revision", FIXTURE_REVISIONS)
def test_upgraded_fixture_is_append_only_and_matches_the_models(revision, tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from voicestudio.store.migrate import alembic_config
    from voicestudio.store.schema import Base

    path = _copy(revision, tmp_path, "wal")
    marker = ScriptDirectory.from_config(alembic_config()).get_revision("0002_project_marker").module
    with open_project(path) as project:
        with project.engine.connect() as conn:
            assert set(marker.TRIGGERS) <= _triggers(conn)
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        with pytest.raises(Exception, match="append-only"), project.write() as s:
            s.execute(text("UPDATE label_events SET value = 'human' WHERE id = 2"))
        with pytest.raises(Exception, match="append-only"), project.write() as s:
            s.execute(text("DELETE FROM label_events WHERE id = 1"))
        with project.write() as s:  # the upgraded project takes new labels after the old ones
            event = labels.add_label(s, 1, "carol", "human", "après la mise à jour")
            assert event.id == _manifest(revision)["tables"]["label_events"]["count"] + 1


@pytest.mark.parametrize("revision", FIXTURE_REVISIONS)
def test_opening_an_upgraded_fixture_again_changes_nothing(revision, tmp_path, monkeypatch):
    path = _copy(revision, tmp_path, "wal")
    wal = Path(f"{path}-wal")
    with open_project(path) as project, project.session() as s:
        labels.count_events(s)
    upgraded = path.read_bytes()
    assert not wal.exists() or wal.stat().st_size == 0  # everything is in the file itself
    for name in [m for m in sys.modules if m == "alembic" or m.startswith("alembic.")] + ["alembic"]:
        monkeypatch.setitem(sys.modules, name, None)  # a second migration would import alembic and fail
    with open_project(path) as project, project.session() as s:
        assert labels.count_events(s) == _manifest(revision)["tables"]["label_events"]["count"]
    assert path.read_bytes() == upgraded
    assert not wal.exists() or wal.stat().st_size == 0
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_REVISION
    finally:
        conn.close()


@pytest.mark.parametrize("revision", FIXTURE_REVISIONS)
def test_upgraded_files_are_current_and_a_changed_one_is_kept_as_history(revision, tmp_path):
    """0004 lets other content take a file's path while the old recording keeps its clips and labels."""
    from voicestudio.store import clips as clip_store
    from voicestudio.store.schema import AudioFile

    path = _copy(revision, tmp_path, "wal")
    tables = _manifest(revision)["tables"]
    clips_of = {}
    for row in tables["clips"]["rows"]:
        clips_of.setdefault(row["file_id"], []).append(row["id"])
    replaced = {row["id"] for row in tables["audio_files"]["rows"] if row.get("replaced_at")}  # from 0004's fixture on
    current_clips = sorted(r["id"] for r in tables["clips"]["rows"] if r["file_id"] not in replaced)
    with open_project(path) as project:
        with project.session() as s:
            assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # on again after the upgrade
            assert s.query(AudioFile).filter(AudioFile.replaced_at.is_not(None)).count() == len(replaced)
            assert sorted(c.id for c in clip_store.list_clips(s)) == current_clips
            histories = {c: [e.id for e in labels.label_history(s, c)] for ids in clips_of.values() for c in ids}
        first = tables["audio_files"]["rows"][0]
        with project.write() as s:
            clip_store.replace_file(s, first["id"])
            new = clip_store.add_or_update_file(
                s, path=first["path"], sha256="e" * 64, size_bytes=10, mtime=2.0, format="WAV", subtype="PCM_16",
                sample_rate=16000, channels=1, frames=160, duration_s=0.01, source_group="field",
                imported_at=datetime.now(timezone.utc))
        with project.session() as s:
            assert new.id not in (row["id"] for row in tables["audio_files"]["rows"])
            current = sorted(c.id for c in clip_store.list_clips(s))
            assert current == [c for c in current_clips if c not in clips_of[first["id"]]]
            assert {c: [e.id for e in labels.label_history(s, c)] for c in histories} == histories  # nothing lost
            assert s.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
