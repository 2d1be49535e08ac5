"""``device check``: is the device reachable, what is it, and what can time a model there?

Looks for TFLite's ``benchmark_model`` (in the device's work folder, else on its ``PATH``)
and for a Python with numpy and ``ai_edge_litert`` or ``tflite_runtime``, asked through the
same script the bench runs (one runtime per run, so one that crashes on import cannot
hide the other). Each missing piece gets a message saying what to install.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from voicestudio.device.device_script import MARKER  # stdlib-only at import: safe to read from here
from voicestudio.device.transport import (
    MAX_OUTPUT_BYTES,
    DeviceError,
    DeviceOutputTooLong,
    DeviceTimeout,
    Transport,
    quote,
)
from voicestudio.files import file_sha256
from voicestudio.terminal import one_line

DEVICE_SCRIPT = Path(__file__).with_name("device_script.py")
RUNTIMES = ("ai-edge-litert", "tflite-runtime")
DEFAULT_PYTHON = ("python3",)
PROBE_TIMEOUT_S = 120.0  # a Python under emulation takes a while to import numpy


@dataclass
class DeviceCheck:
    uri: str
    arch: str = ""  # what the model runs as: the Python's machine, else `uname -m`
    uname: str = ""  # `uname -m` and `uname -sr` of the device
    android_abi: str | None = None
    benchmark_model: str | None = None  # its path on the device
    python_cmd: list[str] = field(default_factory=lambda: list(DEFAULT_PYTHON))  # arguments, each quoted
    python: str | None = None  # version
    numpy: str | None = None
    runtimes: dict[str, str | None] = field(default_factory=dict)  # name -> version, None if absent
    problems: list[str] = field(default_factory=list)

    @property
    def tools(self) -> list[str]:
        """What can time a model here, best first."""
        found = ["benchmark_model"] if self.benchmark_model else []
        return found + [f"python:{name}" for name in RUNTIMES if self.runtimes.get(name) and self.numpy]

    @property
    def python_line(self) -> str:
        """The Python command as the device's shell receives it."""
        return quote(self.python_cmd)

    def to_dict(self) -> dict:
        return {**asdict(self), "tools": self.tools}

    def text(self) -> str:
        lines = [f"{self.uri}: reachable, {self.arch or '?'} ({self.uname})"
                 + (f", Android ABI {self.android_abi}" if self.android_abi else "")]
        lines.append(f"  benchmark_model: {self.benchmark_model or 'not found'}")
        if self.python:
            lines.append(f"  python ({self.python_line}): {self.python}, numpy {self.numpy or 'missing'}")
            for name in RUNTIMES:
                lines.append(f"  {name}: {self.runtimes.get(name) or 'not importable'}")
        else:
            lines.append(f"  python ({self.python_line}): not found")
        lines.append("  can time models with: " + (", ".join(self.tools) or "nothing"))
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(one_line(line) for line in lines)  # values from files never forge a line


def remote_path(workdir: str, name: str) -> str:
    return f"{workdir.rstrip('/')}/{name}"


def ensure_file(transport: Transport, local: Path, remote: str, sha256: str | None = None, *,
                timeout: float = 300.0) -> bool:
    """Push ``local`` unless ``remote`` already has the same SHA-256; True if it was pushed."""
    sha256 = sha256 or file_sha256(local)
    there = transport.run(f"sha256sum {quote([remote])} 2>/dev/null", timeout=60)
    if there.exit_code == 0 and there.stdout.split()[:1] == [sha256]:
        return False
    transport.push(Path(local), remote, timeout=timeout)
    return True


def push_script(transport: Transport, workdir: str) -> str:
    """The device script's path on the device (pushed once per version of the script)."""
    sha = file_sha256(DEVICE_SCRIPT)
    remote = remote_path(workdir, f"voicestudio_bench_{sha[:12]}.py")
    ensure_file(transport, DEVICE_SCRIPT, remote, sha)
    return remote


def script_json(output: str) -> dict | None:
    """The JSON the device script printed, or None if it printed none."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            try:
                return json.loads(line[len(MARKER):])
            except json.JSONDecodeError:
                return None
    return None


def check_device(transport: Transport, *, python_cmd: list[str] | None, workdir: str,
                 android: bool = False) -> DeviceCheck:
    check = DeviceCheck(str(transport.address), python_cmd=list(python_cmd or DEFAULT_PYTHON))
    names = transport.run("uname -m; uname -sr", timeout=30).check("uname").stdout.split("\n")
    check.arch = names[0].strip()
    check.uname = " ".join(n.strip() for n in names if n.strip())
    if android:
        check.android_abi = transport.run("getprop ro.product.cpu.abi", timeout=30).stdout.strip() or None

    local_tool = remote_path(workdir, "benchmark_model")
    found = transport.run(f"if [ -x {quote([local_tool])} ]; then echo {quote([local_tool])}; "
                          "else command -v benchmark_model; fi", timeout=30)
    check.benchmark_model = found.stdout.strip().splitlines()[0] if found.exit_code == 0 and found.stdout.strip() else None

    _probe_python(transport, check, workdir)
    if not check.tools:
        check.problems.append(
            "nothing here can time a model: put TFLite's benchmark_model (built for "
            f"{check.android_abi or check.arch}) in {workdir}, or install a Python with numpy and "
            "ai-edge-litert (64-bit ARM, Python 3.10+) or tflite-runtime (32-bit ARM, numpy<2)")
    return check


def _probe_python(transport: Transport, check: DeviceCheck, workdir: str) -> None:
    try:
        script = push_script(transport, workdir)
    except DeviceError as exc:
        check.problems.append(f"cannot copy the bench script to {workdir}: {exc}")
        return
    for runtime in RUNTIMES:
        try:
            result = transport.run(quote([*check.python_cmd, script, "--probe", "--runtime", runtime]),
                                   timeout=PROBE_TIMEOUT_S)
        except DeviceOutputTooLong:
            check.problems.append(f"`{check.python_line}`: output over {MAX_OUTPUT_BYTES >> 20} MiB, stopped "
                                  "(is it the device's Python? give that with --python)")
            return
        except DeviceTimeout:
            check.problems.append(f"`{check.python_line}` did not answer within {PROBE_TIMEOUT_S:g} s")
            return
        info = script_json(result.stdout)
        if info is None:
            if result.exit_code in (126, 127) or "not found" in result.stderr:
                check.problems.append(f"no Python: `{check.python_line}` is not found on the device; "
                                      "install python3 or give the device's Python with --python CMD")
                return
            check.runtimes[runtime] = None
            check.problems.append(f"{runtime}: the Python check ended without an answer "
                                  f"({_ending(result.exit_code, result.output)})")
            continue
        check.python, check.numpy = info.get("python"), info.get("numpy")
        check.arch = info.get("machine") or check.arch  # under emulation the Python is what counts
        version = info.get("runtimes", {}).get(runtime)
        check.runtimes[runtime] = version
        error = info.get("runtimes", {}).get(f"{runtime} error") or ""
        if version is None and ("_ARRAY_API" in error or "numpy.core.multiarray" in error):
            check.problems.append(f"{runtime} is built for numpy 1 but the device has numpy {check.numpy}: "
                                  "pip install 'numpy<2'")
    if check.python and not check.numpy:
        check.problems.append(f"`{check.python_line}` has no numpy: pip install numpy")


def _ending(exit_code: int, output: str) -> str:
    """How a remote process ended, for messages: its exit code (or signal) and last line."""
    signals = {132: "SIGILL", 134: "SIGABRT", 135: "SIGBUS", 137: "SIGKILL", 139: "SIGSEGV"}
    how = f"killed by {signals[exit_code]}" if exit_code in signals else f"exit {exit_code}"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return how + (f": {lines[-1][:200]}" if lines else "")
