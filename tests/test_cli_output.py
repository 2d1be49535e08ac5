"""What the command line prints, run as a user runs it (issue 14, items 10 and 16).

Names, notes and paths that carry escape sequences and newlines never reach the
terminal raw; a closed pipe (``voicestudio clips | head -1``) ends quietly; a
``--db`` path with ``://`` in it that is no database URL is a file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import audiofiles
from voicestudio.store import clips
from voicestudio.store.project import open_project

EVIL = "x\x1b[2J\nvoicestudio: error: forged"  # clears the screen, then forges an error line


def voicestudio(*args: str, cwd=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicestudio", *args], capture_output=True, text=True,
                          cwd=cwd, **kwargs)


def assert_terminal_safe(done: subprocess.CompletedProcess, *, lines_too: bool = True) -> None:
    """No raw escape or other control character, and no line that VoiceStudio did not write."""
    for stream in (done.stdout, done.stderr):
        assert not any(ch < " " and ch not in "\n\t" or "\x7f" <= ch <= "\x9f" for ch in stream), stream
        if lines_too:
            assert not any(line.startswith("voicestudio: error: forged") for line in stream.splitlines()), stream


@pytest.fixture
def evil_project(tmp_path, tiny_model):
    """A project whose file names, annotator, note, device and model card all carry ``EVIL``."""
    folder = tmp_path / "audio"
    audiofiles.write(folder / f"{EVIL}.wav", audiofiles.speechlike(16000, 1.0), 16000)
    shutil.copy(folder / f"{EVIL}.wav", folder / f"copy {EVIL}.wav")  # reported as a duplicate
    (folder / f"{EVIL}.mp3").write_text("not audio\n")  # reported as a failure
    db = str(tmp_path / "evil.vsproj")
    model = tmp_path / "model" / tiny_model.name
    model.parent.mkdir()
    shutil.copy(tiny_model, model)
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    model.with_suffix(".json").write_text(json.dumps({**card, "name": f"detector {EVIL}"}))
    return db, folder, model


def test_hostile_names_never_drive_the_terminal(evil_project):
    db, folder, model = evil_project

    imported = voicestudio("--db", db, "import", str(folder))
    assert imported.returncode == 1  # the .mp3 is not audio
    assert_terminal_safe(imported)
    assert "duplicate: " in imported.stdout and "\\x1b[2J\\nvoicestudio: error: forged" in imported.stdout
    assert "not an audio file" in imported.stderr and imported.stderr.count("\n") == 1

    labelled = voicestudio("--db", db, "label", str(folder / f"copy {EVIL}.wav"), "human", "--note", EVIL)
    assert labelled.returncode == 0, labelled.stderr
    assert_terminal_safe(labelled)
    device = voicestudio("--db", db, "device", "add", f"phone {EVIL}", "adb://SERIAL")
    assert device.returncode == 0, device.stderr
    assert_terminal_safe(device)

    for args in (["clips"], ["stats", "--model", str(model)], ["device", "list"], ["score", "--model", str(model)],
                 ["stats", "--model", str(model)]):
        done = voicestudio("--db", db, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert_terminal_safe(done)
        assert "\\x1b[2J\\nvoicestudio: error: forged" in done.stdout, args
    inspected = voicestudio("model", "inspect", str(model))
    assert inspected.returncode == 0 and "\\x1b[2J\\nvoicestudio: error: forged" in inspected.stdout
    assert_terminal_safe(inspected)

    # JSON: control characters as \\u escapes; the values come back exactly.
    listed = voicestudio("--db", db, "--json", "clips")
    assert "\x1b" not in listed.stdout and f"copy {EVIL}" in {Path(c["path"]).stem for c in json.loads(listed.stdout)}
    devices = voicestudio("--db", db, "--json", "device", "list")
    assert "\x1b" not in devices.stdout and json.loads(devices.stdout)[0]["name"] == f"phone {EVIL}"
    event = voicestudio("--db", db, "--json", "label", "1", "nonhuman", "--note", EVIL)
    assert "\x1b" not in event.stdout and json.loads(event.stdout)["note"] == EVIL


def test_an_error_naming_a_hostile_path_is_one_line(tmp_path):
    done = voicestudio("--db", str(tmp_path / f"{EVIL}.vsproj"), "db", "backup", str(tmp_path / "no" / "b.vsproj"))
    assert done.returncode == 1
    assert_terminal_safe(done)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("voicestudio: error: ")


def many_clips(path: Path, n: int) -> None:
    with open_project(path) as project, project.write() as s:
        for i in range(n):
            f = clips.add_or_update_file(
                s, path=f"/recordings/session-{i:05d}/take.wav", sha256=f"{i:064x}", size_bytes=100, mtime=1.0,
                format="WAV", subtype="PCM_16", sample_rate=16000, channels=1, frames=16000, duration_s=1.0,
                source_group="g")
            clips.add_clip(s, f.id, 0.0, 1.0)


def test_a_closed_pipe_ends_quietly(tmp_path):
    """``voicestudio clips | head -1``: the first line, then silence, status 141 as a tool killed by SIGPIPE."""
    db = tmp_path / "big.vsproj"
    many_clips(db, 5000)  # about 250 kB of output: more than the pipe and head's buffer hold
    shell = (f'"{sys.executable}" -m voicestudio --db "{db}" clips | head -1; '
             f'echo "status ${{PIPESTATUS[0]}}" >&2')
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True)
    assert done.stdout.startswith("1\t0.00-1.00\t-\t/recordings/session-00000/take.wav")
    assert done.stdout.count("\n") == 1
    assert done.stderr == "status 141\n"  # no traceback, no "internal error: BrokenPipeError"


@pytest.mark.parametrize("args, status", [
    (["clips"], 141), (["--json", "clips"], 141), (["db", "check"], 141),
    (["--help"], 0),  # argparse itself ignores a failed write of its help
])
def test_a_reader_gone_before_the_first_byte_is_not_an_error(tmp_path, args, status):
    db = tmp_path / "p.vsproj"
    many_clips(db, 3)
    child = subprocess.Popen([sys.executable, "-m", "voicestudio", "--db", str(db), *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # the reader is gone before anything was written
    err = child.stderr.read().decode()
    assert child.wait(60) == status
    assert err == ""


@pytest.mark.parametrize("target", ["my://project.vsproj", "foo://bar"])
def test_a_path_with_an_unknown_scheme_is_a_project_file(tmp_path, target):
    wav = audiofiles.write(tmp_path / "in" / "a.wav", audiofiles.speechlike(16000, 1.0), 16000)
    done = voicestudio("--db", target, "--json", "import", str(wav), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files_added"] == 1
    listed = voicestudio("--db", target, "--json", "clips", cwd=tmp_path)
    assert [c["path"] for c in json.loads(listed.stdout)] == [str(wav)]
    assert (tmp_path / Path(target)).is_file()  # "my:/project.vsproj": // is one / in a path
    assert os.path.samefile(tmp_path / target, tmp_path / Path(target))


def test_the_progress_bar_still_draws_on_a_terminal_with_names_escaped(tmp_path):
    """The bar's own \\r and ESC[K reach a real terminal (a pty); a file name inside it is escaped."""
    import pty

    folder = tmp_path / "audio"
    for i in range(40):
        audiofiles.write(folder / f"{i:02d} {EVIL}.wav", audiofiles.tone(16000, 0.2, 200 + 10 * i), 16000)
    main, terminal = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "voicestudio", "--db", str(tmp_path / "p.vsproj"), "import",
                              str(folder)], stdout=subprocess.PIPE, stderr=terminal, text=True)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        shown += chunk
    out, _ = child.communicate(timeout=120)
    os.close(main)
    assert child.returncode == 0 and out.startswith("40 files added")
    text = shown.decode()
    assert "\rimporting [" in text and "\x1b[K" in text  # drawn, and cleared at the end
    assert "\x1b[2J" not in text and "\nvoicestudio: error: forged" not in text
