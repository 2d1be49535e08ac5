"""Regions in and out of the label files other tools write: Audacity, Raven Pro, Praat, a segment CSV, RTTM.

Each labelled span becomes a region of its recording (``regions.label_span_in``, all rows in one transaction:
the segment clip of that span, made or reused, with the label). Per-recording
formats (an Audacity label track, a Raven selection table, a TextGrid) describe
one recording: the one given, else the project's recording with the file's stem
beside it (``talk.txt``, ``talk.TextGrid``, ``talk.Table.1.selections.txt`` ->
``talk.wav``). A segment CSV names each row's recording (relative to the CSV);
an RTTM names it by its file id, matched to the recordings' file stems.

Label names become values through ``--map`` (``Speech=human``, case-insensitive,
``*=human`` for any other name) or ``labels.parse_value``'s spellings; any other
name is reported on its row, never guessed. A bad row (no number, a span that is
not one, an unknown label) fails alone, named by its line; what is not a region
(an Audacity point label, a Raven row repeated for a second view, an empty
TextGrid interval) is skipped, the first with a note.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from voicestudio import pathmap
from voicestudio.annotators import AnnotatorError, check_annotator, shown
from voicestudio.dataset import segment_files
from voicestudio.dataset.labels import parse_value
from voicestudio.dataset.regions import Region, label_span_in, regions_in
from voicestudio.dataset.sourcecheck import CHANGED, check_source
from voicestudio.errors import VoiceStudioError
from voicestudio.outputs import check_output_file, write_output_text
from voicestudio.store import clips as clip_store
from voicestudio.store.projectfiles import ProjectFiles
from voicestudio.store.schema import AudioFile

FORMATS = ("audacity", "raven", "textgrid", "segments-csv", "rttm")
PER_RECORDING = ("audacity", "raven", "textgrid")
SUFFIXES = {"audacity": ".txt", "raven": ".selections.txt", "textgrid": ".TextGrid", "segments-csv": ".csv",
            "rttm": ".rttm"}
# Tier names a TextGrid's speech annotation usually has (the default tier when there are several).
SPEECH_TIERS = ("speech", "voice", "vad", "label", "labels")
RAVEN_TABLE_TAIL = re.compile(r"\.Table\.\d+\.selections$|\.selections$", re.IGNORECASE)
# Raven's own columns: anything else (or a column with a unit, a measurement) may be the annotation.
RAVEN_STANDARD = {"selection", "view", "channel", "begin time (s)", "end time (s)", "low freq (hz)",
                  "high freq (hz)", "begin path", "end path", "begin file", "end file", "file offset (s)",
                  "begin clock time", "end clock time", "begin date", "end date", "begin date time",
                  "delta time (s)", "delta freq (hz)", "annotator", "sound files"}


_ALL_S = 1e15  # "to the end of any recording", as a bound SQL takes on every database


class RegionUsageError(VoiceStudioError):
    """Options that make no sense for the file or format (the command line exits 2)."""


# Reading ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RegionRow:
    """One labelled span read from a file, before it is matched to a recording."""

    line: int
    start_s: float
    end_s: float
    label: str
    recording: str | None = None  # an absolute path, or None: the recording the file is for
    uri: str | None = None  # RTTM: the recording's file stem
    annotator: str | None = None


@dataclass
class RowsRead:
    rows: list[RegionRow] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)

    def fail(self, line: int, problem) -> None:
        self.failures.append((line, f"line {line}: {problem}"))


def guess_format(path) -> str | None:
    """The label format a file's name (and, for ``.txt``, its first line) says, or None.

    ``csv`` and ``labelstudio`` are the clip-level formats of ``interchange``; a
    segment CSV is told apart only by ``--format segments-csv``.
    """
    name = str(path).lower()
    if name.endswith(".textgrid"):
        return "textgrid"
    if name.endswith(".rttm"):
        return "rttm"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".json"):
        return "labelstudio"
    if name.endswith(".selections.txt"):
        return "raven"
    if name.endswith(".txt"):
        try:
            with open(path, "rb") as handle:
                first = handle.readline(4096).decode("utf-8", "replace").lower()
        except OSError:
            first = ""
        return "raven" if "begin time (s)" in first else "audacity"
    return None


def _decoded(path: Path) -> str:
    """The file's text: UTF-16 with a byte-order mark (Praat's choice for non-ASCII text), else UTF-8.

    Praat's older "try ISO Latin-1" preference wrote Latin-1: a TextGrid that is
    not UTF-8 is read as that.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VoiceStudioError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data[:2] in (b"\xfe\xff", b"\xff\xfe"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise VoiceStudioError(f"{path}: not readable as UTF-16 text") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if path.suffix.lower() == ".textgrid":
            return data.decode("latin-1")
        raise VoiceStudioError(f"{path}: not a UTF-8 or UTF-16 text file") from None


def _seconds(text: str, name: str) -> float:
    try:
        number = float(text.strip())
    except ValueError:
        raise VoiceStudioError(f"{name} must be a number of seconds, not {shown(text)}") from None
    if not math.isfinite(number):
        raise VoiceStudioError(f"{name} {shown(text)} is not a finite number of seconds")
    return number


def _span(start: float, end: float) -> tuple[float, float]:
    if start < 0:
        raise VoiceStudioError(f"start {start:g} s is before the recording starts")
    if end < start:
        raise VoiceStudioError(f"end {end:g} s is before start {start:g} s")
    return start, end


def read_audacity(path: Path) -> RowsRead:
    """``start<TAB>end<TAB>label`` lines; the ``\\<TAB>low<TAB>high`` lines of spectral selections are skipped."""
    read = RowsRead()
    for number, line in enumerate(_decoded(path).splitlines(), 1):
        if not line.strip() or line.startswith("\\"):
            continue
        fields = line.split("\t", 2)
        try:
            if len(fields) < 2:
                raise VoiceStudioError("expected start<TAB>end<TAB>label")
            start, end = _span(_seconds(fields[0], "start"), _seconds(fields[1], "end"))
        except VoiceStudioError as exc:
            read.fail(number, exc)
            continue
        label = fields[2] if len(fields) > 2 else ""
        if start == end:
            read.skipped.append((number, f"line {number}: a point label at {start:g} s, not a region; skipped"))
            continue
        read.rows.append(RegionRow(number, start, end, label))
    return read


def raven_default_column(header: list[str]) -> str | None:
    return next((name for name in header if name.strip().lower() not in RAVEN_STANDARD and "(" not in name), None)


def read_raven(path: Path, column: str | None = None) -> RowsRead:
    """A Raven Pro selection table: one region per selection (the Waveform and Spectrogram rows are one).

    ``column`` names the annotation column (default: the first column that is
    not Raven's own). Rows that name their file (``Begin Path``, ``Begin File``)
    are for that file, at ``File Offset (s)`` when given.
    """
    lines = _decoded(path).splitlines()
    read = RowsRead()
    if not lines:
        return read
    header = lines[0].split("\t")
    index = {name.strip().lower(): i for i, name in enumerate(header)}
    if "begin time (s)" not in index or "end time (s)" not in index:
        raise VoiceStudioError(f"{path}: not a Raven selection table (no 'Begin Time (s)' and 'End Time (s)' columns)")
    if column is not None:
        if column.strip().lower() not in index:
            raise RegionUsageError(f"{path}: no column {shown(column)} (columns: {', '.join(header)})")
        label_at = index[column.strip().lower()]
    else:
        default = raven_default_column(header)
        label_at = index[default.strip().lower()] if default is not None else None
    seen = set()
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        cells = line.split("\t")

        def cell(name: str) -> str:
            at = index.get(name)
            return cells[at].strip() if at is not None and at < len(cells) else ""

        selection = cell("selection") or None
        key = selection or (cell("channel"), cell("begin time (s)"), cell("end time (s)"))
        if key in seen:  # the same selection, written again for another view
            continue
        seen.add(key)
        try:
            start, end = _span(_seconds(cell("begin time (s)"), "Begin Time (s)"),
                               _seconds(cell("end time (s)"), "End Time (s)"))
            if cell("file offset (s)"):
                offset = _seconds(cell("file offset (s)"), "File Offset (s)")
                start, end = _span(offset, offset + (end - start))
        except VoiceStudioError as exc:
            read.fail(number, exc)
            continue
        label = cells[label_at] if label_at is not None and label_at < len(cells) else ""
        named = cell("begin path") or cell("begin file") or None
        read.rows.append(RegionRow(number, start, end, label, recording=named,
                                   annotator=cell("annotator") or None))
    return read


# A Praat text file is a sequence of numbers, "strings" ("" inside is a quote) and <flags>; the labels of
# the long format ("xmin =", "intervals [3]:") and "!" comments are not data.
_PRAAT_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(![^\n]*)|(\[[^\]\n]*\])|(<\w+>)|'
                          r'([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|([A-Za-z_][\w?]*)|(\S)')


@dataclass(frozen=True)
class _Token:
    line: int
    text: str
    string: bool


def _praat_tokens(text: str) -> list[_Token]:
    tokens, line, last = [], 1, 0
    for found in _PRAAT_TOKEN.finditer(text):
        line += text.count("\n", last, found.start())
        last = found.start()
        string, _, _, flag, number, _, _ = found.groups()
        if string is not None:
            tokens.append(_Token(line, string.replace('""', '"'), True))
        elif flag is not None or number is not None:
            tokens.append(_Token(line, flag or number, False))
    return tokens


@dataclass
class _Tier:
    kind: str
    name: str
    intervals: list[tuple[int, str, str, str]]  # (line, xmin, xmax, text) as written


def _praat_tiers(path: Path, text: str) -> list[_Tier]:
    tokens = iter(_praat_tokens(text))

    def take(what: str, string: bool = False) -> _Token:
        token = next(tokens, None)
        if token is None:
            raise VoiceStudioError(f"{path}: the TextGrid ends early (expected {what})")
        if token.string != string:
            raise VoiceStudioError(f"{path}: line {token.line}: expected {what}, not {shown(token.text)}")
        return token

    def count(what: str) -> int:
        token = take(what)
        if not token.text.isdigit() or len(token.text) > 9:
            raise VoiceStudioError(f"{path}: line {token.line}: {what} {shown(token.text)} is not a count")
        return int(token.text)

    # "ooTextFile short" then "TextGrid": the short format's header in Praat before 5.x
    if take("the file type", True).text not in ("ooTextFile", "ooTextFile short") \
            or take("the object class", True).text != "TextGrid":
        raise VoiceStudioError(f"{path}: not a Praat TextGrid text file")
    take("xmin"), take("xmax")
    if take("<exists>").text != "<exists>":
        return []
    tiers = []
    for _ in range(count("the number of tiers")):
        kind, name = take("a tier class", True).text, take("a tier name", True).text
        take("the tier's xmin"), take("the tier's xmax")
        items = []
        for _ in range(count("the number of intervals")):
            if kind == "IntervalTier":
                start = take("an interval's xmin")
                items.append((start.line, start.text, take("an interval's xmax").text, take("a text", True).text))
            else:  # a TextTier's points: a time and a mark
                take("a point's time"), take("a mark", True)
        tiers.append(_Tier(kind, name, items))
    return tiers


def _with_overflow(tier: _Tier, intervals: list[_Tier]) -> list[_Tier]:
    """The tier and the tiers "NAME 2", "NAME 3"... that ``to_textgrid`` writes a name's overlapping regions to."""
    more = re.compile(re.escape(tier.name) + r" \d+")
    return [tier] + [t for t in intervals if more.fullmatch(t.name)]


def choose_tier(path: Path, tiers: list[_Tier], wanted: str | None) -> list[_Tier]:
    """The interval tier named ``wanted`` (exactly, else ignoring case), else the only one, else the one named
    like speech; each with its overflow tiers."""
    intervals = [t for t in tiers if t.kind == "IntervalTier"]
    names = ", ".join(shown(t.name) for t in intervals) or "none"
    if wanted is not None:
        found = [t for t in intervals if t.name == wanted] or \
                [t for t in intervals if t.name.casefold() == wanted.casefold()]
        if not found:
            raise RegionUsageError(f"{path}: no interval tier named {shown(wanted)} (interval tiers: {names})")
        return _with_overflow(found[0], intervals)
    if intervals and len(_with_overflow(intervals[0], intervals)) == len(intervals):
        return intervals
    speech = [t for t in intervals if t.name.strip().lower() in SPEECH_TIERS]
    if len(speech) == 1:
        return _with_overflow(speech[0], intervals)
    raise RegionUsageError(f"{path}: choose a tier with --tier (interval tiers: {names})")


def read_textgrid(path: Path, tier: str | None = None) -> RowsRead:
    """A Praat TextGrid in the long or short text format: the labelled intervals of one interval tier."""
    chosen = choose_tier(path, _praat_tiers(path, _decoded(path)), tier)
    read = RowsRead()
    for line, start, end, text in sorted(item for t in chosen for item in t.intervals):
        if not text.strip():  # the gaps between labelled intervals
            continue
        try:
            read.rows.append(RegionRow(line, *_span(_seconds(start, "xmin"), _seconds(end, "xmax")), text))
        except VoiceStudioError as exc:
            read.fail(line, exc)
    return read


def read_segments_csv(path: Path) -> RowsRead:
    """``path,start_s,end_s,label[,annotator]`` with a header (other columns ignored); paths relative to the CSV."""
    reader = csv.reader(io.StringIO(_decoded(path), newline=""))
    read = RowsRead()
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
    except csv.Error as exc:
        raise VoiceStudioError(f"{path}: line 1: not readable as CSV ({exc})") from None
    missing = [name for name in ("path", "start_s", "end_s", "label") if name not in header]
    if missing:
        raise VoiceStudioError(f"{path}: line 1 must be a header with path,start_s,end_s,label[,annotator] "
                               f"(missing {', '.join(missing)})")
    line = 2
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return read
        except csv.Error as exc:
            read.fail(line, f"not readable as CSV ({exc})")
            line = reader.line_num + 1
            continue
        here, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        record = dict(zip(header, cells))
        try:
            if not record.get("path", "").strip():
                raise VoiceStudioError("no path")
            start, end = _span(_seconds(record.get("start_s", ""), "start_s"),
                               _seconds(record.get("end_s", ""), "end_s"))
        except VoiceStudioError as exc:
            read.fail(here, exc)
            continue
        recording = Path(record["path"].strip()).expanduser()
        read.rows.append(RegionRow(here, start, end, record.get("label", ""),
                                   recording=str(recording if recording.is_absolute() else path.parent / recording),
                                   annotator=(record.get("annotator") or "").strip() or None))


def read_rttm(path: Path) -> RowsRead:
    """``SPEAKER uri channel onset duration <NA> <NA> name <NA> <NA>`` lines (other types skipped)."""
    read = RowsRead()
    for number, line in enumerate(_decoded(path).splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith(("#", ";")):
            continue
        if fields[0] != "SPEAKER":
            read.skipped.append((number, f"line {number}: a {shown(fields[0])} line, not SPEAKER; skipped"))
            continue
        try:
            if len(fields) < 8:
                raise VoiceStudioError("expected SPEAKER uri channel onset duration <NA> <NA> name ...")
            onset, duration = _seconds(fields[3], "onset"), _seconds(fields[4], "duration")
            if duration <= 0:
                raise VoiceStudioError(f"duration {duration:g} s is not a span")
            start, end = _span(onset, onset + duration)
        except VoiceStudioError as exc:
            read.fail(number, exc)
            continue
        read.rows.append(RegionRow(number, start, end, fields[7], uri=fields[1]))
    return read


def read_rows(path: Path, format: str, *, tier: str | None = None) -> RowsRead:
    if tier is not None and format not in ("textgrid", "raven"):
        raise RegionUsageError("--tier is for TextGrid tiers and Raven annotation columns")
    if format == "audacity":
        return read_audacity(path)
    if format == "raven":
        return read_raven(path, tier)
    if format == "textgrid":
        return read_textgrid(path, tier)
    if format == "segments-csv":
        return read_segments_csv(path)
    if format == "rttm":
        return read_rttm(path)
    raise RegionUsageError(f"region format must be one of {', '.join(FORMATS)}, not {format!r}")


# Label names -> values --------------------------------------------------------------------------

def parse_map(text: str | None) -> dict[str, str]:
    """``'Speech=human,Music=nonhuman'`` as {casefolded name: value}; ``*`` stands for any other name."""
    mapping = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip():
            raise RegionUsageError(f"--map takes NAME=VALUE pairs separated by commas, not {shown(item)}")
        try:
            stored = parse_value(value)
        except VoiceStudioError as exc:
            raise RegionUsageError(f"--map {name.strip()}: {exc}") from None
        if stored is None:
            raise RegionUsageError(f"--map {name.strip()}: map to human, nonhuman or unsure, not {shown(value)}")
        mapping[name.strip().casefold()] = stored
    return mapping


def label_value(label: str, mapping: dict[str, str]) -> str:
    key = label.strip().casefold()
    if key in mapping:
        return mapping[key]
    try:
        value = parse_value(label)
    except VoiceStudioError:
        value = None
    if value is None and "*" in mapping:
        return mapping["*"]
    if value is None:  # "clear"/"none" are class names in a tool's file, never an instruction to clear
        raise VoiceStudioError(f"unknown label {shown(label)}: map it with --map "
                               f"{shown((label.strip() or 'NAME') + '=human')} (or nonhuman, unsure)")
    return value


# Matching rows to recordings and writing them ---------------------------------------------------

@dataclass
class RegionsImported:
    format: str
    labelled: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"format": self.format, "labelled": self.labelled, "unchanged": self.unchanged,
                "skipped": self.skipped, "failures": self.failures}


class _Recordings:
    """The project's current recordings, found by path, by folder and stem, or by RTTM file id."""

    def __init__(self, session):
        self.files = list(session.scalars(select(AudioFile).where(clip_store.is_current())))
        self.by_path = {f.path: f for f in self.files}
        self.by_uri: dict[str, list[AudioFile]] = defaultdict(list)
        for record in self.files:
            self.by_uri[segment_files.rttm_uri(record.path)].append(record)
        self.refused: dict[int, str] = {}

    def at(self, path: str) -> AudioFile | None:
        local = os.path.normpath(os.path.abspath(os.path.expanduser(path)))
        return self.by_path.get(path) or self.by_path.get(pathmap.active().stored(local))

    def beside(self, label_file: Path) -> AudioFile:
        """The recording a per-recording label file is for: the same stem, in the same folder."""
        stem = RAVEN_TABLE_TAIL.sub("", label_file.name[: len(label_file.name) - len(label_file.suffix)])
        folder = pathmap.active().stored(str(label_file.parent))
        found = [f for f in self.files if os.path.dirname(f.path) == folder and Path(f.path).stem == stem]
        if len(found) == 1:
            return found[0]
        if not found:
            raise VoiceStudioError(f"no recording {stem}.* beside {label_file} in the project; give --audio AUDIO")
        raise VoiceStudioError(f"{len(found)} recordings named {stem}.* beside {label_file}; give --audio AUDIO")

    def uri(self, uri: str) -> AudioFile:
        found = self.by_uri.get(uri, [])
        if len(found) != 1:
            raise VoiceStudioError(f"file id {shown(uri)}: " + ("no recording of the project has that file stem"
                                   if not found else f"{len(found)} recordings have that file stem; give --audio"))
        return found[0]

    def of_row(self, row: RegionRow, format: str, label_file: Path, given: AudioFile | None,
               fallback: AudioFile | VoiceStudioError | None) -> AudioFile | None:
        """The recording a row is for; None when ``given`` (--audio) is another recording than the row names."""
        if row.uri is not None:  # RTTM
            if given is not None:
                return given if segment_files.rttm_uri(given.path) == row.uri else None
            return self.uri(row.uri)
        if row.recording is not None and format == "raven":
            # Begin Path is often another machine's ("C:\Users\..."): the file name beside the table counts
            name = re.split(r"[\\/]", row.recording)[-1]
            if given is not None:
                return given if Path(given.path).name == name else None
            found = (self.at(row.recording) if os.path.isabs(row.recording) else None) \
                or self.at(str(label_file.parent / name))
            if found is None:
                raise VoiceStudioError(f"{name}: not in the project beside {label_file.name} "
                                       "(import it, or give --audio)")
            return found
        if row.recording is not None:  # a segment CSV
            found = self.at(row.recording)
            if given is not None:
                return given if found is given else None
            if found is None:
                raise VoiceStudioError(f"{row.recording}: not in the project (import it first)")
            return found
        if given is not None:
            return given
        if isinstance(fallback, VoiceStudioError):
            raise fallback
        return fallback

    def check(self, record: AudioFile) -> None:
        """Refuse labels for audio that changed since it was imported: they were made on what is there now."""
        if record.id not in self.refused:
            source = check_source(record)
            self.refused[record.id] = source.reason if source.status == CHANGED else ""
        if self.refused[record.id]:
            raise VoiceStudioError(f"{record.path}: {self.refused[record.id]}")


def import_regions(project, path, *, format: str, default_annotator: str, audio: str | None = None,
                   mapping: dict[str, str] | None = None, tier: str | None = None) -> RegionsImported:
    """Read regions from ``path`` and label each as a region of its recording; each bad row reported alone."""
    path = Path(path).expanduser().absolute()
    if ProjectFiles.of(project).owns(path):  # never opened: that would drop our SQLite locks on it
        raise VoiceStudioError(f"{path}: is the open project or one of its files, not a label file")
    read = read_rows(path, format, tier=tier)
    default_annotator = check_annotator(default_annotator)
    mapping = mapping or {}
    result = RegionsImported(format)
    failures = list(read.failures)
    with project.session() as session:
        recordings = _Recordings(session)
        given = None
        if audio is not None:
            given = recordings.at(audio)
            if given is None:
                raise VoiceStudioError(f"{audio}: not in the project (import it first)")
        fallback: AudioFile | VoiceStudioError | None = None
        if given is None and format in PER_RECORDING:
            try:
                fallback = recordings.beside(path)
            except VoiceStudioError as exc:
                fallback = exc
        planned = []  # (line, file_id, start, end, value, annotator)
        for row in read.rows:
            try:
                if given is not None and row.uri is not None and segment_files.rttm_uri(given.path) != row.uri:
                    result.skipped.append(f"line {row.line}: for file id {shown(row.uri)}, not {given.path}; skipped")
                    continue
                record = recordings.of_row(row, format, path, given, fallback)
                if record is None:
                    result.skipped.append(f"line {row.line}: for {shown(row.uri or row.recording)}, "
                                          f"not {given.path}; skipped")
                    continue
                recordings.check(record)
                value = label_value(row.label, mapping)
                who = check_annotator(row.annotator) if row.annotator else default_annotator
            except (VoiceStudioError, AnnotatorError) as exc:
                failures.append((row.line, f"line {row.line}: {exc}"))
                continue
            planned.append((row.line, record.id, row.start_s, row.end_s, value, who))
    # Every row in one transaction, as a label import: all rows or none, nothing written between the
    # unchanged check and the writes.
    if planned:
        with project.write() as session:
            current = {}
            for file_id in {p[1] for p in planned}:
                for region in regions_in(session, file_id, -1.0, _ALL_S):
                    current[(file_id, round(region.start_s, 3), round(region.end_s, 3), region.annotator)] = \
                        region.value
            for line, file_id, start, end, value, who in planned:
                if current.get((file_id, round(start, 3), round(end, 3), who)) == value:
                    result.unchanged += 1
                    continue
                try:
                    label_span_in(session, file_id, start, end, value, annotator=who)
                except VoiceStudioError as exc:  # raised before it writes: the other rows go on
                    failures.append((line, f"line {line}: {exc}"))
                    continue
                current[(file_id, round(start, 3), round(end, 3), who)] = value
                result.labelled += 1
    result.skipped = [text for _, text in sorted(read.skipped)] + result.skipped
    result.failures = [text for _, text in sorted(failures, key=lambda f: f[0])]
    return result


# Writing ----------------------------------------------------------------------------------------

@dataclass
class RegionsExported:
    format: str
    paths: list[Path]
    regions: int
    recordings: int

    def to_dict(self) -> dict:
        return {"format": self.format, "paths": [str(p) for p in self.paths], "regions": self.regions,
                "recordings": self.recordings}


def _tiers_of(regions: list[Region]) -> dict[str, list[Region]]:
    """One interval tier per annotator; a region overlapping another of the same annotator goes to a
    further tier ("alice 2"), since a tier's intervals cannot overlap."""
    tiers: dict[str, list[Region]] = {}
    for who in sorted({r.annotator for r in regions}):
        for region in sorted((r for r in regions if r.annotator == who), key=lambda r: (r.start_s, r.end_s)):
            number = 1
            while True:
                name = who if number == 1 else f"{who} {number}"
                tier = tiers.setdefault(name, [])
                if not tier or tier[-1].end_s <= region.start_s:
                    tier.append(region)
                    break
                number += 1
    return tiers


def to_textgrid(regions: list[Region], duration_s: float) -> str:
    """One interval tier per annotator (``_tiers_of``), in Praat's long text format."""
    tiers = {name: [(r.start_s, r.end_s, r.value) for r in own] for name, own in _tiers_of(regions).items()}
    return segment_files.textgrid_text(tiers or {"speech": []}, duration_s)


def to_raven(regions: list[Region], sample_rate: int) -> str:
    """A Raven Pro selection table (one Spectrogram row per selection) with Annotation and Annotator columns."""
    rows = ["Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
            "\tAnnotation\tAnnotator"]
    for number, r in enumerate(regions, 1):
        rows.append(f"{number}\tSpectrogram 1\t1\t{r.start_s:.9f}\t{r.end_s:.9f}\t0.000\t{sample_rate / 2:.3f}"
                    f"\t{r.value}\t{r.annotator}")
    return "\n".join(rows) + "\n"


def to_segments_csv(regions_by_path: dict[str, list[Region]], base: Path) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["path", "start_s", "end_s", "label", "annotator"])
    for path, regions in regions_by_path.items():
        try:
            shown_path = os.path.relpath(path, base)
        except ValueError:  # another drive (Windows): no relative path
            shown_path = path
        for r in regions:
            writer.writerow([shown_path, f"{r.start_s:.3f}", f"{r.end_s:.3f}", r.value, r.annotator])
    return out.getvalue()


def _one_annotator(format: str, regions: list[Region]) -> None:
    who = sorted({r.annotator for r in regions})
    if len(who) > 1:
        raise RegionUsageError(f"the {format} format has no annotator field and {len(who)} annotators have regions "
                               f"({', '.join(who)}): choose one with --annotator")


def _render(format: str, record: AudioFile, regions: list[Region]) -> str:
    if format == "audacity":
        _one_annotator(format, regions)
        return segment_files.to_audacity([segment_files.Span(r.start_s, r.end_s, r.value) for r in regions])
    if format == "raven":
        return to_raven(regions, record.sample_rate)
    return to_textgrid(regions, record.duration_s)


def _write(path: Path, text: str, force: bool) -> None:
    write_output_text(path, text, replace=force, what="the regions")


def export_regions(project, path, *, format: str, audio: str | None = None, annotator: str | None = None,
                   force: bool = False) -> RegionsExported:
    """Write the labelled regions of one recording (``audio``) or of every recording to ``path``.

    Per-recording formats need ``audio``, or ``path`` an existing folder: one file per recording with
    regions, named after it (``talk.wav`` -> ``talk.txt``, ``talk.selections.txt``, ``talk.TextGrid``).
    Never over the project, over an existing file only with ``force`` (``outputs.check_output_file``).
    """
    if format not in FORMATS:
        raise RegionUsageError(f"region format must be one of {', '.join(FORMATS)}, not {format!r}")
    folder = Path(path).expanduser()
    into_folder = format in PER_RECORDING and audio is None and folder.is_dir()
    if format in PER_RECORDING and audio is None and not into_folder:
        raise RegionUsageError(f"the {format} format describes one recording: give --audio AUDIO, "
                               "or a folder as FILE for one file per recording")
    with project.session() as session:
        recordings = _Recordings(session)
        if audio is not None:
            record = recordings.at(audio)
            if record is None:
                raise VoiceStudioError(f"{audio}: not in the project (import it first)")
            chosen = [record]
        else:
            chosen = sorted(recordings.files, key=lambda f: f.path)
        found = {}
        for record in chosen:
            own = [r for r in regions_in(session, record.id, -1.0, _ALL_S)
                   if annotator is None or r.annotator == annotator]
            if own or audio is not None:
                found[record.id] = (record, own)
    count = sum(len(own) for _, own in found.values())
    if format == "rttm":
        every = [r for _, own in found.values() for r in own]
        _one_annotator(format, every)
        text = segment_files.to_rttm({pathmap.active().local(rec.path): [segment_files.Span(r.start_s, r.end_s, r.value)
                                                                         for r in own] for rec, own in found.values()})
        target = check_output_file(path, project=project, force=force)
        _write(target, text, force)
        return RegionsExported(format, [target], count, len(found))
    if format == "segments-csv":
        target = check_output_file(path, project=project, force=force)
        text = to_segments_csv({pathmap.active().local(rec.path): own for rec, own in found.values()}, target.parent)
        _write(target, text, force)
        return RegionsExported(format, [target], count, len(found))
    if not into_folder:
        record, own = next(iter(found.values()))
        text = _render(format, record, own)
        target = check_output_file(path, project=project, force=force)
        _write(target, text, force)
        return RegionsExported(format, [target], count, 1)
    stems = defaultdict(int)
    for record, _ in found.values():
        stems[Path(record.path).stem] += 1
    planned = []
    for record, own in found.values():  # everything checked before anything is written
        stem = Path(record.path).stem
        name = (stem if stems[stem] == 1 else f"{stem}-{record.id}") + SUFFIXES[format]
        planned.append((check_output_file(folder / name, project=project, force=force), _render(format, record, own)))
    for target, text in planned:
        _write(target, text, force)
    return RegionsExported(format, [target for target, _ in planned], count, len(found))
