"""Estimate what one graph holding two detectors would score, before building it.

    python training/window_mix.py A.tflite B.tflite --corpus /work/corpus-wide6n [--train-group G ...]
        --work /work/corpus-work [--json]

Both detectors score every validation clip of the corpus's grouped split (pins as ``experiment.py``'s
``--train-group``) and every clip of the external set. Each of A's windows gets the mean of A's score
and B's: B's same window when both use the same windows (two networks averaged in one graph, as the
shipped pair), or the higher of B's two windows that are A's halves when B's windows are half as long
and hop half as far (a 1 s network and a 0.5 s one). A half B skipped as silent, or past the clip's
end, counts as 0. The clip rule is ``top2_mean`` and the threshold the best balanced accuracy on
validation, as ``train`` chooses them; the external set is only scored.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import external_set  # noqa: E402

from voicestudio.model.detector import Detector, clip_score  # noqa: E402
from voicestudio.model.train import (TrainConfig, best_balanced_threshold, binary_report,  # noqa: E402
                                     find_labelled_files, split_training_files)


@dataclass(frozen=True)
class Clip:
    path: Path
    human: bool
    source: str


def halves(a: Detector, b: Detector) -> int | None:
    """None when B scores A's own windows; else the offset (in B's windows) of A's second half."""
    sa, sb = a.spec, b.spec
    if (sb.window_s, sb.window_hop_s) == (sa.window_s, sa.window_hop_s):
        return None
    if not (np.isclose(2 * sb.window_s, sa.window_s) and np.isclose(2 * sb.window_hop_s, sa.window_hop_s)):
        raise SystemExit("B's windows must be A's, or half as long with half the hop")
    return round(sb.window_s / sb.window_hop_s)


def mixed(pa: np.ndarray, pb: np.ndarray, offset: int | None) -> np.ndarray:
    """A's window scores averaged with B's (NaN where A skipped a silent window)."""
    if offset is None:
        return (pa + pb) / 2
    padded = np.nan_to_num(np.concatenate([pb, np.zeros(2 * len(pa) + offset)]), nan=0.0)
    first = 2 * np.arange(len(pa))  # B's window starting where A's window j starts
    return (pa + np.maximum(padded[first], padded[first + offset])) / 2


def clip_scores(a: Detector, b: Detector, clips: list[Clip]) -> np.ndarray:
    offset = halves(a, b)
    return np.array([clip_score(mixed(a.predict_file(c.path).window_probs, b.predict_file(c.path).window_probs,
                                      offset), "top2_mean") for c in clips])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="the detector whose windows the mix keeps")
    parser.add_argument("b", type=Path, help="a detector on the same windows, or on half-length ones")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--train-group", action="append", default=[], metavar="GROUP")
    parser.add_argument("--work", type=Path, required=True, help="package cache of the external set")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    files = split_training_files(find_labelled_files(args.corpus), TrainConfig(train_groups=tuple(args.train_group)))
    sets = {"validation": [Clip(f.path, f.label == "human", f.group) for f in files if f.split == "val"],
            "external": [Clip(item.file, item.clip.label == "human", f"{item.clip.label}: {item.clip.source}")
                         for item in external_set.materialise(args.work, report=lambda *_: None)]}
    a, b = Detector(args.a), Detector(args.b)
    scores = {name: clip_scores(a, b, clips) for name, clips in sets.items()}
    labels = {name: np.array([c.human for c in clips]) for name, clips in sets.items()}
    threshold = best_balanced_threshold(labels["validation"], scores["validation"])
    result = {name: binary_report(labels[name], scores[name], threshold) for name in sets}
    by_source = defaultdict(list)
    for clip, score in zip(sets["external"], scores["external"]):
        by_source[clip.source].append((score >= threshold) == clip.human)
    result["external"]["by_source"] = {s: {"correct": int(sum(v)), "clips": len(v)} for s, v in sorted(by_source.items())}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for name in sets:
            print(f"{name}: ROC AUC {result[name]['roc_auc']}, balanced accuracy {result[name]['balanced_accuracy']} "
                  f"at {threshold}")
        for source, counts in result["external"]["by_source"].items():
            print(f"  {source}: {counts['correct']} / {counts['clips']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
