"""``voicestudio evaluate DATA_DIR``: a model on a folder-per-class set (``human/``, ``nonhuman/``,
optionally under ``train/ val/ test/``), no project needed: the metrics, threshold picks and plots of
``stats``, on the test split when there are splits."""

from __future__ import annotations

import sys

from voicestudio.commands.shared import EXIT_FAILURE, EXIT_OK, UsageError, load_detector, model_options, print_json
from voicestudio.commands.stats import print_audit, save_audit_plots, threshold_goals
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", help="human/ and nonhuman/ folders (or train/ val/ test/ "
                        "holding them)")
    model_options(parser)
    parser.add_argument("--split", help="with split folders: the one to evaluate (default: test)")
    parser.add_argument("--threshold", type=float, help="decision threshold (default: the model card's)")
    parser.add_argument("--pick", action="append", metavar="GOAL",
                        help="suggest a threshold: best-f1, precision=P or recall=R (repeatable; default best-f1)")
    parser.add_argument("--plots", metavar="DIR", help="save ROC, PR, histogram and confusion plots as PNG in DIR")


def run(args) -> int:
    from voicestudio.dataset.evaluation import evaluate_folder

    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise UsageError("--threshold must be between 0 and 1")
    detector = load_detector(args)
    result = evaluate_folder(args.data_dir, detector, split=args.split, threshold=args.threshold,
                             goals=threshold_goals(args))
    audit = result.report.audit
    if args.plots:
        save_audit_plots(audit, args.plots)
    if args.json:
        print_json({"data_dir": str(args.data_dir), "split": result.split, "files": result.files,
                    "problems": [{"path": p, "reason": r} for p, r in result.problems], **result.report.to_dict()})
    else:
        where = f" ({result.split} split)" if result.split else ""
        print(f"{one_line(str(args.data_dir))}{where}: {result.files} files")
        print_audit(audit, result.report.table)
    for path, reason in result.problems:
        print(f"voicestudio: {one_line(path)}: {one_line(reason)}", file=sys.stderr)
    return EXIT_FAILURE if result.problems else EXIT_OK
