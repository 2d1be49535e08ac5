"""``voicestudio score``: predict the clips that have no prediction from the model yet."""

from __future__ import annotations

from voicestudio.commands.shared import batch, exit_with, load_detector, model_options, print_json
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    model_options(parser, project=True)
    parser.add_argument("--rescore", action="store_true", help="score every clip again")


def run(args) -> int:
    from voicestudio.dataset.scoring import score_project

    def scoring(project, bar):
        detector = load_detector(args, project)
        return detector, score_project(project, detector, rescore=args.rescore, progress=bar)

    detector, result = batch(args, "scoring", scoring)
    if args.json:
        print_json(result.to_dict())
    else:
        print(
            f"{result.scored} clips scored with {one_line(detector.card.name)} "
            f"({result.already_scored} already had predictions, {len(result.failures)} failed) "
            f"in {result.elapsed_s:.1f} s"
        )
    return exit_with(result.failures)
