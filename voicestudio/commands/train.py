"""``voicestudio train DATA_DIR OUT.tflite``: a detector trained and converted (needs voicestudio[train]).

``voicestudio train --from-project [OUT.tflite]``: fine-tune the built-in model (or ``--base``) on the
project's labelled clips, split as the export splits them; the models are registered in the project.
"""

from __future__ import annotations

import contextlib
import sys

from voicestudio.commands.shared import EXIT_OK, UsageError, batch, consensus, consensus_options, print_json


def add_arguments(parser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", nargs="?",
                        help="human/ and nonhuman/ folders, optionally inside train/ val/ test/")
    parser.add_argument("out", metavar="OUT.tflite", nargs="?",
                        help="the model to write (with --from-project, default: <project>.models/ beside the project)")
    parser.add_argument("--from-project", action="store_true",
                        help="train on the project's labelled clips instead of DATA_DIR (fine-tunes --base)")
    consensus_options(parser)
    parser.add_argument("--base", metavar="MODEL|none", default=None,
                        help="with --from-project: the model to fine-tune, a float .tflite of the built-in family or "
                        "a .keras file; none trains from nothing (default: the built-in model)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 30, or 10 with --from-project")
    parser.add_argument("--seed", type=int, default=0, help="training seed, and with --from-project the export's "
                        "split seed (default 0, as export's)")
    parser.add_argument("--group-balance", type=float, default=0.0, metavar="A",
                        help="weigh each window 1 / (windows of its source group)^A within its class, so a few large "
                        "sources do not outvote many small ones (default 0: all alike; the built-in model averages a network "
                        "trained with 0 and one with 0.5)")
    parser.add_argument("--networks", type=int, default=1, metavar="N",
                        help="train N networks apart (seeds SEED, SEED+1, ...) and average them in one model; each "
                        "costs one training (default 1; the built-in model averages two)")
    parser.add_argument("--half-width", type=int, default=0, metavar="W",
                        help="also train a network of half-length windows, W channels wide, scored on each half of "
                        "the window; the higher of the two is averaged with the other networks' score (default 0: "
                        "none; the built-in model has one)")
    parser.add_argument("--name", default=None, help="the model's name (default: voice-detector, or OUT's stem)")


def run(args) -> int:
    if args.from_project:
        return run_from_project(args)
    if args.data_dir is None or args.out is None:
        raise UsageError("train needs DATA_DIR and OUT.tflite, or --from-project [OUT.tflite]")
    if args.base is not None or args.annotator is not None or args.consensus != "latest":
        raise UsageError("--base, --consensus and --annotator go with --from-project")
    from voicestudio.model.train import TrainConfig, train

    if args.group_balance < 0:
        raise UsageError("--group-balance must be 0 or more")
    if args.networks < 1:
        raise UsageError("--networks must be 1 or more")
    if args.half_width < 0:
        raise UsageError("--half-width must be 0 (none) or more")
    config = TrainConfig(epochs=30 if args.epochs is None else args.epochs, seed=args.seed,
                         group_balance=args.group_balance, networks=args.networks, half_width=args.half_width)
    # Training logs (ours, Keras', the converter's) are progress: stderr, so stdout is the result.
    with contextlib.redirect_stdout(sys.stderr):
        result = train(args.data_dir, args.out, config=config, name=args.name or "voice-detector")
    if args.json:
        print_json({"model": str(result.model_path), "int8_model": str(result.int8_path),
                    "card": result.card})
    else:
        metrics = result.card["metrics"]
        held_out = metrics.get("test") or metrics["validation"]
        print(f"wrote {result.model_path} and {result.int8_path}: held-out ROC AUC {held_out['roc_auc']}, "
              f"balanced accuracy {held_out['balanced_accuracy']} at threshold {result.card['threshold']}")
    return EXIT_OK


def run_from_project(args) -> int:
    if args.out is not None:
        raise UsageError("DATA_DIR and --from-project exclude each other: give only OUT.tflite")
    if args.group_balance:
        raise UsageError("--group-balance goes with DATA_DIR (a project's clips are weighed by class)")
    if args.networks != 1 or args.half_width:
        raise UsageError("--networks and --half-width go with DATA_DIR (--from-project fine-tunes the base as it is)")
    out = args.data_dir  # the one positional is OUT
    from voicestudio.dataset.project_training import train_from_project

    def work(project, bar):
        with contextlib.redirect_stdout(sys.stderr):
            return train_from_project(project, out, consensus=consensus(args), base=args.base or "builtin",
                                      epochs=10 if args.epochs is None else args.epochs, seed=args.seed,
                                      name=args.name, progress=bar)

    result = batch(args, "training", work)
    if args.json:
        print_json({**result.to_dict(), "card": result.card})
        return EXIT_OK
    metrics = result.metrics
    test = metrics["test"]
    print(f"wrote {result.model_path} and {result.int8_path} (registered in the project)")
    print("  clips: " + "; ".join(f"{s} {c['human']} human, {c['nonhuman']} nonhuman" for s, c in result.counts.items()))
    print(f"  test: ROC AUC {test['roc_auc']}, balanced accuracy {test['balanced_accuracy']} "
          f"at threshold {result.card['threshold']} (chosen on validation)")
    if "base" in metrics:
        base = metrics["base"]["test"]
        print(f"  base {result.base.name} on the same test clips: ROC AUC {base['roc_auc']}, balanced accuracy "
              f"{base['balanced_accuracy']} at threshold {base['threshold']} (chosen on validation)")
    if result.skipped:
        print(f"  {len(result.skipped)} clips could not be read and were left out", file=sys.stderr)
    return EXIT_OK
