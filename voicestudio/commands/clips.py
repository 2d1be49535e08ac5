"""``voicestudio clips``: the project's clips with their current labels, or a review queue."""

from __future__ import annotations

from voicestudio.commands.shared import (EXIT_OK, UsageError, consensus, consensus_options, load_detector,
                                         model_options, opened_project, print_json)
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    from voicestudio.settings import default_annotator

    parser.add_argument("--queue", default="all", metavar="QUEUE",
                        help="all (default), unlabelled, uncertain, disagreements, mistakes, conflicts, or a confusion cell tp/fp/fn/tn")
    model_options(parser, project=True)
    consensus_options(parser)
    parser.add_argument("--threshold", type=float, help="decision threshold (default: the model card's)")
    parser.add_argument("--me", default=default_annotator(), help="whose unlabelled queue (default: you)")
    parser.add_argument("--limit", type=int, default=None)


def run(args) -> int:
    from voicestudio.dataset.cliptable import QueueRequest
    from voicestudio.dataset.report import clip_report

    needs_model = args.queue not in ("all", "unlabelled", "conflicts")
    try:
        with opened_project(args) as project:
            detector = load_detector(args, project) if needs_model or args.model else None
            threshold = args.threshold if args.threshold is not None else (detector.card.threshold if detector else 0.5)
            request = QueueRequest(args.queue, threshold=threshold, consensus=consensus(args))
            rows = clip_report(project, queue=request, detector=detector, annotator=args.me, limit=args.limit)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            score = f"\t{row['score']:.3f}" if row.get("score") is not None else ""
            print(f"{row['id']}\t{row['start_s']:.2f}-{row['end_s']:.2f}\t{row['label'] or '-'}{score}\t{one_line(row['path'])}")
    return EXIT_OK
