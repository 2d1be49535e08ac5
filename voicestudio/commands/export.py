"""``voicestudio export OUT``: the labelled clips for training (audio, splits, manifest, dataset card).

The export dialog shows ``ExportOptions.command()``; tests/test_commands.py parses
it back through this parser, so the two stay the same export.
"""

from __future__ import annotations

import argparse
import sys

from voicestudio.commands.shared import (EXIT_FAILURE, EXIT_OK, UsageError, batch, consensus, consensus_options,
                                         load_detector, model_options, print_json)
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    parser.add_argument("out", metavar="OUT", help="target folder (must be empty, or an earlier export with --force); "
                        "a link to a folder is followed")
    parser.add_argument("--format", choices=("folders", "csv", "hf"), default="folders",
                        help="folders: split/label/x.wav; csv: audio/ + manifest; hf: Hugging Face audiofolder")
    consensus_options(parser)
    parser.add_argument("--include-unsure", action="store_true", help="export unsure clips too (as an 'unsure' class)")
    parser.add_argument("--split", default="0.8,0.1,0.1", metavar="TRAIN,VAL,TEST", help="split fractions (default 0.8,0.1,0.1)")
    parser.add_argument("--group-by", choices=("source", "folder", "none"), default="source",
                        help="keep each recording (source) or folder together in one split (default: source)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same split")
    parser.add_argument("--rate", type=_rate, default="model", metavar="HZ|source",
                        help="resample to this rate in Hz; 'source' keeps each file's own (at most 32000); default: the "
                        "model's rate (16000) for the folders and hf layouts, each file's own for csv")
    parser.add_argument("--audio-format", choices=("wav", "flac"), default="wav", help="16-bit PCM WAV (default) or FLAC")
    parser.add_argument("--features", choices=("mfcc-npy", "mfcc-png"), help="also write MFCC per clip, with the model's feature spec")
    parser.add_argument("--force", action="store_true", help="replace an earlier export in OUT (only if OUT holds nothing else)")
    parser.add_argument("--workers", type=int, help="parallel writers (default: one per core)")
    model_options(parser, project=True)


def _rate(text: str):
    if text == "source":
        return None
    if text == "model":  # the default (argparse passes a string default through the type too)
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate in Hz nor 'source': {text!r}") from None


def export_options(args):
    """The ``ExportOptions`` the arguments ask for; a bad value is a usage error."""
    from voicestudio.dataset.export import ExportOptions
    from voicestudio.splits import parse_fractions

    try:
        return ExportOptions(
            layout=args.format, consensus=consensus(args), fractions=parse_fractions(args.split),
            group_by=args.group_by, seed=args.seed, rate=args.rate, audio_format=args.audio_format,
            features=args.features, force=args.force, workers=args.workers,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def run(args) -> int:
    from voicestudio.dataset.export import export_dataset

    options = export_options(args)
    for warning in options.warnings():
        print(f"voicestudio: warning: {warning}", file=sys.stderr)
    result = batch(args, "exporting", lambda project, bar: export_dataset(
        project, args.out, options, detector=load_detector(args, project), progress=bar))
    for stale in result.stale:
        print(f"voicestudio: {one_line(stale.describe())}", file=sys.stderr)
    if args.json:
        print_json(result.to_dict())
    else:
        counts = result.counts()
        through = "" if result.link is None else f" (the target of the link {result.link})"
        print(f"{len(result.written)} clips exported to {result.out}{through} in {result.elapsed_s:.1f} s: "
              + "; ".join(f"{split} " + ", ".join(f"{n} {label}" for label, n in c.items()) for split, c in counts.items()))
        if result.left_out:
            print("left out: " + ", ".join(f"{n} {why}" for why, n in sorted(result.left_out.items())))
    for failure in result.failures:
        print(f"voicestudio: {one_line(failure.source)} (clip {failure.clip_id}): {one_line(failure.reason)}",
              file=sys.stderr)
    return EXIT_FAILURE if result.failures else EXIT_OK
