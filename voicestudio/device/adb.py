"""Android devices through the ``adb`` command-line tool (Android SDK platform-tools).

``adb -s SERIAL shell CMD`` runs ``CMD`` in the device's ``/system/bin/sh`` (adb joins its
arguments with spaces, so the command line is quoted here, once); modern adb returns
the remote exit status. ``$ADB`` names the tool when it is not on ``PATH``. adb's own
failures (no device, unauthorized, offline) become one clear ``DeviceError`` each.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from voicestudio.device.transport import (
    DEFAULT_TIMEOUT_S,
    CappedOutput,
    CommandResult,
    DeviceAddress,
    DeviceCancelled,
    DeviceError,
    DeviceTimeout,
    quote,
)

POLL_S = 0.1  # how often a running adb command looks at its cancel token
CHUNK = 1 << 16

ADB_SPEAKS = ("error:", "adb:", "* daemon")  # how adb's own messages begin
# What adb prints about the device itself -> what the user should do.
ADB_PROBLEMS = (
    ("not found", "is not connected (see `adb devices`; check the cable and that USB debugging is on)"),
    ("unauthorized", "has not authorized this computer: accept the USB debugging prompt on the phone"),
    ("offline", "is offline: reconnect it, or restart adb with `adb kill-server`"),
    ("more than one device", "is ambiguous: more than one device is connected"),
    ("no devices/emulators found", "is not connected (adb sees no device at all)"),
    ("cannot connect to daemon", "cannot be reached: the adb server did not start"),
)


def adb_executable() -> str:
    tool = os.environ.get("ADB") or shutil.which("adb")
    if not tool:
        raise DeviceError("adb is not installed: install Android SDK platform-tools "
                          "(Debian: apt-get install adb) or set $ADB to its path")
    return tool


class AdbTransport:
    def __init__(self, address: DeviceAddress, *, timeout: float = 15.0):
        self.address = address
        self.tool = adb_executable()
        state = self._adb(["get-state"], timeout=timeout)
        if state.exit_code != 0 or state.stdout.strip() != "device":
            raise DeviceError(self._explain(state.output) or
                              f"{address}: adb get-state says {state.output.strip() or 'nothing'!r}")

    def argv(self, *args: str) -> list[str]:
        return [self.tool, "-s", self.address.serial, *args]

    def run(self, command: str, *, timeout: float = DEFAULT_TIMEOUT_S, cancel=None) -> CommandResult:
        result = self._adb(["shell", command], timeout=timeout, cancel=cancel)
        problem = self._explain(result.stderr) if result.exit_code != 0 else None
        if problem:
            raise DeviceError(problem)
        return result

    def push(self, local: Path, remote: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        parent = remote.rsplit("/", 1)[0] if "/" in remote else "."
        self.run(quote(["mkdir", "-p", parent]), timeout=timeout).check(f"making {parent}")
        result = self._adb(["push", str(local), remote], timeout=timeout)
        if result.exit_code != 0:
            raise DeviceError(self._explain(result.output) or
                              f"{self.address}: adb push {Path(local).name} failed: {result.output.strip()[-300:]}")

    def close(self) -> None:
        pass

    def _adb(self, args: list[str], *, timeout: float, cancel=None) -> CommandResult:
        start = time.monotonic()
        try:  # in its own process group, so that a stopped command takes everything it started with it
            process = subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       start_new_session=True)
        except OSError as exc:
            raise DeviceError(f"cannot run {self.tool} ({exc.strerror or exc})") from None
        output = CappedOutput()
        readers = [threading.Thread(target=_pump, args=(pipe, output, pipe is process.stderr), daemon=True)
                   for pipe in (process.stdout, process.stderr)]
        for reader in readers:
            reader.start()
        stopped = None
        while stopped is None and process.poll() is None:
            if output.full:
                stopped = output.too_long(self.address, f"adb {' '.join(args)}")
            elif cancel is not None and cancel.is_set():
                stopped = DeviceCancelled(f"{self.address}: cancelled")
            elif time.monotonic() - start > timeout:
                stopped = DeviceTimeout(f"{self.address}: adb {args[0]} gave no answer within {timeout:g} s")
            else:
                try:
                    process.wait(timeout=POLL_S)
                except subprocess.TimeoutExpired:
                    pass
        if stopped is not None:
            _kill_group(process)
        process.wait()
        for reader in readers:
            reader.join()
        process.stdout.close()
        process.stderr.close()
        if stopped is None and output.full:  # it ended by itself, but not all it printed was kept
            stopped = output.too_long(self.address, f"adb {' '.join(args)}")
        if stopped is not None:
            stopped.output = output.text()
            raise stopped
        return output.result(process.returncode, time.monotonic() - start)

    def _explain(self, text: str) -> str | None:
        """adb's own complaint about the device, if ``text`` has one (remote errors are left alone)."""
        for line in text.lower().splitlines():
            if not line.lstrip().startswith(ADB_SPEAKS):
                continue  # e.g. "/system/bin/sh: benchmark_model: not found" is the device speaking
            for marker, meaning in ADB_PROBLEMS:
                if marker in line:
                    return f"{self.address}: the device {meaning}"
        return None


def _pump(pipe, output: CappedOutput, stderr: bool) -> None:
    """Read one of adb's pipes into ``output`` until it ends or the output is full (then adb is stopped)."""
    while block := pipe.read1(CHUNK):
        if not output.add(block, stderr=stderr):
            return


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (AttributeError, OSError):  # not POSIX, or already gone
        process.kill()
