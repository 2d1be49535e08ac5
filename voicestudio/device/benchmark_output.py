"""Read the timings out of what a TFLite/LiteRT benchmark printed on a device.

Two formats exist:

* ``benchmark_model`` (the TFLite C++ tool, Linux and Android): an
  ``Inference timings in us: ...`` line in microseconds, ``count=... avg=...``
  statistics lines (the last one before the timings line is the timed runs; the
  earlier one is the warm-up) and a memory line whose wording changed over the
  releases.
* a ``BENCHMARK RESULTS`` block (the LiteRT Python tool and the newer LiteRT C++
  ``benchmark_model``): one ``Name: value unit`` line per figure.

Output comes back from adb, ssh or logcat, so lines may carry ``INFO:``,
``INFO: [file.h:94]`` or logcat prefixes, CRLF endings and unrelated lines; a
capture may hold several runs (a logcat dump, a shell session): the last
complete one is read. Only the standard library is used.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from voicestudio.errors import VoiceStudioError

LEGACY = "benchmark_model"
RESULTS_BLOCK = "benchmark_results"


class BenchmarkOutputError(VoiceStudioError):
    """The benchmark output holds no usable timings."""


@dataclass(frozen=True)
class BenchmarkTimings:
    format: str  # LEGACY or RESULTS_BLOCK
    avg_ms: float  # mean time of the timed inference runs
    runs: int | None = None
    init_ms: float | None = None
    first_ms: float | None = None
    warmup_avg_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    median_ms: float | None = None
    std_ms: float | None = None
    p5_ms: float | None = None
    p95_ms: float | None = None
    model_size_mb: float | None = None
    peak_memory_mb: float | None = None
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


# C++ streams print 6 significant digits, so 1234567 us comes out as 1.23457e+06.
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"

# --- benchmark_model ---------------------------------------------------------
_TIMINGS = re.compile(r"Inference timings in us:(?P<rest>.*)")
_TIMING_FIELDS = {
    "init_ms": re.compile(rf"Init:\s*({_NUM})"),
    "first_ms": re.compile(rf"First inference:\s*({_NUM})"),
    "warmup_avg_ms": re.compile(rf"Warmup \(avg\):\s*({_NUM})"),
    "avg_ms": re.compile(rf"Inference \(avg\):\s*({_NUM})"),
}
# "count=50 first=.. curr=.. min=.. max=.. avg=.. std=.. [p5=.. median=.. p95=..]",
# "count=N curr=X(all same)", "count=1 curr=X" or "count=0". Op profiling prints
# the same statistics after "Timings (microseconds): " / "Memory (bytes): ": not runs.
_STATS = re.compile(r"(?<![\w.])count=(\d+)(?P<rest>.*)")
_PROFILER_STATS = re.compile(r"Timings \(microseconds\):|Memory \(bytes\):")
_STAT_FIELD = re.compile(rf"\b(curr|min|max|avg|std|p5|median|p95)=({_NUM})")
_MODEL_SIZE = re.compile(rf"The input model file size \(MB\):\s*({_NUM})")
_SESSION_INIT = re.compile(rf"Initialized session in\s*({_NUM})\s*ms")
# Current builds say "Memory footprint delta from the start of the tool (MB)",
# older ones "Peak memory footprint (MB)"; both carry init= and overall=.
_MEMORY = re.compile(
    rf"(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\):"
    rf"\s*init=({_NUM})\s+overall=({_NUM})"
)
_PEAK_MONITORED = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring:\s*({_NUM})")

# --- BENCHMARK RESULTS block -------------------------------------------------
_BLOCK_HEADER = re.compile(r"BENCHMARK RESULTS")
_BLOCK_LINE = re.compile(
    r"(?P<name>Model initialization|Warmup \((?:first|avg)\)|"
    r"Inference \((?:avg|min|max|median|std|p5|p95)\)):"
    rf"\s*(?P<value>{_NUM})\s*(?P<unit>ms|us|µs|s)?\b(?:\s*\((?P<runs>\d+) runs?\))?"
)
_BLOCK_FIELDS = {
    "Model initialization": "init_ms",
    "Warmup (first)": "first_ms",
    "Warmup (avg)": "warmup_avg_ms",
    "Inference (avg)": "avg_ms",
    "Inference (min)": "min_ms",
    "Inference (max)": "max_ms",
    "Inference (median)": "median_ms",
    "Inference (std)": "std_ms",
    "Inference (p5)": "p5_ms",
    "Inference (p95)": "p95_ms",
}
_BLOCK_MEMORY = {
    # "Peak memory usage not available. (peak_mem_mb <= 0)" must not match.
    "peak_memory_mb": re.compile(rf"Peak memory:\s*({_NUM})\s*MB"),
    "memory_init_mb": re.compile(rf"Init footprint:\s*({_NUM})\s*MB"),
    "memory_overall_mb": re.compile(rf"Overall footprint:\s*({_NUM})\s*MB"),
}
_PY_MODEL_SIZE = re.compile(rf"Model size:\s*({_NUM})\s*MB")
_TO_MS = {"ms": 1.0, "us": 1e-3, "µs": 1e-3, "s": 1e3}

# --- failures ----------------------------------------------------------------
_LOGCAT_PREFIX = re.compile(r"^\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+")
_ERROR_LEVEL = re.compile(
    r"^(?:ERROR|FATAL)\b"  # TFLite/LiteRT "ERROR: ..."
    r"|^[EF]/"  # logcat brief "E/tflite(123): ..."
    r"|^[EF]\s+\S+\s*:"  # logcat threadtime, after its timestamp
    r"|^[EF]\d{4} \d\d:\d\d:\d\d"  # absl "E0000 00:00:..."
    r"|^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\S* (?:ERROR|CRITICAL) "  # Python logging
    r"|^\w*(?:Error|Exception): "  # Python traceback's last line
)
_FAILURE = re.compile(
    r"Failed to|failed\.|Benchmarking failed|Aborted|Segmentation fault|core dumped|"
    r"Check failed|terminate called|Killed|Bus error|Illegal instruction"
)
_WARNING_LEVEL = re.compile(
    r"^(?:W|WARN|WARNING)\b|^W/|^W\s+\S+\s*:|^W\d{4} \d\d:|^\d{4}-\d\d-\d\d \S+ WARNING "
)
_PROGRESS = re.compile(
    r"Running benchmark|Running \d+ (?:benchmark|warmup) iterations|BENCHMARK RESULTS|"
    r"(?<![\w.])count=\d+|Inference timings in us|Initialized session|STARTING!"
)
_QUOTE_CHARS = 200


def parse_benchmark_output(text: str) -> BenchmarkTimings:
    """The timings of the last complete run in ``text``, in milliseconds.

    Raises ``BenchmarkOutputError`` when no average inference time is found,
    quoting the error line or the last progress line when there is one.
    """
    lines = [line.strip() for line in text.splitlines()]
    if not any(lines):
        raise BenchmarkOutputError("benchmark output is empty: the tool printed nothing")
    found = [r for r in (_parse_legacy(lines), _parse_results_block(lines)) if r is not None]
    if not found:
        raise BenchmarkOutputError(_failure_message(lines))
    # Both formats in one capture: the run printed later is the newer one.
    return max(found, key=lambda pair: pair[0])[1]


def _parse_legacy(lines: list[str]) -> tuple[int, BenchmarkTimings] | None:
    timing_rows = [i for i, line in enumerate(lines) if _legacy_timings(line) is not None]
    if not timing_rows:
        return None
    row = timing_rows[-1]
    earlier = [i for i in timing_rows if i < row]
    start = earlier[-1] + 1 if earlier else 0
    before, after = lines[start:row], lines[row + 1 :]
    fields = {k: _us_to_ms(v) for k, v in _legacy_timings(lines[row]).items()}

    if "init_ms" not in fields:
        session = _last(_SESSION_INIT, before)
        if session is not None:
            fields["init_ms"] = float(session.group(1))
    stats = _timed_stats(before)
    if stats is not None:
        fields.update(stats)
    size = _last(_MODEL_SIZE, before)
    memory = _first(_MEMORY, after)
    peak = _first(_PEAK_MONITORED, after)
    return row, BenchmarkTimings(
        format=LEGACY,
        model_size_mb=float(size.group(1)) if size else None,
        memory_init_mb=float(memory.group(1)) if memory else None,
        memory_overall_mb=float(memory.group(2)) if memory else None,
        peak_memory_mb=float(peak.group(1)) if peak else None,
        **fields,
    )


def _legacy_timings(line: str) -> dict[str, float] | None:
    """The fields of an ``Inference timings in us`` line (µs), if it has the average."""
    match = _TIMINGS.search(line)
    if match is None:
        return None
    values = {}
    for name, pattern in _TIMING_FIELDS.items():
        field = pattern.search(match.group("rest"))
        if field is not None:
            values[name] = float(field.group(1))
    return values if "avg_ms" in values else None


def _timed_stats(lines: list[str]) -> dict | None:
    """Run count and spread from the last run-statistics line (the timed runs)."""
    for line in reversed(lines):
        match = _STATS.search(line)
        if match is None or _PROFILER_STATS.search(line):
            continue
        values = {k: float(v) for k, v in _STAT_FIELD.findall(match.group("rest"))}
        if "min" not in values and "curr" in values:  # "(all same)": every sample equal
            values.update(min=values["curr"], max=values["curr"], std=0.0)
        out: dict = {"runs": int(match.group(1))}
        for key, name in (("min", "min_ms"), ("max", "max_ms"), ("std", "std_ms"),
                          ("median", "median_ms"), ("p5", "p5_ms"), ("p95", "p95_ms")):
            if key in values:
                out[name] = _us_to_ms(values[key])
        return out
    return None


def _parse_results_block(lines: list[str]) -> tuple[int, BenchmarkTimings] | None:
    headers = [i for i, line in enumerate(lines) if _BLOCK_HEADER.search(line)]
    for header in reversed(headers):
        end = next((i for i in headers if i > header), len(lines))
        parsed = _read_block(lines[header + 1 : end])
        if parsed is not None:
            size = _last(_PY_MODEL_SIZE, lines[:header])
            if size is not None:
                parsed["model_size_mb"] = float(size.group(1))
            return header, BenchmarkTimings(format=RESULTS_BLOCK, **parsed)
    return None


def _read_block(block: list[str]) -> dict | None:
    values: dict = {}
    units: dict[str, str | None] = {}
    for line in block:
        match = _BLOCK_LINE.search(line)
        if match is None:
            continue
        field = _BLOCK_FIELDS[match.group("name")]
        if field in values:  # a later run's block would have its own header
            continue
        values[field] = float(match.group("value"))
        units[field] = match.group("unit")
        if field == "avg_ms" and match.group("runs"):
            values["runs"] = int(match.group("runs"))
    if "avg_ms" not in values:
        return None
    # The C++ tool prints "Inference (std): 9.92" with no unit: it is in the
    # unit of the other timings.
    default_unit = units.get("avg_ms") or "ms"
    for field, unit in units.items():
        values[field] = round(values[field] * _TO_MS[unit or default_unit], 6)
    for field, pattern in _BLOCK_MEMORY.items():
        match = _first(pattern, block)
        if match is not None:
            values[field] = float(match.group(1))
    return values


def _failure_message(lines: list[str]) -> str:
    missing = (
        "no average inference time in the benchmark output "
        "(no 'Inference timings in us' line, no 'Inference (avg)' in a BENCHMARK RESULTS block)"
    )
    error = _error_line(lines)
    if error is not None:
        return f"{missing}; it reports: {_quote(error)}"
    progress = [line for line in lines if _PROGRESS.search(line) and not _PROFILER_STATS.search(line)]
    if progress:
        return f"{missing}; the output looks cut off after: {_quote(progress[-1])}"
    return f"{missing}; is this the output of a TFLite benchmark?"


def _error_line(lines: list[str]) -> str | None:
    """The first error-level line, else the first line that reports a failure."""
    unprefixed = [_LOGCAT_PREFIX.sub("", line) for line in lines]
    for line in unprefixed:
        if _ERROR_LEVEL.search(line):
            return line
    for line in unprefixed:
        if _FAILURE.search(line) and not _WARNING_LEVEL.search(line):
            return line
    return None


def _quote(line: str) -> str:
    line = _LOGCAT_PREFIX.sub("", line)
    if len(line) > _QUOTE_CHARS:
        line = line[: _QUOTE_CHARS - 1] + "…"
    return f"'{line}'"


def _us_to_ms(value: float) -> float:
    # Rounded so that 92571.2 us reads 92.5712 ms, not 92.57119999999999.
    return round(value / 1000.0, 6)


def _first(pattern: re.Pattern, lines: list[str]) -> re.Match | None:
    return next((m for m in map(pattern.search, lines) if m is not None), None)


def _last(pattern: re.Pattern, lines: list[str]) -> re.Match | None:
    return _first(pattern, lines[::-1])
