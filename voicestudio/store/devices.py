"""Devices to benchmark on, and the benchmark runs made there (each with its raw log).

A device is reached by a URI such as ``ssh://user@host:22`` or ``adb://SERIAL``
plus, for SSH, a key file path. Passwords are never stored.
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select

from voicestudio.store.schema import BENCHMARK_STATUSES, BenchmarkRun, Device, utcnow

PYTHON_CMD_CHARS = 1024  # the column's size


def check_uri(uri: str) -> str:
    """The URI if it names a scheme and a target and holds no password; ValueError otherwise."""
    uri = str(uri).strip()
    parts = urlsplit(uri)
    if "://" not in uri or not parts.scheme or not parts.netloc:
        raise ValueError(f"device URI must look like ssh://user@host:22 or adb://SERIAL, not {uri!r}")
    if parts.password is not None:
        raise ValueError("device URIs must not contain a password; use an SSH key (key_path) instead")
    return uri


def encode_python_cmd(argv) -> str | None:
    """The device's Python command as stored: a JSON list of arguments (never a shell line)."""
    if isinstance(argv, str):
        raise ValueError("the device's Python command must be an argument list, not one string")
    if argv is None or not list(argv):
        return None
    argv = list(argv)
    if not all(isinstance(a, str) and a and "\0" not in a for a in argv):
        raise ValueError("the device's Python command must be non-empty arguments without NUL characters")
    text = json.dumps(argv, ensure_ascii=False)
    if len(text) > PYTHON_CMD_CHARS:
        raise ValueError(f"the device's Python command is longer than {PYTHON_CMD_CHARS} characters")
    return text


def python_cmd(device: Device) -> list[str] | None:
    """The stored Python command as arguments; projects made before it was a JSON list hold a
    plain command line, split the way a shell would."""
    stored = device.python_cmd
    if not stored:
        return None
    try:
        argv = json.loads(stored)
        if isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv):
            return argv
    except ValueError:
        pass
    try:
        return shlex.split(stored) or None
    except ValueError:  # an unbalanced quote: one argument, as typed
        return [stored]


def add_device(session, name: str, uri: str, *, key_path: str | None = None, python_cmd: list[str] | None = None,
               workdir: str | None = None) -> Device:
    """``python_cmd`` is an argument list (e.g. ``["env", "PYTHONPATH=/opt/x", "python3"]``)."""
    name = (name or "").strip()
    if not name:
        raise ValueError("a device needs a name")
    if get_device(session, name) is not None:
        raise ValueError(f"a device named {name!r} already exists")
    device = Device(name=name, uri=check_uri(uri), key_path=key_path, python_cmd=encode_python_cmd(python_cmd),
                    workdir=workdir)
    session.add(device)
    session.flush()
    return device


def get_device(session, name: str) -> Device | None:
    return session.scalar(select(Device).where(Device.name == str(name).strip()))


def list_devices(session) -> list[Device]:
    return list(session.scalars(select(Device).order_by(Device.name)))


def remove_device(session, name: str) -> bool:
    """Remove the device and its benchmark runs; False if there was none by that name."""
    device = get_device(session, name)
    if device is None:
        return False
    session.delete(device)
    session.flush()
    return True


def set_device_info(session, name: str, info: dict) -> Device:
    """Store what the last check found on the device (architecture, tools, ...)."""
    device = get_device(session, name)
    if device is None:
        raise ValueError(f"no device named {name!r}")
    device.info_json = json.dumps(info, sort_keys=True)
    session.flush()
    return device


def add_benchmark_run(
    session,
    device_id: int,
    *,
    model_sha256: str,
    tool: str,
    threads: int,
    runs: int,
    warmup: int,
    status: str,
    results: dict | None = None,
    raw_log: str = "",
    error: str | None = None,
    model_id: int | None = None,
    started_at: datetime | None = None,
    duration_s: float | None = None,
) -> BenchmarkRun:
    if status not in BENCHMARK_STATUSES:
        raise ValueError(f"benchmark status must be one of {', '.join(BENCHMARK_STATUSES)}, not {status!r}")
    run = BenchmarkRun(
        device_id=device_id, model_id=model_id, model_sha256=str(model_sha256).lower(), tool=tool,
        threads=int(threads), runs=int(runs), warmup=int(warmup), status=status,
        results_json=None if results is None else json.dumps(results, sort_keys=True),
        raw_log=raw_log or "", error=error, started_at=started_at or utcnow(), duration_s=duration_s,
    )
    session.add(run)
    session.flush()
    return run


def list_benchmark_runs(session, device_id: int, *, limit: int | None = None) -> list[BenchmarkRun]:
    """The device's runs, newest first."""
    statement = (
        select(BenchmarkRun)
        .where(BenchmarkRun.device_id == device_id)
        .order_by(BenchmarkRun.started_at.desc(), BenchmarkRun.id.desc())
    )
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))
