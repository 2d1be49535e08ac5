"""Import never falls over on the files people really have (see ``tests/hostile.py``).

Permissions do not stop root, and CI runs as root: the imports that must meet
an unreadable file run as the user 'nobody' (``os.seteuid`` in-process,
``setpriv`` for the CLI), on a corpus in a folder 'nobody' may enter.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

import hostile
from voicestudio.dataset.importer import import_paths
from voicestudio.store import clips as clip_store
from voicestudio.store.project import open_project

NOBODY = 65534
AS_ROOT = os.geteuid() == 0
SETPRIV = shutil.which("setpriv")


def open_dir(prefix: str) -> Path:
    """A temp folder anyone may enter and write (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o777)
    return path


@pytest.fixture(scope="module")
def corpus():
    root = open_dir("vs-hostile-")
    os.chmod(root, 0o755)
    files = hostile.make_corpus(root / "corpus")
    yield root / "corpus", files
    for f in files:
        if f.kind == "unreadable":
            os.chmod(f.path, 0o644)
    shutil.rmtree(root)


@contextmanager
def as_nobody():
    """Run the block with the effective user 'nobody' when root (root reads mode-000 files)."""
    if not AS_ROOT:
        yield
        return
    importlib.import_module("av")  # now: as 'nobody', root's Python installation may be out of reach

    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


def imported_paths(project) -> dict[str, int]:
    """path -> number of clips, for every file in the project."""
    with project.session() as s:
        rows = s.execute(select(clip_store.AudioFile.path, func.count(clip_store.Clip.id))
                         .join(clip_store.Clip, clip_store.Clip.file_id == clip_store.AudioFile.id)
                         .group_by(clip_store.AudioFile.path)).all()
    return dict(rows)


def check_report(files, report, imported):
    """Every good file imported; every bad one reported once, with its reason; nothing else reported."""
    problems = {}
    for kind, items in (("failure", report.failures), ("skipped", report.skipped)):
        for p in items:
            assert p.path not in problems, f"reported twice: {p.path}"
            assert "\n" not in p.reason and "Traceback" not in p.reason, p.reason
            problems[p.path] = (kind, p.reason)
    expected_bad = set()
    for f in files:
        path = str(f.path)
        if f.kind == "folder-loop":
            assert not any(p.startswith(path) for p in problems), f"a folder loop was reported: {problems}"
        elif f.good:
            assert imported.get(path, 0) >= 1, f"{f.kind} {path} not imported: {problems.get(path)}"
        else:
            expected_bad.add(path)
            assert path in problems, f"{f.kind} {path} was not reported"
            kind, reason = problems[path]
            assert f.why in reason, f"{f.kind} {path}: {reason!r} does not say {f.why!r}"
            assert kind == ("failure" if f.path.suffix in hostile_suffixes() else "skipped"), (path, kind)
    assert set(problems) == expected_bad, f"unexpected reports: {set(problems) - expected_bad}"
    assert not (set(imported) & expected_bad)


def hostile_suffixes():
    from voicestudio.audio.scan import AUDIO_SUFFIXES

    return AUDIO_SUFFIXES


def test_import_reports_every_bad_file_and_imports_every_good_one(corpus):
    folder, files = corpus
    project_dir = open_dir("vs-hostile-project-")
    try:
        # Opened (created, migrated: modules from root's Python imported) before becoming 'nobody'.
        with open_project(project_dir / "p.vsproj") as project:
            for f in project_dir.iterdir() if AS_ROOT else ():
                os.chown(f, NOBODY, NOBODY)
            with as_nobody():
                started = time.monotonic()
                first = import_paths(project, [folder])
                elapsed = time.monotonic() - started
                # Again: nothing new, nothing read again, the same problems.
                again = import_paths(project, [folder])
            check_report(files, first, imported_paths(project))
            good = sum(f.good and f.kind != "folder-loop" for f in files)
            assert first.files_added == good and not first.duplicates
            assert (again.files_added, again.clips_added, again.files_unchanged) == (0, 0, good)
            assert [(p.path, p.reason) for p in again.failures] == [(p.path, p.reason) for p in first.failures]
            assert len(imported_paths(project)) == good
        print(f"\nhostile corpus: {len(files)} entries, {first.files_seen} files tried, "
              f"{len(first.failures)} failures + {len(first.skipped)} skipped reported, "
              f"{first.files_added} imported ({first.clips_added} clips) in {elapsed:.2f} s")
    finally:
        shutil.rmtree(project_dir)


def test_cli_reports_one_line_per_bad_file_and_goes_on(corpus):
    folder, files = corpus
    work = open_dir("vs-hostile-cli-")
    env = dict(os.environ, HOME=str(work), XDG_DATA_HOME=str(work / "data"), XDG_CONFIG_HOME=str(work / "config"),
               XDG_CACHE_HOME=str(work / "cache"), XDG_STATE_HOME=str(work / "state"))
    prefix = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if AS_ROOT and SETPRIV else []
    skip_unreadable = AS_ROOT and not SETPRIV  # root reads anything; without setpriv it cannot be 'nobody'

    def run(*args):
        cmd = prefix + [sys.executable, "-m", "voicestudio", "--db", str(work / "p.vsproj"), *args]
        return subprocess.run(cmd, capture_output=True, env=env, timeout=120, cwd=work)

    try:
        done = run("import", str(folder))
        stderr = done.stderr.decode("utf-8")
        assert done.returncode == 1, stderr
        assert "Traceback" not in stderr
        lines = stderr.splitlines()
        assert all(line.startswith("voicestudio: ") for line in lines), stderr
        bad = [f for f in files if not f.good and f.path.suffix in hostile_suffixes()
               and not (skip_unreadable and f.kind == "unreadable")]
        for f in bad:
            # Names that are not UTF-8 reach stderr with their odd bytes escaped.
            shown = str(f.path).encode("utf-8", "backslashreplace").decode("utf-8")
            assert any(line.startswith(f"voicestudio: {shown}: ") and f.why in line for line in lines), (f, stderr)
        assert len(lines) == len(bad), stderr
        again = run("--json", "import", str(folder))
        result = json.loads(again.stdout)
        good = sum(f.good and f.kind != "folder-loop" for f in files) + skip_unreadable
        assert (result["files_added"], result["files_unchanged"]) == (0, good)
        assert len(result["failures"]) == len(bad)
    finally:
        shutil.rmtree(work)


@pytest.fixture(scope="session")
def long_wav(tmp_path_factory):
    """Three hours of 8 kHz 16-bit mono (172.8 MB, sparse): built once per session."""
    return hostile.make_long_wav(tmp_path_factory.mktemp("long") / "three hours.wav")


_MEMORY_PROBE = r"""
import json, resource, sys, time
from voicestudio.audio.decode import load_audio, probe
from voicestudio.audio.display import stream_envelope
from voicestudio.dataset.importer import import_paths
from voicestudio.store.project import open_project

def rss():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent (pytest, hundreds of MB).
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

def current():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()

path, project = sys.argv[1], sys.argv[2]
before = current()
info = probe(path)
t = time.monotonic()
with open_project(project) as p:
    report = import_paths(p, [path])
import_s = time.monotonic() - t
after_import = rss()
t = time.monotonic()
middle = load_audio(path, start_s=info.duration_s / 2, end_s=info.duration_s / 2 + 30)
seek_s = time.monotonic() - t
after_seek = rss()
t = time.monotonic()
envelope = stream_envelope(path, 0.0, info.duration_s)
envelope_s = time.monotonic() - t
print(json.dumps(dict(before=before, peak=rss(), after_import=after_import, after_seek=after_seek, frames=info.frames, clips=report.clips_added,
                      failures=len(report.failures), import_s=import_s, seek_s=seek_s, envelope_s=envelope_s,
                      middle=len(middle.samples), bins=len(envelope.mins))))
"""


def test_a_three_hour_file_is_streamed_never_loaded(long_wav, tmp_path):
    done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(long_wav), str(tmp_path / "p.vsproj")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    m = json.loads(done.stdout)
    decoded = m["frames"] * 4  # float32 at the file's own rate: what loading it whole would take
    grown = m["peak"] - m["before"]
    print(f"\n3-hour WAV ({long_wav.stat().st_size / 1e6:.0f} MB, decoded {decoded / 1e6:.0f} MB): "
          f"import {m['import_s']:.2f} s ({m['clips']} clips), 30 s from the middle in {m['seek_s'] * 1000:.0f} ms, "
          f"envelope {m['envelope_s']:.2f} s; peak RSS {m['peak'] / 1e6:.0f} MB "
          f"(+{grown / 1e6:.0f} MB over the {m['before'] / 1e6:.0f} MB in use before)")
    assert m["frames"] == 3 * 3600 * 8000 and m["failures"] == 0
    assert m["clips"] == 180  # one per voice burst, silence between them dropped
    assert m["middle"] == 30 * 8000
    assert grown < decoded / 4, "the long file was held in memory"
    assert m["seek_s"] < 1.0, "decoding the middle read from the start"


@pytest.mark.slow
def test_fifty_thousand_small_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    started = time.monotonic()
    hostile.make_many(folder / "many")
    written = time.monotonic() - started
    with open_project(folder / "p.vsproj") as project:
        started = time.monotonic()
        report = import_paths(project, [folder / "many"])
        elapsed = time.monotonic() - started
        assert (report.files_added, report.clips_added) == (50_000, 50_000), (report.failures[:3], report.duplicates[:3])
        with project.session() as s:
            assert s.scalar(select(func.count(clip_store.Clip.id))) == 50_000
        started = time.monotonic()
        again = import_paths(project, [folder / "many"])
        second = time.monotonic() - started
        assert (again.files_unchanged, again.files_added) == (50_000, 0)
    print(f"\n50,000 files: written in {written:.1f} s, imported in {elapsed:.1f} s "
          f"({elapsed / 50_000 * 1000:.2f} ms a file), re-import {second:.1f} s")


_PREDICT_PROBE = r"""
import json, resource, sys, time
from voicestudio.model.detector import Detector

def rss(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))

detector = Detector()
before = rss("VmRSS")
t = time.monotonic()
prediction = detector.predict_file(sys.argv[1])
print(json.dumps(dict(before=before, peak=rss("VmHWM"), seconds=time.monotonic() - t, windows=prediction.n_windows,
                      active=int((~prediction.silent).sum()), score=prediction.clip_score)))
"""


def test_a_three_hour_file_is_predicted_in_bounded_memory(long_wav):
    """The model over three hours as one clip (import --segment none, predict): streamed in blocks."""
    done = subprocess.run([sys.executable, "-c", _PREDICT_PROBE, str(long_wav)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    m = json.loads(done.stdout)
    decoded_at_model_rate = 3 * 3600 * 16000 * 4  # 691 MB of float32 at 16 kHz
    assert m["windows"] == 21599 and 0 < m["active"] < m["windows"]  # silence between the bursts is skipped
    assert m["peak"] - m["before"] < decoded_at_model_rate / 4, m
    print(f"\n3-hour predict: {m['seconds']:.1f} s, peak +{(m['peak'] - m['before']) / 1e6:.0f} MB "
          f"(decoded at 16 kHz: {decoded_at_model_rate / 1e6:.0f} MB), {m['active']} of {m['windows']} windows run")


def test_a_newline_in_a_file_name_stays_on_its_line(tmp_path, capsys):
    from voicestudio.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "two\nlines.wav").write_bytes(b"not audio at all" * 10)
    assert main(["--db", str(tmp_path / "p.vsproj"), "import", str(folder)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"voicestudio: {folder}/two\\nlines.wav: ")
