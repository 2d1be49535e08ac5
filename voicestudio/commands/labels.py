"""``voicestudio labels export|import FILE``: labels out of and into the project (CSV, Label Studio JSON).

``label --from-csv FILE`` is ``labels import FILE --format csv``: both run ``import_file``.
"""

from __future__ import annotations

import sys

from voicestudio.commands import CommandInfo, add_actions
from voicestudio.commands.shared import EXIT_FAILURE, EXIT_OK, annotator, opened_project, print_json
from voicestudio.terminal import one_line

FORMATS = ("csv", "labelstudio")


def add_arguments(parser) -> None:
    add_actions(parser, ACTIONS)


def _file_options(parser) -> None:
    parser.add_argument("file", metavar="FILE", help=".csv or .json (Label Studio)")
    parser.add_argument("--format", choices=FORMATS, help="default: from the file's suffix")


class Export:
    @staticmethod
    def add_arguments(parser) -> None:
        _file_options(parser)
        parser.add_argument("--annotator", metavar="NAME",
                            help="a filter: only this annotator's labels (default: everyone's)")
        parser.add_argument("--force", action="store_true", help="replace an existing FILE (never the project)")

    @staticmethod
    def run(args) -> int:
        from voicestudio.dataset.interchange import export_labels

        with opened_project(args) as project:  # --annotator filters: any stored name, not checked as a new one
            result = export_labels(project, args.file, format=args.format, annotator=args.annotator, force=args.force)
        if args.json:
            print_json(result.to_dict())
        else:
            print(f"{result.labels} labels of {result.clips} clips written to {result.path} ({result.format})")
        return EXIT_OK


class Import:
    @staticmethod
    def add_arguments(parser) -> None:
        _file_options(parser)
        parser.add_argument("--annotator", metavar="NAME",
                            help="who the rows without an annotator are from (default: $VOICESTUDIO_ANNOTATOR "
                                 "or the login name)")

    @staticmethod
    def run(args) -> int:
        return import_file(args, args.file, args.format)


def import_file(args, path, format: str | None) -> int:
    """Every good row of ``path`` written; each bad row named on stderr (exit 1 if any)."""
    from voicestudio.dataset.interchange import import_labels

    importer = annotator(args)
    with opened_project(args) as project:
        result = import_labels(project, path, format=format, default_annotator=importer)
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"{result.labelled} labels written, {result.unchanged} unchanged, {len(result.failures)} failed")
    for problem in result.failures:
        print(f"voicestudio: {one_line(path)}: {one_line(problem)}", file=sys.stderr)
    return EXIT_FAILURE if result.failures else EXIT_OK


ACTIONS = {
    "export": CommandInfo(__name__, "labels out of the project as CSV or Label Studio JSON", "Export"),
    "import": CommandInfo(__name__, "labels into the project from CSV or Label Studio JSON", "Import"),
}
