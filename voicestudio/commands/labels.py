"""``voicestudio labels export|import FILE``: labels out of and into the project (CSV, Label Studio JSON),
and regions of recordings out of and into other tools' files (``dataset.region_files``).

``label --from-csv FILE`` is ``labels import FILE --format csv``: both run ``import_file``.
"""

from __future__ import annotations

import sys

from voicestudio.commands import CommandInfo, add_actions
from voicestudio.commands.shared import EXIT_FAILURE, EXIT_OK, UsageError, annotator, opened_project, print_json
from voicestudio.terminal import one_line

FORMATS = ("csv", "labelstudio")
REGION_FORMATS = ("audacity", "raven", "textgrid", "segments-csv", "rttm")  # dataset.region_files.FORMATS


def add_arguments(parser) -> None:
    add_actions(parser, ACTIONS)


def _file_options(parser) -> None:
    parser.add_argument("file", metavar="FILE", help=".csv, .json (Label Studio), .txt (Audacity or Raven), "
                                                     ".TextGrid or .rttm")
    parser.add_argument("--format", choices=FORMATS + REGION_FORMATS, help="default: from the file's suffix "
                        "(segments-csv only when given)")
    parser.add_argument("--audio", metavar="AUDIO", help="region formats: the recording the regions are of "
                        "(default on import: the file with FILE's stem beside it)")


def _format_of(path, given: str | None) -> str:
    """The format to read or write: --format, else what the name says; neither is a usage error (exit 2)."""
    from voicestudio.dataset.region_files import guess_format

    found = given or guess_format(path)
    if found is None:
        raise UsageError(f"{path}: cannot tell the label format from the name (.csv, .json, .txt, .TextGrid, "
                         f".rttm); give --format {'|'.join(FORMATS + REGION_FORMATS)}")
    return found


def _region_usage(call):
    """``call()``, a region option the file cannot take becoming a usage error."""
    from voicestudio.dataset.region_files import RegionUsageError

    try:
        return call()
    except RegionUsageError as exc:
        raise UsageError(str(exc)) from None


def _clip_format_only(args, kind: str, names: tuple[str, ...]) -> None:
    given = [name for name in names if getattr(args, name, None) is not None]
    if given:
        raise UsageError(f"--{given[0]} is for the region formats ({', '.join(REGION_FORMATS)}), not {kind}")


class Export:
    @staticmethod
    def add_arguments(parser) -> None:
        _file_options(parser)
        parser.add_argument("--annotator", metavar="NAME",
                            help="a filter: only this annotator's labels (default: everyone's)")
        parser.add_argument("--force", action="store_true", help="replace an existing FILE (never the project)")
        _label_studio_options(parser, export=True)

    @staticmethod
    def run(args) -> int:
        from voicestudio.dataset.interchange import export_labels

        kind = _format_of(args.file, args.format)
        if kind in REGION_FORMATS:
            return _export_regions(args, kind)
        _clip_format_only(args, kind, ("audio",))
        with opened_project(args) as project:  # --annotator filters: any stored name, not checked as a new one
            result = export_labels(project, args.file, format=args.format, annotator=args.annotator, force=args.force,
                                   label_studio=_ls_options(args))
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
        parser.add_argument("--map", metavar="'NAME=VALUE,...'",
                            help="region formats: label names to values, e.g. 'Speech=human,Music=nonhuman' "
                                 "(case-insensitive; *=VALUE for any other name)")
        parser.add_argument("--tier", metavar="NAME", help="the TextGrid tier or Raven annotation column to read")
        _label_studio_options(parser, export=False)

    @staticmethod
    def run(args) -> int:
        return import_file(args, args.file, args.format)


def import_file(args, path, format: str | None) -> int:
    """Every good row of ``path`` written; each bad row named on stderr (exit 1 if any)."""
    from voicestudio.dataset.interchange import import_labels

    kind = _format_of(path, format)
    if kind in REGION_FORMATS:
        return _import_regions(args, path, kind)
    _clip_format_only(args, kind, ("audio", "map", "tier"))
    importer = annotator(args)
    with opened_project(args) as project:
        result = import_labels(project, path, format=format, default_annotator=importer,
                               label_studio=_ls_options(args))
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"{result.labelled} labels written, {result.unchanged} unchanged, {len(result.failures)} failed"
              + (f", {result.created} segment clips made for Label Studio regions" if result.created else ""))
    return _said(path, result.notes, result.failures)


def _said(path, notes, failures) -> int:
    """Each note and each failed row of ``path`` on stderr; the exit status (1 if a row failed)."""
    for line in [*notes, *failures]:
        print(f"voicestudio: {one_line(path)}: {one_line(line)}", file=sys.stderr)
    return EXIT_FAILURE if failures else EXIT_OK


def _import_regions(args, path, kind: str) -> int:
    """Every good row of ``path`` labelled as a region; each bad row named on stderr (exit 1 if any)."""
    from voicestudio.dataset.region_files import import_regions, parse_map

    mapping = _region_usage(lambda: parse_map(args.map))
    importer = annotator(args)
    with opened_project(args) as project:
        result = _region_usage(lambda: import_regions(project, path, format=kind, default_annotator=importer,
                                                      audio=args.audio, mapping=mapping, tier=args.tier))
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"{result.labelled} regions labelled, {result.unchanged} unchanged, {len(result.failures)} failed"
              + (f", {len(result.skipped)} skipped" if result.skipped else ""))
    return _said(path, result.skipped, result.failures)


def _export_regions(args, kind: str) -> int:
    from voicestudio.dataset.region_files import export_regions

    with opened_project(args) as project:
        result = _region_usage(lambda: export_regions(project, args.file, format=kind, audio=args.audio,
                                                      annotator=args.annotator, force=args.force))
    if args.json:
        print_json(result.to_dict())
    else:
        where = result.paths[0] if len(result.paths) == 1 else f"{len(result.paths)} files in {args.file}"
        print(f"{result.regions} regions of {result.recordings} recordings written to {where} ({result.format})")
    return EXIT_OK


def _label_studio_options(parser, *, export: bool) -> None:
    """The options that meet a Label Studio server (``interchange.LabelStudioOptions``)."""
    parser.add_argument("--ls-document-root", metavar="DIR",
                        help="Label Studio: its LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT; audio is written as "
                             "/data/local-files/?d=PATH_BELOW_DIR" if export else
                             "Label Studio: its LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT, to find ?d= audio exactly")
    parser.add_argument("--ls-user", metavar="NAME=EMAIL", action="append",
                        help="Label Studio: the annotator NAME is the server's user EMAIL (repeatable)")
    if export:
        parser.add_argument("--audio-url-prefix", metavar="URL",
                            help="Label Studio: audio is URL + the path below --ls-document-root (or below the "
                                 "files' common folder)")
    else:
        parser.add_argument("--ls-config", metavar="XML",
                            help="Label Studio: the project's labelling config, to read the audio field and the "
                                 "controls it names (default: `labels config --format labelstudio`)")


def _ls_options(args):
    from pathlib import Path

    from voicestudio.dataset.interchange import LABEL_STUDIO_CONFIG, LabelStudioOptions, parse_ls_users
    from voicestudio.errors import VoiceStudioError

    config = LABEL_STUDIO_CONFIG
    if getattr(args, "ls_config", None):
        try:
            config = Path(args.ls_config).expanduser().read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise VoiceStudioError(f"{args.ls_config}: cannot read the labelling config ({exc})") from None
    try:
        users = parse_ls_users(getattr(args, "ls_user", None))
    except VoiceStudioError as exc:
        raise UsageError(str(exc)) from None
    root = getattr(args, "ls_document_root", None)
    return LabelStudioOptions(document_root=Path(root) if root else None,
                              audio_url_prefix=getattr(args, "audio_url_prefix", None), users=users, config=config)


class Config:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("--format", choices=("labelstudio",), default="labelstudio",
                            help="the tool whose labelling config to print (default: labelstudio)")

    @staticmethod
    def run(args) -> int:
        from voicestudio.dataset.interchange import LABEL_STUDIO_CONFIG

        sys.stdout.write(LABEL_STUDIO_CONFIG)
        return EXIT_OK


ACTIONS = {
    "config": CommandInfo(__name__, "print the Label Studio labelling config that matches labels export/import",
                          "Config"),
    "export": CommandInfo(__name__, "labels out of the project as CSV or Label Studio JSON, regions for "
                                    "Audacity, Raven, Praat, a segment CSV or RTTM", "Export"),
    "import": CommandInfo(__name__, "labels into the project from CSV or Label Studio JSON, regions from "
                                    "Audacity, Raven, Praat, a segment CSV or RTTM", "Import"),
}
