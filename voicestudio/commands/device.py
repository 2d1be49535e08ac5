"""``voicestudio device add|list|remove|check|bench|history|log``: ARM devices and models timed on them."""

from __future__ import annotations

from voicestudio.commands import CommandInfo, add_actions
from voicestudio.commands.shared import EXIT_FAILURE, EXIT_OK, opened_project, print_json
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    add_actions(parser, ACTIONS)


def _trust_option(parser) -> None:
    parser.add_argument("--trust-new-host", action="store_true", help="accept and record an SSH host key seen for the first time")


class Add:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("name")
        parser.add_argument("uri", metavar="URI")
        parser.add_argument("--key", metavar="PATH", help="SSH private key (no passwords are stored)")
        parser.add_argument("--python", metavar="CMD", help="the device's Python (default python3): split into arguments as a "
                            "shell would (e.g. 'env PYTHONPATH=/opt/lib python3'), each quoted; not run as a shell line")
        parser.add_argument("--workdir", metavar="DIR", help="where models go on the device (default ~/.voicestudio, or /data/local/tmp/voicestudio on Android); "
                            "over SSH a leading ~ is the login home")

    @staticmethod
    def run(args) -> int:
        from voicestudio.device import registry

        with opened_project(args) as project:
            info = registry.add(project, args.name, args.uri, key_path=args.key, python_cmd=args.python,
                                workdir=args.workdir)
        if args.json:
            print_json(info.to_dict())
        else:
            print(f"added {one_line(info.name)} ({one_line(info.uri)}); check it with: voicestudio device check {one_line(info.name)}")
        return EXIT_OK


class List:
    @staticmethod
    def add_arguments(parser) -> None:
        pass

    @staticmethod
    def run(args) -> int:
        import shlex

        from voicestudio.device import registry

        with opened_project(args) as project:
            found = registry.devices(project)
        if args.json:
            print_json([d.to_dict() for d in found])
        else:
            for d in found:
                arch = (d.check or {}).get("arch") or "not checked"
                python = shlex.join(d.python_cmd) if d.python_cmd else "python3"
                print(f"{one_line(d.name)}\t{one_line(d.uri)}\t{one_line(arch)}\t{d.runs} runs\t"
                      f"python: {one_line(python)}\tworkdir: {one_line(d.workdir or 'default')}")
        return EXIT_OK


class Remove:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("name")

    @staticmethod
    def run(args) -> int:
        from voicestudio.device import registry

        with opened_project(args) as project:
            registry.remove(project, args.name)
        print(f"removed {args.name} and its benchmark runs")
        return EXIT_OK


class Check:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("name")
        _trust_option(parser)

    @staticmethod
    def run(args) -> int:
        from voicestudio.device import registry

        with opened_project(args) as project:
            check = registry.run_check(project, args.name, trust_new_host=args.trust_new_host)
        if args.json:
            print_json(check.to_dict())
        else:
            print(check.text())
        return EXIT_OK if check.tools else EXIT_FAILURE


class Bench:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("name")
        parser.add_argument("model", metavar="MODEL.tflite")
        parser.add_argument("--threads", default="1", metavar="N,N,...", help="thread counts to time, e.g. 1,2,4 (default 1)")
        parser.add_argument("--runs", type=int, default=50, help="timed runs (default 50)")
        parser.add_argument("--warmup", type=int, default=5, help="warm-up runs (default 5)")
        parser.add_argument("--tool", choices=("auto", "benchmark_model", "python"), default="auto",
                            help="auto: benchmark_model when the device has it, else the Python script")
        parser.add_argument("--runtime", choices=("auto", "ai-edge-litert", "tflite-runtime"), default="auto",
                            help="the Python script's runtime (default: whichever imports, LiteRT first)")
        parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per run (default 600)")
        _trust_option(parser)

    @staticmethod
    def run(args) -> int:
        from voicestudio.device.bench import BenchRequest, bench_model, parse_threads
        from voicestudio.progress import TerminalBar

        with opened_project(args) as project:
            request = BenchRequest(threads=parse_threads(args.threads), runs=args.runs, warmup=args.warmup,
                                   tool=args.tool, runtime=args.runtime, timeout_s=args.timeout)
            bar = TerminalBar("benchmarking")
            try:
                result = bench_model(project, args.name, args.model, request, trust_new_host=args.trust_new_host,
                                     progress=bar)
            finally:
                bar.close()
        if args.json:
            print_json(result.to_dict())
        else:
            print(result.text())
        return EXIT_FAILURE if result.failed else EXIT_OK


class History:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("name", nargs="?", help="one device (default: all)")
        parser.add_argument("--limit", type=int)

    @staticmethod
    def run(args) -> int:
        from voicestudio.device import registry

        with opened_project(args) as project:
            rows = registry.history(project, args.name, limit=args.limit)
        if args.json:
            print_json([r.to_dict() for r in rows])
        else:
            for r in rows:
                timing = f"{r.avg_ms:.3f} ms" if r.avg_ms is not None else f"failed: {r.error}"
                print(f"{r.run_id}\t{r.started_at:%Y-%m-%d %H:%M}\t{one_line(r.device)}\t{one_line(r.model)}\t{r.tool}\t"
                      f"{r.threads} threads\t{timing}")
        return EXIT_OK


class Log:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("run_id", type=int)

    @staticmethod
    def run(args) -> int:
        from voicestudio.device import registry

        with opened_project(args) as project:
            print(registry.raw_log(project, args.run_id), end="")
        return EXIT_OK


ACTIONS = {
    "add": CommandInfo(__name__, "add a device: adb://SERIAL or ssh://user@host[:port]", "Add"),
    "list": CommandInfo(__name__, "the project's devices", "List"),
    "remove": CommandInfo(__name__, "remove a device and its runs", "Remove"),
    "check": CommandInfo(__name__, "reachable? architecture, runtimes, benchmark_model", "Check"),
    "bench": CommandInfo(__name__, "push a model and time it on the device", "Bench"),
    "history": CommandInfo(__name__, "benchmark runs, newest first", "History"),
    "log": CommandInfo(__name__, "the raw log of a benchmark run", "Log"),
}
