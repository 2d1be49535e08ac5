"""``voicestudio`` command line: the entry point over ``voicestudio.commands``.

Each command lives in its own module (``voicestudio/commands/<name>.py``, its
arguments beside its handler) listed in ``commands.COMMANDS``; only the
command that runs is imported, so ``voicestudio --help`` and the window's
start stay fast. This module parses, dispatches and turns errors into exit
codes: 0 success, 1 failure, 2 usage. Errors are one line on stderr; the
traceback only with ``--debug``. ``--json`` output is documented in README.md
and kept stable.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback

from voicestudio import __version__
from voicestudio.commands import COMMANDS, add_commands, common_options
from voicestudio.commands.shared import EXIT_FAILURE, EXIT_USAGE, UsageError
from voicestudio.errors import VoiceStudioError
from voicestudio.terminal import EscapingWriter, one_line

DESCRIPTION = "Build and audit human-voice detection datasets and models. With no command, opens the workstation."


def _top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog="voicestudio", parents=[common_options(in_command=False)],
                                     description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"voicestudio {__version__}")
    return parser, parser.add_subparsers(dest="command", metavar="COMMAND")


def build_parser(commands=None) -> argparse.ArgumentParser:
    """The command line's parser, with the arguments of ``commands`` (default: every command; the rest only listed)."""
    parser, subparsers = _top_parser()
    add_commands(subparsers, COMMANDS, load=lambda name: commands is None or name in commands)
    return parser


def _command_named(argv: list[str] | None) -> str | None:
    """Which command ``argv`` runs (None: the window), found without importing any command's module.

    ``voicestudio --help``, ``--version`` and an unknown command end here,
    with the same output as the full parser's.
    """
    parser, subparsers = _top_parser()
    add_commands(subparsers, COMMANDS, load=lambda name: False, add_help=False)
    known, _rest = parser.parse_known_args(argv)
    return known.command


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    All output goes through ``EscapingWriter`` (see ``voicestudio.terminal``):
    names and notes from files, models and devices cannot drive the terminal.
    """
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (EscapingWriter(s) if s is not None else None for s in streams)
    try:
        status = _run(argv)
        if sys.stdout is not None:
            sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
        return status
    except BrokenPipeError:
        return _reader_went_away(streams[0])
    finally:
        sys.stdout, sys.stderr = streams


def _reader_went_away(stdout) -> int:
    """The reader of our output closed it (``voicestudio clips | head -1``): stop quietly, as other tools do.

    As Python's documentation advises ("Note on SIGPIPE" in the signal module):
    stdout is pointed at devnull so that the flush at exit does not fail again,
    and SIGPIPE's default action is not restored. The status is the one a shell
    reports for a tool killed by SIGPIPE (128 + 13), not 1: nothing failed.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured in tests)
        pass
    return 128 + signal.SIGPIPE


def _run(argv: list[str] | None) -> int:
    command = _command_named(argv) or "gui"
    parser = build_parser(commands=(command,))
    args = parser.parse_args(argv)
    run = getattr(args, "run", None) or COMMANDS["gui"].load().run  # no command: the window
    from voicestudio import pathmap

    try:
        pathmap.use(pathmap.PathMap.parse(args.path_map) if getattr(args, "path_map", None) else None)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"voicestudio: error: --path-map: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return run(args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"voicestudio: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except VoiceStudioError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"voicestudio: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("voicestudio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise  # the reader went away: main() stops quietly
    except Exception as exc:  # a bug: say so in one line, trace with --debug
        if args.debug:
            traceback.print_exc()
        print(f"voicestudio: internal error: {type(exc).__name__}: {one_line(exc)} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
