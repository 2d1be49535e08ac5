"""SSH to a Linux board through paramiko, with host keys checked against known_hosts.

Host keys are looked up in the user's ``~/.ssh/known_hosts`` and in VoiceStudio's own
``known_hosts`` (in the user config folder, the only one VoiceStudio writes). A host
whose key is in neither is refused with ``UnknownHostKey``, which carries the key's
SHA-256 fingerprint for the user to compare; only an explicit trust (``--trust-new-host``,
or accepting the window's dialog) records it. A key that differs from the recorded one
is always refused. Files are pushed through ``cat`` on the remote shell rather than SFTP,
which many boards (dropbear) do not have.
"""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

from voicestudio.device.transport import (
    DEFAULT_TIMEOUT_S,
    CommandResult,
    DeviceAddress,
    DeviceCancelled,
    DeviceError,
    DeviceTimeout,
    quote,
)

CHUNK = 1 << 16
POLL_S = 0.005


def known_hosts_path() -> Path:
    """VoiceStudio's own known_hosts file (trusted keys are added here)."""
    import platformdirs

    return platformdirs.user_config_path("VoiceStudio", appauthor=False) / "known_hosts"


def fingerprint(key) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def host_id(address: DeviceAddress) -> str:
    """The host's name in known_hosts: ``host``, or ``[host]:port`` off port 22."""
    return address.host if address.port == 22 else f"[{address.host}]:{address.port}"


class UnknownHostKey(DeviceError):
    """The host's key is not in known_hosts: show ``fingerprint`` and let the user decide."""

    def __init__(self, host: str, key):
        self.host, self.key = host, key
        self.key_type, self.fingerprint = key.get_name(), fingerprint(key)
        super().__init__(f"{host}: unknown host key {self.key_type} {self.fingerprint}; if that is the device's "
                         "key, trust it explicitly (--trust-new-host, or accept it in the window)")

    @property
    def known_hosts_line(self) -> str:
        return f"{self.host} {self.key_type} {self.key.get_base64()}"


def trust_host_key(host: str, key, path: Path | None = None) -> None:
    """Record ``key`` for ``host`` in VoiceStudio's known_hosts."""
    path = path or known_hosts_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{host} {key.get_name()} {key.get_base64()}\n")


class SshTransport:
    def __init__(self, address: DeviceAddress, *, key_path: str | None = None, trust_new_host: bool = False,
                 timeout: float = 15.0):
        import paramiko

        self.address = address
        self._paramiko = paramiko
        client = paramiko.SSHClient()
        client.load_system_host_keys()  # ~/.ssh/known_hosts, read only
        ours = known_hosts_path()
        if ours.is_file():
            try:
                client.get_host_keys().load(str(ours))
            except Exception as exc:
                raise DeviceError(f"{ours}: cannot read the known hosts file ({exc})") from None
        client.set_missing_host_key_policy(_TrustPolicy(trust_new_host))
        if key_path is not None and not Path(key_path).expanduser().is_file():
            raise DeviceError(f"{key_path}: no such SSH key file")
        try:
            client.connect(
                address.host, port=address.port, username=address.user, timeout=timeout,
                banner_timeout=timeout, auth_timeout=timeout,
                key_filename=str(Path(key_path).expanduser()) if key_path else None,
                look_for_keys=key_path is None, allow_agent=key_path is None,
            )
        except UnknownHostKey:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise DeviceError(
                f"{address}: the host key has CHANGED (now {fingerprint(exc.key)}): either the device was "
                f"reinstalled or someone is in the middle; if you know why, remove its line from "
                f"~/.ssh/known_hosts or {ours}") from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise DeviceError(f"{address}: authentication failed ({exc}); give a key the device accepts with --key") from None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            client.close()
            raise DeviceError(f"{address}: cannot connect ({_reason(exc)})") from None
        self._client = client

    # Commands -----------------------------------------------------------------------
    def run(self, command: str, *, timeout: float = DEFAULT_TIMEOUT_S, cancel=None) -> CommandResult:
        channel = self._open(command)
        channel.shutdown_write()
        return self._collect(channel, command, timeout, cancel)

    def push(self, local: Path, remote: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Stream the file into ``remote.part`` and rename it, so a broken push leaves no half file."""
        part = f"{remote}.part"
        parent = remote.rsplit("/", 1)[0] if "/" in remote else "."
        command = f"mkdir -p {quote([parent])} && cat > {quote([part])} && mv -f {quote([part, remote])}"
        channel = self._open(command)
        deadline = time.monotonic() + timeout
        try:
            with open(local, "rb") as f:
                while block := f.read(CHUNK):
                    channel.settimeout(max(0.1, deadline - time.monotonic()))
                    channel.sendall(block)
        except OSError as exc:  # includes socket.timeout
            channel.close()
            self.run(f"rm -f {quote([part])}", timeout=10)
            raise DeviceError(f"{self.address}: pushing {local} failed ({_reason(exc)})") from None
        channel.shutdown_write()
        self._collect(channel, command, max(1.0, deadline - time.monotonic())).check(f"pushing {Path(local).name}")

    def close(self) -> None:
        self._client.close()

    def _open(self, command: str):
        try:
            channel = self._client.get_transport().open_session(timeout=15)
            channel.exec_command(command)
        except (OSError, self._paramiko.SSHException, AttributeError) as exc:
            raise DeviceError(f"{self.address}: the connection was lost ({_reason(exc)})") from None
        return channel

    def _collect(self, channel, command: str, timeout: float, cancel=None) -> CommandResult:
        start = time.monotonic()
        out, err = bytearray(), bytearray()
        while True:
            busy = False
            if channel.recv_ready():
                out += channel.recv(CHUNK)
                busy = True
            if channel.recv_stderr_ready():
                err += channel.recv_stderr(CHUNK)
                busy = True
            if busy:
                continue
            if channel.exit_status_ready() or channel.closed:
                break
            if cancel is not None and cancel.is_set():
                channel.close()
                raise DeviceCancelled(f"{self.address}: cancelled", _text(out) + _text(err))
            if time.monotonic() - start > timeout:
                channel.close()
                output = _text(out) + _text(err)
                raise DeviceTimeout(f"{self.address}: no answer within {timeout:g} s from: {command[:200]}", output)
            time.sleep(POLL_S)
        code = channel.recv_exit_status()
        channel.close()
        return CommandResult(code, _text(out), _text(err), time.monotonic() - start)


class _TrustPolicy:
    """paramiko's missing-host-key hook: refuse, or record when trust was given."""

    def __init__(self, trust: bool):
        self.trust = trust

    def missing_host_key(self, client, hostname, key):
        if not self.trust:
            raise UnknownHostKey(hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)
        trust_host_key(hostname, key)


def _text(data: bytes) -> str:
    return bytes(data).decode("utf-8", errors="replace")


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc).strip()
    return text or type(exc).__name__
