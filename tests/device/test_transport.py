"""Device addresses, quoting, and the adb transport.

An Android phone cannot run here, so ``adb`` is a stand-in script (the only mocked part):
it records its arguments, answers ``get-state`` as told, and runs ``shell`` commands in
a local ``sh`` and ``push`` as a copy, so the whole check/bench path runs through the adb
transport's real command construction and error handling.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest

from voicestudio.device.adb import AdbTransport
from voicestudio.device.transport import (
    MAX_OUTPUT_BYTES,
    CommandResult,
    DeviceAddress,
    DeviceError,
    DeviceOutputTooLong,
    DeviceTimeout,
    connect,
    quote,
)

FAKE_ADB = r'''#!{python}
import json, os, shutil, subprocess, sys, time
args = sys.argv[1:]
with open(os.environ["FAKE_ADB_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
mode = os.environ.get("FAKE_ADB_MODE", "device")
assert args[0] == "-s", args
serial, verb, rest = args[1], args[2], args[3:]
if mode == "unauthorized":
    sys.stderr.write("error: device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set\n"); sys.exit(1)
if mode == "offline":
    sys.stderr.write("error: device offline\n"); sys.exit(1)
if mode == "missing":
    sys.stderr.write("error: device '%s' not found\n" % serial); sys.exit(1)
if mode == "slow":
    time.sleep(30)
if verb == "get-state":
    print("device"); sys.exit(0)
if verb == "shell":
    (command,) = rest  # one argument: the transport quotes the command line itself
    if command == "getprop ro.product.cpu.abi":
        print("arm64-v8a"); sys.exit(0)
    sys.exit(subprocess.run(["sh", "-c", command]).returncode)
if verb == "push":
    shutil.copyfile(rest[0], rest[1]); print("%s: 1 file pushed." % rest[0]); sys.exit(0)
sys.exit("unknown adb verb %s" % verb)
'''


@pytest.fixture
def adb(tmp_path, monkeypatch):
    tool = tmp_path / "bin" / "adb"
    tool.parent.mkdir()
    tool.write_text(FAKE_ADB.replace("{python}", sys.executable))
    tool.chmod(0o755)
    log = tmp_path / "adb.log"
    monkeypatch.setenv("ADB", str(tool))
    monkeypatch.setenv("FAKE_ADB_LOG", str(log))

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


@pytest.mark.parametrize("uri, expected", [
    ("ssh://pi@10.0.0.5", DeviceAddress("ssh", host="10.0.0.5", port=22, user="pi")),
    ("ssh://pi@board.local:2222", DeviceAddress("ssh", host="board.local", port=2222, user="pi")),
    ("ssh://[fe80::1]:2200", DeviceAddress("ssh", host="fe80::1", port=2200)),
    ("adb://R58M123ABC", DeviceAddress("adb", serial="R58M123ABC")),
    ("adb://192.168.1.20:5555", DeviceAddress("adb", serial="192.168.1.20:5555")),  # adb over Wi-Fi
])
def test_addresses(uri, expected):
    assert DeviceAddress.parse(uri) == expected
    assert DeviceAddress.parse(str(expected)) == expected


@pytest.mark.parametrize("uri, message", [
    ("ssh://pi:secret@host", "must not hold a password"),
    ("ssh://pi@host:99999", "port must be a number"),
    ("ssh://", "give a host"),
    ("adb://", "serial"),
    ("telnet://host", "ssh://user@host"),
    ("10.0.0.5", "ssh://user@host"),
])
def test_bad_addresses(uri, message):
    with pytest.raises(DeviceError, match=message):
        DeviceAddress.parse(uri)


def test_quoting_keeps_each_argument_whole():
    line = quote(["python3", "/data/x y/it's.py", "--model", "$(reboot)", "a;b"])
    assert shlex.split(line) == ["python3", "/data/x y/it's.py", "--model", "$(reboot)", "a;b"]


def test_command_result_check():
    assert CommandResult(0, "ok", "", 0.1).check("x").stdout == "ok"
    with pytest.raises(DeviceError, match=r"uname failed \(exit 2\): second"):
        CommandResult(2, "", "first\nsecond\n", 0.1).check("uname")


def test_adb_commands_are_built_once_quoted(adb, tmp_path):
    transport = connect("adb://R58M123")
    assert isinstance(transport, AdbTransport)
    weird = tmp_path / "it's a dir"
    weird.mkdir()
    result = transport.run(quote(["ls", str(weird)]))
    assert result.exit_code == 0
    (tmp_path / "m.tflite").write_bytes(b"model")
    transport.push(tmp_path / "m.tflite", str(weird / "models" / "m.tflite"))
    assert (weird / "models" / "m.tflite").read_bytes() == b"model"
    tool = os.environ["ADB"]
    assert adb() == [
        ["-s", "R58M123", "get-state"],
        ["-s", "R58M123", "shell", f"ls {shlex.quote(str(weird))}"],
        ["-s", "R58M123", "shell", f"mkdir -p {shlex.quote(str(weird / 'models'))}"],
        ["-s", "R58M123", "push", str(tmp_path / "m.tflite"), str(weird / "models" / "m.tflite")],
    ]
    assert transport.argv("shell", "x") == [tool, "-s", "R58M123", "shell", "x"]


def test_a_command_failing_on_the_phone_is_not_an_adb_problem(adb):
    result = connect("adb://R58M123").run("benchmark_model_that_is_not_there --x")
    assert result.exit_code == 127 and "not found" in result.stderr  # the device's shell speaking


@pytest.mark.parametrize("mode, message", [
    ("unauthorized", "has not authorized this computer"),
    ("offline", "is offline"),
    ("missing", "is not connected"),
])
def test_adb_problems_are_explained(adb, monkeypatch, mode, message):
    monkeypatch.setenv("FAKE_ADB_MODE", mode)
    with pytest.raises(DeviceError, match=message):
        connect("adb://R58M123")


def test_adb_timeouts_and_a_missing_adb(adb, monkeypatch):
    monkeypatch.setenv("FAKE_ADB_MODE", "slow")
    with pytest.raises(DeviceTimeout, match="no answer within 0.5 s"):
        connect("adb://R58M123", timeout=0.5)
    monkeypatch.delenv("ADB")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(DeviceError, match="adb is not installed"):
        connect("adb://R58M123")


def test_check_and_bench_through_adb(adb, arm_python, tmp_path, capsys):
    """The phone is the local shell here; its Python the aarch64 one under qemu."""
    from voicestudio.cli import main
    from voicestudio.model.detector import DEFAULT_MODEL

    db, workdir = str(tmp_path / "p.vsproj"), tmp_path / "data-local-tmp"
    assert main(["--db", db, "device", "add", "phone", "adb://R58M123", "--python", arm_python.command,
                 "--workdir", str(workdir)]) == 0
    capsys.readouterr()
    assert main(["--db", db, "--json", "device", "check", "phone"]) == 0
    check = json.loads(capsys.readouterr().out)
    assert check["android_abi"] == "arm64-v8a" and check["arch"] == "aarch64"
    assert main(["--db", db, "--json", "device", "bench", "phone", str(DEFAULT_MODEL), "--runs", "2"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    assert run["status"] == "ok" and run["results"]["machine"] == "aarch64"
    pushes = [c for c in adb() if c[2] == "push"]
    assert [Path(c[3]).name for c in pushes] == [pushes[0][3].rsplit("/", 1)[1], DEFAULT_MODEL.name]
    assert main(["--db", db, "device", "add", "phone2", "adb://X", "--key", str(DEFAULT_MODEL)]) == 1
    assert "--key is for SSH devices" in capsys.readouterr().err


def test_an_adb_command_that_prints_without_end_is_stopped_at_the_cap(adb, tmp_path):
    """The phone's command floods adb's output: stopped at the cap, adb and the command killed."""
    import subprocess
    import uuid

    token = f"adb-flood-{uuid.uuid4().hex[:8]}"
    transport = connect("adb://R58M123")
    with pytest.raises(DeviceOutputTooLong, match=f"output over {MAX_OUTPUT_BYTES >> 20} MiB, stopped") as caught:
        transport.run(quote(["yes", token]), timeout=300)
    assert len(caught.value.output) == MAX_OUTPUT_BYTES and caught.value.output.startswith(f"{token}\n")
    assert subprocess.run(["pgrep", "-f", token], capture_output=True).returncode != 0  # nothing left running
    assert transport.run("echo still usable").stdout == "still usable\n"

    # Through the CLI: the device's "python" floods; check says so in one problem line and exits 1.
    db = tmp_path / "p.vsproj"
    run = [sys.executable, "-m", "voicestudio", "--db", str(db), "device"]
    assert subprocess.run([*run, "add", "phone", "adb://R58M123", "--python", f"yes {token} --", "--workdir",
                           str(tmp_path / "w")], capture_output=True).returncode == 0
    done = subprocess.run([*run, "check", "phone"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1 and f"`yes {token} --`: output over 16 MiB, stopped" in done.stdout, done.stdout
    assert subprocess.run(["pgrep", "-f", token], capture_output=True).returncode != 0
