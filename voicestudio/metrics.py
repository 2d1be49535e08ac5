"""Binary-classifier and inter-annotator metrics over plain arrays (numpy only).

``truth`` arrays are booleans (True = human, the positive class) and ``scores``
are the model's clip scores; a clip is predicted human when its score is at or
above the threshold. Every figure here is checked against scikit-learn in the
tests; it is not a dependency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # renamed in NumPy 2


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Confusion:
    """Counts at one threshold, with the usual rates (None where undefined)."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> float | None:
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def accuracy(self) -> float | None:
        return _ratio(self.tp + self.tn, self.n)

    @property
    def balanced_accuracy(self) -> float | None:
        rates = [r for r in (self.recall, self.specificity) if r is not None]
        return sum(rates) / len(rates) if rates else None

    def to_dict(self) -> dict:
        rates = ("precision", "recall", "specificity", "f1", "accuracy", "balanced_accuracy")
        return {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn, "n": self.n,
                **{name: _rounded(getattr(self, name)) for name in rates}}


def _rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def _checked(truth, scores) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(truth, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    if truth.shape != scores.shape or truth.ndim != 1:
        raise ValueError(f"truth and scores must be 1-D and the same length, not {truth.shape} and {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite (leave unscored clips out)")
    return truth, scores


def confusion_at(truth, scores, threshold: float) -> Confusion:
    truth, scores = _checked(truth, scores)
    predicted = scores >= threshold
    return Confusion(
        tp=int(np.sum(predicted & truth)), fp=int(np.sum(predicted & ~truth)),
        tn=int(np.sum(~predicted & ~truth)), fn=int(np.sum(~predicted & truth)),
    )


@dataclass(frozen=True)
class Sweep:
    """Counts at every distinct score used as the threshold, highest threshold first."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int

    @property
    def fn(self) -> np.ndarray:
        return self.positives - self.tp

    @property
    def tn(self) -> np.ndarray:
        return self.negatives - self.fp

    def confusion(self, index: int) -> Confusion:
        return Confusion(int(self.tp[index]), int(self.fp[index]), int(self.tn[index]), int(self.fn[index]))


def sweep(truth, scores) -> Sweep:
    """One pass over the sorted scores gives the confusion at every threshold."""
    truth, scores = _checked(truth, scores)
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_truth = scores[order], truth[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1] if len(scores) else np.array([], int)
    tp = np.cumsum(sorted_truth)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    return Sweep(sorted_scores[last_of_tie], tp.astype(np.int64), fp.astype(np.int64),
                 int(truth.sum()), int((~truth).sum()))


@dataclass(frozen=True)
class Curve:
    """Points of a ROC (x = false positive rate, y = true positive rate) or
    PR (x = recall, y = precision) curve, with the threshold of each point."""

    x: np.ndarray
    y: np.ndarray
    thresholds: np.ndarray  # inf for the (0, 0) start of a ROC curve
    area: float | None

    def to_dict(self, max_points: int = 200) -> dict:
        """JSON-ready, thinned to at most ``max_points`` points (the area is exact)."""
        keep = np.unique(np.linspace(0, len(self.x) - 1, min(len(self.x), max_points)).round().astype(int)) if len(self.x) else []
        return {"area": _rounded(self.area), "x": [round(float(v), 6) for v in self.x[keep]],
                "y": [round(float(v), 6) for v in self.y[keep]],
                "thresholds": [None if not np.isfinite(t) else round(float(t), 6) for t in self.thresholds[keep]]}


def roc_curve(truth, scores) -> Curve:
    """False vs true positive rate; the area is the ROC AUC (ties count half)."""
    s = sweep(truth, scores)
    if not s.positives or not s.negatives:
        return Curve(np.array([]), np.array([]), np.array([]), None)
    fpr = np.r_[0.0, s.fp / s.negatives]
    tpr = np.r_[0.0, s.tp / s.positives]
    return Curve(fpr, tpr, np.r_[np.inf, s.thresholds], float(_trapezoid(tpr, fpr)))


def pr_curve(truth, scores) -> Curve:
    """Recall vs precision; the area is average precision (sum of precision times each recall step)."""
    s = sweep(truth, scores)
    if not s.positives:
        return Curve(np.array([]), np.array([]), np.array([]), None)
    precision = s.tp / (s.tp + s.fp)
    recall = s.tp / s.positives
    average_precision = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    # Drawn from (recall 0, precision 1), as is usual; the area is computed without that point.
    return Curve(np.r_[0.0, recall], np.r_[1.0, precision], np.r_[np.inf, s.thresholds], average_precision)


def roc_auc(truth, scores) -> float | None:
    return roc_curve(truth, scores).area


def average_precision(truth, scores) -> float | None:
    """Step-wise average precision, as scikit-learn's ``average_precision_score``:
    the precision at each threshold times the recall gained there, summed (no
    interpolation). None without a human clip."""
    return pr_curve(truth, scores).area


@dataclass(frozen=True)
class Histogram:
    edges: np.ndarray  # bins over 0..1
    counts: dict[str, np.ndarray]  # label -> clips per bin

    def to_dict(self) -> dict:
        return {"edges": [round(float(e), 6) for e in self.edges],
                "counts": {label: [int(c) for c in counts] for label, counts in self.counts.items()}}


def score_histogram(scores_by_label: dict[str, np.ndarray], bins: int = 20) -> Histogram:
    edges = np.linspace(0.0, 1.0, bins + 1)
    return Histogram(edges, {label: np.histogram(np.clip(values, 0, 1), edges)[0]
                             for label, values in scores_by_label.items()})


# Threshold picking ------------------------------------------------------------------

THRESHOLD_GOALS = ("best-f1", "precision", "recall")


@dataclass(frozen=True)
class ThresholdGoal:
    """best-f1, or the best threshold that keeps precision (or recall) at ``target`` or above."""

    kind: str = "best-f1"
    target: float | None = None

    def __post_init__(self):
        if self.kind not in THRESHOLD_GOALS:
            raise ValueError(f"threshold goal must be one of {', '.join(THRESHOLD_GOALS)}, not {self.kind!r}")
        if (self.kind != "best-f1") != (self.target is not None):
            raise ValueError("precision and recall goals need a target; best-f1 takes none")
        if self.target is not None and not 0.0 < self.target <= 1.0:
            raise ValueError(f"the target must be within 0..1, not {self.target}")

    @classmethod
    def parse(cls, text: str) -> "ThresholdGoal":
        """``best-f1``, ``precision=0.95`` or ``recall=0.9`` (``:`` works as well as ``=``)."""
        kind, _, value = text.strip().lower().replace(":", "=").partition("=")
        try:
            return cls(kind, float(value) if value else None)
        except ValueError as exc:
            raise ValueError(f"bad threshold goal {text!r}: {exc} (use best-f1, precision=P or recall=R)") from None

    def __str__(self) -> str:
        return self.kind if self.target is None else f"{self.kind}={self.target:g}"


@dataclass(frozen=True)
class ThresholdPick:
    goal: ThresholdGoal
    threshold: float | None  # None: no threshold reaches the goal
    confusion: Confusion | None
    reason: str = ""

    def to_dict(self) -> dict:
        return {"goal": str(self.goal), "threshold": _rounded(self.threshold, 4),
                "confusion": self.confusion.to_dict() if self.confusion else None, "reason": self.reason}


def pick_threshold(truth, scores, goal: ThresholdGoal) -> ThresholdPick:
    """The threshold meeting ``goal``: best F1; else among thresholds whose
    precision (recall) reaches the target, the one with the best recall (precision).

    The threshold returned sits midway between the chosen score and the next
    lower one, so rounding it cannot move a clip across it.
    """
    s = sweep(truth, scores)
    if not s.positives or not s.negatives:
        return ThresholdPick(goal, None, None, "needs labelled clips of both classes")
    precision = s.tp / (s.tp + s.fp)
    recall = s.tp / s.positives
    f1 = 2 * s.tp / (2 * s.tp + s.fp + (s.positives - s.tp))
    if goal.kind == "best-f1":
        index = int(np.argmax(f1))
    else:
        meets, other = (precision, recall) if goal.kind == "precision" else (recall, precision)
        ok = np.flatnonzero(meets >= goal.target - 1e-12)
        if not len(ok):
            best = float(meets.max())
            return ThresholdPick(goal, None, None, f"no threshold reaches {goal.kind} {goal.target:g} (best {best:.3f})")
        index = int(ok[np.argmax(other[ok])])  # argmax takes the first: the highest threshold on ties
    lower = s.thresholds[index + 1] if index + 1 < len(s.thresholds) else max(0.0, s.thresholds[index] - 1e-3)
    threshold = _round_between(lower, float(s.thresholds[index]))
    return ThresholdPick(goal, threshold, s.confusion(index))


def _round_between(low: float, high: float) -> float:
    """The shortest decimal in (low, high]: a threshold that reads well and keeps the same decisions."""
    for digits in range(2, 9):
        value = round((low + high) / 2, digits)
        if low < value <= high:
            return value
    return high


# Agreement between annotators ---------------------------------------------------------

def cohen_kappa(a, b) -> float | None:
    """Cohen's kappa for two annotators' labels of the same items (None if undefined)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("cohen_kappa needs two label sequences of the same length")
    if not len(a):
        return None
    categories = np.unique(np.r_[a, b])
    observed = float(np.mean(a == b))
    expected = float(sum(np.mean(a == c) * np.mean(b == c) for c in categories))
    if expected >= 1.0:
        return None  # both gave one and the same label to everything: kappa is undefined
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(counts) -> float | None:
    """Fleiss' kappa from an (items, categories) table of how many raters chose each category.

    Items may have different numbers of raters (each needs at least two): an
    item's agreement is the share of agreeing rater pairs, and category shares
    are taken over all ratings. With equal raters per item this is Fleiss (1971).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError("fleiss_kappa needs an (items, categories) table")
    raters = counts.sum(axis=1)
    counts, raters = counts[raters >= 2], raters[raters >= 2]
    if not len(counts):
        return None
    agreement = ((counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))).mean()
    shares = counts.sum(axis=0) / raters.sum()
    expected = float(np.sum(shares ** 2))
    if expected >= 1.0:
        return None
    return float((agreement - expected) / (1.0 - expected))
