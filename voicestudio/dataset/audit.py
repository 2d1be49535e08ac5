"""The audit of a project: label counts, agreement between annotators, and the
model against the labels (confusion, ROC/PR, score histograms, thresholds).

Everything is computed from a ``ClipTable`` (labels and scores as columns), so
the window audits what it already holds without a query, and ``stats`` does
the same after loading the table. Nothing here imports Qt.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path

import numpy as np

from voicestudio.dataset.cliptable import CELLS, HUMAN, NONHUMAN, VALUES, ClipTable, cells, conflict_rows
from voicestudio.dataset.consensus import Consensus, consensus_codes
from voicestudio.metrics import (
    Confusion,
    Curve,
    Histogram,
    ThresholdGoal,
    ThresholdPick,
    cohen_kappa,
    fleiss_kappa,
    pick_threshold,
    pr_curve,
    roc_curve,
    score_histogram,
)
from voicestudio.errors import VoiceStudioError
from voicestudio.store.schema import LABEL_VALUES


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


@dataclass(frozen=True)
class PairAgreement:
    first: str
    second: str
    clips: int  # labelled by both
    observed: float | None  # share of those clips with the same label
    kappa: float | None  # Cohen's
    disagreements: tuple[int, ...]  # clip ids where their labels differ

    def to_dict(self) -> dict:
        return {"annotators": [self.first, self.second], "clips": self.clips, "observed": _round(self.observed),
                "cohen_kappa": _round(self.kappa), "disagreements": list(self.disagreements)}


@dataclass(frozen=True)
class Agreement:
    """Agreement over the three label values (unsure is a value like the others)."""

    annotators: tuple[str, ...]
    pairs: tuple[PairAgreement, ...]
    multi_labelled: int  # clips with at least two annotators
    fleiss_kappa: float | None
    conflicts: tuple[int, ...]  # clip ids where annotators gave different labels, unsure aside

    def to_dict(self) -> dict:
        return {"annotators": list(self.annotators), "clips_with_two_or_more": self.multi_labelled,
                "fleiss_kappa": _round(self.fleiss_kappa), "pairs": [p.to_dict() for p in self.pairs],
                "conflicts": list(self.conflicts)}


def agreement(table: ClipTable) -> Agreement:
    by_clip = {int(table.ids[row]): {who: value for who, (_, value) in votes.items()}
               for row, votes in table.votes.items()}
    annotators = tuple(sorted({who for votes in by_clip.values() for who in votes}))
    pairs = []
    for first, second in combinations(annotators, 2):
        shared = sorted(c for c, votes in by_clip.items() if first in votes and second in votes)
        a = np.array([by_clip[c][first] for c in shared], dtype=object)
        b = np.array([by_clip[c][second] for c in shared], dtype=object)
        pairs.append(PairAgreement(
            first, second, len(shared), float(np.mean(a == b)) if shared else None,
            cohen_kappa(a.astype(str), b.astype(str)) if shared else None,
            tuple(c for c, x, y in zip(shared, a, b) if x != y),
        ))
    multi = [votes for votes in by_clip.values() if len(votes) >= 2]
    counts = np.array([[list(votes.values()).count(v) for v in LABEL_VALUES] for votes in multi]).reshape(-1, len(LABEL_VALUES))
    return Agreement(annotators, tuple(pairs), len(multi), fleiss_kappa(counts),
                     tuple(int(table.ids[row]) for row in conflict_rows(table)))


@dataclass(frozen=True)
class Mistake:
    clip_id: int
    row: int
    label: str
    score: float
    cell: str  # fp or fn

    def to_dict(self, table: ClipTable) -> dict:
        return {"clip_id": self.clip_id, "path": table.paths[self.row], "start_s": float(table.starts[self.row]),
                "end_s": float(table.ends[self.row]), "label": self.label, "score": round(self.score, 6),
                "cell": self.cell}


@dataclass(frozen=True)
class ModelAudit:
    """The model's scores against the consensus labels (positive = human)."""

    threshold: float
    confusion: Confusion
    roc: Curve
    pr: Curve
    histogram: Histogram  # scores of human, nonhuman and unlabelled clips
    picks: tuple[ThresholdPick, ...]
    cell_rows: dict[str, np.ndarray]  # tp/fp/fn/tn -> table rows
    mistakes: tuple[Mistake, ...]  # false positives and negatives, most confident first
    scored: int
    labelled_unscored: int  # labelled human/nonhuman but no score: run score

    def to_dict(self, table: ClipTable) -> dict:
        return {
            "threshold": self.threshold, "positive": "human", "scored": self.scored,
            "labelled_unscored": self.labelled_unscored,
            "confusion": self.confusion.to_dict(),
            "roc_auc": _round(self.roc.area), "average_precision": _round(self.pr.area),
            "roc": self.roc.to_dict(), "pr": self.pr.to_dict(), "histogram": self.histogram.to_dict(),
            "thresholds": [p.to_dict() for p in self.picks],
            "mistakes": [m.to_dict(table) for m in self.mistakes],
        }


def model_audit(table: ClipTable, truth: np.ndarray, threshold: float, goals: tuple[ThresholdGoal, ...]) -> ModelAudit | None:
    """None when the table holds no scores."""
    scored = ~np.isnan(table.score)
    if not scored.any():
        return None
    decided = (truth == HUMAN) | (truth == NONHUMAN)
    rows = np.flatnonzero(scored & decided)
    is_human, scores = truth[rows] == HUMAN, table.score[rows]
    cell = cells(table, threshold, truth)
    cell_rows = {name: np.flatnonzero(cell == i) for i, name in enumerate(CELLS)}
    wrong = np.r_[cell_rows["fp"], cell_rows["fn"]]
    wrong = wrong[np.argsort(-np.abs(table.score[wrong] - threshold), kind="stable")]
    mistakes = tuple(Mistake(int(table.ids[r]), int(r), VALUES[int(truth[r])], float(table.score[r]),
                             CELLS[int(cell[r])]) for r in wrong)
    c = Confusion(**{name: len(cell_rows[name]) for name in CELLS})
    histogram = score_histogram({
        "human": table.score[scored & (truth == HUMAN)],
        "nonhuman": table.score[scored & (truth == NONHUMAN)],
        "unlabelled": table.score[scored & ~decided],
    })
    return ModelAudit(
        threshold=float(threshold), confusion=c, roc=roc_curve(is_human, scores), pr=pr_curve(is_human, scores),
        histogram=histogram, picks=tuple(pick_threshold(is_human, scores, goal) for goal in goals),
        cell_rows=cell_rows, mistakes=mistakes, scored=int(scored.sum()),
        labelled_unscored=int(np.sum(decided & ~scored)),
    )


@dataclass(frozen=True)
class Audit:
    consensus: Consensus
    clips: int
    by_label: dict[str, int]  # consensus labels
    by_annotator: dict[str, dict[str, int]]  # annotator -> label -> clips
    agreement: Agreement
    model: ModelAudit | None
    model_name: str | None = None
    extra: dict = field(default_factory=dict)  # e.g. the model's path and hash, for the report

    @property
    def labelled(self) -> int:
        return sum(self.by_label.values())

    def to_dict(self, table: ClipTable) -> dict:
        data = {
            "clips": self.clips, "labelled": self.labelled, "consensus": self.consensus.rule,
            "labels": dict(self.by_label), "annotators": {k: dict(v) for k, v in self.by_annotator.items()},
            "agreement": self.agreement.to_dict(),
        }
        if self.model is not None:
            data["model"] = {"name": self.model_name, **self.extra, **self.model.to_dict(table)}
        elif self.model_name is not None:
            data["model"] = {"name": self.model_name, **self.extra, "scored": 0}
        return data


DEFAULT_GOALS = (ThresholdGoal("best-f1"),)


def audit_table(table: ClipTable, *, threshold: float, consensus: Consensus = Consensus(),
                goals: tuple[ThresholdGoal, ...] = DEFAULT_GOALS, model_name: str | None = None,
                extra: dict | None = None) -> Audit:
    # Unsure is counted as a label here; the model is only judged on human/nonhuman clips anyway.
    truth = consensus_codes(table, replace(consensus, include_unsure=True))
    by_label = Counter(VALUES[int(code)] for code in truth if code)
    by_annotator: dict[str, Counter] = {}
    for votes in table.votes.values():
        for who, (_, value) in votes.items():
            by_annotator.setdefault(who, Counter())[value] += 1
    return Audit(
        consensus=consensus, clips=len(table),
        by_label={value: by_label[value] for value in LABEL_VALUES if by_label[value]},
        by_annotator={who: dict(sorted(c.items())) for who, c in sorted(by_annotator.items())},
        agreement=agreement(table), model=model_audit(table, truth, threshold, goals),
        model_name=model_name, extra=dict(extra or {}),
    )


def write_threshold(detector, pick: ThresholdPick, *, consensus: Consensus, source: str) -> Path:
    """Save ``pick``'s threshold into the card beside the model, with how it was chosen.

    ``source`` names the labelled data (the project). The built-in model's card
    is part of the installation and is never rewritten: copy the model first.
    """
    from datetime import datetime, timezone

    from voicestudio.model.card import card_path_for, save_card
    from voicestudio.model.detector import DEFAULT_MODEL

    if pick.threshold is None:
        raise VoiceStudioError(f"no threshold to write: {pick.reason}")
    path = Path(detector.path)
    if path.resolve() == DEFAULT_MODEL.resolve():
        raise VoiceStudioError("the built-in model's card is read-only: copy the model (and its .json card) "
                               "elsewhere, open that copy, then write its threshold")
    metrics = dict(detector.card.metrics)
    metrics["threshold_choice"] = {
        "goal": str(pick.goal), "threshold": pick.threshold, "previous_threshold": detector.card.threshold,
        "confusion": pick.confusion.to_dict(), "consensus": consensus.describe(), "data": source,
        "chosen_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    card = replace(detector.card.with_threshold(pick.threshold), metrics=metrics)
    target = card_path_for(path)
    try:
        save_card(card, target)
    except OSError as exc:
        raise VoiceStudioError(f"{target}: cannot write the model card ({exc.strerror or exc})") from None
    return target
