"""``voicestudio`` command line: the same core functions the window uses.

Exit codes: 0 success, 1 failure, 2 usage. Errors are one line on stderr; the
traceback only with ``--debug``. ``--json`` output is documented in README.md
and kept stable. Heavy modules are imported inside the commands, so
``voicestudio --help`` and the window's start stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from voicestudio import __version__
from voicestudio.errors import VoiceStudioError
from voicestudio.settings import default_annotator

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(VoiceStudioError):
    """Arguments that parse but make no sense together."""


def _print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


def _open_project(args):
    """The project named by --db / $VOICESTUDIO_DB; the default one starts as the demo project."""
    from voicestudio.store.project import default_project_path, open_project, resolve_project_target

    target = resolve_project_target(args.db)
    if target == str(default_project_path()):
        from voicestudio.dataset.demo import open_or_create_demo

        setup = open_or_create_demo(target)
        if setup.created:
            print(f"voicestudio: created the default project {target} with the demo clips", file=sys.stderr)
        return setup.project
    return open_project(target)


# Commands ------------------------------------------------------------------

def _batch(args, label: str, work):
    """Run ``work(project, progress_bar)`` on the project, closing both whatever happens."""
    from voicestudio.progress import TerminalBar

    project = _open_project(args)
    bar = TerminalBar(label)
    try:
        return work(project, bar)
    finally:
        bar.close()
        project.close()


def _exit_with(failures) -> int:
    """One stderr line per failed file; exit 1 if any failed."""
    for problem in failures:
        print(f"voicestudio: {problem.path}: {problem.reason}", file=sys.stderr)
    return EXIT_FAILURE if failures else EXIT_OK


def cmd_import(args) -> int:
    from voicestudio.dataset.importer import SegmentRule, import_paths

    try:
        rule = SegmentRule.parse(args.segment)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result = _batch(args, "importing", lambda project, bar: import_paths(project, args.paths, rule=rule, progress=bar))
    if args.json:
        _print_json(result.to_dict())
    else:
        print(
            f"{result.files_added} files added ({result.clips_added} clips), "
            f"{result.files_unchanged} unchanged, {result.files_relinked} relinked, "
            f"{len(result.duplicates)} duplicates, {len(result.skipped)} not audio, "
            f"{len(result.failures)} failed"
        )
        for problem in result.duplicates:
            print(f"duplicate: {problem.path}: {problem.reason}")
    return _exit_with(result.failures)


def _load_detector(args):
    from voicestudio.model.detector import Detector

    return Detector(args.model, threads=args.threads)


def cmd_score(args) -> int:
    from voicestudio.dataset.scoring import score_project

    detector = _load_detector(args)
    result = _batch(args, "scoring", lambda project, bar: score_project(project, detector, rescore=args.rescore, progress=bar))
    if args.json:
        _print_json(result.to_dict())
    else:
        print(
            f"{result.scored} clips scored with {detector.card.name} "
            f"({result.already_scored} already had predictions, {len(result.failures)} failed) "
            f"in {result.elapsed_s:.1f} s"
        )
    return _exit_with(result.failures)


def _predict_targets(paths):
    """Files as given; folders walked, keeping what decodes or is named as audio."""
    from pathlib import Path

    from voicestudio.dataset.importer import AUDIO_SUFFIXES, FoundFile, scan

    for given in paths:
        if not Path(given).is_dir():
            yield str(given), True
            continue
        for found in scan([given]):
            if isinstance(found, FoundFile):
                yield str(found.path), found.path.suffix.lower() in AUDIO_SUFFIXES


def cmd_predict(args) -> int:
    from voicestudio.errors import AudioError

    detector = _load_detector(args)
    results, failed = [], 0
    for path, must_be_audio in _predict_targets(args.files):
        try:
            prediction = detector.predict_file(path)
        except AudioError as exc:
            if not must_be_audio and "not an audio file" in exc.reason:
                continue  # a README or picture inside a folder: not ours to judge
            failed += 1
            print(f"voicestudio: {exc}", file=sys.stderr)
            results.append({"path": str(path), "error": exc.reason})
            continue
        results.append({"path": str(path), **prediction_dict(prediction)})
        if not args.json:
            print(f"{path}\t{prediction.label}\t{prediction.clip_score:.3f}")
    if args.json:
        _print_json({"model": model_dict(detector), "results": results})
    return EXIT_FAILURE if failed else EXIT_OK


def model_dict(detector) -> dict:
    return {
        "path": str(detector.path),
        "sha256": detector.sha256,
        "name": detector.card.name,
        "threshold": detector.card.threshold,
    }


def prediction_dict(prediction) -> dict:
    """A prediction as JSON: silent windows have ``probability: null``."""
    return {
        "label": prediction.label,
        "score": round(float(prediction.clip_score), 6),
        "threshold": prediction.threshold,
        "windows": [
            {
                "start_s": round(float(start), 4),
                "probability": None if silent else round(float(prob), 6),
                "silent": bool(silent),
            }
            for start, prob, silent in zip(
                prediction.window_starts_s, prediction.window_probs, prediction.silent
            )
        ],
    }


def cmd_label(args) -> int:
    from voicestudio.dataset.labels import apply_label, apply_label_csv, undo_last

    project = _open_project(args)
    try:
        if args.undo:
            if args.clip or args.value or args.from_csv:
                raise UsageError("--undo takes no CLIP, VALUE or --from-csv")
            event = undo_last(project, annotator=args.annotator)
            if event is None:
                raise VoiceStudioError(f"{args.annotator} has no label left to undo")
        elif args.from_csv:
            if args.clip or args.value:
                raise UsageError("give either CLIP VALUE or --from-csv FILE, not both")
            result = apply_label_csv(project, args.from_csv, default_annotator=args.annotator)
            if args.json:
                _print_json(result.to_dict())
            else:
                print(f"{result.labelled} labels written, {len(result.failures)} rows failed")
            for problem in result.failures:
                print(f"voicestudio: {args.from_csv}: {problem}", file=sys.stderr)
            return EXIT_FAILURE if result.failures else EXIT_OK
        elif not (args.clip and args.value):
            raise UsageError("label needs CLIP VALUE (or --from-csv FILE, or --undo)")
        else:
            event = apply_label(project, args.clip, args.value, annotator=args.annotator, note=args.note)
    finally:
        project.close()
    if args.json:
        _print_json(event)
    else:
        print(f"clip {event['clip_id']}: {event['value'] or 'cleared'} by {event['annotator']}")
    return EXIT_OK


def cmd_stats(args) -> int:
    from voicestudio.dataset.report import project_stats

    project = _open_project(args)
    try:
        detector = _load_detector(args) if args.model else None
        stats = project_stats(project, detector=detector, threshold=args.threshold)
    finally:
        project.close()
    if args.json:
        _print_json(stats)
        return EXIT_OK
    print(f"clips: {stats['clips']}, labelled: {stats['labelled']}")
    for label, count in stats["labels"].items():
        print(f"  {label}: {count}")
    for annotator, counts in stats["annotators"].items():
        print(f"  {annotator}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if "confusion" in stats:
        c = stats["confusion"]
        print(f"model {c['model']} at threshold {c['threshold']}:")
        print(f"              predicted human  predicted nonhuman")
        print(f"  human       {c['tp']:>15}  {c['fn']:>18}")
        print(f"  nonhuman    {c['fp']:>15}  {c['tn']:>18}")
        print(f"  ({c['unscored']} labelled clips have no prediction from this model: run score)")
    return EXIT_OK


def cmd_clips(args) -> int:
    from voicestudio.dataset.report import list_clips

    project = _open_project(args)
    try:
        rows = list_clips(project, limit=args.limit)
    finally:
        project.close()
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['id']}\t{row['start_s']:.2f}-{row['end_s']:.2f}\t{row['label'] or '-'}\t{row['path']}")
    return EXIT_OK


def cmd_train(args) -> int:
    from voicestudio.model.train import TrainConfig, train

    import contextlib

    config = TrainConfig(epochs=args.epochs, seed=args.seed)
    # Training logs (ours, Keras', the converter's) are progress: stderr, so stdout is the result.
    with contextlib.redirect_stdout(sys.stderr):
        result = train(args.data_dir, args.out, config=config, name=args.name)
    if args.json:
        _print_json({"model": str(result.model_path), "int8_model": str(result.int8_path),
                     "card": result.card})
    else:
        metrics = result.card["metrics"]
        held_out = metrics.get("test") or metrics["validation"]
        print(f"wrote {result.model_path} and {result.int8_path}: held-out ROC AUC {held_out['roc_auc']}, "
              f"balanced accuracy {held_out['balanced_accuracy']} at threshold {result.card['threshold']}")
    return EXIT_OK


def cmd_gui(args) -> int:
    import importlib

    # Loaded by name: only the window's own package imports Qt.
    return importlib.import_module("voicestudio.ui.app").run(args)


# Parser --------------------------------------------------------------------

def _common_options(in_command: bool) -> argparse.ArgumentParser:
    """--db/--json/--debug, accepted before or after the command.

    In a command's parser the defaults are suppressed, or they would overwrite
    values given before the command (``voicestudio --json stats``).
    """
    default = {"default": argparse.SUPPRESS} if in_command else {}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="project database: a file path or SQLAlchemy URL (default: $VOICESTUDIO_DB, else the default project)", **default)
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout", **default)
    common.add_argument("--debug", action="store_true", help="show full tracebacks", **default)
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(in_command=True)
    parser = argparse.ArgumentParser(
        prog="voicestudio", parents=[_common_options(in_command=False)],
        description="Build and audit human-voice detection datasets and models. With no command, opens the workstation.",
    )
    parser.add_argument("--version", action="version", version=f"voicestudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, func, help_text):
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def model_options(p):
        p.add_argument("--model", help="a .tflite model (default: the built-in detector)")
        p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: min(4, cores))")

    add("gui", cmd_gui, "open the workstation window")

    p = add("import", cmd_import, "import audio files and folders into the project")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--segment", default="auto", metavar="auto|none|silence|SECONDS",
                   help="split files into clips: auto (long files at silences), none, silence, or fixed SECONDS")

    p = add("score", cmd_score, "predict the clips that have no prediction from the model yet")
    model_options(p)
    p.add_argument("--rescore", action="store_true", help="score every clip again")

    p = add("predict", cmd_predict, "predict audio files and folders (no project needed)")
    p.add_argument("files", nargs="+", metavar="PATH")
    model_options(p)

    p = add("label", cmd_label, "label a clip human, nonhuman or unsure")
    p.add_argument("clip", nargs="?", help="clip id or audio file path")
    p.add_argument("value", nargs="?", help="human | nonhuman | unsure | clear")
    p.add_argument("--annotator", default=default_annotator(), help="who is labelling (default: $VOICESTUDIO_ANNOTATOR or the login name)")
    p.add_argument("--note")
    p.add_argument("--from-csv", metavar="FILE", help="CSV with columns path,label[,annotator]")
    p.add_argument("--undo", action="store_true", help="undo the annotator's latest label (appends an undo event)")

    p = add("stats", cmd_stats, "label counts; with --model, the confusion matrix against the latest labels")
    model_options(p)
    p.add_argument("--threshold", type=float, help="decision threshold (default: the model card's)")

    p = add("train", cmd_train, "train a detector on a folder-per-class set and convert it to .tflite (needs voicestudio[train])")
    p.add_argument("data_dir", metavar="DATA_DIR", help="human/ and nonhuman/ folders, optionally inside train/ val/ test/")
    p.add_argument("out", metavar="OUT.tflite")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="voice-detector")

    p = add("clips", cmd_clips, "list the project's clips with their current labels")
    p.add_argument("--limit", type=int, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", cmd_gui)
    try:
        return func(args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"voicestudio: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except VoiceStudioError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"voicestudio: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("voicestudio: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line, trace with --debug
        if args.debug:
            traceback.print_exc()
        print(f"voicestudio: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
