"""Append-only label events: add, undo (as a new event), current labels and history.

Each annotator has their own label per clip: the value of their latest event
(None = cleared, i.e. unlabelled). Nothing is ever updated or deleted.

Undo reverts an annotator's latest *live* event on a clip (live: neither an
undo event nor already undone) by appending an event that restores the value
in effect before it, with ``undoes_id`` pointing at it; calling undo again
walks further back.

Call the writing functions inside ``Project.write()``: undo reads, then
appends, and must not interleave with another writer.

Every write passes ``_append``, which checks the annotator's name with
``annotators.check_annotator`` (``AnnotatorError``, a ValueError); reads take
any name, as older projects may hold names the rule now refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from voicestudio.annotators import check_annotator
from voicestudio.store.schema import LABEL_VALUES, Clip, LabelEvent


@dataclass(frozen=True)
class CurrentLabel:
    clip_id: int
    annotator: str
    value: str  # never None: cleared clips are left out
    event_id: int
    created_at: datetime


def check_value(value: str | None) -> str | None:
    """The value if it is a label (or None, which clears); ValueError otherwise."""
    if value is not None and value not in LABEL_VALUES:
        raise ValueError(f"label must be one of {', '.join(LABEL_VALUES)} (or None to clear), not {value!r}")
    return value


def _wanted_annotator(annotator: str) -> str:
    """A name to read by: stripped but not checked, so names stored before the rule can still be read."""
    return str(annotator).strip()


def add_label(session, clip_id: int, annotator: str, value: str | None, note: str | None = None) -> LabelEvent:
    """Append the annotator's decision on the clip (``value`` None clears their label)."""
    return _append(session, clip_id, annotator, check_value(value), note, undoes_id=None)


def _append(session, clip_id: int, annotator: str, value: str | None, note: str | None,
            undoes_id: int | None) -> LabelEvent:
    annotator = check_annotator(annotator)  # every label write passes here, whatever the name's source
    if session.get(Clip, clip_id) is None:
        raise ValueError(f"no clip with id {clip_id}")
    event = LabelEvent(clip_id=clip_id, annotator=annotator, value=value, note=note, undoes_id=undoes_id)
    session.add(event)
    session.flush()
    return event


def label_history(session, clip_id: int, annotator: str | None = None) -> list[LabelEvent]:
    """Every event on the clip (by one annotator, or all), oldest first."""
    statement = select(LabelEvent).where(LabelEvent.clip_id == clip_id).order_by(LabelEvent.id)
    if annotator is not None:
        statement = statement.where(LabelEvent.annotator == _wanted_annotator(annotator))
    return list(session.scalars(statement))


history = label_history  # shorter name, same function


def undo_label(session, clip_id: int, annotator: str) -> LabelEvent | None:
    """Revert the annotator's latest live event on the clip by appending a new event.

    The new event carries the value in effect just before the undone event
    (None if there was none) and ``undoes_id`` = its id. Returns None when
    nothing is left to undo.
    """
    annotator = check_annotator(annotator)
    events = label_history(session, clip_id, annotator)
    undone = {e.undoes_id for e in events if e.undoes_id is not None}
    live = [i for i, e in enumerate(events) if e.undoes_id is None and e.id not in undone]
    if not live:
        return None
    index = live[-1]
    target = events[index]
    before = events[index - 1].value if index > 0 else None
    return _append(session, clip_id, annotator, before, f"undo of event {target.id}", undoes_id=target.id)


def undo_last_label(session, annotator: str) -> LabelEvent | None:
    """Undo the annotator's latest live event on whichever clip it was (an editor's Ctrl+Z)."""
    annotator = check_annotator(annotator)
    undone = select(LabelEvent.undoes_id).where(
        LabelEvent.annotator == annotator, LabelEvent.undoes_id.is_not(None)
    )
    clip_id = session.scalar(
        select(LabelEvent.clip_id)
        .where(LabelEvent.annotator == annotator, LabelEvent.undoes_id.is_(None), LabelEvent.id.not_in(undone))
        .order_by(LabelEvent.id.desc())
        .limit(1)
    )
    return None if clip_id is None else undo_label(session, clip_id, annotator)


def _latest_per_annotator(annotator: str | None):
    """Ids of the latest event per (clip, annotator)."""
    statement = select(func.max(LabelEvent.id)).group_by(LabelEvent.clip_id, LabelEvent.annotator)
    if annotator is not None:
        statement = statement.where(LabelEvent.annotator == annotator)
    return statement


def _current_events(session, annotator: str | None) -> list[CurrentLabel]:
    """Each annotator's current (not cleared) label, oldest event first."""
    statement = (
        select(LabelEvent.clip_id, LabelEvent.annotator, LabelEvent.value, LabelEvent.id, LabelEvent.created_at)
        .where(LabelEvent.id.in_(_latest_per_annotator(annotator)), LabelEvent.value.is_not(None))
        .order_by(LabelEvent.id)
    )
    return [CurrentLabel(*row) for row in session.execute(statement)]


def current_labels(session, annotator: str | None = None) -> dict[int, CurrentLabel]:
    """Clip id -> its current label; clips without one are left out.

    With ``annotator``: that annotator's latest event on each clip. Without:
    the most recent of the annotators' current labels on each clip, so one
    annotator clearing or undoing their own label does not hide another's.
    """
    if annotator is not None:
        annotator = _wanted_annotator(annotator)
    result: dict[int, CurrentLabel] = {}
    for label in _current_events(session, annotator):  # oldest first: the latest wins
        result[label.clip_id] = label
    return result


def labels_by_annotator(session) -> dict[int, dict[str, str]]:
    """Clip id -> {annotator: current value} (cleared labels left out)."""
    result: dict[int, dict[str, str]] = {}
    for label in _current_events(session, None):
        result.setdefault(label.clip_id, {})[label.annotator] = label.value
    return result


def count_events(session) -> int:
    return session.scalar(select(func.count(LabelEvent.id)))
