"""SSH to a Linux board through paramiko, with host keys checked against known_hosts.

Host keys are looked up in the user's ``~/.ssh/known_hosts`` and in VoiceStudio's own
``known_hosts`` (in the user config folder, the only one VoiceStudio writes), read line by
line (see ``known_hosts``: unreadable lines are skipped, ``@revoked`` keys always refused,
``@cert-authority`` lines ignored). A host whose key is in neither is refused with
``UnknownHostKey``, which carries the key's SHA-256 fingerprint for the user to compare;
only an explicit trust (``--trust-new-host``, or accepting the window's dialog) records
it. A key that differs from the recorded one is always refused. Files are pushed through ``cat`` on the remote shell rather than SFTP,
which many boards (dropbear) do not have.
"""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

from voicestudio.device.known_hosts import KnownHosts, read_known_hosts
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
        ours = known_hosts_path()
        known = _load_host_keys(client, ours)
        client.set_missing_host_key_policy(_TrustPolicy(trust_new_host, known))
        if key_path is not None and not Path(key_path).expanduser().is_file():
            raise DeviceError(f"{key_path}: no such SSH key file")
        try:
            client.connect(
                address.host, port=address.port, username=address.user, timeout=timeout,
                banner_timeout=timeout, auth_timeout=timeout,
                key_filename=str(Path(key_path).expanduser()) if key_path else None,
                look_for_keys=key_path is None, allow_agent=key_path is None,
            )
        except (UnknownHostKey, RevokedHostKey):
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            if known.is_revoked(exc.key):
                raise RevokedHostKey(host_id(address), exc.key) from None
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
        output = CappedOutput()
        while True:
            busy, room = False, True
            if channel.recv_ready():
                room, busy = output.add(channel.recv(CHUNK)), True
            if room and channel.recv_stderr_ready():
                room, busy = output.add(channel.recv_stderr(CHUNK), stderr=True), True
            if not room:  # closing the channel ends the remote command (SIGPIPE on its next write)
                channel.close()
                raise output.too_long(self.address, command)
            if not busy and (channel.exit_status_ready() or channel.closed):
                break
            if cancel is not None and cancel.is_set():
                channel.close()
                raise DeviceCancelled(f"{self.address}: cancelled", output.text())
            if time.monotonic() - start > timeout:  # checked while output flows too
                channel.close()
                raise DeviceTimeout(f"{self.address}: no answer within {timeout:g} s from: {command[:200]}",
                                    output.text())
            if not busy:
                time.sleep(POLL_S)
        code = channel.recv_exit_status()
        channel.close()
        return output.result(code, time.monotonic() - start)


class RevokedHostKey(DeviceError):
    """The host's key is marked ``@revoked`` in known_hosts: refused, whatever else says it is known."""

    def __init__(self, host: str, key):
        super().__init__(f"{host}: the host key {key.get_name()} {fingerprint(key)} is REVOKED in known_hosts "
                         "(@revoked): refusing to connect")


def system_known_hosts_path() -> Path:
    """The user's OpenSSH ``known_hosts`` (read, never written)."""
    return Path.home() / ".ssh" / "known_hosts"


def _load_host_keys(client, ours: Path) -> KnownHosts:
    """The user's and VoiceStudio's known hosts into ``client``; revoked keys are left out (so they
    reach the trust policy, which refuses them). The user's file comes first: a key it gives for a
    host is not replaced by VoiceStudio's."""
    try:
        known = read_known_hosts([system_known_hosts_path(), ours])
    except OSError as exc:
        raise DeviceError(f"cannot read the known hosts files ({exc.strerror or exc})") from None
    keys = client.get_host_keys()
    for entry in known.entries:
        for host in entry.hostnames:
            already = keys.lookup(host)
            if already is None or entry.key.get_name() not in already:
                keys.add(host, entry.key.get_name(), entry.key)
    return known


class _TrustPolicy:
    """paramiko's missing-host-key hook: refuse revoked keys always, unknown ones unless trust was given
    (then record them)."""

    def __init__(self, trust: bool, known: KnownHosts):
        self.trust, self.known = trust, known

    def missing_host_key(self, client, hostname, key):
        if self.known.is_revoked(key):
            raise RevokedHostKey(hostname, key)
        if not self.trust:
            raise UnknownHostKey(hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)
        trust_host_key(hostname, key)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc).strip()
    return text or type(exc).__name__
