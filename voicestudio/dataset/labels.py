"""Labelling from outside the window: one clip at a time, or a CSV of labels."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from voicestudio.errors import VoiceStudioError
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import Project

VALUES = ("human", "nonhuman", "unsure")
# Spellings people type, mapped to the stored values; "clear" removes the label.
ALIASES = {"h": "human", "voice": "human", "non-human": "nonhuman", "non_human": "nonhuman",
           "n": "nonhuman", "u": "unsure", "?": "unsure", "clear": None, "none": None}


def parse_value(text: str) -> str | None:
    key = text.strip().lower()
    if key in VALUES:
        return key
    if key in ALIASES:
        return ALIASES[key]
    raise VoiceStudioError(f"unknown label {text!r}: use human, nonhuman, unsure or clear")


def resolve_clip(session, ref) -> int:
    """A clip id from an id or a file path (which must have exactly one clip)."""
    text = str(ref)
    if text.isdigit() and not Path(text).exists():
        clip = clip_store.get_clip(session, int(text))
        if clip is None:
            raise VoiceStudioError(f"no clip with id {text}")
        return clip.id
    path = str(Path(text).expanduser().absolute())
    found = clip_store.clips_for_path(session, path)
    if not found:
        raise VoiceStudioError(f"{path}: not in the project (import it first)")
    if len(found) > 1:
        raise VoiceStudioError(f"{path}: has {len(found)} clips; label one by its id (see 'voicestudio clips')")
    return found[0].id


def event_dict(event) -> dict:
    return {
        "event_id": event.id,
        "clip_id": event.clip_id,
        "annotator": event.annotator,
        "value": event.value,
        "note": event.note,
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


def undo_last(project: Project, *, annotator: str) -> dict | None:
    """Undo the annotator's latest live label anywhere in the project (a new event); None if none is left."""
    with project.write() as session:
        event = label_store.undo_last_label(session, annotator)
        return event_dict(event) if event is not None else None


@dataclass
class CsvLabelReport:
    labelled: int = 0
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"labelled": self.labelled, "failures": self.failures}


def apply_label_csv(project: Project, csv_path, *, default_annotator: str) -> CsvLabelReport:
    """Rows ``path,label[,annotator]`` (a header row naming them is optional).

    Valid rows are written in one transaction; bad rows are reported by line
    number and skipped.
    """
    result = CsvLabelReport()
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise VoiceStudioError(f"{csv_path}: cannot read ({exc})") from None
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["path", "label"]:
        rows = [(i + 2, r) for i, r in enumerate(rows[1:])]
    else:
        rows = [(i + 1, r) for i, r in enumerate(rows)]
    base = Path(csv_path).absolute().parent
    with project.write() as session:
        for line, row in rows:
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) < 2:
                result.failures.append(f"line {line}: expected path,label[,annotator]")
                continue
            path = Path(row[0].strip()).expanduser()
            path = path if path.is_absolute() else base / path  # relative to the CSV's folder
            annotator = row[2].strip() if len(row) > 2 and row[2].strip() else default_annotator
            try:
                value = parse_value(row[1])
                clip_id = resolve_clip(session, path)
            except VoiceStudioError as exc:
                result.failures.append(f"line {line}: {exc}")
                continue
            label_store.add_label(session, clip_id, annotator, value)
            result.labelled += 1
    return result
