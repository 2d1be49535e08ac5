"""A damaged project, as a failing disk leaves one: noticed, never written to, checked and recovered
through the real CLI (issue 14, item 15).

The project is a real SQLite file; the damage is one page in the middle of a
table (or an index) overwritten with random bytes, found through SQLite's
``dbstat`` table.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from voicestudio.store import clips, labels
from voicestudio.store.project import open_project

FILES = 300


def voicestudio(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicestudio", *args], capture_output=True, text=True)


def make_project(path: Path) -> None:
    """300 files with one clip each, every clip labelled once with a note: several pages per table."""
    with open_project(path) as project, project.write() as s:
        for i in range(FILES):
            f = clips.add_or_update_file(
                s, path=f"/recordings/take-{i:03d}.wav", sha256=f"{i:064x}", size_bytes=32000, mtime=1.0,
                format="WAV", subtype="PCM_16", sample_rate=16000, channels=1, frames=16000, duration_s=1.0,
                source_group=f"take-{i:03d}")
            clip, _ = clips.add_clip(s, f.id, 0.0, 1.0)
            s.flush()
            labels.add_label(s, clip.id, "ann", "human" if i % 2 else "nonhuman", note=f"heard on take {i} " * 4)


def query(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def damage(path: Path, name: str, pagetype: str = "leaf") -> None:
    """Overwrite the middle ``pagetype`` page of table or index ``name`` with random bytes, as a bad disk would."""
    pages = [p for (p,) in query(path, f"SELECT pageno FROM dbstat WHERE name = '{name}' AND pagetype = "
                                       f"'{pagetype}' ORDER BY pageno")]
    assert pages, name
    victim = pages[len(pages) // 2]
    page_size = query(path, "PRAGMA page_size")[0][0]
    with open(path, "r+b") as f:  # no SQLite connection has the file open now
        f.seek((victim - 1) * page_size)
        f.write(random.Random(victim).randbytes(page_size))


LABELS = "SELECT id, clip_id, annotator, value, note FROM label_events ORDER BY id"


@pytest.fixture
def damaged(tmp_path):
    """A cleanly closed project whose label_events lost one page in the middle; its labels from before."""
    path = tmp_path / "p.vsproj"
    make_project(path)
    before = query(path, LABELS)
    damage(path, "label_events")
    return path, before


def test_a_damaged_project_refuses_writes_and_db_check_says_what_is_lost(damaged):
    path, _ = damaged
    bytes_before = path.read_bytes()

    labelled = voicestudio("--db", str(path), "label", "1", "human")
    assert labelled.returncode == 1
    assert labelled.stderr == (f"voicestudio: error: {path}: the project is damaged (database disk image is "
                               "malformed): run voicestudio db check / db recover\n")
    listed = voicestudio("--db", str(path), "clips")  # reading runs into the bad page: said the same way
    assert listed.returncode == 1 and "the project is damaged" in listed.stderr and listed.stderr.count("\n") == 1
    backup = voicestudio("--db", str(path), "db", "backup", str(path.with_name("b.vsproj")))
    assert backup.returncode == 1 and "the project is damaged" in backup.stderr

    checked = voicestudio("db", "check", str(path))
    assert checked.returncode == 1
    assert checked.stdout.startswith(f"{path}: damaged (")
    assert "label_events: rows with ids" in checked.stdout and "voicestudio db recover" in checked.stdout
    report = json.loads(voicestudio("--json", "db", "check", str(path)).stdout)
    assert report["ok"] is False and report["problems"]
    assert path.read_bytes() == bytes_before  # nothing wrote to the damaged file


def test_db_recover_copies_every_readable_row_and_reports_the_rest(damaged, tmp_path):
    path, before = damaged
    bytes_before = path.read_bytes()
    out = tmp_path / "recovered.vsproj"
    done = voicestudio("--json", "db", "recover", str(path), str(out))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    tables = {t["table"]: t for t in report["tables"]}
    assert tables["audio_files"]["recovered"] == tables["clips"]["recovered"] == FILES
    events = tables["label_events"]
    assert events["lost"] > 0 and events["recovered"] + events["lost"] == FILES
    assert report["integrity"] == "ok"
    assert path.read_bytes() == bytes_before  # the original is only read

    # Every recovered label is the original, byte for byte; the lost ones are exactly the unreadable ids.
    recovered = query(out, LABELS)
    lost_ids = {i for first, last in events["unreadable"] for i in range(first, last + 1)}
    assert recovered == [row for row in before if row[0] not in lost_ids]
    assert query(out, "PRAGMA integrity_check") == [("ok",)] and query(out, "PRAGMA foreign_key_check") == []

    # The copy is a working project: checked ok, listed, labelled.
    assert voicestudio("db", "check", str(out)).returncode == 0
    assert voicestudio("--db", str(out), "label", "1", "unsure").returncode == 0
    text = voicestudio("db", "recover", str(path), str(tmp_path / "again.vsproj"))
    assert f"label_events: {events['recovered']} rows recovered, {events['lost']} lost" in text.stdout

    refused = voicestudio("db", "recover", str(path), str(out))  # never over an existing file without --force
    assert refused.returncode == 1 and "already exists" in refused.stderr


def test_labels_whose_clip_was_lost_are_not_kept_dangling(tmp_path):
    path = tmp_path / "p.vsproj"
    make_project(path)
    damage(path, "clips")
    out = tmp_path / "recovered.vsproj"
    done = voicestudio("--json", "db", "recover", str(path), str(out))
    assert done.returncode == 0, done.stderr
    tables = {t["table"]: t for t in json.loads(done.stdout)["tables"]}
    lost_clips = tables["clips"]["lost"]
    assert lost_clips > 0 and tables["clips"]["recovered"] + lost_clips == FILES
    assert tables["label_events"]["refused"] == lost_clips  # their clips are gone: refused, counted
    assert tables["label_events"]["recovered"] == FILES - lost_clips
    assert query(out, "PRAGMA foreign_key_check") == []


def test_damage_no_read_runs_into_is_found_before_the_first_write(tmp_path):
    """A bad index page: reads by id still work, so the first write of the open checks the file first."""
    path = tmp_path / "p.vsproj"
    make_project(path)
    index = next(name for (name,) in query(path, "SELECT name FROM sqlite_master WHERE type = 'index' "
                                                 "AND tbl_name = 'label_events' AND sql IS NOT NULL"))
    damage(path, index)
    events = query(path, "SELECT count(*) FROM label_events")
    labelled = voicestudio("--db", str(path), "label", "1", "human")
    assert labelled.returncode == 1
    assert "the project is damaged" in labelled.stderr and "db check / db recover" in labelled.stderr
    assert query(path, "SELECT count(*) FROM label_events") == events  # nothing written into it

    out = tmp_path / "recovered.vsproj"
    assert voicestudio("db", "recover", str(path), str(out)).returncode == 0  # the index is rebuilt
    assert query(out, "SELECT count(*) FROM label_events") == [(FILES,)]
    assert query(out, "PRAGMA integrity_check") == [("ok",)]


def test_damage_in_a_project_left_open_is_found_at_open_and_reads_say_so(tmp_path):
    """A -wal at open (open elsewhere, or not closed cleanly) makes the open check the file: a read warns."""
    path = tmp_path / "p.vsproj"
    make_project(path)
    index = next(name for (name,) in query(path, "SELECT name FROM sqlite_master WHERE type = 'index' "
                                                 "AND tbl_name = 'label_events' AND sql IS NOT NULL"))
    damage(path, index)
    holder = sqlite3.connect(path, isolation_level=None)  # another program, mid-session: its -wal holds a change
    holder.execute("PRAGMA wal_autocheckpoint = 0")
    holder.execute("UPDATE audio_files SET mtime = 2.0 WHERE id = 1")
    try:
        assert path.with_name("p.vsproj-wal").stat().st_size > 0
        listed = voicestudio("--db", str(path), "clips", "--limit", "2")
        labelled = voicestudio("--db", str(path), "label", "1", "human")
    finally:
        holder.close()
    assert listed.returncode == 0 and listed.stdout.count("\n") == 2
    assert listed.stderr.startswith(f"voicestudio: warning: {path}: the project is damaged (")
    assert listed.stderr.endswith("run voicestudio db check / db recover\n") and listed.stderr.count("\n") == 1
    assert labelled.returncode == 1 and "the project is damaged" in labelled.stderr


def test_a_damaged_root_page_loses_no_row_on_intact_leaves(tmp_path):
    """The clips table's root page overwritten: SQLite cannot reach a single clip through it, yet every
    leaf page below it is intact. ``db recover`` finds those leaves by scanning the file: nothing is lost."""
    path = tmp_path / "p.vsproj"
    make_project(path)
    clips_before = query(path, "SELECT id, file_id, start_s, end_s, created_at FROM clips ORDER BY id")
    before = query(path, LABELS)
    (root,) = query(path, "SELECT rootpage FROM sqlite_master WHERE name = 'clips'")[0]
    assert query(path, f"SELECT pagetype FROM dbstat WHERE pageno = {root}") == [("internal",)]
    page_size = query(path, "PRAGMA page_size")[0][0]
    with open(path, "r+b") as f:  # no SQLite connection has the file open now
        f.seek((root - 1) * page_size)
        f.write(random.Random(root).randbytes(page_size))

    labelled = voicestudio("--db", str(path), "label", "1", "human")  # item 3: the reason, not "(damaged)"
    assert labelled.returncode == 1 and "(damaged)" not in labelled.stderr, labelled.stderr
    assert labelled.stderr.startswith(f"voicestudio: error: {path}: the project is damaged (")

    out = tmp_path / "recovered.vsproj"
    done = voicestudio("--json", "db", "recover", str(path), str(out))
    assert done.returncode == 0, done.stderr
    tables = {t["table"]: t for t in json.loads(done.stdout)["tables"]}
    assert tables["clips"]["recovered"] == tables["clips"]["found_on_pages"] == FILES
    assert tables["label_events"]["recovered"] == FILES and tables["label_events"]["refused"] == 0
    assert query(out, "SELECT id, file_id, start_s, end_s, created_at FROM clips ORDER BY id") == clips_before
    assert query(out, LABELS) == before  # every label kept, on the clip it was given to
    assert query(out, "PRAGMA integrity_check") == [("ok",)] and query(out, "PRAGMA foreign_key_check") == []
    text = voicestudio("db", "recover", str(path), str(tmp_path / "again.vsproj")).stdout
    assert f"clips: {FILES} rows recovered" in text and f"{FILES} of them found on intact pages" in text, text
    assert voicestudio("--db", str(out), "label", "1", "unsure").returncode == 0
