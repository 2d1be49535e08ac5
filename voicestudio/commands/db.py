"""``voicestudio db backup|check|recover``: the project database itself."""

from __future__ import annotations

import sys

from voicestudio.commands import CommandInfo, add_actions
from voicestudio.commands.shared import EXIT_FAILURE, EXIT_OK, print_json
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    add_actions(parser, ACTIONS)


def _target(args) -> str:
    from voicestudio.store.project import resolve_project_target

    return resolve_project_target(getattr(args, "project", None) or args.db)


def _print_report(args, report) -> None:
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.text())


class Backup:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("out", metavar="OUT.vsproj")
        parser.add_argument("--force", action="store_true", help="replace an existing OUT")

    @staticmethod
    def run(args) -> int:
        from voicestudio.store.backup import backup_project

        report = backup_project(_target(args), args.out, force=args.force)
        for stale in report.stale_removed:
            print(f"voicestudio: {one_line(stale)}", file=sys.stderr)
        if args.json:
            print_json({**report.__dict__, "path": str(report.path)})
        else:
            print(f"backed up {report.label_events} label events, {report.clips} clips of {report.files} files to "
                  f"{report.path} ({report.size_bytes / 1e6:.1f} MB, integrity {report.integrity}, {report.duration_s:.2f} s)")
        return EXIT_OK


class Check:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("project", nargs="?", metavar="PROJECT", help="the project file (default: --db, $VOICESTUDIO_DB, ...)")

    @staticmethod
    def run(args) -> int:
        from voicestudio.store.repair import check_project

        report = check_project(_target(args))
        _print_report(args, report)
        return EXIT_OK if report.ok else EXIT_FAILURE


class Recover:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("project", nargs="?", metavar="PROJECT", help="the damaged project (default: --db, ...)")
        parser.add_argument("out", metavar="OUT.vsproj")
        parser.add_argument("--force", action="store_true", help="replace an existing OUT")

    @staticmethod
    def run(args) -> int:
        from voicestudio.store.repair import recover_project

        _print_report(args, recover_project(_target(args), args.out, force=args.force))
        return EXIT_OK


ACTIONS = {
    "backup": CommandInfo(__name__, "a consistent copy of a live SQLite project (others may keep labelling)", "Backup"),
    "check": CommandInfo(__name__, "is the project file damaged? (exit 1 if so)", "Check"),
    "recover": CommandInfo(__name__, "copy every row that can still be read from a damaged project into a new one",
                           "Recover"),
}
