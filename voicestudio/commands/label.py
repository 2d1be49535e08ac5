"""``voicestudio label``: one clip labelled, a span of a recording labelled (a region), the latest label
undone, or labels from a CSV file."""

from __future__ import annotations

from voicestudio.commands import labels
from voicestudio.commands.shared import EXIT_OK, UsageError, annotator, opened_project, print_json
from voicestudio.errors import VoiceStudioError
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    parser.add_argument("clip", nargs="?", help="clip id or audio file path")
    parser.add_argument("value", nargs="?", help="human | nonhuman | unsure | clear")
    parser.add_argument("--annotator", metavar="NAME",
                        help="who is labelling (default: $VOICESTUDIO_ANNOTATOR or the login name)")
    parser.add_argument("--note")
    parser.add_argument("--span", metavar="START-END",
                        help="label this span of the recording CLIP (an audio path): a region, stored as a segment "
                        "clip (made if new). Times in seconds or m:ss.s / h:mm:ss.s, e.g. 12:31.4-12:35")
    parser.add_argument("--from-csv", metavar="FILE", help="CSV with columns path,label[,annotator] "
                        "(the same as 'labels import FILE --format csv')")
    parser.add_argument("--undo", action="store_true", help="undo the annotator's latest label (appends an undo event)")


def run(args) -> int:
    if args.undo and (args.clip or args.value or args.from_csv):
        raise UsageError("--undo takes no CLIP, VALUE or --from-csv")
    if args.from_csv:
        if args.clip or args.value:
            raise UsageError("give either CLIP VALUE or --from-csv FILE, not both")
        return labels.import_file(args, args.from_csv, "csv")
    if not args.undo and not (args.clip and args.value):
        raise UsageError("label needs CLIP VALUE (or --from-csv FILE, or --undo)")
    if args.span and args.undo:
        raise UsageError("--span takes AUDIO VALUE, not --undo")
    if args.span:
        return _label_span(args)

    from voicestudio.dataset.labels import apply_label, undo_last

    who = annotator(args)
    with opened_project(args) as project:
        if args.undo:
            event = undo_last(project, annotator=who)
            if event is None:
                raise VoiceStudioError(f"{who} has no label left to undo")
        else:
            event = apply_label(project, args.clip, args.value, annotator=who, note=args.note)
    if args.json:
        print_json(event)
    else:
        print(f"clip {event['clip_id']}: {event['value'] or 'cleared'} by {one_line(event['annotator'])}")
    return EXIT_OK


def _label_span(args) -> int:
    from pathlib import Path

    from voicestudio.dataset.regions import label_span_by_path

    who = annotator(args)
    path = str(Path(args.clip).expanduser().absolute())
    with opened_project(args) as project:
        event = label_span_by_path(project, path, args.span, args.value, annotator=who, note=args.note)
    if args.json:
        print_json(event)
    else:
        print(f"clip {event['clip_id']} ({event['start_s']:.3f}-{event['end_s']:.3f} s of {one_line(path)}): "
              f"{event['value'] or 'cleared'} by {one_line(event['annotator'])}")
    return EXIT_OK
