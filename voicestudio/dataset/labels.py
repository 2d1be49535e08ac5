"""Labelling from outside the window, one clip at a time (files of labels: ``interchange``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from voicestudio import pathmap
from voicestudio.annotators import shown
from voicestudio.dataset.sourcecheck import CHANGED, check_source
from voicestudio.errors import VoiceStudioError
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import Project
from voicestudio.store.schema import LABEL_VALUES, LabelEvent

# Spellings people type, mapped to the stored values; "clear" removes the label.
ALIASES = {"h": "human", "voice": "human", "non-human": "nonhuman", "non_human": "nonhuman",
           "n": "nonhuman", "u": "unsure", "?": "unsure", "clear": None, "none": None}


def parse_value(text: str) -> str | None:
    key = text.strip().lower()
    if key in LABEL_VALUES:
        return key
    if key in ALIASES:
        return ALIASES[key]
    raise VoiceStudioError(f"unknown label {shown(text)}: use {', '.join(LABEL_VALUES)} or clear")


def resolve_clip(session, ref) -> int:
    """A clip id from an id or a file path (which must have exactly one clip)."""
    text = str(ref)
    if text.isdigit() and not Path(text).exists():
        clip = clip_store.get_clip(session, int(text), include_replaced=True)
        if clip is None:
            raise VoiceStudioError(f"no clip with id {text}")
        if clip.replaced_at is not None:
            raise VoiceStudioError(f"clip {text}: its recording was replaced by other audio at its path; "
                                   "the clip is kept as history and takes no new labels")
        source = check_source(clip)  # by id as by path: a label is for the audio the clip was made from
        if source.status == CHANGED:
            raise VoiceStudioError(f"clip {text}: {clip.path}: {source.reason}")
        return clip.id
    path = str(Path(text).expanduser().absolute())
    found = clip_store.clips_for_path(session, pathmap.active().stored(path))  # as a shared project stores it
    if not found:
        raise VoiceStudioError(f"{path}: not in the project (import it first)")
    if len(found) > 1:
        raise VoiceStudioError(f"{path}: has {len(found)} clips; label one by its id (see 'voicestudio clips')")
    source = check_source(found[0])  # named by path, the label is for what is there now
    if source.status == CHANGED:
        raise VoiceStudioError(f"{path}: {source.reason}")
    return found[0].id


def event_dict(event) -> dict:
    return {
        "event_id": event.id,
        "clip_id": event.clip_id,
        "annotator": event.annotator,
        "value": event.value,
        "note": event.note,
        "undoes_id": event.undoes_id,  # set on an undo event: the event it took back
        "created_at": event.created_at.isoformat(),
    }


def apply_label(project: Project, clip_ref, value: str, *, annotator: str, note: str | None = None) -> dict:
    """Label a clip named by id or path; ``value`` as people type it (see ``parse_value``)."""
    stored = parse_value(value)
    with project.write() as session:
        clip_id = resolve_clip(session, clip_ref)
        event = label_store.add_label(session, clip_id, annotator, stored, note=note)
        return event_dict(event)


def label_clip(project: Project, clip_id: int, value: str | None, *, annotator: str, note: str | None = None) -> dict:
    """Label a clip by id (the window's path: no name lookup); durable when this returns."""
    with project.write() as session:
        return event_dict(label_store.add_label(session, int(clip_id), annotator, value, note=note))


def label_clips(project: Project, clip_ids, value: str | None, *, annotator: str,
                note: str | None = None) -> list[dict]:
    """Label several clips in one transaction (the window's selection): all or none are stored."""
    with project.write() as session:
        return [event_dict(label_store.add_label(session, int(clip_id), annotator, value, note=note))
                for clip_id in clip_ids]


def undo_many(project: Project, count: int, *, annotator: str) -> list[dict]:
    """Undo the annotator's ``count`` latest live labels in one transaction (one undo for a batch)."""
    with project.write() as session:
        events = []
        for _ in range(count):
            event = label_store.undo_last_label(session, annotator)
            if event is None:
                break
            events.append(event_dict(event))
        return events


def undo_last(project: Project, *, annotator: str) -> dict | None:
    """Undo the annotator's latest live label anywhere in the project (a new event); None if none is left."""
    with project.write() as session:
        event = label_store.undo_last_label(session, annotator)
        return event_dict(event) if event is not None else None


def redo_undone(project: Project, undo_event_ids, *, annotator: str) -> list[dict]:
    """Re-apply what the annotator's undo events took back, each as a new event (history stays
    append-only), in one transaction: the undone event's value and note, so Z undoes the redo again.

    An undo is skipped when the annotator's label on its clip is no longer the value the undo
    left: the clip was labelled since, and redoing would overwrite that newer decision.
    """
    with project.write() as session:
        redone = []
        # Newest undo first: two undos on one clip are redone in the order the labels were made.
        for undo_id in sorted((int(i) for i in undo_event_ids), reverse=True):
            undo = session.get(LabelEvent, undo_id)
            if undo is None or undo.undoes_id is None or undo.annotator != annotator:
                continue
            if label_store.label_history(session, undo.clip_id, annotator)[-1].value != undo.value:
                continue
            target = session.get(LabelEvent, undo.undoes_id)
            event = label_store.add_label(session, undo.clip_id, annotator, target.value, note=target.note)
            redone.append(event_dict(event))
        return redone


@dataclass
class RedoStack:
    """What the annotator's undos took back, newest last: one entry per Z (a batch's undo ids together).

    A new label empties it, as in every editor; a redo's own events go to ``undone`` again when Z
    takes them back.
    """

    entries: list[tuple[int, ...]] = field(default_factory=list)

    def undone(self, undo_events: list[dict]) -> None:
        ids = tuple(e["event_id"] for e in undo_events if e.get("undoes_id") is not None)
        if ids:
            self.entries.append(ids)

    def next(self) -> tuple[int, ...] | None:
        """The newest entry, taken off the stack (None when there is nothing to redo)."""
        return self.entries.pop() if self.entries else None

    def clear(self) -> None:
        self.entries.clear()

    def __bool__(self) -> bool:
        return bool(self.entries)
