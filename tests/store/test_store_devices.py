"""Devices and benchmark runs."""

from datetime import datetime, timedelta, timezone

import pytest

from voicestudio.store import devices


def test_devices_add_get_list_remove(project):
    with project.write() as s:
        board = devices.add_device(s, "pi5", "ssh://pi@10.0.0.5:22", key_path="/home/me/.ssh/id_ed25519")
        devices.add_device(s, "pixel", "adb://R58M123")
        with pytest.raises(ValueError, match="already exists"):
            devices.add_device(s, "pi5", "ssh://pi@other")
        with pytest.raises(ValueError, match="password"):
            devices.add_device(s, "leaky", "ssh://pi:secret@10.0.0.6")
        with pytest.raises(ValueError, match="device URI"):
            devices.add_device(s, "bad", "10.0.0.7")
        devices.set_device_info(s, "pi5", {"arch": "aarch64"})
        t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        for i, status in enumerate(("ok", "error")):
            devices.add_benchmark_run(
                s, board.id, model_sha256="d" * 64, tool="benchmark_model", threads=4, runs=50, warmup=5,
                status=status, results={"avg_ms": 1.5} if status == "ok" else None, raw_log="log",
                error=None if status == "ok" else "timeout", started_at=t0 + timedelta(minutes=i),
            )
        with pytest.raises(ValueError, match="status"):
            devices.add_benchmark_run(s, board.id, model_sha256="d" * 64, tool="t", threads=1, runs=1,
                                      warmup=0, status="fine")
    with project.session() as s:
        assert [d.name for d in devices.list_devices(s)] == ["pi5", "pixel"]
        assert devices.get_device(s, "pi5").info_json == '{"arch": "aarch64"}'
        runs = devices.list_benchmark_runs(s, board.id)
        assert [r.status for r in runs] == ["error", "ok"]  # newest first
        assert runs[0].started_at == t0 + timedelta(minutes=1) and runs[1].results_json == '{"avg_ms": 1.5}'
    with project.write() as s:
        assert devices.remove_device(s, "pi5") is True
        assert devices.remove_device(s, "pi5") is False
    with project.session() as s:
        assert devices.list_benchmark_runs(s, board.id) == []  # removed with the device
