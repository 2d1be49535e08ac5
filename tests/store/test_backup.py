"""Backing up a project while annotators keep labelling, and every way a backup is refused."""

import multiprocessing
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest

from voicestudio.errors import ProjectError
from voicestudio.store import labels
from voicestudio.store.backup import backup_project
from voicestudio.store.migrate import APPLICATION_ID, SCHEMA_REVISION
from voicestudio.store.project import open_project
from voicestudio.store.sqlite import inspect_file

WRITERS = 3
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"
posix_only = pytest.mark.skipif(os.name == "nt", reason="needs fork, POSIX permissions and resource limits")
# fork is quick to start; spawn (Windows) re-imports everything in each child.
CTX = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


def _fill(path, clips=2000, events=30_000):
    """A project of a few MB (so that a backup takes a while): one long file, its clips, many labels."""
    with open_project(path) as project, project.write() as s:
        sql = s.connection().exec_driver_sql
        sql("INSERT INTO audio_files (path, sha256, size_bytes, mtime, format, sample_rate, channels, frames,"
            " duration_s, imported_at) VALUES ('/audio/long.wav', ?, 1, 1.0, 'WAV', 16000, 1, 1, 1.0,"
            " '2026-01-01 00:00:00.000000')", ("a" * 64,))
        sql("INSERT INTO clips (file_id, start_s, end_s, created_at) VALUES (1, ?, ?, '2026-01-01 00:00:00.000000')",
            [(float(i), i + 1.0) for i in range(clips)])
        sql("INSERT INTO label_events (clip_id, annotator, value, note, created_at)"
            " VALUES (?, ?, 'human', ?, '2026-01-01 00:00:00.000000')",
            [(1 + i % clips, f"earlier{i % 4}", f"note {i} – ça sonne humain") for i in range(events)])
    return list(range(1, clips + 1))


def _events(path):
    """Every label event (id order) in the project file, read without opening it as a project."""
    conn = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT id, clip_id, annotator, value, note, created_at FROM label_events"
                            " ORDER BY id").fetchall()
    finally:
        conn.close()


def _keep_labelling(path, annotator, clip_ids, acked, index, stop):
    """Label until told to stop; after each commit returns, publish the event id (acknowledged)."""
    project = open_project(path)
    n = 0
    while not stop.is_set():
        with project.write() as s:
            if n % 10 == 9:
                event = labels.undo_label(s, clip_ids[(n - 1) % len(clip_ids)], annotator)
            else:
                event = labels.add_label(s, clip_ids[n % len(clip_ids)], annotator, ("human", "nonhuman")[n % 2])
            event_id = event.id
        acked[index] = event_id
        n += 1
    project.close()


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _check_copy_is_a_current_project(copy, expected_events):
    """The copy opens as a project (upgraded if it is older) and is whole."""
    with open_project(copy) as project, project.session() as s:
        conn = s.connection()
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert labels.count_events(s) == expected_events
        triggers = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"label_events_no_update", "label_events_no_delete"} <= triggers
    state = inspect_file(copy)
    assert (state.revision, state.application_id) == (SCHEMA_REVISION, APPLICATION_ID)


@posix_only
def test_backup_while_annotators_label_has_every_committed_event(tmp_path):
    path = tmp_path / "live.vsproj"
    clip_ids = _fill(path)
    stop, acked = CTX.Event(), CTX.Array("q", WRITERS)
    writers = [CTX.Process(target=_keep_labelling, args=(str(path), f"ann{i}", clip_ids[:50], acked, i, stop))
               for i in range(WRITERS)]
    for w in writers:
        w.start()
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    backups = []
    try:
        _wait_for(lambda: min(acked) > 0)  # every writer is labelling
        for i in range(3):
            acked_before = list(acked)  # acknowledged to their writers before the backup starts
            committed_before = len(_events(path))
            report = backup_project(path, backup_dir / f"b{i}.vsproj")
            committed_after = len(_events(path))
            backups.append((report, acked_before, committed_before, committed_after))
        assert sorted(p.name for p in backup_dir.iterdir()) == ["b0.vsproj", "b1.vsproj", "b2.vsproj"]
        _wait_for(lambda: len(_events(path)) > committed_after)  # the writers carried on after the backups
    finally:
        stop.set()
        for w in writers:
            w.join(60)
    assert [w.exitcode for w in writers] == [0] * WRITERS  # no "database is locked" while backing up

    source = _events(path)
    assert sum(after - before for _, _, before, after in backups) > 0  # the backups did not stop the writers
    for report, acked_before, committed_before, committed_after in backups:
        copy = _events(report.path)
        # A consistent snapshot: exactly the first N events, and N covers every committed one.
        assert copy == source[:len(copy)]
        assert committed_before <= len(copy) <= committed_after
        assert max(acked_before) <= copy[-1][0]
        assert report.label_events == len(copy) and report.integrity == "ok"
        assert (report.clips, report.files, report.schema_revision) == (2000, 1, SCHEMA_REVISION)
        assert report.size_bytes == report.path.stat().st_size
        print(f"backup {report.path.name}: {report.size_bytes / 2**20:.1f} MiB in {report.duration_s * 1000:.0f} ms;"
              f" {committed_after - committed_before} events committed by the writers meanwhile;"
              f" copy has {len(copy)} events, {committed_before} committed before it started")
        _check_copy_is_a_current_project(report.path, len(copy))


def test_report_and_copy_of_an_idle_project(tmp_path, make_clips):
    path = tmp_path / "p.vsproj"
    with open_project(path) as project:
        ids = make_clips(project, 3)
        with project.write() as s:
            labels.add_label(s, ids[0], "ann", "human", "first")
            labels.add_label(s, ids[0], "ann", None)
    out = tmp_path / "copies" / "p-backup.vsproj"
    out.parent.mkdir()
    report = backup_project(f"sqlite:///{path}", out)  # a URL works as well as a path
    assert (report.path, report.label_events, report.clips, report.files) == (out, 2, 3, 3)
    assert report.integrity == "ok" and report.duration_s >= 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["p-backup.vsproj"]
    _check_copy_is_a_current_project(out, 2)


def test_backup_of_an_older_project_is_kept_at_its_schema(tmp_path):
    path = tmp_path / "old.vsproj"
    shutil.copyfile(FIXTURES / "schema-0001_initial.vsproj", path)
    report = backup_project(path, tmp_path / "old-backup.vsproj")
    assert (report.schema_revision, report.label_events, report.clips, report.files) == ("0001_initial", 15, 5, 3)
    assert inspect_file(path).revision == "0001_initial"  # the backup does not upgrade the project
    _check_copy_is_a_current_project(report.path, 15)  # opening the copy does


def test_existing_file_is_replaced_only_with_force(tmp_path, make_clips):
    path = tmp_path / "p.vsproj"
    with open_project(path) as project:
        (clip,) = make_clips(project, 1)
        out = backup_project(path, tmp_path / "b.vsproj").path
        before = out.read_bytes()
        with project.write() as s:
            labels.add_label(s, clip, "ann", "human")
        with pytest.raises(ProjectError) as exc:
            backup_project(path, out)
        assert str(exc.value) == f"{out}: already exists; replace it with --force"
        assert out.read_bytes() == before
        assert backup_project(path, out, force=True).label_events == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("b", ".b"))) == ["b.vsproj"]


def test_the_project_itself_is_refused_as_target(tmp_path, make_clips):
    path = tmp_path / "p.vsproj"
    with open_project(path) as project:
        make_clips(project, 1)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.vsproj").symlink_to(path)
    before = path.read_bytes()
    for out in (path, tmp_path / "sub" / ".." / "p.vsproj", tmp_path / "link.vsproj", f"{path}-wal"):
        with pytest.raises(ProjectError, match="is the project itself"):
            backup_project(path, out, force=True)
    assert path.read_bytes() == before


def test_unusable_targets_are_refused(tmp_path, make_clips):
    path = tmp_path / "p.vsproj"
    with open_project(path) as project:
        make_clips(project, 1)
    with pytest.raises(ProjectError, match="is a folder"):
        backup_project(path, tmp_path)
    with pytest.raises(ProjectError, match="no such folder"):
        backup_project(path, tmp_path / "not" / "mounted" / "b.vsproj")
    assert not (tmp_path / "not").exists()
    (tmp_path / "b.vsproj-wal").write_bytes(b"\x37\x7f\x06\x82" + bytes(28))  # left by a program using b.vsproj
    with pytest.raises(ProjectError, match="is open in another program"):
        backup_project(path, tmp_path / "b.vsproj", force=True)
    assert not (tmp_path / "b.vsproj").exists()


def test_sources_that_are_not_sqlite_projects_are_refused(tmp_path):
    out = tmp_path / "out" / "b.vsproj"
    out.parent.mkdir()
    random_file = tmp_path / "random.vsproj"
    random_file.write_bytes(b"not a database " * 20)
    foreign = tmp_path / "songs.db"
    empty = tmp_path / "empty.db"
    versioned = tmp_path / "versioned.db"
    for db, statement in ((foreign, "CREATE TABLE songs (id INTEGER)"), (empty, "VACUUM"),
                          (versioned, "PRAGMA user_version = 1")):
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute(statement)
        conn.close()
    cases = {
        tmp_path / "missing.vsproj": "no project there to back up",
        random_file: "not a VoiceStudio project (not an SQLite database)",
        foreign: "not a VoiceStudio project (it has other tables: songs)",
        empty: "not a VoiceStudio project (an empty database)",
        versioned: "not a VoiceStudio project (another application's database: user_version 1)",
        "sqlite://": "an in-memory project has no file to back up",
        "postgresql://ann:secret@db.example.org/labels": "back up PostgreSQL projects with pg_dump",
        "mysql://ann@db.example.org/labels": "SQLite project files only",
    }
    for source, message in cases.items():
        with pytest.raises(ProjectError) as exc:
            backup_project(source, out)
        assert message in str(exc.value) and "\n" not in str(exc.value)
        assert "secret" not in str(exc.value)
    assert list(out.parent.iterdir()) == []


def _backup_in_child(result, source, out, fsize_limit, drop_privileges):
    """backup_project in a child process: under a file size limit, or as an unprivileged user."""
    import resource
    import signal

    try:
        if fsize_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing us
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))
        if drop_privileges:
            os.setgroups([])
            os.setgid(65534)  # nobody
            os.setuid(65534)
        report = backup_project(source, out)
        result.put(("ok", report.size_bytes))
    except ProjectError as exc:
        result.put(("ProjectError", str(exc)))
    except BaseException as exc:  # anything else is a bug: report it to the test
        result.put((type(exc).__name__, repr(exc)))


def _run_child(source, out, *, fsize_limit=None, drop_privileges=False):
    result = CTX.SimpleQueue()
    child = CTX.Process(target=_backup_in_child, args=(result, str(source), str(out), fsize_limit, drop_privileges))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    return result.get()


def test_too_little_free_space_is_refused_before_writing(tmp_path, make_clips, monkeypatch):
    path = tmp_path / "p.vsproj"
    with open_project(path) as project:
        make_clips(project, 1)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage._replace(free=1000))
    with pytest.raises(ProjectError, match=r"not enough free space for the backup \(needs up to 0\.\d MiB, 0\.0 MiB"):
        backup_project(path, tmp_path / "b.vsproj")
    assert not (tmp_path / "b.vsproj").exists()


@posix_only
def test_full_disk_is_a_clear_error_and_leaves_nothing(tmp_path):
    path = tmp_path / "p.vsproj"
    _fill(path, clips=500, events=10_000)  # about 1.3 MB: the copy outgrows the limit
    out_dir = tmp_path / "small-disk"
    out_dir.mkdir()
    before = path.read_bytes()
    kind, message = _run_child(path, out_dir / "b.vsproj", fsize_limit=256 * 1024)
    assert kind == "ProjectError", message
    assert message.startswith(f"{out_dir / 'b.vsproj'}: ") and "\n" not in message
    # A full disk gives SQLite's "database or disk is full"; past RLIMIT_FSIZE a write fails with
    # EFBIG, which SQLite reports as a "disk I/O error".
    assert "disk" in message
    assert list(out_dir.iterdir()) == []
    assert path.read_bytes() == before
    # The same backup without the limit works.
    assert _run_child(path, out_dir / "b.vsproj")[0] == "ok"


@posix_only
def test_unwritable_folder_is_a_clear_error_and_leaves_nothing(tmp_path, make_clips):
    # root may write anywhere: as root, the child drops to "nobody", so all of it lives in a folder nobody can use.
    is_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="vs-backup-", dir="/tmp" if is_root else tmp_path))
    try:
        base.chmod(0o777)
        path = base / "p.vsproj"
        with open_project(path) as project:
            make_clips(project, 2)
        path.chmod(0o666)
        locked = base / "read-only"
        locked.mkdir()
        locked.chmod(0o555)
        kind, message = _run_child(path, locked / "b.vsproj", drop_privileges=is_root)
        assert (kind, message) == ("ProjectError", f"{locked}: cannot write the backup there (Permission denied)")
        assert list(locked.iterdir()) == []
    finally:
        shutil.rmtree(base)


def test_db_backup_command(tmp_path, capsys):
    import json

    from voicestudio.cli import main

    source, out = tmp_path / "p.vsproj", tmp_path / "copy.vsproj"
    open_project(source).close()
    assert main(["--db", str(source), "--json", "db", "backup", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["path"] == str(out) and report["integrity"] == "ok" and out.is_file()
    assert main(["--db", str(source), "db", "backup", str(out)]) == 1
    assert "replace it with --force" in capsys.readouterr().err
    assert main(["--db", str(source), "db", "backup", str(out), "--force"]) == 0


def _killed_mid_backup(out: str) -> None:
    """A backup process that dies with SIGKILL after starting its partial file (and SQLite its journal)."""
    import signal

    from voicestudio.staging import make_partial_file

    partial = make_partial_file(Path(out))
    partial.write_bytes(b"SQLite format 3\0" + b"\0" * 4080)
    Path(f"{partial}-journal").write_bytes(b"\0" * 512)
    os.kill(os.getpid(), signal.SIGKILL)


def test_the_next_backup_removes_what_a_killed_backup_left(tmp_path):
    import subprocess
    import sys

    source, out = tmp_path / "p.vsproj", tmp_path / "backups" / "copy.vsproj"
    out.parent.mkdir()
    open_project(source).close()
    child = CTX.Process(target=_killed_mid_backup, args=(str(out),))
    child.start()
    child.join(30)
    assert child.exitcode == -9
    left = sorted(p.name for p in out.parent.iterdir())
    assert len(left) == 2 and left[0].startswith(".copy.vsproj.partial-") and left[1].endswith("-journal")
    done = subprocess.run([sys.executable, "-m", "voicestudio", "--db", str(source), "db", "backup", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"left by process {child.pid} that stopped mid-backup" in done.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["copy.vsproj"]
    assert inspect_file(out) is not None
