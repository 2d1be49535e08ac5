"""The window's state without the window: the open project, its model and threshold, the clip
shown, the labelling session, and what each change touched.

Every change the window makes or learns of -- a label written here or by another program, new
scores, another model, a threshold, a table read again -- goes through a ``Session`` method that
returns a ``Changes`` value; the window fans that one value out to the list, the views, the
audit and the status bar (Anki's ``aqt/operations``). Nothing here imports Qt, so the rules
(which threshold is remembered, which events were already merged) are tested without a window.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from voicestudio.dataset.cliptable import ClipTable, ComparedModels, QueueRequest
from voicestudio.dataset.workspace import Changes as EventFeed
from voicestudio.dataset.workspace import ModelChoice, Workspace
from voicestudio.settings import Settings

LOOKBACK_EVENTS = 200  # event ids re-read each time: PostgreSQL may commit ids out of order


@dataclass(frozen=True)
class Changes:
    """What one change touched; ``a | b`` merges two."""

    labels: frozenset[int] = frozenset()  # clips whose labels changed
    rows: frozenset[int] = frozenset()  # their rows in the table, to redraw
    scores: bool = False  # scores of any number of clips
    table: bool = False  # the whole table was read again (import, refresh)
    model: bool = False  # another model: scores and threshold follow
    threshold: bool = False
    elsewhere: bool = False  # written by another program or annotator

    def __or__(self, other: "Changes") -> "Changes":
        return Changes(self.labels | other.labels, self.rows | other.rows, self.scores or other.scores,
                       self.table or other.table, self.model or other.model, self.threshold or other.threshold,
                       self.elsewhere or other.elsewhere)

    def __bool__(self) -> bool:
        return bool(self.labels or self.rows or self.scores or self.table or self.model or self.threshold)



@dataclass
class SessionProgress:
    """Labels made since the window opened, and the rate per hour."""

    labelled: int = 0
    started: float = field(default_factory=time.monotonic)

    def rate_per_hour(self) -> float:
        hours = (time.monotonic() - self.started) / 3600
        return self.labelled / hours if hours > 1 / 360 else 0.0  # no rate in the first 10 s


class ChangeTracker:
    """Label events other programs write, each merged into the table once.

    The window reads events from ``since()`` on; ids up to LOOKBACK_EVENTS back are read again
    because PostgreSQL may commit a lower id after a higher one.
    """

    def __init__(self, last_id: int = 0):
        self.seen: set[int] = set()
        self.newest = last_id

    def since(self) -> int:
        return max(0, self.newest - LOOKBACK_EVENTS)

    def mark_seen(self, event_id: int) -> None:
        self.seen.add(event_id)

    def merge(self, table: ClipTable, feed: EventFeed) -> Changes | None:
        """The events not seen yet, recorded in ``table``; None when clips were added or replaced
        elsewhere (read the whole project again)."""
        newest_clip = int(table.ids.max()) if len(table) else 0
        if feed.clips != len(table) or feed.newest_clip != newest_clip:
            return None
        before: dict[int, dict] = {}  # each touched row's votes as they were
        touched: dict[int, int] = {}  # row -> clip id
        for event_id, clip_id, annotator, value in feed.events:
            if event_id in self.seen:
                continue
            self.seen.add(event_id)
            row = table.row_of(clip_id)
            if row is not None and row not in before:
                before[row] = dict(table.votes.get(row, {}))
            if table.record(clip_id, annotator, event_id, value) is not None:
                touched[row] = clip_id
        if feed.events:
            self.newest = max(self.newest, feed.events[-1][0])
            self.seen = {i for i in self.seen if i > self.newest - 2 * LOOKBACK_EVENTS}
        # Events the table already held (the look-back after opening re-reads the project's latest
        # ones, this annotator's included) leave their rows as they were: not news from elsewhere.
        changed = {row: clip for row, clip in touched.items() if table.votes.get(row, {}) != before[row]}
        return Changes(labels=frozenset(changed.values()), rows=frozenset(changed), elsewhere=True)


class Session:
    """One open project as the window works on it."""

    def __init__(self, ws: Workspace, settings: Settings):
        self.ws = ws
        self.settings = settings
        self.threshold = 0.5
        self.current_clip_id: int | None = None
        self.progress = SessionProgress()
        self.tracker = ChangeTracker()
        ws.table.annotator = settings.annotator

    @property
    def project(self):
        return self.ws.project

    @property
    def table(self) -> ClipTable:
        return self.ws.table

    @property
    def model(self) -> ModelChoice:
        return self.ws.model

    @property
    def detector(self):
        return self.ws.model.detector

    def use_model(self, model: ModelChoice) -> Changes:
        """Another model: its scores, and the remembered threshold or else its card's."""
        self.ws.model = model
        self.ws.table.set_scores(model.scores)
        self.threshold = self.settings.threshold if self.settings.threshold is not None else model.threshold
        return Changes(model=True, scores=True, threshold=True)

    def set_threshold(self, value: float) -> Changes:
        """A new decision threshold, remembered only when it differs from the card's (so a new
        model brings its own)."""
        self.threshold = float(value)
        card = self.model.threshold if self.detector is not None else None
        self.settings.threshold = None if card is not None and abs(self.threshold - card) < 1e-9 else self.threshold
        return Changes(threshold=True)

    def queue_request(self, queue: str, text: str = "", consensus: str = "") -> QueueRequest:
        return QueueRequest(queue, self.threshold, self.settings.uncertain_margin, text.strip(), consensus)

    def set_annotator(self, name: str) -> None:
        self.settings.annotator = name
        self.ws.table.annotator = name

    def record_label(self, event: dict, *, made_here: bool) -> Changes:
        """A label event this window wrote (or undid) is in the database: record it in the table."""
        self.tracker.mark_seen(event["event_id"])
        row = self.table.record(event["clip_id"], event["annotator"], event["event_id"], event["value"])
        if made_here:
            self.progress.labelled += 1
        return Changes(labels=frozenset({event["clip_id"]}), rows=frozenset({row} if row is not None else ()))

    def record_undo(self, event: dict) -> Changes:
        self.progress.labelled = max(0, self.progress.labelled - 1)
        return self.record_label(event, made_here=False)

    def set_scores(self, scores: dict[int, float]) -> Changes:
        self.table.set_scores(scores)
        return Changes(scores=True)

    def show_comparison(self, comparison: ComparedModels | None) -> Changes:
        """Two models' score columns and their disagreement queue (None: back to one model)."""
        self.table.set_comparison(comparison)
        return Changes(scores=True)

    def set_score(self, clip_id: int, score: float) -> Changes:
        """One clip was just scored (opened, or its long recording predicted)."""
        row = self.table.row_of(clip_id)
        if row is None or self.table.score[row] == score:
            return Changes()
        self.table.score[row] = score
        return Changes(rows=frozenset({row}))

    def replace_table(self, table: ClipTable, *, last_event_id: int | None = None) -> Changes:
        """The whole project read again; with ``last_event_id``, events up to it are in the table."""
        table.annotator = self.settings.annotator
        table.set_comparison(self.table.comparison)  # a comparison shown stays shown over the new table
        self.ws.table = table
        if last_event_id is not None:
            self.tracker = ChangeTracker(last_event_id)
        return Changes(table=True)

    def merge_elsewhere(self, feed: EventFeed) -> Changes | None:
        """Labels other programs wrote (None: clips changed too, read the whole project again)."""
        return self.tracker.merge(self.table, feed)
