"""Append-only label events: add, undo (as a new event), and current labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from voicestudio.store.schema import LABEL_VALUES, LabelEvent


@dataclass(frozen=True)
class CurrentLabel:
    clip_id: int
    annotator: str
    value: str  # never None: cleared clips are simply absent
    event_id: int
    created_at: datetime


def _check_value(value: str | None) -> None:
    if value is not None and value not in LABEL_VALUES:
        raise ValueError(f"label must be one of {', '.join(LABEL_VALUES)} (or None to clear), not {value!r}")


def add_label(session, clip_id: int, annotator: str, value: str | None, *, note: str | None = None,
              undoes_id: int | None = None) -> LabelEvent:
    _check_value(value)
    if not annotator or not annotator.strip():
        raise ValueError("an annotator name is required")
    event = LabelEvent(clip_id=clip_id, annotator=annotator.strip(), value=value, note=note, undoes_id=undoes_id)
    session.add(event)
    session.flush()
    return event


def history(session, clip_id: int, annotator: str | None = None) -> list[LabelEvent]:
    statement = select(LabelEvent).where(LabelEvent.clip_id == clip_id).order_by(LabelEvent.id)
    if annotator is not None:
        statement = statement.where(LabelEvent.annotator == annotator)
    return list(session.scalars(statement))


def undo_label(session, clip_id: int, annotator: str) -> LabelEvent | None:
    """Revert the annotator's latest live event on the clip, by appending a new event.

    Live events are decisions that are neither undo events nor already undone.
    The new event restores the value before the undone decision (None if there
    was none); calling again walks further back. Returns None when nothing is
    left to undo.
    """
    events = history(session, clip_id, annotator)
    undone = {e.undoes_id for e in events if e.undoes_id is not None}
    live = [e for e in events if e.undoes_id is None and e.id not in undone]
    if not live:
        return None
    target = live[-1]
    previous = live[-2].value if len(live) > 1 else None
    return add_label(session, clip_id, annotator, previous, note=f"undo of event {target.id}", undoes_id=target.id)


def _latest_ids(per_annotator: bool):
    keys = (LabelEvent.clip_id, LabelEvent.annotator) if per_annotator else (LabelEvent.clip_id,)
    return select(func.max(LabelEvent.id).label("id")).group_by(*keys).subquery()


def current_labels(session, annotator: str | None = None) -> dict[int, CurrentLabel]:
    """Clip id -> its current label: the annotator's latest event, or (no annotator)
    the latest event across annotators. Cleared clips are left out."""
    if annotator is None:
        latest = _latest_ids(per_annotator=False)
        statement = select(LabelEvent).join(latest, LabelEvent.id == latest.c.id)
    else:
        latest = (
            select(func.max(LabelEvent.id).label("id"))
            .where(LabelEvent.annotator == annotator)
            .group_by(LabelEvent.clip_id)
            .subquery()
        )
        statement = select(LabelEvent).join(latest, LabelEvent.id == latest.c.id)
    return {
        e.clip_id: CurrentLabel(e.clip_id, e.annotator, e.value, e.id, e.created_at)
        for e in session.scalars(statement)
        if e.value is not None
    }


def labels_by_annotator(session) -> dict[int, dict[str, str]]:
    """Clip id -> {annotator: current value} (cleared labels left out)."""
    latest = _latest_ids(per_annotator=True)
    result: dict[int, dict[str, str]] = {}
    for e in session.scalars(select(LabelEvent).join(latest, LabelEvent.id == latest.c.id)):
        if e.value is not None:
            result.setdefault(e.clip_id, {})[e.annotator] = e.value
    return result


def count_events(session) -> int:
    return session.scalar(select(func.count(LabelEvent.id)))
