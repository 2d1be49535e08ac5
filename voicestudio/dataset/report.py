"""Read-only summaries of a project for ``stats`` and ``clips`` (plain dicts, JSON-ready)."""

from __future__ import annotations

from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store import stats as stats_store
from voicestudio.store.project import Project


def project_stats(project: Project, *, detector=None, threshold: float | None = None) -> dict:
    with project.session() as session:
        label_stats = stats_store.label_stats(session)
        result = {
            "clips": label_stats.clips_total,
            "labelled": label_stats.clips_labelled,
            "labels": dict(label_stats.by_label),
            "annotators": {name: dict(counts) for name, counts in label_stats.by_annotator.items()},
        }
    if detector is not None:
        from voicestudio.dataset.scoring import register

        model_id = register(project, detector)
        threshold = detector.card.threshold if threshold is None else threshold
        with project.session() as session:
            c = stats_store.confusion(session, model_id, threshold)
        result["confusion"] = {
            "model": detector.card.name,
            "model_sha256": detector.sha256,
            "threshold": threshold,
            "positive": "human",
            "tp": c.tp, "fp": c.fp, "tn": c.tn, "fn": c.fn,
            "unscored": c.n_unscored,
        }
    return result


def list_clips(project: Project, *, limit: int | None = None) -> list[dict]:
    with project.session() as session:
        current = label_store.current_labels(session)
        rows = []
        for clip in clip_store.list_clips(session, limit=limit):
            label = current.get(clip.id)
            rows.append({
                "id": clip.id,
                "path": clip.path,
                "start_s": clip.start_s,
                "end_s": clip.end_s,
                "label": label.value if label else None,
            })
    return rows
