"""Every clip of a project as columns, and the labelling queues over them.

The window's clip list is a view over a ``ClipTable``: one query per column
loads a project (100,000 clips in well under a second), a label updates one row
in place, and a queue is an array of row numbers computed with numpy. Nothing
here imports Qt.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace

import numpy as np
from sqlalchemy import func, select

from voicestudio.dataset.consensus import Consensus, consensus_codes
from voicestudio.store.clips import current_clips
from voicestudio.store.predictions import clip_scores
from voicestudio.store.schema import AudioFile, Clip, LabelEvent

# Label codes in the ``label`` and ``mine`` columns.
NO_LABEL, HUMAN, NONHUMAN, UNSURE = 0, 1, 2, 3
CODES = {None: NO_LABEL, "human": HUMAN, "nonhuman": NONHUMAN, "unsure": UNSURE}
VALUES = {code: value for value, code in CODES.items()}

# Confusion-matrix cells of the model against the labels (positive = human).
CELLS = ("tp", "fp", "fn", "tn")
QUEUE_NAMES = ("unlabelled", "uncertain", "disagreements", "mistakes", "conflicts", "all", *CELLS)
# While two models are compared (``ClipTable.set_comparison``): clips where their decisions differ,
# the largest score gap first. Not in QUEUE_NAMES: it exists only while a comparison is shown.
MODELS_DISAGREE = "models_disagree"
# The compared models' scores sit beside the label: a narrow list still shows name, label, A and B.
COLUMNS = ("name", "duration", "label", "score_a", "score_b", "annotators", "score", "disagreement", "start", "note")
COMPARE_COLUMNS = ("score_a", "score_b")  # empty (NaN) unless a comparison is shown
# Not a column: sorting by it puts a recording's segments together, in time order.
RECORDING_ORDER = "recording"
# Disagreement codes: the model vs the current label, annotators among themselves.
AGREE, MODEL_DISAGREES, ANNOTATORS_DISAGREE = 0, 1, 2


@dataclass(frozen=True)
class ComparedModels:
    """Two models' stored scores, shown beside the clips while their comparison is."""

    name_a: str
    name_b: str
    threshold_a: float  # each model decides at its own card threshold, as the comparison does
    threshold_b: float
    scores_a: dict[int, float]  # clip id -> score, every clip the model scored
    scores_b: dict[int, float]
    compared: frozenset[int] = frozenset()  # the clips the comparison counted (labelled, in its split)


@dataclass
class ClipTable:
    """Columns, one row per clip, in path/start order."""

    ids: np.ndarray  # int64 clip ids
    paths: list[str]
    starts: np.ndarray  # float64 seconds
    ends: np.ndarray
    label: np.ndarray  # int8 code: the most recent current label of anyone
    mine: np.ndarray  # int8 code: this annotator's current label
    n_annotators: np.ndarray  # int32: annotators with a current label
    score: np.ndarray  # float64; NaN = not scored by the model
    annotator: str = ""
    # Per labelled row: {annotator: (event id, value)}; kept to update a row without a query.
    votes: dict[int, dict[str, tuple[int, str]]] = field(default_factory=dict)
    # Per labelled row: {annotator: note} of the event in ``votes`` (undo events and empty notes left out).
    notes: dict[int, dict[str, str]] = field(default_factory=dict)
    _row_of: dict[int, int] = field(default_factory=dict, repr=False)
    # The comparison shown (None: none): its two score columns and which rows it counted.
    comparison: ComparedModels | None = None
    score_a: np.ndarray | None = None  # float64 per row; NaN = not scored by model A
    score_b: np.ndarray | None = None
    in_comparison: np.ndarray | None = None  # bool per row

    def __len__(self) -> int:
        return len(self.ids)

    def row_of(self, clip_id: int) -> int | None:
        if not self._row_of:
            self._row_of = {int(c): i for i, c in enumerate(self.ids)}
        return self._row_of.get(int(clip_id))

    def name(self, row: int) -> str:
        """The file's name; a segment of a longer recording puts its start first ("12:31.4 field.wav"),
        so the segments of one recording read apart when the name is cut short."""
        name = os.path.basename(self.paths[row])
        if self.starts[row] > 0 or self._is_part(row):
            return f"{clock_text(float(self.starts[row]))} {name}"
        return name

    def start_text(self, row: int) -> str:
        """The Start column: where a segment begins in its recording ("" for a whole file)."""
        return clock_text(float(self.starts[row])) if self.starts[row] > 0 or self._is_part(row) else ""

    def note(self, row: int) -> str:
        """The Note column: the note of the label the Label column shows (the latest annotator's)."""
        votes = self.votes.get(row)
        if not votes:
            return ""
        who = max(votes, key=lambda name: votes[name])
        return self.notes.get(row, {}).get(who, "")

    def _is_part(self, row: int) -> bool:
        """A segment of a longer file (its neighbour shares the path)."""
        path = self.paths[row]
        return (row + 1 < len(self.paths) and self.paths[row + 1] == path) or (row > 0 and self.paths[row - 1] == path)

    @property
    def durations(self) -> np.ndarray:
        return self.ends - self.starts

    def snapshot(self) -> "ClipTable":
        """A copy another thread can read while this one takes new labels and scores."""
        return replace(self, label=self.label.copy(), mine=self.mine.copy(), n_annotators=self.n_annotators.copy(),
                       score=self.score.copy(), votes={row: dict(v) for row, v in self.votes.items()},
                       notes={row: dict(n) for row, n in self.notes.items()}, _row_of=self._row_of)

    # Updates ------------------------------------------------------------------
    def record(self, clip_id: int, annotator: str, event_id: int, value: str | None) -> int | None:
        """Apply one new label event to its row; returns the row (None if the clip is not here)."""
        row = self.row_of(clip_id)
        if row is None:
            return None
        votes = self.votes.setdefault(row, {})
        if annotator in votes and votes[annotator][0] > event_id:
            return row  # an older event than the one shown (read again by a refresh)
        if annotator in votes and votes[annotator][0] != event_id:
            # The note went with the replaced event; set_note brings the new event's.
            self.notes.get(row, {}).pop(annotator, None)
        if value is None:
            votes.pop(annotator, None)
        else:
            votes[annotator] = (event_id, value)
        self._refresh_row(row)
        return row

    def set_note(self, clip_id: int, annotator: str, event_id: int, note: str | None) -> int | None:
        """The note of a label event ``record`` took; ignored unless that event is still the annotator's
        current one. Returns the row."""
        row = self.row_of(clip_id)
        if row is None or self.votes.get(row, {}).get(annotator, (None,))[0] != event_id:
            return None
        if note:
            self.notes.setdefault(row, {})[annotator] = note
        else:
            self.notes.get(row, {}).pop(annotator, None)
        return row

    def _refresh_row(self, row: int) -> None:
        votes = self.votes.get(row, {})
        latest = max(votes.values(), default=None)
        self.label[row] = CODES[latest[1]] if latest else NO_LABEL
        self.mine[row] = CODES[votes[self.annotator][1]] if self.annotator in votes else NO_LABEL
        self.n_annotators[row] = len(votes)

    def set_scores(self, scores: dict[int, float]) -> None:
        """Replace the model score column (clips missing from ``scores`` become unscored)."""
        self.score[:] = np.nan
        for clip_id, value in scores.items():
            row = self.row_of(clip_id)
            if row is not None:
                self.score[row] = value

    def set_comparison(self, comparison: ComparedModels | None) -> None:
        """Show two models' scores beside the clips (None: no comparison, the columns go)."""
        self.comparison = comparison
        if comparison is None:
            self.score_a = self.score_b = self.in_comparison = None
            return
        columns = []
        for scores in (comparison.scores_a, comparison.scores_b):
            column = np.full(len(self), np.nan)
            for clip_id, value in scores.items():
                row = self.row_of(clip_id)
                if row is not None:
                    column[row] = value
            columns.append(column)
        self.score_a, self.score_b = columns
        self.in_comparison = np.zeros(len(self), bool)
        rows = [self.row_of(c) for c in comparison.compared]
        self.in_comparison[[r for r in rows if r is not None]] = True

    def models_disagree(self) -> np.ndarray:
        """Rows the comparison counted where A and B decide differently, the largest score gap first."""
        if self.comparison is None:
            return np.zeros(0, np.int64)
        c = self.comparison
        candidates = np.flatnonzero(self.in_comparison & ~np.isnan(self.score_a) & ~np.isnan(self.score_b))
        differ = candidates[(self.score_a[candidates] >= c.threshold_a) != (self.score_b[candidates] >= c.threshold_b)]
        gap = np.abs(self.score_a[differ] - self.score_b[differ])
        return differ[np.argsort(-gap, kind="stable")]

    # Derived columns --------------------------------------------------------
    def disagreement(self, threshold: float) -> np.ndarray:
        """Per row: AGREE, MODEL_DISAGREES (label vs model at ``threshold``) or ANNOTATORS_DISAGREE."""
        result = np.full(len(self), AGREE, np.int8)
        scored = ~np.isnan(self.score)
        predicted_human = np.zeros(len(self), bool)
        predicted_human[scored] = self.score[scored] >= threshold
        decided = scored & ((self.label == HUMAN) | (self.label == NONHUMAN))
        result[decided & ((self.label == HUMAN) != predicted_human)] = MODEL_DISAGREES
        for row in self.votes:
            if self._annotators_disagree(row):
                result[row] = ANNOTATORS_DISAGREE
        return result

    def row_disagreement(self, row: int, threshold: float) -> int:
        """``disagreement`` of one row, without computing the column."""
        if self._annotators_disagree(row):
            return ANNOTATORS_DISAGREE
        score, label = self.score[row], int(self.label[row])
        if np.isnan(score) or label not in (HUMAN, NONHUMAN):
            return AGREE
        return MODEL_DISAGREES if (label == HUMAN) != (score >= threshold) else AGREE

    def _annotators_disagree(self, row: int) -> bool:
        return len({v for _, v in self.votes.get(row, {}).values() if v != "unsure"}) > 1


def load_clip_table(session, *, annotator: str = "", model_id: int | None = None) -> ClipTable:
    """Every current clip of the project (not those of replaced recordings) with its labels and
    (given ``model_id``) the model's scores."""
    rows = session.execute(
        current_clips(select(Clip.id, AudioFile.path, Clip.start_s, Clip.end_s))
        .order_by(AudioFile.path, Clip.start_s, Clip.id)
    ).all()
    n = len(rows)
    table = ClipTable(
        ids=np.fromiter((r[0] for r in rows), np.int64, n),
        paths=[r[1] for r in rows],
        starts=np.fromiter((r[2] for r in rows), np.float64, n),
        ends=np.fromiter((r[3] for r in rows), np.float64, n),
        label=np.zeros(n, np.int8),
        mine=np.zeros(n, np.int8),
        n_annotators=np.zeros(n, np.int32),
        score=np.full(n, np.nan),
        annotator=annotator,
    )
    latest = select(func.max(LabelEvent.id)).group_by(LabelEvent.clip_id, LabelEvent.annotator)
    events = session.execute(
        select(LabelEvent.clip_id, LabelEvent.annotator, LabelEvent.id, LabelEvent.value, LabelEvent.note,
               LabelEvent.undoes_id)
        .where(LabelEvent.id.in_(latest), LabelEvent.value.is_not(None))
    )
    for clip_id, who, event_id, value, note, undoes_id in events:
        row = table.row_of(clip_id)
        if row is not None:
            table.votes.setdefault(row, {})[who] = (event_id, value)
            if note and undoes_id is None:  # an undo's note is bookkeeping ("undo of event 12")
                table.notes.setdefault(row, {})[who] = note
    for row in table.votes:
        table._refresh_row(row)
    if model_id is not None:
        table.set_scores(clip_scores(session, model_id))
    return table


@dataclass(frozen=True)
class QueueRequest:
    name: str = "unlabelled"
    threshold: float = 0.5
    uncertain_margin: float = 0.15
    text: str = ""  # the filter box: words of the file name and folder, label:, note:, path: (row_filter)
    consensus: Consensus = Consensus()  # which label the model is judged against


def cells(table: ClipTable, threshold: float, truth: np.ndarray) -> np.ndarray:
    """Per row: the index in ``CELLS`` of its confusion cell, or -1 (unscored, or no human/nonhuman label)."""
    result = np.full(len(table), -1, np.int8)
    decided = ~np.isnan(table.score) & ((truth == HUMAN) | (truth == NONHUMAN))
    said_human = np.zeros(len(table), bool)
    said_human[decided] = table.score[decided] >= threshold
    is_human = truth == HUMAN
    for index, (label_human, model_human) in enumerate(((True, True), (False, True), (True, False), (False, False))):
        result[decided & (is_human == label_human) & (said_human == model_human)] = index
    return result


def conflict_rows(table: ClipTable) -> np.ndarray:
    """Rows whose annotators gave different labels (unsure aside), in path order."""
    return np.array(sorted(row for row in table.votes if table._annotators_disagree(row)), np.int64)


def queue_rows(table: ClipTable, request: QueueRequest) -> np.ndarray:
    """Row numbers of the queue, in the order it is worked through.

    unlabelled: clips this annotator has not labelled, in path order.
    uncertain: scored clips within ``uncertain_margin`` of the threshold, closest first.
    mistakes: the model contradicts the label (most confident mistakes first).
    conflicts: clips whose annotators disagree.
    disagreements: mistakes, then conflicts.
    tp, fp, fn, tn: a cell of the confusion matrix; mistakes most confident
    first, right answers closest to the threshold first.
    all: every clip, in path order.
    models_disagree: while two models are compared, the clips the comparison counted where
    their decisions differ, the largest score gap first.
    """
    if request.name not in QUEUE_NAMES and request.name != MODELS_DISAGREE:
        raise ValueError(f"unknown queue {request.name!r}: one of {', '.join(QUEUE_NAMES)}")
    everything = np.arange(len(table))
    distance = np.abs(table.score - request.threshold)
    if request.name == MODELS_DISAGREE:
        rows = table.models_disagree()
    elif request.name == "all":
        rows = everything
    elif request.name == "unlabelled":
        rows = everything[table.mine == NO_LABEL]
    elif request.name == "uncertain":
        near = np.flatnonzero(distance <= request.uncertain_margin)  # NaN compares False: unscored left out
        rows = near[np.argsort(distance[near], kind="stable")]
    elif request.name == "conflicts":
        rows = conflict_rows(table)
    else:
        cell = cells(table, request.threshold, consensus_codes(table, request.consensus))
        if request.name in CELLS:
            rows = np.flatnonzero(cell == CELLS.index(request.name))
            wrong = request.name in ("fp", "fn")
        else:
            rows = np.flatnonzero((cell == CELLS.index("fp")) | (cell == CELLS.index("fn")))
            wrong = True
        rows = rows[np.argsort(-distance[rows] if wrong else distance[rows], kind="stable")]
        if request.name == "disagreements":
            conflicts = conflict_rows(table)
            rows = np.concatenate([rows, conflicts[~np.isin(conflicts, rows)]])
    if request.text:
        rows = rows[row_filter(table, rows, request.text)]
    return rows.astype(np.int64)


def clock_text(seconds: float, decimals: int = 1) -> str:
    """A time in a recording as a clock: "0:05.0", "12:31.4", "1:02:05.5" (``decimals`` after the second)."""
    scale = 10**decimals
    minutes, rest = divmod(int(round(seconds * scale)), 60 * scale)
    hours, minutes = divmod(minutes, 60)
    secs = f"{rest / scale:0{3 + decimals if decimals else 2}.{decimals}f}"
    return f"{hours}:{minutes:02d}:{secs}" if hours else f"{minutes}:{secs}"


def common_folder(paths: list[str]) -> str:
    """The deepest folder holding every path ("" for none): what the filter's folders are relative to."""
    folders = {os.path.dirname(p) for p in paths}
    if not folders:
        return ""
    try:
        return os.path.commonpath(list(folders))
    except ValueError:  # relative and absolute paths mixed, or different drives
        return ""


# What people type after label: in the filter box, mapped to label codes.
FILTER_LABELS = {"human": HUMAN, "h": HUMAN, "voice": HUMAN, "nonhuman": NONHUMAN, "non-human": NONHUMAN,
                 "n": NONHUMAN, "unsure": UNSURE, "u": UNSURE, "none": NO_LABEL, "unlabelled": NO_LABEL,
                 "unlabeled": NO_LABEL}
FILTER_SYNTAX = ("Words match the file name and its folder; path:TEXT matches the whole path;\n"
                 "label:human / nonhuman / unsure / none (unlabelled) keeps clips with that label;\n"
                 "note:TEXT keeps clips whose note contains TEXT (note: alone, any note); quote text with spaces:\n"
                 "note:\"too quiet\". Terms combine: label:human note:car street")
_TERM = re.compile(r'(?:(label|note|path):)?(?:"([^"]*)"?|(\S+))?', re.IGNORECASE)


@dataclass(frozen=True)
class ClipFilter:
    """The filter box's text, parsed: every term must match (several label: terms, any of them)."""

    words: tuple[str, ...] = ()  # in the file name and its folder below the project's folder
    paths: tuple[str, ...] = ()  # in the whole path
    labels: tuple[int, ...] = ()  # label codes (an unknown value matches nothing)
    notes: tuple[str, ...] = ()  # in the note ("" = any note)
    by_label: bool = False


def parse_filter(text: str) -> ClipFilter:
    """``label:human note:"too quiet" street`` -> ClipFilter(words=("street",), labels=(HUMAN,), notes=(...))."""
    words, paths, labels, notes, by_label = [], [], [], [], False
    for match in _TERM.finditer(text.strip()):
        key, quoted, word = match.group(1), match.group(2), match.group(3)
        value = (quoted if quoted is not None else word or "").strip().lower()
        if key is None and not value:
            continue
        key = (key or "").lower()
        if key == "label":
            by_label = True
            if value in FILTER_LABELS:
                labels.append(FILTER_LABELS[value])
            elif not value:
                by_label = False  # "label:" half typed: no filter yet
        elif key == "note":
            notes.append(value)
        elif key == "path":
            if value:
                paths.append(value)
        else:
            words.append(value)
    return ClipFilter(tuple(words), tuple(paths), tuple(labels), tuple(notes), by_label)


def row_filter(table: ClipTable, rows: np.ndarray, text: str) -> np.ndarray:
    """A boolean mask over ``rows``: those the filter box's ``text`` keeps (see ``FILTER_SYNTAX``)."""
    wanted = parse_filter(text)
    keep = np.ones(len(rows), bool)
    if wanted.by_label:
        keep &= np.isin(table.label[rows], wanted.labels)
    root = common_folder(table.paths) if wanted.words else ""
    # Words skip the folder above every clip: "voice" must not match every clip under .../voicestudio/.
    skip = len(root.rstrip("/\\")) + 1 if root else 0
    for i in np.flatnonzero(keep) if (wanted.words or wanted.paths or wanted.notes) else ():
        row = int(rows[i])
        path = table.paths[row].lower()
        below = path[skip:]
        note = table.note(row).lower() if wanted.notes else ""
        keep[i] = (all(w in below for w in wanted.words) and all(p in path for p in wanted.paths)
                   and all((n in note) if n else bool(note) for n in wanted.notes))
    return keep


# Queues whose rows depend on the threshold; the others keep their rows when it moves.
THRESHOLD_QUEUES = frozenset({"uncertain", "mistakes", "disagreements", *CELLS})


def sort_rows(table: ClipTable, rows: np.ndarray, column: str, descending: bool, threshold: float) -> np.ndarray:
    """``rows`` ordered by a column (stable, so equal keys keep queue order)."""
    if column == RECORDING_ORDER:
        # Grouped: each recording's segments together, in time order (stable: a sort, not a tree).
        order = sorted(range(len(rows)), key=lambda i: (table.paths[rows[i]], table.starts[rows[i]]))
        keys = np.empty(len(rows), np.int64)
        keys[order] = np.arange(len(rows))
    elif column == "start":
        # Whole files (no start shown) sort before every segment.
        parts = np.fromiter((bool(table.start_text(int(r))) for r in rows), bool, len(rows))
        keys = np.where(parts, table.starts[rows], -1.0)
    elif column == "note":
        notes = [table.note(int(row)).lower() for row in rows]
        order = sorted(range(len(rows)), key=lambda i: (notes[i] == "", notes[i]))  # clips without a note last
        keys = np.empty(len(rows), np.int64)
        keys[order] = np.arange(len(rows))
    elif column == "name":
        # The file, then where in it: a recording's segments stay together, in time order.
        order = sorted(range(len(rows)), key=lambda i: (os.path.basename(table.paths[rows[i]]).lower(),
                                                         table.starts[rows[i]]))
        keys = np.empty(len(rows), np.int64)
        keys[order] = np.arange(len(rows))
    elif column == "duration":
        keys = table.durations[rows]
    elif column == "label":
        keys = table.label[rows]
    elif column == "annotators":
        keys = table.n_annotators[rows]
    elif column == "score":
        keys = np.nan_to_num(table.score[rows], nan=-1.0)
    elif column in COMPARE_COLUMNS:
        values = getattr(table, column)
        keys = np.full(len(rows), -1.0) if values is None else np.nan_to_num(values[rows], nan=-1.0)
    elif column == "disagreement":
        keys = table.disagreement(threshold)[rows]
    else:
        raise ValueError(f"unknown column {column!r}")
    keys = np.asarray(keys, np.float64)
    return rows[np.argsort(-keys if descending else keys, kind="stable")]
