"""``voicestudio import PATH...``: audio files and folders into the project."""

from __future__ import annotations

from voicestudio.commands.shared import UsageError, batch, exit_with, print_json
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--segment", default="auto", metavar="auto|none|silence|SECONDS",
                        help="split files into clips: auto (long files at silences), none, silence, or fixed SECONDS")


def run(args) -> int:
    from voicestudio.dataset.importer import SegmentRule, import_paths

    try:
        rule = SegmentRule.parse(args.segment)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result = batch(args, "importing", lambda project, bar: import_paths(project, args.paths, rule=rule, progress=bar))
    if args.json:
        print_json(result.to_dict())
    else:
        print(
            f"{result.files_added} files added ({result.clips_added} clips), "
            f"{result.files_unchanged} unchanged, {result.files_relinked} relinked, "
            f"{len(result.duplicates)} duplicates, {len(result.skipped)} not audio, "
            f"{len(result.failures)} failed"
            + (f", {len(result.changed)} changed since import" if result.changed else "")
            + (f", {len(result.links_skipped)} links skipped" if result.links_skipped else "")
        )
        # Worth a word, not failures: the files were imported (or kept), so the exit code stays 0.
        for heading, problems in (("duplicate: ", result.duplicates), ("", result.changed),
                                  ("relinked: ", result.relinked), ("warning: ", result.warnings),
                                  ("skipped link: ", result.links_skipped)):
            for problem in problems:
                print(f"{heading}{one_line(problem.path)}: {one_line(problem.reason)}")
    return exit_with(result.failures)
