"""``voicestudio predict PATH...``: files and folders predicted directly, no project needed."""

from __future__ import annotations

import sys

from dataclasses import replace

from voicestudio.commands import segments
from voicestudio.commands.shared import EXIT_FAILURE, EXIT_OK, UsageError, load_detector, model_options, print_json
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    from voicestudio.dataset.segment_files import FORMATS
    from voicestudio.model.segments import MIN_SILENCE_S, MIN_SPEECH_S, PAD_S

    parser.add_argument("files", nargs="+", metavar="PATH")
    model_options(parser)
    parser.add_argument("--threshold", type=float, metavar="T",
                        help="decision threshold for labels and segments (default: the model card's)")
    parser.add_argument("--segments", action="store_true",
                        help="merged speech segments per file (windows at or above the threshold)")
    parser.add_argument("--min-speech", type=float, default=MIN_SPEECH_S, metavar="S",
                        help=f"drop segments shorter than this (default {MIN_SPEECH_S})")
    parser.add_argument("--min-silence", type=float, default=MIN_SILENCE_S, metavar="S",
                        help=f"bridge gaps shorter than this (default {MIN_SILENCE_S})")
    parser.add_argument("--pad", type=float, default=PAD_S, metavar="S",
                        help=f"widen each segment by this on both sides (default {PAD_S})")
    parser.add_argument("--output-format", choices=FORMATS, metavar="FORMAT",
                        help=f"the segments as {', '.join(FORMATS)} (audacity and textgrid: one file per "
                        "recording, so several files need --output-dir)")
    parser.add_argument("--output-dir", metavar="DIR",
                        help="write each recording's segments to DIR/<name>.<suffix> instead of printing them")
    parser.add_argument("--force", action="store_true", help="replace segment files already in --output-dir")


def run(args) -> int:
    from voicestudio.errors import AudioError, ModelError

    _check_segment_options(args)
    detector = load_detector(args)
    if args.threshold is not None:
        detector.card = replace(detector.card, threshold=args.threshold)  # labels follow the asked threshold
    if args.segments:
        return segments.run(args, detector, _targets(args.files))
    results, failed = [], 0
    for path, must_be_audio in _targets(args.files):
        try:
            prediction = detector.predict_file(path)
        except (AudioError, ModelError) as exc:  # the file's audio, or the model on that audio
            if isinstance(exc, AudioError) and not must_be_audio and "not an audio file" in exc.reason:
                continue  # a README or picture inside a folder: not ours to judge
            failed += 1
            print(f"voicestudio: {one_line(path)}: {exc.reason}", file=sys.stderr)
            results.append({"path": str(path), "error": exc.reason})
            continue
        results.append({"path": str(path), **prediction_dict(prediction, detector.spec.window_s)})
        if not args.json:
            print(f"{one_line(path)}\t{prediction.label}\t{prediction.clip_score:.3f}")
    if args.json:
        print_json({"model": model_dict(detector), "results": results})
    return EXIT_FAILURE if failed else EXIT_OK


def _check_segment_options(args) -> None:
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise UsageError("--threshold must be between 0 and 1")
    if (args.output_format or args.output_dir or args.force) and not args.segments:
        raise UsageError("--output-format, --output-dir and --force are for --segments")
    for name in ("min_speech", "min_silence", "pad"):
        if getattr(args, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} cannot be negative")


def _targets(paths):
    """Files as given; folders walked, keeping what decodes or is named as audio."""
    from pathlib import Path

    from voicestudio.audio.scan import AUDIO_SUFFIXES, FoundFile, scan

    for given in paths:
        if not Path(given).is_dir():
            yield str(given), True
            continue
        for found in scan([given]):
            if isinstance(found, FoundFile):
                yield str(found.path), found.path.suffix.lower() in AUDIO_SUFFIXES


def model_dict(detector) -> dict:
    spec = detector.spec
    return {
        "path": str(detector.path),
        "sha256": detector.sha256,
        "name": detector.card.name,
        "threshold": detector.card.threshold,
        "window_s": spec.window_s,
        "hop_s": spec.window_hop_s,
    }


def prediction_dict(prediction, window_s: float) -> dict:
    """A prediction as JSON: silent windows have ``probability: null``."""
    return {
        "label": prediction.label,
        "score": round(float(prediction.clip_score), 6),
        "threshold": prediction.threshold,
        "windows": [
            {
                "start_s": round(float(start), 4),
                "end_s": round(float(start) + window_s, 4),
                "probability": None if silent else round(float(prob), 6),
                "silent": bool(silent),
            }
            for start, prob, silent in zip(
                prediction.window_starts_s, prediction.window_probs, prediction.silent
            )
        ],
    }
