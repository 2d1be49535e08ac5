"""Check a detector on the external evaluation set: sounds from Debian packages training never uses.

    python training/evaluate_external.py [--model M.tflite] [--work DIR] [--threshold T] [--json]

The clips are the ones listed in ``training/external_set.csv`` (see external_set.py: seven
packages, 671 clips, 42 % human), fetched with apt-get into --work on first use and checked
against their sha256. Prints ROC AUC and balanced accuracy at the card's threshold (or
--threshold), the confusion counts, each source's share of correct decisions, and the clips
the model failed on (a failure is reported and counted, never fatal).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import external_set  # noqa: E402

from voicestudio.errors import AudioError, ModelError, VoiceStudioError  # noqa: E402
from voicestudio.model.detector import Detector  # noqa: E402
from voicestudio.model.train import binary_report  # noqa: E402


def evaluate(model, work: Path, threshold: float | None = None, listing: Path = external_set.LISTING,
             report=print) -> dict:
    detector = Detector(model)
    threshold = detector.card.threshold if threshold is None else threshold
    labels, scores, failed, by_clip = [], [], [], {}
    by_source: dict[str, list[bool]] = defaultdict(list)
    for item in external_set.materialise(work, listing, report=report):
        clip = item.clip
        try:
            score = detector.predict_file(item.file).clip_score
        except (AudioError, ModelError) as exc:
            failed.append({"clip": f"{clip.package}:{clip.path}", "label": clip.label, "error": str(exc)})
            continue
        human = clip.label == "human"
        labels.append(human)
        scores.append(score)
        by_clip[f"{clip.package}:{clip.path}"] = score
        by_source[f"{clip.label}: {clip.source}"].append((score >= threshold) == human)
    result = binary_report(np.array(labels), np.array(scores), threshold)
    result.update({
        "model": str(detector.path), "model_sha256": detector.sha256, "human": int(sum(labels)),
        "by_source": {s: {"correct": sum(c), "clips": len(c)} for s, c in sorted(by_source.items())},
        "failed": failed, "scores": by_clip,
    })
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a .tflite with its card (default: the built-in detector)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/voicestudio-corpus-work"),
                        help="cache of the packages and the extracted clips")
    parser.add_argument("--threshold", type=float, help="decide at this score instead of the card's threshold")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        result = evaluate(args.model, args.work, args.threshold, report=lambda line: print(line, file=sys.stderr))
    except VoiceStudioError as exc:  # e.g. a model that does not load
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['model']}: {result['n']} clips ({result['human']} human): ROC AUC {result['roc_auc']}, "
          f"balanced accuracy {result['balanced_accuracy']} at threshold {result['threshold']}")
    print(f"confusion: {result['confusion']}")
    for source, counts in result["by_source"].items():
        print(f"  {source:32} {counts['correct']:>4}/{counts['clips']:<4} correct")
    if result["failed"]:
        print(f"the model failed on {len(result['failed'])} clips, e.g. {result['failed'][0]['clip']}: "
              f"{result['failed'][0]['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
