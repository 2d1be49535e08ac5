"""Two detectors on the same labelled clips: which is better, and where they part ways.

``compare_models(project, a, b)`` scores the clips either model has not scored
yet (``scoring.score_project``: predictions are stored per clip and model, so a
second comparison scores nothing), takes each clip's consensus label as the
truth (as the audit does), and keeps the clips the export puts in its ``test``
split (the same ``plan_export`` with the same fractions and seed: a model
trained on the project's train split is judged on clips it never heard), or
every labelled clip with ``split="all"``. Unsure and undecided clips are left out.

Each model is judged at its own card threshold: confusion, balanced accuracy,
ROC and PR curves with their areas. McNemar's exact test weighs the clips
where exactly one of them is right; the clips where their decisions differ are
listed, the largest score gap first. Nothing here imports Qt: the window's
view and ``voicestudio compare`` are two faces of this.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb
from pathlib import Path

import numpy as np

from voicestudio.audio.scan import FileProblem
from voicestudio.dataset.cliptable import HUMAN, NONHUMAN
from voicestudio.dataset.consensus import Consensus, consensus_codes
from voicestudio.dataset.export import ExportOptions, ExportPlan, plan_export
from voicestudio.dataset.scoring import ScoreReport, register, score_project
from voicestudio.errors import VoiceStudioError
from voicestudio.metrics import Confusion, Curve, average_precision, confusion_at, pr_curve, roc_curve
from voicestudio.model.timing import WindowSpeed, window_speed
from voicestudio.progress import CancelToken, ProgressCallback
from voicestudio.store.predictions import clip_scores
from voicestudio.store.project import Project
from voicestudio.terminal import one_line

SPLITS = ("test", "all")
SIGNIFICANCE = 0.05
CELLS = ("tp", "fp", "fn", "tn")  # in the order the report shows them
SHOWN_DISAGREEMENTS = 10  # in text(); to_dict() lists them all


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# Speed ------------------------------------------------------------------------------------

# McNemar's test -----------------------------------------------------------------------------

@dataclass(frozen=True)
class McNemar:
    """McNemar's exact test over the clips where exactly one model is right."""

    a_right_b_wrong: int  # b in the usual table
    a_wrong_b_right: int  # c
    p_value: float  # two-sided exact binomial, n = b + c, p = 0.5 (1 when n = 0)

    @property
    def discordant(self) -> int:
        return self.a_right_b_wrong + self.a_wrong_b_right

    @property
    def significant(self) -> bool:
        return self.discordant > 0 and self.p_value < SIGNIFICANCE

    def sentence(self) -> str:
        """In words: "B is better on 23 clips, A on 7, p = 0.004"."""
        if not self.discordant:
            return "no clip where exactly one is right"
        b, c = self.a_right_b_wrong, self.a_wrong_b_right
        p = f"p = {self.p_value:.3f}" if self.p_value >= 0.001 else f"p = {self.p_value:.1e}"
        if b == c:
            text = f"A and B are each better on {b} clip{'s' * (b != 1)}, {p}"
        else:
            better, worse, wins, losses = ("A", "B", b, c) if b > c else ("B", "A", c, b)
            text = f"{better} is better on {wins} clip{'s' * (wins != 1)}, {worse} on {losses}, {p}"
        return text if self.significant else f"{text}: the difference is not significant at 5 %"

    def to_dict(self) -> dict:
        return {"a_right_b_wrong": self.a_right_b_wrong, "a_wrong_b_right": self.a_wrong_b_right,
                "p_value": _round(self.p_value, 8), "significant": self.significant, "sentence": self.sentence()}


def exact_binomial_p(b: int, c: int) -> float:
    """Two-sided exact p-value of ``b`` against ``c`` under p = 0.5 (``scipy.stats.binomtest``'s); 1 when both are 0."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2 ** n)  # exact integers until this one division


def mcnemar(truth: np.ndarray, said_a: np.ndarray, said_b: np.ndarray) -> McNemar:
    right_a, right_b = said_a == truth, said_b == truth
    b, c = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    return McNemar(b, c, exact_binomial_p(b, c))


# The comparison -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelResult:
    """One model on the compared clips, at its own card threshold (positive = human)."""

    name: str
    path: str
    sha256: str
    threshold: float
    scores: np.ndarray  # per compared clip, in ``Comparison.clip_ids`` order
    confusion: Confusion
    roc: Curve
    pr: Curve
    average_precision: float | None
    scoring: ScoreReport | None  # what this run scored (None: a read-only project, nothing scored)
    speed: WindowSpeed | None = None

    @property
    def decisions(self) -> np.ndarray:
        return self.scores >= self.threshold

    @property
    def auc(self) -> float | None:
        return self.roc.area

    @property
    def balanced_accuracy(self) -> float | None:
        return self.confusion.balanced_accuracy

    def to_dict(self) -> dict:
        return {
            "name": self.name, "path": self.path, "sha256": self.sha256, "threshold": self.threshold,
            "roc_auc": _round(self.auc), "average_precision": _round(self.average_precision),
            "balanced_accuracy": _round(self.balanced_accuracy), "confusion": self.confusion.to_dict(),
            "roc": self.roc.to_dict(), "pr": self.pr.to_dict(),
            "scored_now": 0 if self.scoring is None else self.scoring.scored,
            "score_failures": [] if self.scoring is None else [vars(p) for p in self.scoring.failures],
            "speed": None if self.speed is None else self.speed.to_dict(),
        }


@dataclass(frozen=True)
class Disagreement:
    """A clip where the two models decide differently."""

    clip_id: int
    path: str
    start_s: float
    end_s: float
    truth: str  # human or nonhuman
    score_a: float
    score_b: float

    @property
    def gap(self) -> float:
        return abs(self.score_a - self.score_b)

    def to_dict(self) -> dict:
        return {"clip_id": self.clip_id, "path": self.path, "start_s": self.start_s, "end_s": self.end_s,
                "truth": self.truth, "score_a": _round(self.score_a), "score_b": _round(self.score_b)}


@dataclass(frozen=True)
class Comparison:
    consensus: Consensus
    split: str  # test or all
    seed: int
    clip_ids: np.ndarray  # the compared clips: labelled human/nonhuman, in the split, scored by both
    truth: np.ndarray  # bool per compared clip: human
    a: ModelResult
    b: ModelResult
    mcnemar: McNemar
    disagreements: tuple[Disagreement, ...]  # the largest score gap first
    unscored: int  # labelled clips of the split that either model could not score

    @property
    def failures(self) -> list[FileProblem]:
        return [p for m in (self.a, self.b) if m.scoring is not None for p in m.scoring.failures]

    def to_dict(self) -> dict:
        return {
            "split": self.split, "seed": self.seed, "consensus": self.consensus.rule,
            "annotator": self.consensus.annotator, "clips": len(self.clip_ids),
            "human": int(self.truth.sum()), "nonhuman": int((~self.truth).sum()), "unscored": self.unscored,
            "a": self.a.to_dict(), "b": self.b.to_dict(), "mcnemar": self.mcnemar.to_dict(),
            "disagreements": [d.to_dict() for d in self.disagreements],
        }

    def text(self) -> str:
        """The report for a terminal; every value from a file, card or the project goes through ``one_line``."""
        where = "the test split" if self.split == "test" else "every labelled clip"
        rule = one_line(self.consensus.describe())  # it names the annotator
        lines = [f"compared on {len(self.clip_ids)} clips ({where}, seed {self.seed}; {rule}): "
                 f"{int(self.truth.sum())} human, {int((~self.truth).sum())} nonhuman"]
        if self.unscored:
            lines.append(f"  ({self.unscored} labelled clips left out: a model could not score them)")
        rows = [("model", lambda m: m.name), ("file", lambda m: Path(m.path).name),
                ("threshold", lambda m: f"{m.threshold:g}"), ("ROC AUC", lambda m: _fmt(m.auc)),
                ("average precision", lambda m: _fmt(m.average_precision)),
                ("balanced accuracy", lambda m: _fmt(m.balanced_accuracy)),
                ("tp / fp / fn / tn", lambda m: " / ".join(str(getattr(m.confusion, c)) for c in CELLS)),
                ("precision / recall", lambda m: f"{_fmt(m.confusion.precision)} / {_fmt(m.confusion.recall)}"),
                ("scored now", lambda m: str(0 if m.scoring is None else m.scoring.scored))]
        if self.a.speed and self.b.speed:
            rows.append(("ms/window (1 / 64)", lambda m: f"{m.speed.single_ms:.3f} / {m.speed.batched_ms:.4f}"))
        cells = [(label, one_line(value(self.a)), one_line(value(self.b))) for label, value in rows]
        width = max(len(a) for _, a, _ in cells) + 2
        lines.append(f"  {'':<20}{'A':<{width}}B")
        lines += [f"  {label:<20}{a:<{width}}{b}" for label, a, b in cells]
        lines.append(f"McNemar: {self.mcnemar.sentence()}")
        if self.disagreements:
            lines.append(f"the models disagree on {len(self.disagreements)} clips (largest score gap first):")
            for d in self.disagreements[:SHOWN_DISAGREEMENTS]:
                lines.append(f"  clip {d.clip_id}\t{d.truth}\tA {d.score_a:.3f}\tB {d.score_b:.3f}\t"
                             f"{one_line(d.path)} [{d.start_s:.2f}-{d.end_s:.2f} s]")
        else:
            lines.append("the models decide the same on every clip")
        return "\n".join(lines)


def split_plan(project: Project, consensus: Consensus, seed: int) -> ExportPlan:
    """What the export would do with the default fractions, grouped by source, with ``seed``:
    its ``test`` items are exactly the clips an export's test split holds."""
    return plan_export(project, ExportOptions(consensus=consensus, seed=seed))


def _model_result(detector, truth: np.ndarray, scores: np.ndarray, scoring: ScoreReport | None,
                  speed_runs: int | None) -> ModelResult:
    pr = pr_curve(truth, scores)
    return ModelResult(
        name=detector.card.name, path=str(detector.path), sha256=detector.sha256,
        threshold=float(detector.card.threshold), scores=scores,
        confusion=confusion_at(truth, scores, detector.card.threshold), roc=roc_curve(truth, scores), pr=pr,
        average_precision=average_precision(truth, scores), scoring=scoring,
        speed=None if speed_runs is None else window_speed(detector, speed_runs),
    )


def compare_models(project: Project, model_a, model_b, *, consensus: Consensus = Consensus(), split: str = "test",
                   seed: int = 0, speed: bool = False, speed_runs: int = 100,
                   progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> Comparison:
    """``model_a`` against ``model_b`` (loaded ``Detector``s) on the project's labelled clips.

    Raises VoiceStudioError when no labelled clip of the split has scores from both, or the scoring was cancelled.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    reports = []
    for detector in (model_a, model_b):
        if project.read_only:
            reports.append(None)  # what is stored is all there is
            continue
        report = score_project(project, detector, progress=progress, cancel=cancel)
        if report.cancelled:
            raise VoiceStudioError("the comparison was cancelled while scoring")
        reports.append(report)
    model_ids = [register(project, d) for d in (model_a, model_b)]
    with project.session() as session:
        stored = [{} if model_id is None else clip_scores(session, model_id) for model_id in model_ids]
    plan = split_plan(project, consensus, seed)
    table = plan.table
    in_split = None if split == "all" else {item.clip_id for item in plan.items if item.split == split}
    codes = consensus_codes(table, consensus)
    labelled = [row for row in range(len(table)) if codes[row] in (HUMAN, NONHUMAN)
                and (in_split is None or int(table.ids[row]) in in_split)]
    rows = np.array([row for row in labelled if all(int(table.ids[row]) in s for s in stored)], np.int64)
    if not len(rows):
        where = "the test split" if split == "test" else "the project"
        raise VoiceStudioError(f"no clip of {where} is labelled human or nonhuman and scored by both models "
                               f"({len(labelled)} labelled there)"
                               + ("; label more clips or compare with --split all" if split == "test" else "")
                               + ("; the project is read-only, so nothing was scored" if project.read_only else ""))
    clip_ids = table.ids[rows]
    truth = codes[rows] == HUMAN
    scores = [np.array([s[int(c)] for c in clip_ids], np.float64) for s in stored]
    speed_runs = speed_runs if speed else None
    a, b = (_model_result(d, truth, s, r, speed_runs)
            for d, s, r in zip((model_a, model_b), scores, reports))
    differ = np.flatnonzero(a.decisions != b.decisions)
    differ = differ[np.argsort(-np.abs(a.scores[differ] - b.scores[differ]), kind="stable")]
    disagreements = tuple(Disagreement(
        int(clip_ids[i]), table.paths[rows[i]], float(table.starts[rows[i]]), float(table.ends[rows[i]]),
        "human" if truth[i] else "nonhuman", float(a.scores[i]), float(b.scores[i])) for i in differ)
    return Comparison(consensus, split, seed, clip_ids, truth, a, b, mcnemar(truth, a.decisions, b.decisions),
                      disagreements, unscored=len(labelled) - len(rows))
