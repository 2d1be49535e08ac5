"""Shared test set-up: every test gets its own data, config and cache dirs.

The device fixtures (a real SSH server, an aarch64 Python under qemu-user) are
started for real, never skipped: when a tool is missing and the tests run as root
(as in CI), it is installed with apt-get; otherwise the fixture fails and says
what to install. See ``tests/devicehost.py``.
"""

import os
from pathlib import Path

import pytest

import devicehost


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Keep platformdirs (default project, settings, logs) inside a temp folder."""
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.delenv("VOICESTUDIO_DB", raising=False)
    monkeypatch.delenv("VOICESTUDIO_PATH_MAP", raising=False)
    from voicestudio import pathmap

    pathmap.use(None)  # read again from this test's own settings
    return home


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model(model_dir):
    """A real .tflite detector (dynamic batch, NHWC, sigmoid) with its card."""
    import tinymodels

    return tinymodels.build_mean_model(model_dir)


def _require(find, apt_package: str, what: str) -> None:
    if find() is not None:
        return
    if not devicehost.is_root():
        pytest.fail(f"{what} is missing: sudo apt-get install {apt_package}", pytrace=False)
    try:
        devicehost.apt_install(apt_package)
    except RuntimeError as exc:
        pytest.fail(f"{what} is missing and installing {apt_package} failed: {exc}", pytrace=False)
    if find() is None:
        pytest.fail(f"{what} still missing after apt-get install {apt_package}", pytrace=False)


def device_cache_dir() -> Path:
    """``$VOICESTUDIO_TEST_CACHE``, else ``~/.cache/voicestudio-tests``.

    Not XDG_CACHE_HOME: the autouse ``isolated_dirs`` fixture points it at a
    fresh temp folder for every test.
    """
    env = os.environ.get("VOICESTUDIO_TEST_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "voicestudio-tests"


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """An OpenSSH server on 127.0.0.1 accepting ``sshd.key_path`` for ``sshd.user``."""
    _require(devicehost.find_sshd, devicehost.SSHD_APT_PACKAGE, "sshd")
    try:
        server = devicehost.start_sshd(tmp_path_factory.mktemp("sshd"))
    except RuntimeError as exc:
        pytest.fail(f"could not start sshd: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def arm_python():
    """An aarch64 Python 3.11 with numpy 1.26 and tflite-runtime 2.14, run by qemu-user."""
    _require(devicehost.find_qemu, devicehost.QEMU_APT_PACKAGE, "qemu-aarch64-static")
    try:
        return devicehost.arm_python(device_cache_dir())
    except RuntimeError as exc:
        pytest.fail(f"could not build the ARM Python: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server on 127.0.0.1 (Debian's), a throwaway cluster for this session."""
    import pghost

    _require(pghost.find_bin_dir, pghost.APT_PACKAGE, "PostgreSQL")
    try:
        server = pghost.start_postgres()
    except RuntimeError as exc:
        pytest.fail(f"could not start PostgreSQL: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
