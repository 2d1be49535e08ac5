"""Projects on read-only files, folders and disks, and on a full disk, through the real CLI (issue 14, item 15).

Commands that only read work on a project this user cannot write; commands that
write say "read-only: cannot write to PROJECT" in one line and change nothing.
A full disk says "disk full", and nothing is lost once there is room again.

As root, permissions do not stop writes: read-only is made real with the
immutable attribute (``chattr +i``, which ``os.access`` and SQLite both obey)
or a read-only mount; a full disk is a 1 MiB tmpfs (mounting needs root).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

import audiofiles

AS_ROOT = os.geteuid() == 0


def voicestudio(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicestudio", *args], capture_output=True, text=True)


@pytest.fixture
def labelled_project(tmp_path):
    """A project made the way a user makes one: three recordings imported, two labelled. Cleanly closed."""
    folder = tmp_path / "recordings"
    for i, make in enumerate((audiofiles.speechlike, audiofiles.noise, audiofiles.speechlike)):
        audiofiles.write(folder / f"take{i}.wav", make(16000, 1.0, seed=i), 16000)
    db = tmp_path / "project" / "p.vsproj"
    assert voicestudio("--db", str(db), "import", str(folder)).returncode == 0
    assert voicestudio("--db", str(db), "label", "1", "human", "--annotator", "ann").returncode == 0
    assert voicestudio("--db", str(db), "label", "2", "nonhuman", "--annotator", "ann").returncode == 0
    assert sorted(p.name for p in db.parent.iterdir()) == ["p.vsproj"]  # closed cleanly: no -wal, no -shm
    return db, folder


@contextmanager
def read_only(path: Path):
    """``path`` (a file or folder) unwritable for this process, root included."""
    if AS_ROOT:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        assert not os.access(path, os.W_OK)
        yield
    finally:
        if AS_ROOT:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(mode)


def labels_in(db: Path) -> list[tuple]:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT clip_id, annotator, value FROM label_events ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_project_can_be_read_and_refuses_writes_in_one_line(labelled_project, tmp_path, tiny_model, what):
    db, folder = labelled_project
    out = tmp_path / "out"
    out.mkdir()
    audiofiles.write(folder / "new take.wav", audiofiles.speechlike(16000, 1.0, seed=9), 16000)
    before = db.read_bytes()
    with read_only(db if what == "file" else db.parent):
        reads = {
            "clips": voicestudio("--db", str(db), "--json", "clips"),
            "stats": voicestudio("--db", str(db), "--json", "stats", "--model", str(tiny_model)),
            "export": voicestudio("--db", str(db), "export", str(out / "set"), "--split", "1,0,0",
                                  "--model", str(tiny_model)),
            "db backup": voicestudio("--db", str(db), "db", "backup", str(out / "backup.vsproj")),
            "labels export": voicestudio("--db", str(db), "labels", "export", str(out / "labels.csv")),
            "db check": voicestudio("db", "check", str(db)),
        }
        writes = {
            "label": voicestudio("--db", str(db), "label", "3", "human", "--annotator", "ann"),
            "import": voicestudio("--db", str(db), "import", str(folder)),
            "score": voicestudio("--db", str(db), "score", "--model", str(tiny_model)),
            "device add": voicestudio("--db", str(db), "device", "add", "phone", "adb://SERIAL"),
        }
    for name, done in reads.items():
        assert done.returncode == 0, (name, done.stderr)
    assert [c["label"] for c in json.loads(reads["clips"].stdout)] == ["human", "nonhuman", None]
    assert json.loads(reads["stats"].stdout)["labels"] == {"human": 1, "nonhuman": 1}
    assert sorted(p.name for p in (out / "set" / "train").iterdir()) == ["human", "nonhuman"]
    assert labels_in(out / "backup.vsproj") == labels_in(db)
    with open(out / "labels.csv", newline="") as f:
        assert [row["label"] for row in csv.DictReader(f)] == ["human", "nonhuman"]
    assert reads["db check"].stdout.startswith(f"{db}: ok")
    for name, done in writes.items():
        assert done.returncode == 1, name
        assert done.stderr.endswith(f"voicestudio: error: read-only: cannot write to {db}\n"), (name, done.stderr)
        assert done.stderr.count("voicestudio:") == 1, (name, done.stderr)
    assert db.read_bytes() == before
    assert labels_in(db) == [(1, "ann", "human"), (2, "ann", "nonhuman")]


@contextmanager
def mounted_tmpfs(where: Path, size: str):
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


@pytest.mark.skipif(not AS_ROOT, reason="mounting a tmpfs needs root (CI runs as root)")
def test_a_project_on_a_read_only_disk_is_read_with_immutable(labelled_project, tmp_path):
    db, _ = labelled_project
    with mounted_tmpfs(tmp_path / "disk", "4m") as disk:
        shutil.copy(db, disk / "p.vsproj")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        listed = voicestudio("--db", str(disk / "p.vsproj"), "--json", "clips")
        labelled = voicestudio("--db", str(disk / "p.vsproj"), "label", "3", "human")
        created = voicestudio("--db", str(disk / "new.vsproj"), "clips")
    assert listed.returncode == 0, listed.stderr
    assert [c["label"] for c in json.loads(listed.stdout)] == ["human", "nonhuman", None]
    assert labelled.returncode == 1
    assert labelled.stderr == f"voicestudio: error: read-only: cannot write to {disk / 'p.vsproj'}\n"
    assert created.returncode == 1 and "read-only: cannot write to" in created.stderr


@pytest.mark.skipif(not AS_ROOT, reason="mounting a tmpfs needs root (CI runs as root)")
def test_a_full_disk_says_disk_full_and_loses_nothing(labelled_project, tmp_path):
    db, folder = labelled_project
    with mounted_tmpfs(tmp_path / "disk", "1m") as disk:
        project = disk / "p.vsproj"
        shutil.copy(db, project)
        filler = disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)
        assert shutil.disk_usage(disk).free < 64 * 1024
        at_open = {args[0]: voicestudio("--db", str(project), *args)
                   for args in (["clips"], ["label", "3", "human"], ["db", "check"])}

        # Full while the project is open elsewhere (its -shm exists): the write itself fails.
        filler.unlink()
        holder = sqlite3.connect(project)
        holder.execute("SELECT count(*) FROM clips").fetchone()
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)
        mid_write = voicestudio("--db", str(project), "label", "3", "human")
        holder.close()

        filler.unlink()  # room again: everything is there, and writing works
        after = labels_in(project)
        relabelled = voicestudio("--db", str(project), "label", "3", "human")
        integrity = sqlite3.connect(project).execute("PRAGMA integrity_check").fetchone()[0]
    for name, done in at_open.items():
        assert done.returncode == 1, name
        assert done.stderr == f"voicestudio: error: disk full: no space left for {project}\n", (name, done.stderr)
    assert mid_write.returncode == 1 and "disk full" in mid_write.stderr, mid_write.stderr
    assert after == labels_in(db)
    assert relabelled.returncode == 0, relabelled.stderr
    assert integrity == "ok"
