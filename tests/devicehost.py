"""A real "ARM Linux board reached over SSH" for the device tests.

Two parts, usable on their own:

* :func:`start_sshd` runs Debian's OpenSSH server on 127.0.0.1 on a free port,
  with its own host key, config and a throw-away client key (the only key it
  accepts). :class:`SshServer` carries what a client needs: the key, a
  ``known_hosts`` line and the host key's fingerprint.
* :func:`arm_python` builds (once, into a cache folder) a genuinely aarch64
  Python 3.11 with numpy and tflite-runtime, run through ``qemu-aarch64-static``:
  the interpreter and the C libraries come from Debian's arm64 packages
  (unpacked with ``dpkg -x``, never installed), the Python packages from the
  aarch64 wheels on PyPI. :attr:`ArmPython.command` is a shell command that
  works as the device's ``python`` over SSH.

Host requirements (Debian 12): ``openssh-server``, ``qemu-user-static``, and
the arm64 architecture known to apt (``dpkg --add-architecture arm64 &&
apt-get update``). Running as root, :func:`arm_python` configures arm64 itself.
Without sshd or qemu the tests that need them skip locally and fail in CI
(``tests/components.py``).

CI can build the ARM root ahead of the tests::

    python tests/devicehost.py --arm-root DIR     # then VOICESTUDIO_TEST_CACHE=DIR
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

# --------------------------------------------------------------------------- #
# Finding the host's programs (tests/conftest.py skips or fails without them)
# --------------------------------------------------------------------------- #

SSHD_APT_PACKAGE = "openssh-server"
QEMU_APT_PACKAGE = "qemu-user-static"


def is_root() -> bool:
    return os.geteuid() == 0


def find_sshd() -> str | None:
    """Absolute path of sshd (sshd refuses to run from a relative path)."""
    found = shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd", "/sbin/sshd") if os.access(p, os.X_OK)), None)
    return os.path.abspath(found) if found else None


def find_qemu() -> str | None:
    found = shutil.which("qemu-aarch64-static") or (
        "/usr/bin/qemu-aarch64-static" if os.access("/usr/bin/qemu-aarch64-static", os.X_OK) else None)
    return os.path.abspath(found) if found else None


# --------------------------------------------------------------------------- #
# sshd
# --------------------------------------------------------------------------- #

@dataclass
class SshServer:
    host: str
    port: int
    user: str                 # the login name the server accepts (the current user)
    key_path: Path            # client private key (ed25519, OpenSSH format, no passphrase)
    host_key_line: str        # known_hosts line for "[127.0.0.1]:PORT"
    host_fingerprint: str     # "SHA256:..." as `ssh-keygen -lf` prints it
    process: subprocess.Popen
    log_path: Path            # sshd's own log (-e: everything it says on stderr)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def connect(server: SshServer, *, timeout: float = 20.0):
    """A paramiko client logged in to ``server``, trusting only its host key (paramiko imported here)."""
    import paramiko
    from paramiko.hostkeys import HostKeyEntry

    client = paramiko.SSHClient()
    entry = HostKeyEntry.from_line(server.host_key_line)
    client.get_host_keys().add(entry.hostnames[0], entry.key.get_name(), entry.key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(server.host, port=server.port, username=server.user,
                       pkey=paramiko.Ed25519Key.from_private_key_file(str(server.key_path)),
                       look_for_keys=False, allow_agent=False, timeout=timeout)
    except paramiko.AuthenticationException as exc:
        client.close()
        log = server.log()
        hint = ""
        if "account is locked" in log:  # UsePAM no: sshd refuses users whose password field starts with "!"
            hint = f"\nthe account is locked; allow key logins with: usermod -p '*' {server.user}"
        raise paramiko.AuthenticationException(f"{exc}; sshd log:\n{log[-2000:]}{hint}") from exc
    return client


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _keygen(path: Path, comment: str) -> None:
    for p in (path, path.with_name(path.name + ".pub")):
        p.unlink(missing_ok=True)
    # ed25519 keys are always written in OpenSSH format, which paramiko >= 2.2 reads.
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])


def _wait_for_sshd(proc: subprocess.Popen, host: str, port: int, log_path: Path, timeout: float) -> str | None:
    """Wait until sshd answers with its banner; return an error text if it died or never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"sshd exited with {proc.returncode}"
        try:
            with socket.create_connection((host, port), timeout=1) as s:
                s.settimeout(5)
                if s.recv(256).startswith(b"SSH-"):
                    return None
        except OSError:
            pass
        time.sleep(0.05)
    return f"sshd did not answer on {host}:{port} within {timeout:.0f}s"


def start_sshd(workdir: Path, *, timeout: float = 20.0) -> SshServer:
    """Start ``sshd -D -e`` on 127.0.0.1:<free port> with fresh keys kept in ``workdir``."""
    sshd = find_sshd()
    if sshd is None:
        raise RuntimeError(f"no sshd found: apt-get install {SSHD_APT_PACKAGE}")
    if shutil.which("ssh-keygen") is None:
        raise RuntimeError("no ssh-keygen found: apt-get install openssh-client")
    workdir = Path(workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    host = "127.0.0.1"
    user = pwd.getpwuid(os.geteuid()).pw_name

    host_key = workdir / "ssh_host_ed25519_key"
    client_key = workdir / "client_ed25519"
    _keygen(host_key, "voicestudio-test-host")
    _keygen(client_key, "voicestudio-test-client")
    authorized = workdir / "authorized_keys"
    authorized.write_text(client_key.with_name(client_key.name + ".pub").read_text())
    authorized.chmod(0o600)

    host_pub = host_key.with_name(host_key.name + ".pub").read_text().split()
    fingerprint = _run(["ssh-keygen", "-lf", str(host_key) + ".pub"]).stdout.split()[1]

    if is_root():
        # Privilege separation directory; Debian creates it only when the service starts.
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)

    log_path = workdir / "sshd.log"
    error = ""
    for _attempt in range(3):  # a free port can be taken between probing and binding
        port = _free_port(host)
        config = workdir / "sshd_config"
        config.write_text("\n".join([
            f"Port {port}",
            f"ListenAddress {host}",
            f"HostKey {host_key}",
            f"PidFile {workdir / 'sshd.pid'}",
            f"AuthorizedKeysFile {authorized}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "X11Forwarding no",
            "PrintMotd no",
            "LogLevel VERBOSE",
            "Subsystem sftp internal-sftp",
            "",
        ]))
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT)
        failure = _wait_for_sshd(proc, host, port, log_path, timeout)
        if failure is None:
            return SshServer(host=host, port=port, user=user, key_path=client_key,
                             host_key_line=f"[{host}]:{port} {host_pub[0]} {host_pub[1]}",
                             host_fingerprint=fingerprint, process=proc, log_path=log_path)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        error = f"{failure}; sshd said:\n{log_path.read_text(errors='replace')}"
        if "Address already in use" not in error:
            break
    raise RuntimeError(error)


# --------------------------------------------------------------------------- #
# ARM Python (qemu-user + Debian arm64 packages + aarch64 wheels)
# --------------------------------------------------------------------------- #

# Debian 12 arm64 packages unpacked into the root: the interpreter, its standard
# library and the shared libraries they (and numpy / tflite-runtime) load.
# Running a model loads libc, libm, libz, libexpat, libgcc_s, libstdc++, libffi
# and libcrypto (numpy.random -> hashlib); bz2/lzma keep those stdlib modules
# working. The rest of libpython3.11-stdlib's dependencies (readline, sqlite,
# ncurses, gdbm, uuid, crypt, nsl ...) are left out.
ARM64_DEBS = (
    "python3.11-minimal",      # /usr/bin/python3.11
    "libpython3.11-minimal",   # core stdlib (os, encodings, ...)
    "libpython3.11-stdlib",    # rest of the stdlib + lib-dynload (_ctypes, _bz2, _lzma, _hashlib ...)
    "libc6",                   # glibc 2.36, ld-linux-aarch64.so.1, libm
    "libgcc-s1",               # libgcc_s: tflite-runtime, numpy's bundled gfortran
    "libstdc++6",              # tflite-runtime is C++
    "zlib1g",                  # python3.11 links libz
    "libexpat1",               # python3.11 links libexpat
    "libffi8",                 # _ctypes (numpy imports ctypes)
    "libssl3",                 # _hashlib / _ssl (libcrypto)
    "libbz2-1.0",              # _bz2
    "liblzma5",                # _lzma
)

# aarch64 wheels from PyPI: the device's own Python packages.
ARM_WHEELS = ("numpy==1.26.4", "tflite-runtime==2.14.0")
ARM_PLATFORMS = ("manylinux_2_34_aarch64", "manylinux_2_28_aarch64", "manylinux_2_27_aarch64",
                 "manylinux_2_17_aarch64", "manylinux2014_aarch64")
ARM_PYTHON_VERSION = "3.11"

_MARKER = "BUILD-COMPLETE.json"
_SMOKE = ("import platform, sys, numpy, tflite_runtime, tflite_runtime.interpreter; "
          "print(platform.machine(), numpy.__version__, tflite_runtime.__version__, sys.prefix)")


@dataclass
class ArmPython:
    root: Path      # the arm64 sysroot (qemu -L ROOT); ROOT/usr/bin/python3.11 is the interpreter
    command: str    # shell command usable as the device's "python", e.g. over ssh
    site: Path | None = None  # where the aarch64 wheels are unpacked (PYTHONPATH)


def _spec() -> dict:
    return {"debs": list(ARM64_DEBS), "wheels": list(ARM_WHEELS), "platforms": list(ARM_PLATFORMS),
            "python": ARM_PYTHON_VERSION, "layout": 1}


def _build_name() -> str:
    digest = hashlib.sha256(json.dumps(_spec(), sort_keys=True).encode()).hexdigest()[:10]
    return f"arm-python{ARM_PYTHON_VERSION}-{digest}"


def _command(qemu: str, root: Path, site: Path) -> str:
    q = shlex.quote
    return (f"env PYTHONPATH={q(str(site))} PYTHONNOUSERSITE=1 {q(qemu)} -L {q(str(root))} "
            f"{q(str(root / 'usr' / 'bin' / ('python' + ARM_PYTHON_VERSION)))}")


def _arm64_configured() -> bool:
    done = subprocess.run(["dpkg", "--print-foreign-architectures"], capture_output=True, text=True)
    return done.returncode == 0 and "arm64" in done.stdout.split()


_ARM64_HOWTO = ("sudo dpkg --add-architecture arm64 && sudo apt-get update "
                "(only lets apt download arm64 packages; nothing arm64 gets installed)")


def _ensure_arm64_apt() -> None:
    if shutil.which("dpkg") is None or shutil.which("apt-get") is None:
        raise RuntimeError("building the ARM Python needs a Debian/Ubuntu host (dpkg, apt-get)")
    if _arm64_configured():
        return
    if not is_root():
        raise RuntimeError(f"apt does not know the arm64 architecture; run: {_ARM64_HOWTO}")
    _run(["dpkg", "--add-architecture", "arm64"])
    _run(["apt-get", "update", "-q"])


def _apt_download(dest: Path) -> None:
    cmd = ["apt-get", "download", "-q"]
    if is_root():  # else apt warns it cannot drop to _apt for a root-owned folder
        cmd += ["-o", "APT::Sandbox::User=root"]
    cmd += [f"{p}:arm64" for p in ARM64_DEBS]
    done = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
    if done.returncode and is_root():  # stale lists (arm64 added but never updated): update once
        _run(["apt-get", "update", "-q"])
        done = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
    if done.returncode:
        hint = "" if is_root() else f"\n(is the arm64 package list fetched? {_ARM64_HOWTO})"
        raise RuntimeError(f"{shlex.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}{hint}")


def _pip_download(dest: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
           "--only-binary=:all:", "--python-version", ARM_PYTHON_VERSION, "--implementation", "cp",
           "-d", str(dest)]
    for plat in ARM_PLATFORMS:
        cmd += ["--platform", plat]
    _run(cmd + list(ARM_WHEELS))


def _unpack_wheel(wheel: Path, site: Path) -> None:
    """What ``pip install --target`` does for these wheels, minus scripts: unzip, keep modes."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.filename.split("/")[0].endswith(".data"):
                continue  # console scripts (f2py): not needed
            out = Path(zf.extract(info, site))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                out.chmod(mode)


def _build(tmp: Path, qemu: str) -> None:
    debs, wheels, root = tmp / "debs", tmp / "wheels", tmp / "root"
    for d in (debs, wheels, root):
        d.mkdir(parents=True)
    _apt_download(debs)
    _pip_download(wheels)
    for deb in sorted(debs.glob("*.deb")):
        _run(["dpkg", "-x", str(deb), str(root)])
    site = root / "site"
    for whl in sorted(wheels.glob("*.whl")):
        _unpack_wheel(whl, site)
    download_bytes = sum(p.stat().st_size for p in [*debs.iterdir(), *wheels.iterdir()])
    files = sorted(p.name for p in [*debs.iterdir(), *wheels.iterdir()])
    shutil.rmtree(debs)
    shutil.rmtree(wheels)

    done = subprocess.run(_command(qemu, root, site) + " -c " + shlex.quote(_SMOKE), shell=True,
                          capture_output=True, text=True, timeout=600)
    if done.returncode or not done.stdout.startswith("aarch64 "):
        raise RuntimeError(f"the ARM Python built in {tmp} does not run ({done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")
    (tmp / _MARKER).write_text(json.dumps({**_spec(), "files": files, "download_bytes": download_bytes,
                                           "smoke": done.stdout.split()}, indent=2))


def arm_python(cache_dir: Path) -> ArmPython:
    """The aarch64 Python under qemu-user; built into ``cache_dir`` on first use, then re-used.

    The build happens in a temp folder next to the final one and is renamed into
    place after a smoke test passed and the marker file is written, so an
    interrupted build is never mistaken for a finished one. Changing
    :data:`ARM64_DEBS` or :data:`ARM_WHEELS` gives a new folder name.
    """
    qemu = find_qemu()
    if qemu is None:
        raise RuntimeError(f"no qemu-aarch64-static found: apt-get install {QEMU_APT_PACKAGE}")
    cache_dir = Path(cache_dir).expanduser().absolute()
    final = cache_dir / _build_name()
    root, site = final / "root", final / "root" / "site"
    result = ArmPython(root=root, command=_command(qemu, root, site), site=site)
    if (final / _MARKER).is_file():
        return result

    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / f".{final.name}.lock"):
        if (final / _MARKER).is_file():  # someone else finished it meanwhile
            return result
        _ensure_arm64_apt()
        for stale in cache_dir.glob(f".{final.name}.tmp-*"):  # builds that were killed (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        tmp = cache_dir / f".{final.name}.tmp-{os.getpid()}"
        try:
            _build(tmp, qemu)
            if final.exists():  # half-built leftover from an older layout or a crash
                shutil.rmtree(final)
            tmp.rename(final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


@contextlib.contextmanager
def _locked(path: Path):
    import fcntl

    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arm-root", type=Path, required=True, metavar="DIR",
                        help="cache folder to build the ARM Python in (use it as VOICESTUDIO_TEST_CACHE)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    arm = arm_python(args.arm_root)
    print(f"# ARM Python ready in {time.monotonic() - started:.1f}s: {arm.root}", file=sys.stderr)
    print(arm.command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
