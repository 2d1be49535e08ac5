"""Metrics against scikit-learn (installed with librosa, the test reference) and textbook values."""

import numpy as np
import pytest
from sklearn import metrics as sk

from voicestudio.metrics import (
    ThresholdGoal,
    cohen_kappa,
    confusion_at,
    fleiss_kappa,
    pick_threshold,
    pr_curve,
    roc_curve,
    score_histogram,
)


@pytest.fixture
def scored():
    rng = np.random.default_rng(7)
    truth = rng.random(400) < 0.35
    scores = np.clip(np.where(truth, 0.65, 0.35) + 0.25 * rng.standard_normal(400), 0, 1).round(2)  # ties included
    return truth, scores


def test_curves_and_areas_match_scikit_learn(scored):
    truth, scores = scored
    roc = roc_curve(truth, scores)
    assert roc.area == pytest.approx(sk.roc_auc_score(truth, scores), abs=1e-12)
    fpr, tpr, _ = sk.roc_curve(truth, scores, drop_intermediate=False)
    assert np.allclose(roc.x, fpr) and np.allclose(roc.y, tpr)
    pr = pr_curve(truth, scores)
    assert pr.area == pytest.approx(sk.average_precision_score(truth, scores), abs=1e-12)
    precision, recall, _ = sk.precision_recall_curve(truth, scores)
    assert np.allclose(sorted(zip(pr.x[1:], pr.y[1:])), sorted(zip(recall[:-1], precision[:-1])))


def test_confusion_rates_match_scikit_learn(scored):
    truth, scores = scored
    c = confusion_at(truth, scores, 0.5)
    predicted = scores >= 0.5
    tn, fp, fn, tp = sk.confusion_matrix(truth, predicted).ravel()
    assert (c.tp, c.fp, c.tn, c.fn) == (tp, fp, tn, fn)
    assert c.precision == pytest.approx(sk.precision_score(truth, predicted))
    assert c.recall == pytest.approx(sk.recall_score(truth, predicted))
    assert c.f1 == pytest.approx(sk.f1_score(truth, predicted))
    assert c.balanced_accuracy == pytest.approx(sk.balanced_accuracy_score(truth, predicted))


def test_undefined_metrics_are_none_not_errors():
    c = confusion_at([False, False], [0.1, 0.2], 0.5)
    assert c.precision is None and c.recall is None and c.f1 is None and c.specificity == 1.0
    assert roc_curve([True, True], [0.2, 0.9]).area is None
    assert pick_threshold([True, True], [0.2, 0.9], ThresholdGoal()).threshold is None
    with pytest.raises(ValueError, match="finite"):
        confusion_at([True], [float("nan")], 0.5)


def test_threshold_goals(scored):
    truth, scores = scored
    best = pick_threshold(truth, scores, ThresholdGoal("best-f1"))
    every_f1 = [sk.f1_score(truth, scores >= t) for t in np.unique(scores)]
    assert best.confusion.f1 == pytest.approx(max(every_f1))
    # The threshold sits between scores, so applying it gives exactly the reported counts.
    assert confusion_at(truth, scores, best.threshold) == best.confusion
    precise = pick_threshold(truth, scores, ThresholdGoal.parse("precision=0.9"))
    assert precise.confusion.precision >= 0.9
    assert confusion_at(truth, scores, precise.threshold) == precise.confusion
    assert precise.confusion.recall == pytest.approx(max(
        sk.recall_score(truth, scores >= t) for t in np.unique(scores)
        if sk.precision_score(truth, scores >= t, zero_division=0) >= 0.9))
    sensitive = pick_threshold(truth, scores, ThresholdGoal.parse("recall:0.95"))
    assert sensitive.confusion.recall >= 0.95 and confusion_at(truth, scores, sensitive.threshold) == sensitive.confusion
    impossible = pick_threshold(truth, scores, ThresholdGoal("precision", 1.0))
    assert impossible.threshold is None or impossible.confusion.precision == 1.0
    for bad in ("precision", "f2", "recall=1.5", "best-f1=0.3"):
        with pytest.raises(ValueError):
            ThresholdGoal.parse(bad)


def test_cohen_kappa_matches_scikit_learn():
    rng = np.random.default_rng(3)
    a = rng.choice(["human", "nonhuman", "unsure"], 200, p=[0.5, 0.4, 0.1])
    b = np.where(rng.random(200) < 0.8, a, rng.choice(["human", "nonhuman", "unsure"], 200))
    assert cohen_kappa(a, b) == pytest.approx(sk.cohen_kappa_score(a, b))
    assert cohen_kappa(["human"] * 3, ["human"] * 3) is None  # one label for everything: undefined


def test_fleiss_kappa_on_the_textbook_example():
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-4)
    # Two raters: the same as Scott's pi; items with fewer than two ratings are left out.
    assert fleiss_kappa([[2, 0], [0, 2], [1, 1], [1, 0]]) == pytest.approx(1 / 3)
    assert fleiss_kappa([[1, 0]]) is None


def test_histogram_counts_every_score():
    histogram = score_histogram({"human": np.array([0.0, 0.5, 1.0]), "nonhuman": np.array([0.26])}, bins=4)
    assert histogram.counts["human"].tolist() == [1, 0, 1, 1] and histogram.counts["nonhuman"].tolist() == [0, 1, 0, 0]
