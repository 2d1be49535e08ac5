"""The project's devices and their benchmark history: what the CLI and the devices panel call."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from voicestudio.device.transport import DeviceAddress, DeviceError, device_workdir
from voicestudio.errors import VoiceStudioError
from voicestudio.store import devices as device_store
from voicestudio.store import models as model_store
from voicestudio.store.schema import BenchmarkRun, Device, Model


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    uri: str
    key_path: str | None
    python_cmd: list[str] | None  # the device's Python as arguments; None: python3
    workdir: str | None
    check: dict | None  # the last `device check`
    runs: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class HistoryRow:
    run_id: int
    device: str
    model: str  # the model's name (from its card, else the file name)
    model_sha256: str
    tool: str
    threads: int
    status: str
    avg_ms: float | None
    median_ms: float | None
    p90_ms: float | None
    peak_memory_mb: float | None
    started_at: datetime
    error: str | None

    def to_dict(self) -> dict:
        return {**self.__dict__, "started_at": self.started_at.isoformat(timespec="seconds")}


def address(device: Device) -> DeviceAddress:
    return DeviceAddress.parse(device.uri)


def add(project, name: str, uri: str, *, key_path: str | None = None, python_cmd: str | list[str] | None = None,
        workdir: str | None = None) -> DeviceInfo:
    """``python_cmd``: arguments, or one line split as a shell splits it (``env PYTHONPATH=/x python3``);
    each argument reaches the device quoted, never run through a shell as a whole."""
    parsed = DeviceAddress.parse(uri)  # a clear message for a bad URI before anything is stored
    if isinstance(python_cmd, str):
        try:
            python_cmd = shlex.split(python_cmd)
        except ValueError as exc:
            raise DeviceError(f"--python {python_cmd!r}: {exc}") from None
    device_workdir(workdir, parsed)  # refused now, not at the first check
    if key_path is not None:
        key_path = str(Path(key_path).expanduser().absolute())
        if not Path(key_path).is_file():
            raise DeviceError(f"{key_path}: no such SSH key file")
        if parsed.scheme == "adb":
            raise DeviceError("--key is for SSH devices; adb uses the computer's adb keys")
    with project.write() as s:
        try:
            device = device_store.add_device(s, name, str(parsed), key_path=key_path, python_cmd=python_cmd,
                                             workdir=workdir or None)
        except ValueError as exc:
            raise VoiceStudioError(str(exc)) from None
        return _info(s, device)


def remove(project, name: str) -> None:
    with project.write() as s:
        if not device_store.remove_device(s, name):
            raise VoiceStudioError(f"no device named {name!r} (see: voicestudio device list)")


def device(project, name: str) -> Device:
    with project.session() as s:
        found = device_store.get_device(s, name)
        if found is None:
            raise VoiceStudioError(f"no device named {name!r} (add it: voicestudio device add {name} URI)")
        return found


def devices(project) -> list[DeviceInfo]:
    with project.session() as s:
        return [_info(s, d) for d in device_store.list_devices(s)]


def _info(session, device: Device) -> DeviceInfo:
    from sqlalchemy import func, select

    runs = session.scalar(select(func.count(BenchmarkRun.id)).where(BenchmarkRun.device_id == device.id))
    return DeviceInfo(device.name, device.uri, device.key_path, device_store.python_cmd(device), device.workdir,
                      json.loads(device.info_json) if device.info_json else None, runs)


def save_check(project, name: str, check) -> None:
    with project.write() as s:
        device_store.set_device_info(s, name, check.to_dict())


def save_run(project, name: str, model_path: Path, sha256: str, request, run, started_at: datetime) -> int:
    from voicestudio.model.card import card_path_for, read_card_json

    card_file = card_path_for(model_path)
    try:
        card = read_card_json(card_file) if card_file.is_file() else {}
    except VoiceStudioError:  # a broken card does not stop a run from being kept
        card = {}
    card = card if isinstance(card, dict) else {}
    card.setdefault("name", Path(model_path).stem)
    with project.write() as s:
        model = model_store.register_model(s, sha256, str(model_path), card)
        stored = device_store.add_benchmark_run(
            s, device_store.get_device(s, name).id, model_sha256=sha256, tool=run.tool, threads=run.threads,
            runs=request.runs, warmup=request.warmup, status=run.status, results=run.results, raw_log=run.raw_log,
            error=run.error, model_id=model.id, started_at=started_at, duration_s=run.duration_s)
        return stored.id


def history(project, device_name: str | None = None, *, limit: int | None = None) -> list[HistoryRow]:
    """Benchmark runs, newest first, of one device or all."""
    from sqlalchemy import select

    with project.session() as s:
        run_columns = (BenchmarkRun.id, BenchmarkRun.model_sha256, BenchmarkRun.tool, BenchmarkRun.threads,
                       BenchmarkRun.status, BenchmarkRun.results_json, BenchmarkRun.started_at, BenchmarkRun.error)
        statement = (select(*run_columns, Device.name, Model.name)  # not the raw logs: they can be long
                     .join(Device, BenchmarkRun.device_id == Device.id)
                     .outerjoin(Model, BenchmarkRun.model_id == Model.id)
                     .order_by(BenchmarkRun.started_at.desc(), BenchmarkRun.id.desc()))
        if device_name is not None:
            statement = statement.where(Device.name == device(project, device_name).name)
        if limit is not None:
            statement = statement.limit(limit)
        rows = []
        for run_id, sha, tool, threads, status, results_json, started_at, error, dev, model in s.execute(statement):
            results = json.loads(results_json) if results_json else {}
            rows.append(HistoryRow(run_id, dev, model or sha[:12], sha, tool, threads, status, results.get("avg_ms"),
                                   results.get("median_ms"), results.get("p90_ms"), results.get("peak_memory_mb"),
                                   started_at, error))
        return rows


def raw_log(project, run_id: int) -> str:
    with project.session() as s:
        run = s.get(BenchmarkRun, run_id)
        if run is None:
            raise VoiceStudioError(f"no benchmark run {run_id}")
        return run.raw_log


def run_check(project, name: str, *, trust_new_host: bool = False):
    """Connect to the device, check it, and keep what was found with the device."""
    from voicestudio.device.check import check_device
    from voicestudio.device.transport import connect

    found = device(project, name)
    where = address(found)
    workdir = device_workdir(found.workdir, where)
    transport = connect(found.uri, key_path=found.key_path, trust_new_host=trust_new_host)
    try:
        check = check_device(transport, python_cmd=device_store.python_cmd(found), workdir=workdir,
                             android=where.scheme == "adb")
    finally:
        transport.close()
    save_check(project, name, check)
    return check
