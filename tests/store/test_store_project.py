"""Opening projects: creation, migration, refusals, locations, locking."""

import os
import re
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from voicestudio.errors import ProjectError
from voicestudio.store import labels
from voicestudio.store.migrate import APPLICATION_ID, KNOWN_REVISIONS, SCHEMA_REVISION, migrations_dir
from voicestudio.store.project import default_project_path, open_project, resolve_project_target


def test_new_project_is_migrated_with_wal_foreign_keys_and_full_sync(tmp_path):
    path = tmp_path / "new" / "folder" / "p.vsproj"  # parent folders are created
    with open_project(path) as project:
        with project.session() as s:
            assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
            assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert s.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert s.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
            assert s.execute(text("PRAGMA application_id")).scalar() == APPLICATION_ID
        assert project.url == f"sqlite:///{path}"
    with sqlite3.connect(path) as conn:  # WAL is stored in the file itself
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_foreign_keys_are_enforced(project):
    from sqlalchemy.exc import IntegrityError

    from voicestudio.store.schema import Clip

    with pytest.raises(IntegrityError), project.write() as s:
        s.add(Clip(file_id=12345, start_s=0.0, end_s=1.0))
        s.flush()


def test_schema_revision_is_alembics_head_and_history():
    from alembic.script import ScriptDirectory

    from voicestudio.store.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_current_head() == SCHEMA_REVISION
    assert tuple(r.revision for r in reversed(list(script.walk_revisions()))) == KNOWN_REVISIONS
    assert script.get_revision("0002_project_marker").module.APPLICATION_ID == APPLICATION_ID
    assert (migrations_dir() / "env.py").is_file()


def test_migrated_schema_matches_the_models(project):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from voicestudio.store.schema import Base

    with project.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_reopening_at_head_does_not_use_alembic(tmp_path, monkeypatch, make_clips):
    path = tmp_path / "p.vsproj"
    with open_project(path) as project:
        make_clips(project, 1)
    for name in [m for m in sys.modules if m == "alembic" or m.startswith("alembic.")] + ["alembic"]:
        monkeypatch.setitem(sys.modules, name, None)  # any import of alembic now fails
    with open_project(path) as project, project.session() as s:
        assert s.execute(text("SELECT count(*) FROM clips")).scalar() == 1


def test_project_at_first_revision_is_upgraded_keeping_its_data(tmp_path):
    from sqlalchemy import create_engine

    from voicestudio.store.migrate import run_migrations

    path = tmp_path / "old.vsproj"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        run_migrations(conn, KNOWN_REVISIONS[0])
        conn.execute(text(
            "INSERT INTO audio_files (path, sha256, size_bytes, mtime, format, sample_rate, channels, frames,"
            " duration_s, imported_at) VALUES ('/a.wav', :sha, 1, 1.0, 'WAV', 16000, 1, 16000, 1.0, '2026-01-01')"
        ), {"sha": "0" * 64})
    engine.dispose()
    with open_project(path) as project, project.session() as s:
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
        assert s.execute(text("SELECT path FROM audio_files")).scalar() == "/a.wav"
        assert s.execute(text("PRAGMA application_id")).scalar() == APPLICATION_ID


@pytest.mark.parametrize(
    "content",
    [b"random bytes \x00\xff" * 50, b"SQLite format 3\x00" + b"\xff" * 200, b"path,label\n/a.wav,human\n"],
    ids=["random", "sqlite-header-then-garbage", "text"],
)
def test_files_that_are_not_databases_are_refused_and_untouched(tmp_path, content):
    path = tmp_path / "thing.vsproj"
    path.write_bytes(content)
    with pytest.raises(ProjectError) as exc:
        open_project(path)
    message = str(exc.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thing.vsproj"]  # no -wal / -shm left behind


def _make_db(path, *statements):
    conn = sqlite3.connect(path)
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()
    return path.read_bytes()


def test_other_applications_databases_are_refused_and_untouched(tmp_path):
    foreign = tmp_path / "songs.db"
    before = _make_db(foreign, "CREATE TABLE songs (id INTEGER)")
    with pytest.raises(ProjectError, match=r"songs\.db: not a VoiceStudio project \(it has other tables: songs\)"):
        open_project(foreign)
    assert foreign.read_bytes() == before

    other_alembic = tmp_path / "other.db"
    before = _make_db(other_alembic, "CREATE TABLE alembic_version (version_num VARCHAR(32))",
                      "INSERT INTO alembic_version VALUES ('ae1027a6acf')")
    with pytest.raises(ProjectError, match="not a VoiceStudio project"):
        open_project(other_alembic)
    assert other_alembic.read_bytes() == before


def test_project_from_a_newer_voicestudio_is_refused_and_untouched(tmp_path):
    path = tmp_path / "newer.vsproj"
    open_project(path).close()
    before = _make_db(path, "UPDATE alembic_version SET version_num = '0099_future'")
    with pytest.raises(ProjectError) as exc:
        open_project(path)
    assert str(exc.value) == (
        f"{path}: written by a newer VoiceStudio (schema 0099_future); upgrade VoiceStudio to open it"
    )
    assert path.read_bytes() == before


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(ProjectError, match="is a folder"):
        open_project(tmp_path)


def test_env_and_default_locations(monkeypatch, tmp_path):
    assert resolve_project_target("x.vsproj") == "x.vsproj"
    monkeypatch.setenv("VOICESTUDIO_DB", str(tmp_path / "env.vsproj"))
    assert resolve_project_target(None) == str(tmp_path / "env.vsproj")
    assert resolve_project_target("cli.vsproj") == "cli.vsproj"  # --db wins over the environment
    open_project().close()
    assert (tmp_path / "env.vsproj").exists()
    monkeypatch.delenv("VOICESTUDIO_DB")
    default = default_project_path()
    assert default.name == "default.vsproj"
    assert str(default).startswith(os.environ["XDG_DATA_HOME"])  # isolated by tests/conftest.py
    assert resolve_project_target(None) == str(default)
    open_project(None).close()
    assert default.exists()


def test_sqlite_urls_are_accepted(tmp_path):
    with open_project(f"sqlite:///{tmp_path / 'url.vsproj'}") as p:
        assert p.is_sqlite
    assert (tmp_path / "url.vsproj").exists()
    with open_project("sqlite://") as memory, memory.session() as s:  # in memory, for tests
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION


def test_a_url_of_a_known_database_without_its_driver_is_a_project_error():
    with pytest.raises(ProjectError, match=r"^mysql\+nosuchdriver://host/db: cannot use this database URL"):
        open_project("mysql+nosuchdriver://host/db")


@pytest.mark.parametrize("target", ["my://project.vsproj", "foo://bar", "my dir://p.vsproj", "x://h:port/db"])
def test_a_path_with_an_unknown_scheme_is_a_file(tmp_path, monkeypatch, target):
    """``://`` is legal in a path: only a scheme SQLAlchemy knows makes a URL (issue 14, item 16)."""
    monkeypatch.chdir(tmp_path)
    with open_project(target) as project:
        assert project.is_sqlite and project.label == str(tmp_path / Path(target))
    assert (tmp_path / Path(target)).is_file()


def test_session_rolls_back_on_error(project, make_clips):
    (clip,) = make_clips(project, 1)
    with pytest.raises(RuntimeError), project.write() as s:
        labels.add_label(s, clip, "ann", "human")
        raise RuntimeError("boom")
    with project.session() as s:
        assert labels.count_events(s) == 0


def _hold_write_lock(path, seconds, locked):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    locked.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def test_write_waits_and_retries_for_another_writer(tmp_path, make_clips):
    path = tmp_path / "p.vsproj"
    with open_project(path, busy_timeout_s=0.1) as project:
        (clip,) = make_clips(project, 1)
        locked = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(path, 0.4, locked))
        holder.start()
        locked.wait()
        started = time.monotonic()
        with project.write() as s:  # busy timeout (0.1 s) runs out; the retries outlast the lock
            labels.add_label(s, clip, "ann", "human")
        assert time.monotonic() - started >= 0.3
        holder.join()
        with project.session() as s:
            assert labels.count_events(s) == 1


def test_write_lock_held_too_long_is_a_project_error(tmp_path):
    path = tmp_path / "p.vsproj"
    with open_project(path, busy_timeout_s=0.02) as project:
        locked = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(path, 0.7, locked))
        holder.start()
        locked.wait()
        try:
            with pytest.raises(ProjectError, match="locked"), project.write():
                pass
        finally:
            holder.join()


@pytest.mark.parametrize("statements, reason", [
    (["PRAGMA application_id = 0x47504B47"], r"a GeoPackage database: application_id 0x47504b47"),
    (["PRAGMA application_id = 0x12345678"], r"another application's database: application_id 0x12345678"),
    (["PRAGMA user_version = 7"], r"another application's database: user_version 7"),
    (["CREATE VIEW answers AS SELECT 42 AS answer"], r"it holds view answers"),
    (["PRAGMA journal_mode = WAL", "CREATE VIEW v AS SELECT 1"], r"it holds view v"),
], ids=["geopackage", "unknown-application-id", "user-version", "only-a-view", "wal-view"])
def test_empty_databases_of_other_applications_are_refused_byte_identical(tmp_path, statements, reason):
    """No table, yet someone else's (issue 14, item 14): refused through the real CLI, not one byte changed."""
    import subprocess

    path = tmp_path / "theirs.gpkg"
    before = _make_db(path, *statements)
    side_files = sorted(p.name for p in tmp_path.iterdir())
    done = subprocess.run([sys.executable, "-m", "voicestudio", "--db", str(path), "clips"],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith(f"voicestudio: error: {path}: not a VoiceStudio project (")
    assert re.search(reason, done.stderr), done.stderr
    assert done.stderr.count("\n") == 1
    assert path.read_bytes() == before
    # A WAL database read by anyone gets its -wal and -shm back (SQLite's; the -wal stays empty).
    assert {p.name for p in tmp_path.iterdir()} - set(side_files) <= {"theirs.gpkg-wal", "theirs.gpkg-shm"}
    assert not (tmp_path / "theirs.gpkg-wal").exists() or (tmp_path / "theirs.gpkg-wal").stat().st_size == 0
    with pytest.raises(ProjectError, match="not a VoiceStudio project"):
        open_project(path)
    assert path.read_bytes() == before


def test_an_empty_sqlite_file_with_nothing_in_it_becomes_a_project(tmp_path):
    path = tmp_path / "blank.vsproj"
    _make_db(path, "PRAGMA page_size = 4096", "VACUUM")
    with open_project(path) as project, project.session() as s:
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
