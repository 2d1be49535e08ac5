"""``voicestudio predict PATH...``: files and folders predicted directly, no project needed."""

from __future__ import annotations

import sys

from voicestudio.commands.shared import EXIT_FAILURE, EXIT_OK, load_detector, model_options, print_json
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="+", metavar="PATH")
    model_options(parser)


def run(args) -> int:
    from voicestudio.errors import AudioError, ModelError

    detector = load_detector(args)
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
        results.append({"path": str(path), **prediction_dict(prediction)})
        if not args.json:
            print(f"{one_line(path)}\t{prediction.label}\t{prediction.clip_score:.3f}")
    if args.json:
        print_json({"model": model_dict(detector), "results": results})
    return EXIT_FAILURE if failed else EXIT_OK


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
