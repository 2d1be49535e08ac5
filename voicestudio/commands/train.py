"""``voicestudio train DATA_DIR OUT.tflite``: a detector trained and converted (needs voicestudio[train])."""

from __future__ import annotations

import contextlib
import sys

from voicestudio.commands.shared import EXIT_OK, print_json


def add_arguments(parser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", help="human/ and nonhuman/ folders, optionally inside train/ val/ test/")
    parser.add_argument("out", metavar="OUT.tflite")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="voice-detector")


def run(args) -> int:
    from voicestudio.model.train import TrainConfig, train

    config = TrainConfig(epochs=args.epochs, seed=args.seed)
    # Training logs (ours, Keras', the converter's) are progress: stderr, so stdout is the result.
    with contextlib.redirect_stdout(sys.stderr):
        result = train(args.data_dir, args.out, config=config, name=args.name)
    if args.json:
        print_json({"model": str(result.model_path), "int8_model": str(result.int8_path),
                    "card": result.card})
    else:
        metrics = result.card["metrics"]
        held_out = metrics.get("test") or metrics["validation"]
        print(f"wrote {result.model_path} and {result.int8_path}: held-out ROC AUC {held_out['roc_auc']}, "
              f"balanced accuracy {held_out['balanced_accuracy']} at threshold {result.card['threshold']}")
    return EXIT_OK
