"""What every transport does: run a command with a timeout, push a file, say where files go.

A device is named by a URI, ``ssh://user@host[:port]`` or ``adb://SERIAL``. Commands are
given as argument lists and quoted here for the remote POSIX shell (``sh`` on a board,
``/system/bin/sh`` on Android), so file names with spaces or quotes stay one argument.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from voicestudio.errors import VoiceStudioError

DEFAULT_TIMEOUT_S = 60.0
# The most a remote command may print (stdout and stderr together): a device that prints
# without end is stopped there, not kept in memory until the computer runs out of it.
MAX_OUTPUT_BYTES = 16 << 20
SSH_PORT = 22
ANDROID_WORKDIR = "/data/local/tmp/voicestudio"  # adb's shell user may write only here
BOARD_WORKDIR = ".voicestudio"  # relative: in the login user's home


class DeviceError(VoiceStudioError):
    """A device cannot be reached or a command on it failed."""


class DeviceTimeout(DeviceError):
    """A remote command did not finish in time; ``output`` is what it printed until then."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output


class DeviceCancelled(DeviceTimeout):
    """The user cancelled a remote command; ``output`` is what it printed until then."""


class DeviceOutputTooLong(DeviceTimeout):
    """A remote command printed more than ``MAX_OUTPUT_BYTES`` and was stopped; ``output`` is the first part."""


class CappedOutput:
    """What a remote command prints, kept up to ``MAX_OUTPUT_BYTES`` (stdout and stderr together)."""

    def __init__(self, limit: int = MAX_OUTPUT_BYTES):
        self.stdout, self.stderr, self.limit = bytearray(), bytearray(), limit

    @property
    def full(self) -> bool:
        return len(self.stdout) + len(self.stderr) >= self.limit

    def add(self, data: bytes, *, stderr: bool = False) -> bool:
        """Keep ``data`` (up to the limit); False once the limit is reached: stop the command."""
        room = self.limit - len(self.stdout) - len(self.stderr)
        (self.stderr if stderr else self.stdout).extend(data[:max(room, 0)])
        return len(data) < room

    def text(self) -> str:
        return _text(self.stdout) + _text(self.stderr)

    def result(self, exit_code: int, duration_s: float) -> "CommandResult":
        return CommandResult(exit_code, _text(self.stdout), _text(self.stderr), duration_s)

    def too_long(self, where, command: str) -> DeviceOutputTooLong:
        return DeviceOutputTooLong(f"{where}: output over {self.limit >> 20} MiB, stopped: {command[:200]}",
                                   self.text())


def _text(data: bytes) -> str:
    return bytes(data).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class DeviceAddress:
    scheme: str  # "ssh" or "adb"
    host: str = ""  # ssh
    port: int = SSH_PORT
    user: str | None = None
    serial: str = ""  # adb

    @classmethod
    def parse(cls, uri: str) -> "DeviceAddress":
        parts = urlsplit(str(uri).strip())
        if parts.password is not None:
            raise DeviceError("a device URI must not hold a password: use an SSH key (--key)")
        if parts.scheme == "adb":
            serial = unquote(parts.netloc + parts.path).strip("/")
            if not serial:
                raise DeviceError(f"{uri}: give the device's serial, as `adb devices` lists it: adb://SERIAL")
            return cls("adb", serial=serial)
        if parts.scheme == "ssh":
            if not parts.hostname:
                raise DeviceError(f"{uri}: give a host: ssh://user@host[:port]")
            try:
                port = parts.port or SSH_PORT
            except ValueError:
                raise DeviceError(f"{uri}: the port must be a number from 1 to 65535") from None
            return cls("ssh", host=parts.hostname, port=port, user=unquote(parts.username) if parts.username else None)
        raise DeviceError(f"{uri}: a device is ssh://user@host[:port] or adb://SERIAL")

    def __str__(self) -> str:
        if self.scheme == "adb":
            return f"adb://{self.serial}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ssh://{self.user + '@' if self.user else ''}{host}{'' if self.port == SSH_PORT else f':{self.port}'}"


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def output(self) -> str:
        """stdout then stderr, as a log keeps them."""
        return self.stdout + (("\n" if self.stdout and not self.stdout.endswith("\n") else "") + self.stderr
                              if self.stderr else "")

    def check(self, what: str) -> "CommandResult":
        """Self if the command succeeded, else a ``DeviceError`` quoting its last error line."""
        if self.exit_code == 0:
            return self
        lines = [line.strip() for line in (self.stderr or self.stdout).splitlines() if line.strip()]
        raise DeviceError(f"{what} failed (exit {self.exit_code})" + (f": {lines[-1][:300]}" if lines else ""))


def quote(args: list[str] | tuple[str, ...]) -> str:
    """One shell command line from an argument list (each argument quoted for sh)."""
    return " ".join(shlex.quote(str(a)) for a in args)


class Transport(Protocol):
    address: DeviceAddress

    def run(self, command: str, *, timeout: float = DEFAULT_TIMEOUT_S, cancel=None) -> CommandResult:
        """Run a shell command line; a ``DeviceTimeout`` (with the output so far) after ``timeout``,
        a ``DeviceCancelled`` as soon as ``cancel.is_set()``."""

    def push(self, local: Path, remote: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Copy a local file to ``remote`` (a path on the device)."""

    def close(self) -> None: ...


def connect(uri: str, *, key_path: str | None = None, trust_new_host: bool = False,
            timeout: float = 15.0) -> Transport:
    """A connected transport for the device at ``uri``."""
    address = DeviceAddress.parse(uri)
    if address.scheme == "adb":
        from voicestudio.device.adb import AdbTransport

        return AdbTransport(address, timeout=timeout)
    from voicestudio.device.ssh import SshTransport

    return SshTransport(address, key_path=key_path, trust_new_host=trust_new_host, timeout=timeout)


def default_workdir(address: DeviceAddress) -> str:
    return ANDROID_WORKDIR if address.scheme == "adb" else BOARD_WORKDIR


def device_workdir(workdir: str | None, address: DeviceAddress) -> str:
    """The work folder as commands name it. Paths reach the device quoted, so nothing in them is
    expanded there: over SSH a leading ``~`` is the login home, where commands start, so
    ``~/vs`` becomes ``vs``; anything else a shell would expand is refused, not created literally."""
    if not workdir:
        return default_workdir(address)
    if workdir == "~" or workdir.startswith("~/"):
        if address.scheme == "adb":
            raise DeviceError(f"work folder {workdir!r}: adb's shell has no home folder; give an absolute path "
                              f"such as {ANDROID_WORKDIR}")
        return workdir[2:].lstrip("/") or "."
    if workdir.startswith("~") or "$" in workdir or "`" in workdir:
        raise DeviceError(f"work folder {workdir!r}: give the path itself (absolute, or relative to the login "
                          "home); ~user, $VARIABLES and `commands` are not expanded on the device")
    return workdir
