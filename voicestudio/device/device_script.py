"""Times a .tflite model on the device itself; pushed there and run by the device's Python.

Needs only the standard library, numpy and a TFLite runtime (``ai_edge_litert``, else
``tflite_runtime``), and runs on Python 3.7 and later, as boards have it. Prints one line
``VOICESTUDIO_BENCH {json}`` (runtimes print their own lines, e.g. "INFO: Created
TensorFlow Lite XNNPACK delegate for CPU."). With ``--probe`` it only says which Python,
numpy and runtimes are there. A file to push: VoiceStudio imports it only for ``MARKER``.
"""

import argparse
import json
import platform
import sys
import time

MARKER = "VOICESTUDIO_BENCH "
RUNTIMES = (("ai-edge-litert", "ai_edge_litert.interpreter"), ("tflite-runtime", "tflite_runtime.interpreter"))


def first_line(exc):
    text = str(exc).strip()
    return "%s: %s" % (type(exc).__name__, text.splitlines()[0] if text else "")


def emit(data):
    sys.stdout.write(MARKER + json.dumps(data) + "\n")
    sys.stdout.flush()


def import_runtime(wanted):
    """(name, version, interpreter module) of the first runtime that imports, and why others did not."""
    import importlib

    problems = {}
    for name, module_name in RUNTIMES:
        if wanted not in (None, "auto", name):
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # ImportError, or a wheel built for another numpy
            problems[name] = first_line(exc)
            continue
        top = importlib.import_module(module_name.split(".")[0])
        return name, getattr(top, "__version__", "unknown"), module, problems
    return None, None, None, problems


def probe(wanted):
    """Python, numpy and the runtimes; the checker asks one runtime per run, so a runtime
    that crashes the interpreter on import cannot hide the others."""
    info = {"python": platform.python_version(), "machine": platform.machine(), "system": platform.system()}
    try:
        import numpy
        info["numpy"] = numpy.__version__
    except Exception as exc:
        info["numpy"] = None
        info["numpy_error"] = first_line(exc)
    runtimes = {}
    for name, _ in RUNTIMES:
        if wanted not in ("auto", name):
            continue
        found, version, _module, problems = import_runtime(name)
        runtimes[name] = version if found else None
        if problems:
            runtimes[name + " error"] = problems.get(name)
    info["runtimes"] = runtimes
    emit(info)


def peak_rss_mb():
    try:
        import resource
    except ImportError:  # not on Windows; boards are Linux
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024.0  # bytes on macOS, KiB on Linux


def random_input(detail, rng, np):
    shape = [max(1, int(d)) for d in detail["shape"]]
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -128), min(info.max, 127) + 1, size=shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    raise SystemExit("cannot make an input of type %s" % dtype)


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * q
    low = int(k)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (k - low)


def bench(args):
    import numpy as np

    name, version, module, problems = import_runtime(args.runtime)
    if module is None:
        emit({"error": "no TFLite runtime: " + "; ".join("%s: %s" % kv for kv in problems.items())})
        return 3
    started = time.perf_counter()
    try:
        interpreter = module.Interpreter(model_path=args.model, num_threads=args.threads)
        interpreter.allocate_tensors()
    except Exception as exc:  # e.g. an operator version newer than this runtime
        emit({"error": "%s %s cannot load the model: %s" % (name, version, first_line(exc)), "runtime": name,
              "runtime_version": version})
        return 4
    init_ms = (time.perf_counter() - started) * 1e3
    rng = np.random.default_rng(0)
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], random_input(detail, rng, np))

    def timed():
        t0 = time.perf_counter()
        interpreter.invoke()
        return (time.perf_counter() - t0) * 1e3

    first_ms = timed()
    warmup = [timed() for _ in range(args.warmup)]
    times = [timed() for _ in range(args.runs)]
    for detail in interpreter.get_output_details():
        interpreter.get_tensor(detail["index"])  # results must be readable
    ordered = sorted(times)
    mean = sum(times) / len(times)
    std = (sum((t - mean) ** 2 for t in times) / len(times)) ** 0.5
    emit({
        "runtime": name, "runtime_version": version, "python": platform.python_version(),
        "machine": platform.machine(), "numpy": np.__version__, "threads": args.threads,
        "runs": len(times), "warmup": args.warmup, "init_ms": init_ms, "first_ms": first_ms,
        "warmup_avg_ms": sum(warmup) / len(warmup) if warmup else None,
        "avg_ms": mean, "median_ms": percentile(ordered, 0.5), "p90_ms": percentile(ordered, 0.9),
        "min_ms": ordered[0], "max_ms": ordered[-1], "std_ms": std, "peak_rss_mb": peak_rss_mb(),
        "times_ms": [round(t, 4) for t in times],
    })
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", action="store_true", help="report Python, numpy and runtimes, then exit")
    parser.add_argument("--model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runtime", choices=("auto",) + tuple(n for n, _ in RUNTIMES), default="auto")
    args = parser.parse_args(argv)
    if args.probe:
        probe(args.runtime)
        return 0
    if not args.model or args.runs < 1 or args.threads < 1 or args.warmup < 0:
        parser.error("--model, --runs >= 1, --threads >= 1 and --warmup >= 0 are needed")
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
