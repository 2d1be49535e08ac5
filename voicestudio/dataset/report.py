"""Read-only summaries of a project for ``stats`` and ``clips``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicestudio.dataset.audit import DEFAULT_GOALS, Audit, audit_table
from voicestudio.dataset.cliptable import VALUES, ClipTable, QueueRequest, load_clip_table, queue_rows
from voicestudio.dataset.consensus import Consensus
from voicestudio.metrics import ThresholdGoal
from voicestudio.store.project import Project


@dataclass(frozen=True)
class ProjectAudit:
    audit: Audit
    table: ClipTable

    def to_dict(self) -> dict:
        return self.audit.to_dict(self.table)


def project_audit(project: Project, *, detector=None, threshold: float | None = None,
                  consensus: Consensus = Consensus(), goals: tuple[ThresholdGoal, ...] = DEFAULT_GOALS) -> ProjectAudit:
    """The audit of the project's labels, and of ``detector``'s stored scores against them."""
    model_id, extra, name = None, {}, None
    if detector is not None:
        from voicestudio.dataset.scoring import register

        model_id = register(project, detector)
        threshold = detector.card.threshold if threshold is None else threshold
        name, extra = detector.card.name, {"path": str(detector.path), "sha256": detector.sha256}
    with project.session() as session:
        table = load_clip_table(session, model_id=model_id)
    audit = audit_table(table, threshold=0.5 if threshold is None else threshold, consensus=consensus,
                        goals=goals, model_name=name, extra=extra)
    return ProjectAudit(audit, table)


def clip_report(project: Project, *, queue: QueueRequest | None = None, detector=None, annotator: str = "",
                limit: int | None = None) -> list[dict]:
    """The rows ``voicestudio clips`` prints: clips in path order, or in a queue's order (scores from ``detector``)."""
    model_id = None
    if detector is not None:
        from voicestudio.dataset.scoring import register

        model_id = register(project, detector)
    with project.session() as session:
        table = load_clip_table(session, annotator=annotator, model_id=model_id)
    rows = queue_rows(table, queue or QueueRequest("all"))[:limit]
    return [{
        "id": int(table.ids[r]),
        "path": table.paths[r],
        "start_s": float(table.starts[r]),
        "end_s": float(table.ends[r]),
        "label": VALUES[int(table.label[r])],
        **({"score": None if np.isnan(table.score[r]) else round(float(table.score[r]), 6)} if model_id else {}),
    } for r in rows]
