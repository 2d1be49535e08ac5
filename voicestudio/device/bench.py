"""``device bench``: push a model to a device and time it there, keeping every run.

The model goes to ``WORKDIR/models/SHA256.tflite`` (skipped when it is already there).
It is timed once per thread count with TFLite's ``benchmark_model`` when the device has
it, else with the device script run by the device's Python. Every run, good or bad, is
stored with its raw log; a timeout or output without results is an ``error`` run with a
message saying what happened and the output so far.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from voicestudio.device.benchmark_output import BenchmarkOutputError, parse_benchmark_output
from voicestudio.device.check import DeviceCheck, _ending, check_device, push_script, remote_path, script_json
from voicestudio.device.check import ensure_file
from voicestudio.device.transport import (
    MAX_OUTPUT_BYTES,
    DeviceCancelled,
    DeviceError,
    DeviceOutputTooLong,
    DeviceTimeout,
    connect,
    device_workdir,
    quote,
)
from voicestudio.errors import VoiceStudioError
from voicestudio.files import file_sha256
from voicestudio.model.runtime import check_tflite_file
from voicestudio.progress import report
from voicestudio.store import devices as device_store
from voicestudio.terminal import one_line

TOOLS = ("auto", "benchmark_model", "python")
RUNTIME_CHOICES = ("auto", "ai-edge-litert", "tflite-runtime")


@dataclass(frozen=True)
class BenchRequest:
    threads: tuple[int, ...] = (1,)
    runs: int = 50
    warmup: int = 5
    tool: str = "auto"
    runtime: str = "auto"  # for the python tool
    timeout_s: float = 600.0  # per run

    def __post_init__(self):
        if not self.threads or any(t < 1 for t in self.threads):
            raise VoiceStudioError("thread counts must be positive, e.g. --threads 1,2,4")
        if self.runs < 1 or self.warmup < 0:
            raise VoiceStudioError("--runs must be at least 1 and --warmup at least 0")
        if self.tool not in TOOLS or self.runtime not in RUNTIME_CHOICES:
            raise VoiceStudioError(f"tool must be one of {TOOLS} and runtime one of {RUNTIME_CHOICES}")
        if self.timeout_s <= 0:
            raise VoiceStudioError("the timeout must be positive")


def parse_threads(text: str) -> tuple[int, ...]:
    try:
        threads = tuple(int(part) for part in str(text).split(",") if part.strip())
    except ValueError:
        raise VoiceStudioError(f"--threads takes numbers separated by commas, e.g. 1,2,4, not {text!r}") from None
    if not threads or any(t < 1 for t in threads):
        raise VoiceStudioError(f"--threads takes positive numbers, e.g. 1,2,4, not {text!r}")
    return threads


@dataclass
class BenchRun:
    threads: int
    tool: str
    status: str  # "ok" or "error"
    results: dict | None
    error: str | None
    raw_log: str
    duration_s: float
    run_id: int | None = None


@dataclass
class BenchReport:
    device: str
    model: str
    model_sha256: str
    pushed: bool
    check: DeviceCheck
    runs: list[BenchRun] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.status != "ok" for r in self.runs)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["check"] = self.check.to_dict()
        return data

    def text(self) -> str:
        lines = [f"{self.model} on {self.device} ({self.check.arch}): "
                 + ("pushed" if self.pushed else "already on the device")]
        for run in self.runs:
            if run.status == "ok":
                r = run.results
                extra = "".join(f", {label} {r[key]:.3f} ms" for key, label in
                                (("median_ms", "median"), ("p90_ms", "p90"), ("std_ms", "std"),
                                 ("first_ms", "first"), ("init_ms", "init")) if r.get(key) is not None)
                memory = f", peak {r['peak_memory_mb']:.1f} MB" if r.get("peak_memory_mb") is not None else ""
                lines.append(f"  {run.threads} thread{'s' * (run.threads != 1)}: mean {r['avg_ms']:.3f} ms"
                             f"{extra}{memory} over {r.get('runs') or '?'} runs ({run.tool})")
            else:
                lines.append(f"  {run.threads} thread{'s' * (run.threads != 1)}: FAILED: {run.error}")
        return "\n".join(one_line(line) for line in lines)  # values from files never forge a line


def _choose_tool(request: BenchRequest, check: DeviceCheck) -> tuple[str, str | None]:
    """("benchmark_model", None) or ("python", runtime), or an error saying what is missing."""
    if request.tool in ("auto", "benchmark_model") and check.benchmark_model:
        return "benchmark_model", None
    if request.tool == "benchmark_model":
        raise DeviceError(f"{check.uri}: no benchmark_model on the device (put one in its work folder)")
    usable = [name for name in ("ai-edge-litert", "tflite-runtime") if check.runtimes.get(name) and check.numpy]
    if request.runtime != "auto":
        usable = [name for name in usable if name == request.runtime]
    if not usable:
        raise DeviceError(f"{check.uri}: nothing can time the model there"
                          + (f" ({'; '.join(check.problems)})" if check.problems else ""))
    return "python", usable[0]


class ScriptError(BenchmarkOutputError):
    """The device script ran and said what went wrong."""


def _python_results(output: str) -> dict:
    data = script_json(output)
    if data is None:
        raise BenchmarkOutputError("the device script printed no result")
    if "error" in data:
        raise ScriptError(data["error"])
    results = {k: v for k, v in data.items() if k != "times_ms"}
    results["peak_memory_mb"] = results.pop("peak_rss_mb", None)
    results["times_ms"] = data.get("times_ms", [])
    return results


PID_MARKER = "VOICESTUDIO_PID "


def _stop_remote(transport, output: str) -> None:
    """Kill a run that timed out or was cancelled: closing the connection does not stop it."""
    pids = [line[len(PID_MARKER):].strip() for line in output.splitlines() if line.startswith(PID_MARKER)]
    if pids and pids[0].isdigit():
        try:
            transport.run(f"kill {pids[0]} 2>/dev/null; sleep 1; kill -9 {pids[0]} 2>/dev/null; true", timeout=15)
        except DeviceError:
            pass  # best effort: the device may be gone


def run_one(transport, command: str, tool: str, threads: int, timeout_s: float, cancel=None) -> BenchRun:
    """One timed run; a failure of any kind is an ``error`` run with its log, never an exception
    (but for a cancel, which is stored and then raised)."""
    started = time.monotonic()
    header = f"$ {command}\n"
    try:
        # The shell says its PID, then becomes the command: a run that must stop can be killed.
        result = transport.run(f"echo {PID_MARKER}$$; exec {command}", timeout=timeout_s, cancel=cancel)
    except DeviceTimeout as exc:
        _stop_remote(transport, exc.output)
        if isinstance(exc, DeviceOutputTooLong):
            error = f"output over {MAX_OUTPUT_BYTES >> 20} MiB, stopped"
        else:
            error = "cancelled" if isinstance(exc, DeviceCancelled) else f"timed out after {timeout_s:g} s"
        return BenchRun(threads, tool, "error", None, error, header + exc.output, time.monotonic() - started)
    log = header + result.output
    try:
        if tool == "benchmark_model":
            results = parse_benchmark_output(result.output).to_dict()
        else:
            results = _python_results(result.stdout)
    except BenchmarkOutputError as exc:
        how = "" if isinstance(exc, ScriptError) else f" ({_ending(result.exit_code, result.stderr or result.stdout)})"
        return BenchRun(threads, tool, "error", None, f"{exc}{how}", log, time.monotonic() - started)
    if result.exit_code != 0:
        return BenchRun(threads, tool, "error", results, _ending(result.exit_code, result.output), log,
                        time.monotonic() - started)
    return BenchRun(threads, tool, "ok", results, None, log, time.monotonic() - started)


def _version(text: str | None) -> tuple[int, ...]:
    parts = []
    for part in str(text or "").split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def _runtime_hint(model_path, check: DeviceCheck, runtime: str | None) -> str:
    """Why a run may have failed: the model needs a newer TFLite than the device's runtime."""
    from voicestudio.model.inspect import inspect_tflite

    try:
        needs = inspect_tflite(model_path).metadata.get("min_runtime_version")
    except VoiceStudioError:
        return ""
    has = check.runtimes.get(runtime) if runtime else None
    if needs and has and _version(has) < _version(needs):
        return (f" (the model needs TFLite {needs} or newer and the device has {runtime} {has}: convert it "
                "with an older TensorFlow, or update the device's runtime)")
    return ""


def bench_model(project, device_name: str, model_path, request: BenchRequest = BenchRequest(), *,
                trust_new_host: bool = False, progress=None, cancel=None) -> BenchReport:
    """Time ``model_path`` on the project's device ``device_name``; every run is stored."""
    from voicestudio.device import registry

    model_path = check_tflite_file(model_path)
    sha = file_sha256(model_path)
    device = registry.device(project, device_name)
    workdir = device_workdir(device.workdir, registry.address(device))
    report(progress, 0, None, f"connecting to {device.name}")
    transport = connect(device.uri, key_path=device.key_path, trust_new_host=trust_new_host)
    try:
        report(progress, 0, None, f"checking {device.name}")
        check = check_device(transport, python_cmd=device_store.python_cmd(device), workdir=workdir,
                             android=registry.address(device).scheme == "adb")
        registry.save_check(project, device.name, check)
        tool, runtime = _choose_tool(request, check)
        report(progress, 0, None, f"pushing {model_path.name}")
        remote_model = remote_path(workdir, f"models/{sha}.tflite")
        pushed = ensure_file(transport, model_path, remote_model, sha)
        script = push_script(transport, workdir) if tool == "python" else None
        bench = BenchReport(device.name, str(model_path), sha, pushed, check)
        hint: str | None = None
        for i, threads in enumerate(request.threads):
            if cancel is not None and cancel.is_set():
                raise VoiceStudioError("cancelled")
            report(progress, i, len(request.threads), f"timing with {threads} thread{'s' * (threads != 1)}")
            if tool == "benchmark_model":
                command = quote([check.benchmark_model, f"--graph={remote_model}", f"--num_threads={threads}",
                                 f"--num_runs={request.runs}", f"--warmup_runs={request.warmup}"])
            else:
                command = quote([
                    *check.python_cmd, script, "--model", remote_model, "--threads", str(threads), "--runs", str(request.runs),
                    "--warmup", str(request.warmup), "--runtime", runtime])
            started_at = datetime.now(timezone.utc)
            run = run_one(transport, command, tool if runtime is None else f"python:{runtime}", threads,
                          request.timeout_s, cancel)
            if run.status != "ok" and run.error != "cancelled":
                if hint is None:  # the model is read once, and only if a run fails
                    hint = _runtime_hint(model_path, check, runtime)
                run.error += hint
            run.run_id = registry.save_run(project, device.name, model_path, sha, request, run, started_at)
            bench.runs.append(run)
            if run.error == "cancelled":
                raise VoiceStudioError("cancelled")
        report(progress, len(request.threads), len(request.threads), "done")
        return bench
    finally:
        transport.close()
