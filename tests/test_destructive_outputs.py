"""Outputs never destroy what they land on (issue 14, items 3-6), run as a user would: the real
``voicestudio`` command in a subprocess, on a real SQLite project of real audio files.

- ``labels export`` (and ``db backup``) refuse the project and its side files, and an existing
  file without ``--force``;
- ``export OUT --force`` replaces only what the earlier export wrote, and names anything else;
- ``export`` into a link to a folder writes into the link's target and keeps the link, with the
  folder permissions the user's umask asks for;
- an export killed with SIGKILL leaves a partial folder that the next export removes (and says so),
  while a running export's folder is left alone.
"""

from __future__ import annotations

import csv
import hashlib
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import audiofiles
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.staging import Owner
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project

SR = 16000


def voicestudio(db: Path, *args: str, umask: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real CLI in its own process."""
    preexec = None if umask is None else (lambda: os.umask(umask))
    return subprocess.run([sys.executable, "-m", "voicestudio", "--db", str(db), *args], capture_output=True,
                          text=True, timeout=timeout, preexec_fn=preexec)


def make_project(folder: Path, *, files: int = 6, long_s: float = 0.0, bob: int = 0) -> Path:
    """A project of real files: ``files`` one-second files (half speech), optionally a recording of
    ``long_s`` seconds cut into one-second clips; every clip labelled by "ann", the first ``bob`` by "bob"."""
    audio = folder / "audio"
    for i in range(files):
        samples = audiofiles.speechlike(SR, 1.0, seed=i) if i % 2 else audiofiles.noise(SR, 1.0, seed=i)
        audiofiles.write(audio / "short" / f"take{i}.wav", samples, SR)
    if long_s:
        audiofiles.write(audio / "long" / "meeting.wav", audiofiles.speechlike(SR, long_s, seed=99), SR)
    db = folder / "p.vsproj"
    with open_project(db) as project:
        import_paths(project, [audio / "short"])
        if long_s:
            import_paths(project, [audio / "long"], rule=SegmentRule.parse("1"))
        with project.session() as s:
            rows = clip_store.list_clips(s)
        with project.write() as s:
            for n, row in enumerate(rows):
                value = "human" if n % 2 else "nonhuman"
                label_store.add_label(s, row.id, "ann", value)
                if n < bob:
                    label_store.add_label(s, row.id, "bob", value)
    return db


@pytest.fixture
def project(tmp_path) -> Path:
    return make_project(tmp_path)


def label_events(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return conn.execute("SELECT count(*) FROM label_events").fetchone()[0]


def tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def messages(done: subprocess.CompletedProcess) -> list[str]:
    """Our stderr lines (TFLite's runtime prints its own INFO line when the default model loads)."""
    return [line for line in done.stderr.splitlines() if line.startswith("voicestudio:")]


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# Item 3: label export and backup never land on the project ---------------------------------------

def test_labels_export_refuses_the_project_and_its_side_files(project, tmp_path):
    events = label_events(project)
    os.link(project, tmp_path / "hard-link.csv")
    (tmp_path / "sym-link.csv").symlink_to(project)
    (tmp_path / "sub").mkdir()
    targets = [project, Path(f"{project}-wal"), Path(f"{project}-shm"), Path(f"{project}-journal"),
               tmp_path / "hard-link.csv", tmp_path / "sym-link.csv", tmp_path / "sub" / ".." / project.name]
    for target in targets:
        for force in ([], ["--force"]):
            done = voicestudio(project, "labels", "export", str(target), "--format", "csv", *force)
            assert done.returncode == 1, (target, done.stdout)
            assert "is the open project" in done.stderr and len(messages(done)) == 1, done.stderr
    assert project.read_bytes().startswith(b"SQLite format 3\x00") and label_events(project) == events
    assert (tmp_path / "sym-link.csv").is_symlink() and (tmp_path / "hard-link.csv").samefile(project)
    stats = voicestudio(project, "--json", "stats")
    assert stats.returncode == 0, stats.stderr
    # The backup refuses them too (it always did for the project; now for every side file).
    for target in targets[:4]:
        done = voicestudio(project, "db", "backup", str(target), "--force")
        assert done.returncode == 1 and "is the project itself" in done.stderr, done.stderr
    assert label_events(project) == events


def test_labels_export_replaces_a_file_only_with_force_and_atomically(project, tmp_path):
    out = tmp_path / "labels.csv"
    out.write_text("my own notes\n")
    done = voicestudio(project, "labels", "export", str(out))
    assert done.returncode == 1 and "already exists; replace it with --force" in done.stderr
    assert out.read_text() == "my own notes\n"
    done = voicestudio(project, "labels", "export", str(out), "--force")
    assert done.returncode == 0, done.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and {r["label"] for r in rows} == {"human", "nonhuman"}
    # A new file is written without --force, with the umask's permissions, and nothing is left beside it.
    done = voicestudio(project, "labels", "export", str(tmp_path / "ls.json"), umask=0o027)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "ls.json").stat().st_mode) == 0o640
    assert hidden(tmp_path) == []
    # Another project is never replaced by labels, even with --force.
    other = make_project(tmp_path / "other")
    before = other.read_bytes()
    done = voicestudio(project, "labels", "export", str(other), "--format", "csv", "--force")
    assert done.returncode == 1 and "refusing to replace it" in done.stderr and other.read_bytes() == before
    # A link is followed: its target gets the labels, the link stays a link.
    (tmp_path / "shared").mkdir()
    (tmp_path / "link.csv").symlink_to(tmp_path / "shared" / "labels.csv")
    done = voicestudio(project, "labels", "export", str(tmp_path / "link.csv"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "shared" / "labels.csv").read_text().startswith("clip_id,")


# Item 4: --force replaces only what the earlier export wrote ---------------------------------------

def test_force_replaces_only_what_the_earlier_export_wrote(project, tmp_path):
    out = tmp_path / "set"
    assert voicestudio(project, "export", str(out), "--seed", "1").returncode == 0
    (out / "model.tflite").write_bytes(b"weights I trained")
    (out / "experiments").mkdir()
    (out / "experiments" / "notes.md").write_text("what worked")
    before = tree(out)
    done = voicestudio(project, "export", str(out), "--seed", "2", "--force")
    assert done.returncode == 1
    assert "experiments/notes.md, model.tflite" in done.stderr and "did not write" in done.stderr, done.stderr
    assert tree(out) == before and hidden(tmp_path) == []
    # Many foreign files: a few are named, then how many more.
    for i in range(7):
        (out / "train" / f"extra{i}.wav").write_bytes(b"mine")
    done = voicestudio(project, "export", str(out), "--force")
    assert done.returncode == 1 and "and 4 more" in done.stderr and len(messages(done)) == 1, done.stderr
    # With the user's files moved out, --force replaces the export.
    for i in range(7):
        (out / "train" / f"extra{i}.wav").unlink()
    (out / "model.tflite").rename(tmp_path / "model.tflite")
    (out / "experiments").rename(tmp_path / "experiments")
    done = voicestudio(project, "export", str(out), "--seed", "2", "--force", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert (out / "audio").is_dir() and not (out / "train").exists() and hidden(tmp_path) == []


def test_force_accepts_every_file_an_export_writes(project, tmp_path):
    """Features and the hf layout's card are listed too: a re-export with --force needs nothing moved."""
    out = tmp_path / "hf"
    for _ in range(2):
        done = voicestudio(project, "export", str(out), "--format", "hf", "--features", "mfcc-npy", "--force")
        assert done.returncode == 0, done.stderr
    assert (out / "README.md").read_text().startswith("---\n") and list(out.glob("features/**/*.npy"))
    (out / "features" / "mine").mkdir()  # an empty folder of the user's is theirs too
    done = voicestudio(project, "export", str(out), "--format", "hf", "--force")
    assert done.returncode == 1 and "features/mine/" in done.stderr
    (out / "features" / "mine").rmdir()
    clip = next(out.glob("train/*/*.wav"))  # a clip the user edited since (its SHA-256 is in the manifest)
    clip.write_bytes(clip.read_bytes()[:-2] + b"\x01\x00")
    done = voicestudio(project, "export", str(out), "--format", "hf", "--force")
    assert done.returncode == 1 and f"train/{clip.parent.name}/{clip.name} (changed since the export)" in done.stderr, done.stderr


def test_force_keeps_the_card_manifest_and_tables_the_user_edited(project, tmp_path):
    """README.md (the hf card) and manifest.csv are hash-checked like the clips: edited, they
    make --force refuse and are named; untouched, --force replaces them."""
    out = tmp_path / "hf"
    assert voicestudio(project, "export", str(out), "--format", "hf", "--features", "mfcc-npy").returncode == 0
    checksums = dict(reversed(line.split("  ", 1)) for line in (out / "checksums.sha256").read_text().splitlines())
    assert {"README.md", "manifest.csv"} <= set(checksums)
    assert checksums == {k: v for k, v in tree(out).items() if k != "checksums.sha256"}
    originals = {name: (out / name).read_bytes() for name in ("README.md", "manifest.csv")}
    for name in originals:
        edited = out / name
        edited.write_bytes(originals[name] + b"my notes: the tone clips are mislabelled\n")
        before = tree(out)
        done = voicestudio(project, "export", str(out), "--format", "hf", "--force")
        assert done.returncode == 1, done.stderr
        assert f"{name} (changed since the export)" in done.stderr and len(messages(done)) == 1, done.stderr
        assert tree(out) == before and hidden(tmp_path) == []
        edited.write_bytes(originals[name])
    done = voicestudio(project, "export", str(out), "--format", "hf", "--force")  # all as written: replaced
    assert done.returncode == 0, done.stderr


def test_export_refuses_a_link_to_nothing(project, tmp_path):
    """A dangling link is never followed into folders it names (they would be created, maybe elsewhere)."""
    link = tmp_path / "lnk"
    link.symlink_to(tmp_path / "nonexistent" / "dir")
    for force in ([], ["--force"]):
        done = voicestudio(project, "export", str(link), *force)
        assert done.returncode == 1
        assert messages(done) == [f"voicestudio: error: {link}: is a link to {tmp_path / 'nonexistent' / 'dir'}, "
                                  "which does not exist; create that folder or export to another one"], done.stderr
    assert not (tmp_path / "nonexistent").exists() and link.is_symlink() and hidden(tmp_path) == []
    self_link = tmp_path / "self"
    self_link.symlink_to("self")
    done = voicestudio(project, "export", str(self_link))
    assert done.returncode == 1 and "is a link to self, which does not exist" in done.stderr, done.stderr


def test_export_never_lands_on_the_folder_holding_the_project(tmp_path):
    db = make_project(tmp_path / "my-dataset")
    events = label_events(db)
    for force in ([], ["--force"]):
        done = voicestudio(db, "export", str(db.parent), *force)
        assert done.returncode == 1 and "holds the open project" in done.stderr, done.stderr
    assert label_events(db) == events


# Item 5: a link to a folder is followed; folders get the umask's permissions --------------------------

def test_export_into_a_link_writes_the_target_and_keeps_the_link(project, tmp_path):
    target = tmp_path / "disk" / "exports"
    target.mkdir(parents=True)
    target.chmod(0o750)
    link = tmp_path / "latest"
    link.symlink_to(target)
    for force in ([], ["--force"]):
        done = voicestudio(project, "export", str(link), *force, umask=0o022)
        assert done.returncode == 0, done.stderr
        assert f"the target of the link {link}" in done.stdout
        assert link.is_symlink() and os.readlink(link) == str(target)
        assert (target / "manifest.csv").exists() and stat.S_IMODE(target.stat().st_mode) == 0o750  # kept
    assert hidden(tmp_path) == [] and hidden(target.parent) == []
    # A link to where a disk is mounted cannot be replaced by a rename: refused, link kept.
    (tmp_path / "disk-link").symlink_to("/proc")
    done = voicestudio(project, "export", str(tmp_path / "disk-link"))
    assert done.returncode == 1 and "/proc: is where a disk is mounted" in done.stderr, done.stderr
    assert (tmp_path / "disk-link").is_symlink() and hidden(tmp_path) == []
    # A new folder (and every folder in it) follows the umask, not mkdtemp's 0700.
    fresh = tmp_path / "fresh"
    assert voicestudio(project, "export", str(fresh), umask=0o027).returncode == 0
    assert {stat.S_IMODE(p.stat().st_mode) for p in [fresh, *fresh.rglob("*")] if p.is_dir()} == {0o750}


# Item 6: the folders of killed exports are removed by the next one ---------------------------------

def partial_folders(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if ".partial-" in p.name)


def start_export(db: Path, out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "voicestudio", "--db", str(db), "export", str(out),
                             "--workers", "1", "--features", "mfcc-png", "--rate", "32000", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_files(parent: Path, child: subprocess.Popen, count: int) -> Path:
    """The child's partial folder once it holds ``count`` files (no clock: the child's own progress)."""
    while True:
        assert child.poll() is None, "the export ended before it could be observed mid-way"
        folders = [p for p in partial_folders(parent) if p.name.split("-")[1] == str(child.pid)]
        if folders and sum(1 for p in folders[0].rglob("*") if p.is_file()) >= count:
            return folders[0]
        time.sleep(0.05)


@pytest.fixture
def long_project(tmp_path) -> Path:
    """400 one-second clips (one recording), so an export takes long enough to be killed mid-way; bob labelled 4."""
    return make_project(tmp_path / "long", files=2, long_s=400.0, bob=4)


def test_a_killed_export_is_cleaned_up_by_the_next(long_project, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    out = exports / "set"
    left = []
    for _ in range(5):  # each export removes the folder of the one killed before it
        child = start_export(long_project, out)
        wait_for_files(exports, child, 20)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        if left:
            assert not left[0][1].exists()  # gone as soon as this export started (it says so when it ends)
        assert not out.exists() and len(partial_folders(exports)) == 1  # what SIGKILL leaves
        left = [(child.pid, partial_folders(exports)[0])]
    # The next export into the same parent (another OUT) removes it and says so.
    done = voicestudio(long_project, "export", str(exports / "bob"), "--annotator", "bob")
    assert done.returncode == 0, done.stderr
    assert f"removed {left[0][1]}, left by process {left[0][0]} that stopped mid-export" in done.stderr
    assert partial_folders(exports) == [] and sorted(p.name for p in exports.iterdir()) == ["bob"]


def test_a_running_export_keeps_its_folder(long_project, tmp_path):
    """A second export into the same parent leaves the first one's folder alone; a reused PID is not taken for its owner."""
    exports = tmp_path / "exports"
    exports.mkdir()
    first = start_export(long_project, exports / "first")
    try:
        folder = wait_for_files(exports, first, 5)
        me = Owner.current()
        reused = exports / f".old.partial-{me.pid}-{me.started + 1}-{me.machine}-{me.boot}-0000"  # our PID, not our start
        reused.mkdir()
        alive = exports / f".mine.partial-{me.tag()}-0000"  # this very test process: running
        alive.mkdir()
        done = voicestudio(long_project, "export", str(exports / "bob"), "--annotator", "bob")
        assert done.returncode == 0, done.stderr
        assert folder.is_dir() and alive.is_dir() and not reused.exists()
        assert str(folder) not in done.stderr and f"removed {reused}" in done.stderr
        assert first.wait(600) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert len(list(csv.DictReader(open(exports / "first" / "manifest.csv")))) == 402
    assert partial_folders(exports) == [alive]


def test_an_export_set_aside_by_a_killed_replace_is_put_back(project, tmp_path):
    """Killed between setting the earlier export aside and moving the new one in: the next export puts it back."""
    exports = tmp_path / "exports"
    assert voicestudio(project, "export", str(exports / "set")).returncode == 0
    before = tree(exports / "set")
    me = Owner.current()
    aside = exports / f".set.old-{me.pid}-{me.started + 1}-{me.machine}-{me.boot}-0000"  # a process that is gone
    aside.mkdir()
    (exports / "set").rename(aside / "export")  # where move_into_place sets it aside
    done = voicestudio(project, "export", str(exports / "other"))
    assert done.returncode == 0, done.stderr
    assert f"put back {exports / 'set'} from {aside.name}" in done.stderr
    assert tree(exports / "set") == before and hidden(exports) == []
