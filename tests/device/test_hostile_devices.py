"""Devices that misbehave, and the user's own SSH set-up, end to end: the real CLI in its own
process, a real OpenSSH server on 127.0.0.1 (see conftest.py), a real project file.

A device that prints without end is stopped at the output cap; ``@revoked`` and
``@cert-authority`` lines and broken lines in ``~/.ssh/known_hosts`` are honoured or skipped;
``--python`` is an argument list, quoted, shown; ``--workdir ~/x`` is the login home's ``x``.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from voicestudio.device.ssh import RevokedHostKey, known_hosts_path, trust_host_key
from voicestudio.device.transport import MAX_OUTPUT_BYTES, connect
from voicestudio.model.detector import DEFAULT_MODEL

# Runs the CLI and reports its peak memory (the largest child's RSS, in kB) on its last stderr line.
_MEASURED = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
             "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
             "sys.exit(done.returncode)")


class Run:
    def __init__(self, done: subprocess.CompletedProcess):
        lines = done.stderr.splitlines()
        self.code, self.out = done.returncode, done.stdout
        self.peak_mb = int(lines[-1].split()[1]) / 1024
        self.err = "\n".join(lines[:-1])


def voicestudio(db: Path, *args: str, env: dict | None = None) -> Run:
    done = subprocess.run([sys.executable, "-c", _MEASURED, sys.executable, "-m", "voicestudio", "--db", str(db),
                           *args], capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})
    return Run(done)


def still_running(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


def _host_key(sshd):
    from paramiko.hostkeys import HostKeyEntry

    return HostKeyEntry.from_line(sshd.host_key_line).key


@pytest.fixture
def board(sshd, tmp_path):
    """Adds SSH devices to a project file; the server's host key is trusted (VoiceStudio's known_hosts)."""
    db = tmp_path / "devices.vsproj"
    trust_host_key(f"[127.0.0.1]:{sshd.port}", _host_key(sshd))

    def add(name: str, *options: str) -> Run:
        added = voicestudio(db, "device", "add", name, f"ssh://{sshd.user}@127.0.0.1:{sshd.port}",
                            "--key", str(sshd.key_path), *options)
        assert added.code == 0, added.err
        return added

    add.db = db
    return add


# Output without end -------------------------------------------------------------------------------------

def test_a_device_that_prints_without_end_is_stopped_at_the_cap(board, tmp_path):
    token = f"flood-{uuid.uuid4().hex[:8]}"
    board("flood", "--python", f"yes {token} --", "--workdir", str(tmp_path / "flood-home"))
    check = voicestudio(board.db, "device", "check", "flood")
    assert check.code == 1, check.err
    assert f"`yes {token} --`: output over {MAX_OUTPUT_BYTES >> 20} MiB, stopped" in check.out, check.out
    assert check.peak_mb < 400, check.peak_mb  # was 2 GB and growing, then MemoryError
    assert not still_running(token)  # closing the channel ended it on the device

    # A bench whose tool prints without end: stopped, kept as an error run with the first 16 MiB of its log.
    workdir = tmp_path / "bench-home"
    workdir.mkdir()
    tool = workdir / "benchmark_model"
    tool.write_text(f"#!/bin/sh\nexec yes {token}-bench\n")
    tool.chmod(0o755)
    board("noisy", "--workdir", str(workdir))
    bench = voicestudio(board.db, "device", "bench", "noisy", str(DEFAULT_MODEL), "--runs", "2")
    assert bench.code == 1 and f"FAILED: output over {MAX_OUTPUT_BYTES >> 20} MiB, stopped" in bench.out, bench.err
    assert bench.peak_mb < 400, bench.peak_mb
    assert not still_running(f"{token}-bench")
    history = json.loads(voicestudio(board.db, "--json", "device", "history", "noisy").out)
    assert [(h["status"], h["error"]) for h in history] == [("error", "output over 16 MiB, stopped")]
    log = voicestudio(board.db, "device", "log", str(history[0]["run_id"])).out
    assert log.startswith("$ ") and MAX_OUTPUT_BYTES - 100 < len(log) < MAX_OUTPUT_BYTES + 1000
    print(f"\nendless output: device check peaked at {check.peak_mb:.0f} MB, device bench at {bench.peak_mb:.0f} MB")


# known_hosts as people have it ------------------------------------------------------------------------------

def _known_hosts_with(home: Path, *lines: str) -> Path:
    path = home / ".ssh" / "known_hosts"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_known_hosts_markers_and_broken_lines(sshd, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))  # this process and the CLI's read ~/.ssh/known_hosts from here
    import paramiko

    key_b64 = sshd.host_key_line.split()[2]
    other = paramiko.Ed25519Key.from_private_key_file(str(sshd.key_path)).get_base64()  # some other key
    _known_hosts_with(
        home,
        "# the user's own file, with what people have in it",
        f"@cert-authority *.example.com ssh-ed25519 {other}",
        f"@revoked old.example.com ssh-ed25519 {other}",
        "@future-marker host ssh-ed25519 AAAA",
        "garbage",
        "host.example ssh-ed25519 not-base64!!",
        "host.example ssh-unknown-type AAAAB3NzaC1yc2EAAAADAQAB",
        "host.example ssh-ed25519",
        "",
        f"|1|c2FsdA==|aGFzaA== ssh-ed25519 {other}",
        sshd.host_key_line + " a comment",
    )
    uri = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}"
    connect(uri, key_path=str(sshd.key_path)).close()  # known from ~/.ssh/known_hosts, the rest skipped

    db = tmp_path / "p.vsproj"
    assert voicestudio(db, "device", "add", "board", uri, "--key", str(sshd.key_path)).code == 0
    check = voicestudio(db, "device", "check", "board")
    assert "reachable" in check.out and "Traceback" not in check.err, check.err  # (host python: no runtime)

    # The same key marked @revoked: refused, with or without trust, and never recorded.
    _known_hosts_with(home, sshd.host_key_line, f"@revoked * ssh-ed25519 {key_b64}")
    with pytest.raises(RevokedHostKey, match="REVOKED in known_hosts"):
        connect(uri, key_path=str(sshd.key_path))
    for trust in ([], ["--trust-new-host"]):
        check = voicestudio(db, "device", "check", "board", *trust)
        assert check.code == 1 and check.out == "", check.err
        assert check.err.splitlines() == [
            f"voicestudio: error: [127.0.0.1]:{sshd.port}: the host key ssh-ed25519 {sshd.host_fingerprint} is "
            "REVOKED in known_hosts (@revoked): refusing to connect"]
    assert not known_hosts_path().exists() or key_b64 not in known_hosts_path().read_text()

    # Revoked while VoiceStudio's own file trusts it: still refused.
    trust_host_key(f"[127.0.0.1]:{sshd.port}", _host_key(sshd))
    with pytest.raises(RevokedHostKey):
        connect(uri, key_path=str(sshd.key_path))


# --python: an argument list, quoted, shown ------------------------------------------------------------------

def test_the_python_command_is_arguments_quoted_and_shown(board, tmp_path):
    folder = tmp_path / "my tools"
    folder.mkdir()
    wrapper = folder / "py thon"  # spaces in both: must stay one argument
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n")
    wrapper.chmod(0o755)
    board("spaced", "--python", shlex.join([str(wrapper), "-I"]), "--workdir", str(tmp_path / "w1"))
    check = voicestudio(board.db, "--json", "device", "check", "spaced")
    found = json.loads(check.out)
    assert found["python_cmd"] == [str(wrapper), "-I"] and found["python"].startswith("3."), check.err

    # What used to run as a shell line is now the name of a program: nothing else is run.
    victim = tmp_path / "pwned"
    board("sneaky", "--python", f"python3; touch {victim}", "--workdir", str(tmp_path / "w2"))
    check = voicestudio(board.db, "device", "check", "sneaky")
    assert check.code == 1 and f"no Python: `'python3;' touch {victim}` is not found" in check.out
    assert not victim.exists()

    listed = voicestudio(board.db, "device", "list").out.splitlines()
    assert any(line.startswith("spaced\t") and f"\tpython: {shlex.join([str(wrapper), '-I'])}\t" in line
               for line in listed), listed
    assert any(line.startswith("sneaky\t") and f"\tpython: 'python3;' touch {victim}\t" in line for line in listed)
    devices = {d["name"]: d for d in json.loads(voicestudio(board.db, "--json", "device", "list").out)}
    assert devices["sneaky"]["python_cmd"] == ["python3;", "touch", str(victim)]

    assert voicestudio(board.db, "device", "add", "bad", "adb://X", "--python", "python3 'unclosed").code == 1


def test_a_python_command_stored_as_a_line_by_an_older_version_still_works(board, tmp_path):
    board("old", "--workdir", str(tmp_path / "w"))
    with sqlite3.connect(board.db) as db:  # what earlier versions wrote: the command line as typed
        db.execute("UPDATE devices SET python_cmd = ? WHERE name = 'old'", (f"env OLD=1 {shlex.quote(sys.executable)}",))
    devices = json.loads(voicestudio(board.db, "--json", "device", "list").out)
    assert devices[0]["python_cmd"] == ["env", "OLD=1", sys.executable]
    check = json.loads(voicestudio(board.db, "--json", "device", "check", "old").out)
    assert check["python"].startswith("3.") and check["python_cmd"] == ["env", "OLD=1", sys.executable]


# --workdir ~ ---------------------------------------------------------------------------------------------

def test_a_workdir_under_tilde_is_the_login_home(board, tmp_path):
    login_home = Path(pwd.getpwuid(os.geteuid()).pw_dir)  # where sshd starts the device's commands
    name = f"vs-test-{uuid.uuid4().hex[:8]}"
    try:
        board("home", "--workdir", f"~/{name}")
        check = voicestudio(board.db, "device", "check", "home")
        assert "reachable" in check.out, check.err
        assert list((login_home / name).glob("voicestudio_bench_*.py"))  # the script went to ~/NAME
        assert not (login_home / "~").exists()  # not to a folder named "~"
        assert f"\tworkdir: ~/{name}" in voicestudio(board.db, "device", "list").out
    finally:
        shutil.rmtree(login_home / name, ignore_errors=True)

    for workdir, reason in (("~root/vs", "~user, $VARIABLES and `commands` are not expanded"),
                            ("$HOME/vs", "give the path itself")):
        added = voicestudio(board.db, "device", "add", "x", "ssh://me@127.0.0.1", "--workdir", workdir)
        assert added.code == 1 and reason in added.err and len(added.err.splitlines()) == 1, added.err
    added = voicestudio(board.db, "device", "add", "phone", "adb://R58", "--workdir", "~/vs")
    assert added.code == 1 and "adb's shell has no home folder" in added.err
    assert [d["name"] for d in json.loads(voicestudio(board.db, "--json", "device", "list").out)] == ["home"]
