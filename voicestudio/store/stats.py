"""Counts over current labels, and a model's confusion matrix against them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from voicestudio.store.clips import count_clips
from voicestudio.store.labels import current_labels, labels_by_annotator
from voicestudio.store.predictions import clip_scores


@dataclass(frozen=True)
class LabelStats:
    clips_total: int
    clips_labelled: int
    by_label: dict[str, int]
    by_annotator: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Confusion:
    """Positive = human; clips labelled unsure are left out."""

    tp: int
    fp: int
    tn: int
    fn: int
    n_unscored: int  # labelled human/nonhuman but no prediction from this model


def label_stats(session) -> LabelStats:
    current = current_labels(session)
    per_annotator: dict[str, Counter] = {}
    for values in labels_by_annotator(session).values():
        for annotator, value in values.items():
            per_annotator.setdefault(annotator, Counter())[value] += 1
    return LabelStats(
        clips_total=count_clips(session),
        clips_labelled=len(current),
        by_label=dict(sorted(Counter(label.value for label in current.values()).items())),
        by_annotator={name: dict(sorted(counts.items())) for name, counts in sorted(per_annotator.items())},
    )


def confusion(session, model_id: int, threshold: float) -> Confusion:
    scores = clip_scores(session, model_id)
    tp = fp = tn = fn = unscored = 0
    for clip_id, label in current_labels(session).items():
        if label.value not in ("human", "nonhuman"):
            continue
        score = scores.get(clip_id)
        if score is None:
            unscored += 1
            continue
        predicted_human = score >= threshold
        if label.value == "human":
            tp, fn = tp + predicted_human, fn + (not predicted_human)
        else:
            fp, tn = fp + predicted_human, tn + (not predicted_human)
    return Confusion(tp, fp, tn, fn, unscored)
