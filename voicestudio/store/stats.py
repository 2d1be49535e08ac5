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
    clips_labelled: int  # clips with a current label (any value, unsure included)
    by_label: dict[str, int]  # over current labels (latest across annotators)
    by_annotator: dict[str, dict[str, int]] = field(default_factory=dict)  # annotator -> label -> clips


@dataclass(frozen=True)
class Confusion:
    """A model against current labels. Positive = human; predicted human when score >= threshold.

    Counted clips have both a current human/nonhuman label (latest across
    annotators) and a prediction from the model.
    """

    tp: int
    fp: int
    tn: int
    fn: int
    n_unlabelled: int  # scored, but no current human/nonhuman label (none, or unsure)
    n_unscored: int  # labelled human/nonhuman, but no prediction from this model

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def accuracy(self) -> float | None:
        return (self.tp + self.tn) / self.n if self.n else None

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


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
    truth = {clip_id: label.value == "human" for clip_id, label in current_labels(session).items()
             if label.value in ("human", "nonhuman")}
    outcome = {(True, True): "tp", (True, False): "fn", (False, True): "fp", (False, False): "tn"}
    counts = Counter()
    for clip_id, is_human in truth.items():
        score = scores.get(clip_id)
        counts["unscored" if score is None else outcome[is_human, score >= threshold]] += 1
    unlabelled = sum(1 for clip_id in scores if clip_id not in truth)
    return Confusion(counts["tp"], counts["fp"], counts["tn"], counts["fn"], unlabelled, counts["unscored"])
