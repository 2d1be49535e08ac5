"""Parsing benchmark output, on real captures (tests/fixtures/benchmark/README.md)."""

import re
from dataclasses import fields
from pathlib import Path

import pytest

from voicestudio.device.benchmark_output import (
    BenchmarkOutputError,
    BenchmarkTimings,
    parse_benchmark_output,
)
from voicestudio.errors import VoiceStudioError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "benchmark"

# Expected values read off each file by hand; fields left out must be None.
PARSED = {
    "litert_python_tiny_conv_stdout.txt": dict(
        format="benchmark_results", avg_ms=0.03, runs=20, init_ms=1.11, first_ms=0.16,
        warmup_avg_ms=0.06, min_ms=0.03, max_ms=0.06, median_ms=0.03, std_ms=0.01,
        p5_ms=0.03, p95_ms=0.06,
    ),
    "litert_python_small_cnn_2threads_combined.txt": dict(
        format="benchmark_results", avg_ms=0.70, runs=20, init_ms=4.08, first_ms=0.84,
        warmup_avg_ms=0.74, min_ms=0.66, max_ms=0.77, median_ms=0.70, std_ms=0.03,
        p5_ms=0.66, p95_ms=0.76, model_size_mb=0.22,
    ),
    "litert_cpp_llama_gpu_prefill.txt": dict(
        format="benchmark_results", avg_ms=7430.20, runs=10, init_ms=23744.73,
        first_ms=7441.04, warmup_avg_ms=7441.04, min_ms=7416.40, max_ms=7448.86,
        std_ms=9.92, memory_init_mb=6391.74, memory_overall_mb=6391.74,
    ),
    "tflite_riscv_qemu_mobilenet_op_profiling.txt": dict(
        format="benchmark_model", avg_ms=2950.34, runs=50, init_ms=17.187,
        first_ms=3512.391, warmup_avg_ms=3512.39, min_ms=2727.568, max_ms=3189.954,
        std_ms=109.798, model_size_mb=16.9008, memory_init_mb=4.21094,
        memory_overall_mb=46.0859,
    ),
    "tflite_android_mi11_yolov5_nnapi_fp16_peak_memory.txt": dict(
        format="benchmark_model", avg_ms=92.5712, runs=50, init_ms=365.972,
        first_ms=120.877, warmup_avg_ms=108.605, min_ms=89.745, max_ms=96.719,
        std_ms=1.638, memory_init_mb=6.90625, memory_overall_mb=61.0547,
    ),
    "tflite_am62x_ssd_mobilenet_cpu.txt": dict(
        format="benchmark_model", avg_ms=1240.27, runs=50, init_ms=5.579,
        first_ms=1357.602, warmup_avg_ms=1357.6, min_ms=1238.588, max_ms=1252.566,
        median_ms=1239.807, std_ms=2.565, p5_ms=1238.753, p95_ms=1247.415,
        model_size_mb=67.3128, memory_init_mb=6.36328, memory_overall_mb=109.832,
    ),
    "tflite_am62x_ssd_mobilenet_xnnpack.txt": dict(
        format="benchmark_model", avg_ms=899.641, runs=50, init_ms=614.333,
        first_ms=905.463, warmup_avg_ms=905.463, min_ms=898.007, max_ms=906.121,
        median_ms=899.281, std_ms=1.549, p5_ms=898.333, p95_ms=904.305,
        model_size_mb=67.3128, memory_init_mb=146.363, memory_overall_mb=150.141,
    ),
    # Three runs, the second one failing: the last run is read.
    "tflite_termux_session_three_runs.txt": dict(
        format="benchmark_model", avg_ms=42.4354, runs=24, init_ms=143.669,
        first_ms=72.635, warmup_avg_ms=43.5362, min_ms=42.142, max_ms=42.763,
        median_ms=42.405, std_ms=0.147, p5_ms=42.232, p95_ms=42.729,
        model_size_mb=8.45746, memory_init_mb=23.5625, memory_overall_mb=27.5859,
    ),
    "tflite_android_logcat_yolo26n.txt": dict(
        format="benchmark_model", avg_ms=257.131, runs=25, init_ms=95.112,
        first_ms=237.814, warmup_avg_ms=238.954, min_ms=220.934, max_ms=326.273,
        median_ms=252.767, std_ms=27.081, p5_ms=226.088, p95_ms=303.407,
        model_size_mb=5.05872, memory_init_mb=65.4141, memory_overall_mb=90.25,
    ),
    "tflite_cros_selected_lines_periodic_peak.txt": dict(
        format="benchmark_model", avg_ms=56.2658, runs=1061, init_ms=3.337,
        first_ms=81.913, warmup_avg_ms=58.9847, min_ms=54.669, max_ms=60.236,
        std_ms=0.982, peak_memory_mb=93.2383,
    ),
    "tflite_cros_selected_lines_gpu_periodic_peak.txt": dict(
        format="benchmark_model", avg_ms=35.1349, runs=1694, init_ms=842.225,
        first_ms=115.098, warmup_avg_ms=40.1998, min_ms=30.394, max_ms=42.335,
        std_ms=1.733, peak_memory_mb=74.6641,
    ),
}

# Outputs with no result: what the message must quote.
FAILED = {
    "error_android_mi11_nnapi_delegate.txt": (
        "reports: 'ERROR: NN API returned error ANEURALNETWORKS_OP_FAILED"
        " at line 3779 while completing NNAPI compilation.'"
    ),
    "error_litert_python_not_a_model.txt": (
        "reports: 'ERROR: Model provided has model identifier ' is ', should be 'TFL3''"
    ),
    "error_termux_allocate_tensors.txt": "reports: 'ERROR: tensorflow/lite/kernels/batch_matmul.cc:353",
    "truncated_litert_python_small_cnn.txt": "cut off after: "
    "'2026-12-01 18:42:11 INFO benchmark_litert_model: Running 20 benchmark iterations...'",
    "truncated_riscv_qemu_mobilenet.txt": "cut off after: 'count=50 first=2990275 curr=2913402",
    # Only op-profiling tables: their "Timings (microseconds): count=50 ..." are not a run.
    "partial_android_mi11_op_profile_only.txt": "is this the output of a TFLite benchmark?",
}


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def assert_timings(result: BenchmarkTimings, expected: dict) -> None:
    for field in fields(BenchmarkTimings):
        want = expected.get(field.name)
        got = getattr(result, field.name)
        if want is None or isinstance(want, str):
            assert got == want, field.name
        else:
            assert got == pytest.approx(want, rel=1e-9), field.name
    assert isinstance(result.runs, int)


def test_every_fixture_has_expectations():
    assert {p.name for p in FIXTURES.glob("*.txt")} == set(PARSED) | set(FAILED)


@pytest.mark.parametrize("name", sorted(PARSED))
def test_real_outputs(name):
    assert_timings(parse_benchmark_output(read(name)), PARSED[name])


@pytest.mark.parametrize("name", sorted(PARSED))
@pytest.mark.parametrize("newline", ["\r\n", "\r\r\n"])  # adb shell on old Androids adds \r
def test_crlf(name, newline):
    text = read(name).replace("\n", newline)
    assert_timings(parse_benchmark_output(text), PARSED[name])


@pytest.mark.parametrize("name", sorted(FAILED))
def test_failed_outputs(name):
    with pytest.raises(BenchmarkOutputError) as caught:
        parse_benchmark_output(read(name))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("no average inference time in the benchmark output")
    assert FAILED[name] in message


def test_error_is_a_voicestudio_error():
    assert issubclass(BenchmarkOutputError, VoiceStudioError)


@pytest.mark.parametrize("text", ["", "\n", "  \r\n\t\n"])
def test_empty_output(text):
    with pytest.raises(BenchmarkOutputError, match="benchmark output is empty"):
        parse_benchmark_output(text)


def test_unrelated_output():
    with pytest.raises(BenchmarkOutputError, match="is this the output of a TFLite benchmark"):
        parse_benchmark_output("/system/bin/sh: benchmark_model: inaccessible or not found\n")


def test_to_dict_keeps_every_field():
    result = parse_benchmark_output(read("tflite_cros_selected_lines_periodic_peak.txt"))
    as_dict = result.to_dict()
    assert list(as_dict) == [f.name for f in fields(BenchmarkTimings)]
    assert as_dict["median_ms"] is None
    assert as_dict["avg_ms"] == 56.2658  # rounded, not 56.265800000000006


def test_scientific_notation():
    text = (
        "count=20 first=1.2e+06 curr=1234567 min=1.1e+06 max=1.3e+06 avg=1.23457e+06 std=5.5e+04\n"
        "Inference timings in us: Init: 2.5e+06, First inference: 1.2e+06, "
        "Warmup (avg): 1.25e+06, Inference (avg): 1.23457e+06\n"
    )
    result = parse_benchmark_output(text)
    assert result.avg_ms == pytest.approx(1234.57)
    assert result.init_ms == pytest.approx(2500.0)
    assert (result.min_ms, result.max_ms, result.std_ms) == pytest.approx((1100.0, 1300.0, 55.0))


def test_all_same_statistics_line():
    # Stat::OutputToStream prints this when every timed run took the same time.
    text = (
        "INFO: count=3 first=900 curr=850 min=850 max=900 avg=866.667 std=23\n"
        "INFO: count=50 curr=800(all same)\n"
        "INFO: Inference timings in us: Init: 1500, First inference: 900, Warmup (avg): 866.667, "
        "Inference (avg): 800\n"
    )
    result = parse_benchmark_output(text)
    spread = (result.runs, result.avg_ms, result.min_ms, result.max_ms, result.std_ms)
    assert spread == (50, 0.8, 0.8, 0.8, 0.0)


def test_init_falls_back_to_initialized_session():
    text = (
        "Initialized session in 3.3ms.\n"
        "count=5 curr=10(all same)\n"
        "Inference timings in us: Inference (avg): 10\n"
    )
    assert parse_benchmark_output(text).init_ms == 3.3


@pytest.mark.parametrize(
    "unit, factor", [("ms", 1.0), ("us", 0.001), ("µs", 0.001), ("s", 1000.0)]
)
def test_results_block_units(unit, factor):
    text = (
        " BENCHMARK RESULTS\n"
        f"Model initialization:  2.24 {unit}\n"
        f"Inference (avg):       4.00 {unit} (20 runs)\n"
        "Inference (std):       0.50\n"  # no unit, as the C++ tool prints it: the avg's unit
    )
    result = parse_benchmark_output(text)
    expected = (2.24 * factor, 4 * factor, 0.5 * factor)
    assert (result.init_ms, result.avg_ms, result.std_ms) == pytest.approx(expected)
    assert result.runs == 20


def test_results_block_peak_memory():
    # The C++ tool's lines when peak monitoring is on (benchmark_litert_model.h format strings).
    text = (
        "========== BENCHMARK RESULTS ==========\n"
        "INFO: [benchmark_litert_model.h:100] Inference (avg):      12.50 ms (50 runs)\n"
        "INFO: [benchmark_litert_model.h:124] \nMemory Usage:\n"
        "INFO: [benchmark_litert_model.h:126] Init footprint:       10.25 MB\n"
        "INFO: [benchmark_litert_model.h:128] Overall footprint:    20.50 MB\n"
        "INFO: [benchmark_litert_model.h:133] Peak memory:          45.20 MB\n"
    )
    result = parse_benchmark_output(text)
    assert (result.memory_init_mb, result.memory_overall_mb, result.peak_memory_mb) == (10.25, 20.5, 45.2)


def test_results_block_without_average_is_not_a_result():
    with pytest.raises(BenchmarkOutputError, match="cut off after: 'BENCHMARK RESULTS'"):
        parse_benchmark_output(" BENCHMARK RESULTS\nModel initialization:  2.24 ms\n")


@pytest.mark.parametrize("block_last", [True, False])
def test_both_formats_take_the_later_run(block_last):
    legacy = read("tflite_android_logcat_yolo26n.txt")
    block = read("litert_python_tiny_conv_stdout.txt")
    text = legacy + block if block_last else block + legacy
    expected = "benchmark_results" if block_last else "benchmark_model"
    assert parse_benchmark_output(text).format == expected


def test_timings_line_without_average_is_ignored():
    # A capture cut inside the summary line: the stats line alone is not trusted.
    text = (
        "count=50 first=10 curr=10 min=9 max=11 avg=10 std=1\n"
        "Inference timings in us: Init: 5, First inference: 12, Warm"
    )
    with pytest.raises(BenchmarkOutputError, match="cut off after: 'Inference timings in us: Init: 5"):
        parse_benchmark_output(text)


def test_logcat_error_line_is_quoted_without_its_prefix():
    text = (
        "01-11 23:29:10.001  7651  7651 I tflite  : Loaded model /data/local/tmp/model.tflite\n"
        "01-11 23:29:10.002  7651  7651 E tflite  : Failed to allocate tensors!\n"
    )
    with pytest.raises(BenchmarkOutputError, match="reports: 'E tflite  : Failed to allocate tensors!'"):
        parse_benchmark_output(text)


@pytest.mark.parametrize(
    "line",
    [
        "2026-12-01 18:40:45 ERROR benchmark_litert_model: Model file not found: m.tflite",
        "E/tflite  ( 7651): Failed to apply GPU delegate.",
        "E0000 00:00:1796150442.892366    3221 interpreter.cc:12] Invoke failed",
        "RuntimeError: Failed to load model from file",
    ],
)
def test_error_levels(line):
    text = f"INFO: Loaded model m.tflite\n{line}\nINFO: done\n"
    with pytest.raises(BenchmarkOutputError, match="reports: '" + re.escape(line) + "'"):
        parse_benchmark_output(text)


def test_warnings_are_not_taken_for_the_failure():
    text = (
        "WARNING: [compiler_plugin.cc:312] Failed to load plugin at: /x.so\n"
        "Segmentation fault\n"
    )
    with pytest.raises(BenchmarkOutputError, match="reports: 'Segmentation fault'"):
        parse_benchmark_output(text)


def test_long_error_line_is_shortened():
    with pytest.raises(BenchmarkOutputError) as caught:
        parse_benchmark_output("ERROR: " + "x" * 500)
    quoted = str(caught.value).split("reports: ", 1)[1]
    assert len(quoted) == 200 + 2 and quoted.endswith("…'")
