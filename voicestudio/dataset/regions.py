"""Regions: labels on spans of a recording, stored as segment clips.

A region is a clip of a recording (the same kind of row an import with
splitting makes) that carries a label, so export, audit, interchange and
scoring treat it like any other clip. Labelling a span creates its clip (or
reuses one with the identical span); moving a region's edges labels the new
span and clears the old one, with notes that tie the two, so the history of
both is kept; clearing is an event, never a deletion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from voicestudio import pathmap
from voicestudio.dataset.labels import event_dict, parse_value
from voicestudio.dataset.sourcecheck import CHANGED, check_source
from voicestudio.errors import VoiceStudioError
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import Project
from voicestudio.store.schema import AudioFile, Clip, LabelEvent

SPAN_DECIMALS = 3  # a region's edges, in seconds: a millisecond is finer than any drag or typed time
END_SLACK_S = 0.01


@dataclass(frozen=True)
class Region:
    """One annotator's current label on a span of a recording (seconds from the file's start)."""

    clip_id: int
    start_s: float
    end_s: float
    value: str
    annotator: str
    note: str | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def regions_in(session, file_id: int, start_s: float, end_s: float, *, shown_clip_id: int | None = None) -> list[Region]:
    """Every annotator's labelled regions of the file that overlap ``start_s..end_s``, by start.

    The clip on screen and clips that cover all of it (the whole recording a
    region was cut from) are containers, not regions of it, and are left out.
    """
    latest = (select(func.max(LabelEvent.id)).join(Clip, Clip.id == LabelEvent.clip_id)
              .where(Clip.file_id == file_id).group_by(LabelEvent.clip_id, LabelEvent.annotator))
    statement = (
        select(Clip.id, Clip.start_s, Clip.end_s, LabelEvent.value, LabelEvent.annotator, LabelEvent.note)
        .join(LabelEvent, LabelEvent.clip_id == Clip.id)
        .where(LabelEvent.id.in_(latest), LabelEvent.value.is_not(None), Clip.file_id == file_id,
               Clip.start_s < end_s, Clip.end_s > start_s)
        .where(~((Clip.start_s <= start_s) & (Clip.end_s >= end_s)))
        .order_by(Clip.start_s, Clip.end_s, LabelEvent.annotator)
    )
    if shown_clip_id is not None:
        statement = statement.where(Clip.id != shown_clip_id)
    return [Region(*row) for row in session.execute(statement)]


def _checked_span(start_s: float, end_s: float, duration_s: float) -> tuple[float, float]:
    start_s, end_s = round(float(start_s), SPAN_DECIMALS), round(float(end_s), SPAN_DECIMALS)
    if end_s - duration_s <= END_SLACK_S:  # a drag to the very end may overshoot by a rounding
        end_s = min(end_s, round(duration_s, SPAN_DECIMALS))
    if not 0.0 <= start_s < end_s <= duration_s:
        raise VoiceStudioError(f"a region needs 0 <= start < end <= {duration_s:.3f} s, not {start_s}..{end_s}")
    return start_s, end_s


def _current_file(session, file_id: int) -> AudioFile:
    record = clip_store.get_file(session, file_id)
    if record is None or record.replaced_at is not None:
        raise VoiceStudioError(f"recording {file_id} is not in the project (or was replaced by other audio)")
    return record


def label_region(project: Project, file_id: int, start_s: float, end_s: float, value: str | None, *,
                 annotator: str, note: str | None = None) -> dict:
    """Label a span of a recording (its clip made if new); the event, with ``start_s``/``end_s``."""
    with project.write() as session:
        return label_span_in(session, file_id, start_s, end_s, value, annotator=annotator, note=note)


def label_span_in(session, file_id: int, start_s: float, end_s: float, value: str | None, *, annotator: str,
                  note: str | None = None) -> dict:
    """:func:`label_region` inside the caller's write transaction (a label import writes all rows in one)."""
    record = _current_file(session, file_id)
    start_s, end_s = _checked_span(start_s, end_s, record.duration_s)
    clip, _ = clip_store.add_clip(session, file_id, start_s, end_s)
    event = label_store.add_label(session, clip.id, annotator, value, note=note)
    return {**event_dict(event), "file_id": file_id, "start_s": start_s, "end_s": end_s}


def move_region(project: Project, clip_id: int, start_s: float, end_s: float, *, annotator: str) -> list[dict]:
    """The annotator's label moved to a new span: the new span labelled, the old one cleared (one transaction).

    Returns [the new span's event, the old clip's clearing event]; the notes name the other span.
    """
    with project.write() as session:
        old = clip_store.get_clip(session, clip_id)
        if old is None:
            raise VoiceStudioError(f"no region with clip id {clip_id}")
        record = _current_file(session, old.file_id)
        history = label_store.label_history(session, clip_id, annotator)
        current = history[-1] if history and history[-1].value is not None else None
        if current is None:
            raise VoiceStudioError(f"{annotator} has no label on clip {clip_id} to move")
        start_s, end_s = _checked_span(start_s, end_s, record.duration_s)
        clip, _ = clip_store.add_clip(session, old.file_id, start_s, end_s)
        if clip.id == clip_id:
            return []
        moved = label_store.add_label(session, clip.id, annotator, current.value,
                                      note=f"moved from {old.start_s:.3f}-{old.end_s:.3f} s (clip {clip_id})")
        cleared = label_store.add_label(session, clip_id, annotator, None,
                                        note=f"moved to {start_s:.3f}-{end_s:.3f} s (clip {clip.id})")
        return [{**event_dict(moved), "file_id": old.file_id, "start_s": start_s, "end_s": end_s},
                {**event_dict(cleared), "file_id": old.file_id, "start_s": old.start_s, "end_s": old.end_s}]


def clear_region(project: Project, clip_id: int, *, annotator: str) -> dict:
    """The annotator's label on the region cleared: a new event, the clip and its history stay."""
    with project.write() as session:
        return event_dict(label_store.add_label(session, int(clip_id), annotator, None, note="region cleared"))


# The command line's ``label AUDIO --span START-END VALUE`` ------------------------

_CLOCK = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?|\.\d+)$")


def parse_time(text: str) -> float:
    """Seconds from "95.5", "1:35.5" or "0:01:35.5"."""
    found = _CLOCK.match(text.strip())
    if not found:
        raise VoiceStudioError(f"not a time: {text!r} (use seconds, m:ss.s or h:mm:ss.s)")
    hours, minutes, seconds = found.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def parse_span(text: str) -> tuple[float, float]:
    """``START-END`` (each a time as ``parse_time`` reads it) as seconds."""
    start, sep, end = text.partition("-")
    if not sep:
        raise VoiceStudioError(f"a span is START-END, e.g. 12:31.4-12:35 or 751.4-755, not {text!r}")
    return parse_time(start), parse_time(end)


def label_span_by_path(project: Project, path: str, span: str, value: str, *, annotator: str,
                       note: str | None = None) -> dict:
    """Label a span of an imported recording named by its path (refused when the file changed since)."""
    start_s, end_s = parse_span(span)
    stored_value = parse_value(value)
    with project.session() as session:
        found = clip_store.clips_for_path(session, pathmap.active().stored(path))
        if not found:
            raise VoiceStudioError(f"{path}: not in the project (import it first)")
        source = check_source(found[0])  # the label is for the audio at that path now
        if source.status == CHANGED:
            raise VoiceStudioError(f"{path}: {source.reason}")
        file_id = found[0].file_id
    return label_region(project, file_id, start_s, end_s, stored_value, annotator=annotator, note=note)
