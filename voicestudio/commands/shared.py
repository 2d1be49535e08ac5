"""What several commands share: exit codes, JSON output, opening the project, common options."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

from voicestudio.errors import VoiceStudioError
from voicestudio.terminal import one_line

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(VoiceStudioError):
    """Arguments that parse but make no sense together."""


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


def open_project(args):
    """The project named by --db / $VOICESTUDIO_DB; the default one starts as the demo project."""
    from voicestudio.store.project import default_project_path, open_project as open_target, resolve_project_target

    target = resolve_project_target(args.db)
    if target == str(default_project_path()):
        from voicestudio.dataset.demo import open_or_create_demo

        setup = open_or_create_demo(target)
        if setup.created:
            print(f"voicestudio: created the default project {target} with the demo clips", file=sys.stderr)
        project = setup.project
    else:
        project = open_target(target)
    if project.damage is not None:  # found at open (not closed cleanly): reading goes on, writing will refuse
        from voicestudio.store.sqlite import damaged_message

        print(f"voicestudio: warning: {one_line(damaged_message(project.label, project.damage))}", file=sys.stderr)
    return project


@contextmanager
def opened_project(args):
    """``open_project(args)``, closed whatever happens."""
    project = open_project(args)
    try:
        yield project
    finally:
        project.close()


def batch(args, label: str, work):
    """Run ``work(project, progress_bar)`` on the project, closing both whatever happens."""
    from voicestudio.progress import TerminalBar

    project = open_project(args)
    bar = TerminalBar(label)
    try:
        return work(project, bar)
    finally:
        bar.close()
        project.close()


def exit_with(failures) -> int:
    """One stderr line per failed file; exit 1 if any failed."""
    for problem in failures:
        print(f"voicestudio: {one_line(problem.path)}: {one_line(problem.reason)}", file=sys.stderr)
    return EXIT_FAILURE if failures else EXIT_OK


def model_options(parser, *, project: bool = False) -> None:
    default = "the project's default model, else the built-in detector" if project else "the built-in detector"
    parser.add_argument("--model", help=f"a .tflite model (default: {default})")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads (default: min(4, cores))")


def load_detector(args, project=None):
    """--model, else the project's default model (Compare ▸ Use B for the project) when a project is
    given, else the built-in detector."""
    from voicestudio.model.detector import Detector

    model = args.model
    if model is None and project is not None:
        from voicestudio.dataset.workspace import default_model

        model = default_model(project)
    return Detector(model, threads=args.threads)


def consensus_options(parser) -> None:
    """Which labels count. ``--annotator`` here is a filter: only that annotator's labels."""
    parser.add_argument("--consensus", choices=("latest", "majority", "unanimous"), default="latest",
                        help="which label counts when annotators differ (default: latest)")
    parser.add_argument("--annotator", metavar="NAME",
                        help="a filter: count only this annotator's labels (default: everyone's)")


def consensus(args):
    from voicestudio.dataset.consensus import Consensus

    return Consensus(args.consensus, args.annotator, getattr(args, "include_unsure", False))


def annotator(args) -> str:
    """Who labels: --annotator, else $VOICESTUDIO_ANNOTATOR or the login name; a name breaking the rule is a usage error."""
    from voicestudio.annotators import AnnotatorError, check_annotator
    from voicestudio.settings import default_annotator

    given = args.annotator is not None
    try:
        return check_annotator(args.annotator if given else default_annotator())
    except AnnotatorError as exc:
        raise UsageError(f"{'--annotator' if given else '$VOICESTUDIO_ANNOTATOR'}: {exc}") from None
