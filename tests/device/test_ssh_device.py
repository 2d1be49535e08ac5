"""Devices over real SSH: an OpenSSH server on 127.0.0.1 whose "python" is an aarch64 Python
under qemu-user with tflite-runtime 2.14 (see conftest.py). Only TFLite's benchmark_model
binary is a stand-in: a script on the device that prints a real captured output."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from voicestudio.cli import main
from voicestudio.device import registry
from voicestudio.device.ssh import UnknownHostKey, known_hosts_path, trust_host_key
from voicestudio.device.transport import DeviceError, connect
from voicestudio.model.detector import DEFAULT_MODEL
from voicestudio.store.project import open_project

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "benchmark"
INT8_MODEL = DEFAULT_MODEL.with_name("voice-detector-int8.tflite")  # every op at a version 2.14 has (issue 16)
TOO_NEW_MODEL = Path(__file__).parents[1] / "fixtures" / "models" / "int8-needs-litert-2.21.tflite"


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path):
    return str(tmp_path / "devices.vsproj")


@pytest.fixture
def arm_board(project, sshd, arm_python, tmp_path, capsys):
    """The project's device "board": the SSH server, with the aarch64 Python, its key trusted."""
    workdir = tmp_path / "device-home"
    code, _, err = run_cli(capsys, "--db", project, "device", "add", "board",
                           f"ssh://{sshd.user}@127.0.0.1:{sshd.port}", "--key", str(sshd.key_path),
                           "--python", arm_python.command, "--workdir", str(workdir))
    assert code == 0, err
    trust_host_key(f"[127.0.0.1]:{sshd.port}", _host_key(sshd))
    return workdir


def _host_key(sshd):
    from paramiko.hostkeys import HostKeyEntry

    return HostKeyEntry.from_line(sshd.host_key_line).key


def test_an_unknown_host_key_is_refused_until_trusted_explicitly(project, sshd, capsys):
    uri = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}"
    assert run_cli(capsys, "--db", project, "device", "add", "b", uri, "--key", str(sshd.key_path))[0] == 0
    code, _, err = run_cli(capsys, "--db", project, "device", "check", "b")
    assert code == 1 and "unknown host key" in err and sshd.host_fingerprint in err and "--trust-new-host" in err
    assert not known_hosts_path().exists()
    with pytest.raises(UnknownHostKey) as caught:
        connect(uri, key_path=str(sshd.key_path))
    assert caught.value.fingerprint == sshd.host_fingerprint  # what the window's dialog shows

    # Trusted once, explicitly: recorded, and later connections need no flag.
    code, out, err = run_cli(capsys, "--db", project, "device", "check", "b", "--trust-new-host")
    assert f"[127.0.0.1]:{sshd.port} ssh-ed25519" in known_hosts_path().read_text()
    assert "x86_64" in out  # the host's own python3 has no runtime: check says so, exit 1
    assert code == 1 and "nothing here can time a model" in out
    connect(uri, key_path=str(sshd.key_path)).close()


def test_a_changed_host_key_is_refused_even_with_trust(project, sshd, tmp_path):
    import paramiko

    other = paramiko.Ed25519Key.from_private_key_file(str(sshd.key_path))  # any other ed25519 key
    trust_host_key(f"[127.0.0.1]:{sshd.port}", other)
    with pytest.raises(DeviceError, match="CHANGED"):
        connect(f"ssh://{sshd.user}@127.0.0.1:{sshd.port}", key_path=str(sshd.key_path), trust_new_host=True)


def test_unreachable_devices_and_bad_keys_are_clear_errors(project, sshd, tmp_path, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert run_cli(capsys, "--db", project, "device", "add", "gone", f"ssh://me@127.0.0.1:{free}")[0] == 0
    code, _, err = run_cli(capsys, "--db", project, "device", "check", "gone")
    assert code == 1 and "cannot connect" in err and "Traceback" not in err
    wrong = tmp_path / "wrong_key"
    import paramiko

    paramiko.Ed25519Key.from_private_key_file(str(sshd.key_path))  # (the right one loads)
    wrong.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n")
    trust_host_key(f"[127.0.0.1]:{sshd.port}", _host_key(sshd))
    with pytest.raises(DeviceError, match="127.0.0.1"):
        connect(f"ssh://{sshd.user}@127.0.0.1:{sshd.port}", key_path=str(wrong))
    code, _, err = run_cli(capsys, "--db", project, "device", "add", "nokey", "ssh://a@b", "--key", str(tmp_path / "none"))
    assert code == 1 and "no such SSH key file" in err
    code, _, err = run_cli(capsys, "--db", project, "device", "check", "nobody")
    assert code == 1 and "no device named 'nobody'" in err


def test_check_reports_the_arm_python_and_its_runtime(project, arm_board, capsys):
    code, out, err = run_cli(capsys, "--db", project, "--json", "device", "check", "board")
    assert code == 0, err
    check = json.loads(out)
    assert check["arch"] == "aarch64" and check["uname"].startswith("x86_64")  # ARM code on an x86 host
    assert check["python"].startswith("3.11") and check["numpy"].startswith("1.26")
    assert check["runtimes"]["tflite-runtime"] == "2.14.0" and check["runtimes"]["ai-edge-litert"] is None
    assert check["tools"] == ["python:tflite-runtime"] and check["benchmark_model"] is None
    with open_project(project) as p:
        assert registry.devices(p)[0].check["arch"] == "aarch64"  # kept with the device


def test_bench_times_arm_code_and_keeps_every_run(project, arm_board, capsys):
    code, out, err = run_cli(capsys, "--db", project, "--json", "device", "bench", "board", str(DEFAULT_MODEL),
                             "--threads", "1,2", "--runs", "4", "--warmup", "1")
    assert code == 0, err
    report = json.loads(out)
    assert report["pushed"] is True and [r["status"] for r in report["runs"]] == ["ok", "ok"]
    for run, threads in zip(report["runs"], (1, 2)):
        r = run["results"]
        assert run["threads"] == r["threads"] == threads and r["machine"] == "aarch64"
        assert r["runtime"] == "tflite-runtime" and r["runtime_version"] == "2.14.0" and r["runs"] == 4
        assert 0 < r["min_ms"] <= r["median_ms"] <= r["p90_ms"] <= r["max_ms"] and len(r["times_ms"]) == 4
        assert r["min_ms"] <= r["avg_ms"] <= r["max_ms"] and r["std_ms"] >= 0 and r["peak_memory_mb"] > 10
        assert r["init_ms"] > 0 and r["first_ms"] > 0
    model_on_device = arm_board / "models" / f"{report['model_sha256']}.tflite"
    assert model_on_device.read_bytes() == DEFAULT_MODEL.read_bytes()

    # The same model again: not pushed again; a model too new for tflite-runtime 2.14: a clear error run.
    code, out, _ = run_cli(capsys, "--db", project, "device", "bench", "board", str(DEFAULT_MODEL), "--runs", "2")
    assert code == 0 and "already on the device" in out
    code, out, _ = run_cli(capsys, "--db", project, "device", "bench", "board", str(INT8_MODEL), "--runs", "2")
    assert code == 0, out  # the built-in int8 model runs on the board's tflite-runtime 2.14
    code, out, _ = run_cli(capsys, "--db", project, "device", "bench", "board", str(TOO_NEW_MODEL), "--runs", "2")
    assert code == 1 and "FAILED: tflite-runtime 2.14.0 cannot load the model" in out
    assert "needs TFLite 2.21.0 or newer" in out

    code, out, _ = run_cli(capsys, "--db", project, "--json", "device", "history", "board")
    history = json.loads(out)
    assert [(h["model"], h["threads"], h["status"]) for h in history] == [
        ("int8-needs-litert-2.21", 1, "error"), ("voice-detector-int8", 1, "ok"), ("voice-detector", 1, "ok"),
        ("voice-detector", 2, "ok"), ("voice-detector", 1, "ok")]
    log = run_cli(capsys, "--db", project, "device", "log", str(history[0]["run_id"]))[1]
    assert log.startswith("$ ") and "Didn't find op for builtin opcode" in log  # the raw log is kept
    log = run_cli(capsys, "--db", project, "device", "log", str(history[2]["run_id"]))[1]
    assert "VOICESTUDIO_BENCH {" in log and "--threads 1" in log


def test_a_run_that_times_out_is_stored_with_its_partial_output(project, arm_board, capsys):
    code, out, _ = run_cli(capsys, "--db", project, "device", "bench", "board", str(DEFAULT_MODEL),
                           "--runs", "2", "--timeout", "0.3")
    assert code == 1 and "FAILED: timed out after 0.3 s" in out
    with open_project(project) as p:
        (run,) = registry.history(p)
        assert run.status == "error" and run.error.startswith("timed out") and run.avg_ms is None
        assert registry.raw_log(p, run.run_id).startswith("$ ")
    assert not still_running(str(arm_board))  # the run was killed on the device, not left behind


def still_running(pattern: str, wait_s: float = 5.0) -> bool:
    import subprocess
    import time

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode != 0:
            return False
        time.sleep(0.1)
    return True


def test_a_cancelled_bench_stops_the_device_and_keeps_the_run(project, arm_board):
    import threading

    from voicestudio.device.bench import BenchRequest, bench_model
    from voicestudio.errors import VoiceStudioError

    cancel = threading.Event()
    started = []

    def progress(p):
        if p.message.startswith("timing"):
            started.append(p)
            threading.Timer(1.0, cancel.set).start()

    with open_project(project) as p:
        with pytest.raises(VoiceStudioError, match="cancelled"):
            bench_model(p, "board", DEFAULT_MODEL, BenchRequest(threads=(1, 2), runs=100000), progress=progress,
                        cancel=cancel)
        (run,) = registry.history(p)  # the second thread count never started
        assert started and run.status == "error" and run.error == "cancelled" and run.threads == 1
    assert not still_running(str(arm_board))


def _install_benchmark_model(workdir: Path, capture: str, exit_code: int = 0) -> Path:
    """A stand-in for TFLite's benchmark_model binary (not buildable here): prints a real capture."""
    workdir.mkdir(parents=True, exist_ok=True)
    args_file = workdir / "benchmark_model.args"
    tool = workdir / "benchmark_model"
    tool.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {shlex.quote(str(args_file))}\n"
                    f"cat {shlex.quote(str(FIXTURES / capture))}\nexit {exit_code}\n")
    tool.chmod(0o755)
    return args_file


def test_benchmark_model_is_preferred_and_its_output_parsed(project, arm_board, capsys):
    args_file = _install_benchmark_model(arm_board, "tflite_am62x_ssd_mobilenet_xnnpack.txt")
    code, out, _ = run_cli(capsys, "--db", project, "--json", "device", "check", "board")
    assert json.loads(out)["tools"] == ["benchmark_model", "python:tflite-runtime"]
    code, out, err = run_cli(capsys, "--db", project, "--json", "device", "bench", "board", str(DEFAULT_MODEL),
                             "--threads", "4", "--runs", "30", "--warmup", "2")
    assert code == 0, err
    (run,) = json.loads(out)["runs"]
    assert run["tool"] == "benchmark_model" and run["results"]["format"] == "benchmark_model"
    assert run["results"]["avg_ms"] > 0 and run["results"]["runs"] > 0
    sha = json.loads(out)["model_sha256"]
    assert args_file.read_text().split() == [f"--graph={arm_board}/models/{sha}.tflite", "--num_threads=4",
                                             "--num_runs=30", "--warmup_runs=2"]
    # --tool python still uses the script.
    code, out, _ = run_cli(capsys, "--db", project, "--json", "device", "bench", "board", str(DEFAULT_MODEL),
                           "--tool", "python", "--runs", "2")
    assert code == 0 and json.loads(out)["runs"][0]["tool"] == "python:tflite-runtime"


def test_a_truncated_benchmark_model_output_is_an_error_run(project, arm_board, capsys):
    _install_benchmark_model(arm_board, "truncated_riscv_qemu_mobilenet.txt", exit_code=134)
    code, out, _ = run_cli(capsys, "--db", project, "device", "bench", "board", str(DEFAULT_MODEL))
    assert code == 1 and "FAILED:" in out and "killed by SIGABRT" in out
    with open_project(project) as p:
        (run,) = registry.history(p)
        assert run.tool == "benchmark_model" and run.status == "error"
        assert "Running benchmark" in registry.raw_log(p, run.run_id)


def test_remove_takes_the_runs_with_it(project, arm_board, capsys):
    assert run_cli(capsys, "--db", project, "device", "bench", "board", str(DEFAULT_MODEL), "--runs", "1")[0] == 0
    code, out, _ = run_cli(capsys, "--db", project, "device", "list")
    assert out.startswith("board\tssh://") and "aarch64\t1 runs" in out
    assert run_cli(capsys, "--db", project, "device", "remove", "board")[0] == 0
    with open_project(project) as p:
        assert registry.devices(p) == [] and registry.history(p) == []
