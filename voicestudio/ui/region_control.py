"""Regions of the clip on screen: label a span with H/N/U, adjust its edges, clear it, and walk
through the model's suggested speech regions.

The region handle (the yellow span on the waveform, from a drag on any view or
R) is what H/N/U label while it is shown; otherwise they label the whole clip.
A handle placed on a stored region of yours is *bound* to it: dragging its edges
moves your label (``dataset.regions.move_region``), Delete clears it. Every
write goes through the write lane, like a clip label, and the clip list is read
again afterwards so the new segment clip is listed. Suggestions are the model's
speech segments at the current threshold (``model.segments``): H accepts one,
N rejects it (a non-human label: the model's false alarm, kept as such), and
either moves on to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer

from voicestudio.dataset.cliptable import clock_text
from voicestudio.dataset.labels import label_clip
from voicestudio.dataset.regions import Region, clear_region, label_region, move_region, regions_in
from voicestudio.model.segments import Segment, speech_segments

OVERLAP_COVERED = 0.5  # a suggestion this much inside one of your regions is already decided


@dataclass(frozen=True)
class Handle:
    """Where the handle is bound: a stored region (its clip) or a suggestion (its index)."""

    clip_id: int | None = None
    suggestion: int | None = None


def _overlap(a_start, a_end, b_start, b_end) -> float:
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


class RegionControl(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.regions: list[Region] = []  # every annotator's, file times, of the clip on screen
        self.suggestions: list[Segment] = []  # file times
        self.handle = Handle()
        self.write_in_flight = False
        self._region_ids: set[int] = set()  # clips seen as regions of the clip on screen (cleared ones too)
        # A batch of labels arrives as one label_written per event: read the regions once for all of them.
        self._reload_soon = QTimer(self, singleShot=True, interval=0)
        self._reload_soon.timeout.connect(self.reload)

    # What is on screen -------------------------------------------------------------
    @property
    def _clip(self):
        loaded = self.window.clips.loaded
        return loaded.clip if loaded is not None and loaded.error is None else None

    @property
    def me(self) -> str:
        return self.window.settings.annotator or ""

    def clip_shown(self) -> None:
        """A clip is drawn: forget the last clip's suggestions and read this one's regions."""
        self.suggestions, self.handle = [], Handle()
        self.regions, self._region_ids = [], set()
        self.reload()

    def reload(self) -> None:
        clip, window = self._clip, self.window
        if clip is None or window.session is None:
            return
        project = window.session.project

        def read():
            with project.session() as session:
                return regions_in(session, clip.file_id, clip.start_s, clip.end_s, shown_clip_id=clip.id)

        def done(regions):
            if self._clip is not None and self._clip.id == clip.id:
                self.regions = regions
                self._region_ids.update(r.clip_id for r in regions)
                self.redraw()

        window.tasks.submit(read, on_done=done, current=("project",))

    def is_region(self, clip_id: int) -> bool:
        """Is the clip one of the regions of the clip on screen (now or earlier, e.g. cleared)?"""
        return clip_id in self._region_ids

    def label_written(self, event: dict) -> None:
        """Any label this window wrote or undid: a region's (not the clip's own) redraws the regions."""
        clip = self._clip
        if clip is not None and event["clip_id"] != clip.id:
            self._reload_soon.start()

    def redraw(self) -> None:
        clip = self._clip
        if clip is not None:
            self.window.views.regions.draw(self.regions, self.suggestions, offset_s=clip.start_s, me=self.me)

    def region_shown(self) -> bool:
        return self._clip is not None and self.window.views.loop_region() is not None

    def _handle_span(self) -> tuple[float, float]:
        low, high = self.window.views.loop_region()
        return self._clip.start_s + low, self._clip.start_s + high

    # Keys and mouse --------------------------------------------------------------------
    def drawn(self, low: float, high: float) -> None:
        """A span was dragged out on a view: a new region, bound to nothing yet."""
        self.unbind()

    def unbind(self) -> None:
        self.handle = Handle()

    def clicked(self, seconds: float) -> None:
        """A click in the views: on one of the regions, the handle goes to it; elsewhere a bound handle goes."""
        clip = self._clip
        if clip is None:
            return
        at = clip.start_s + seconds
        mine = [r for r in self.regions if r.start_s <= at <= r.end_s and r.annotator == self.me]
        inside = mine or [r for r in self.regions if r.start_s <= at <= r.end_s]
        if inside:
            region = min(inside, key=lambda r: r.duration_s)  # the innermost of overlapping ones
            self._bind(Handle(clip_id=region.clip_id if region.annotator == self.me else None),
                       region.start_s, region.end_s)
            self.window.statusBar().showMessage(
                f"Region {clock_text(region.start_s)}–{clock_text(region.end_s)}: {region.value} by "
                f"{'you' if region.annotator == self.me else region.annotator} · drag its edges to adjust, "
                "Delete clears your label", 8000)
            return
        for index, segment in enumerate(self.suggestions):
            if segment.start_s <= at <= segment.end_s:
                self._bind(Handle(suggestion=index), segment.start_s, segment.end_s)
                return
        if self.handle != Handle():
            self.handle = Handle()
            self.window.views.hide_region()

    def _bind(self, handle: Handle, start_s: float, end_s: float) -> None:
        offset = self._clip.start_s
        self.handle = handle
        self.window.views.place_region(start_s - offset, end_s - offset)

    def label(self, value: str) -> bool:
        """H/N/U with the region shown: label the region (True); False leaves it to the clip's label."""
        window = self.window
        if not self.region_shown():
            return False
        if self.write_in_flight or window.session is None:
            return True
        annotator = window.labels.ensure_annotator()
        if annotator is None:
            return True
        clip, (start_s, end_s) = self._clip, self._handle_span()
        note = window.label_panel.take_note()
        self.write_in_flight = True
        bound = next((r for r in self.regions if r.clip_id == self.handle.clip_id), None)
        suggestion = self.handle.suggestion
        if bound is not None and abs(bound.start_s - start_s) < 1e-3 and abs(bound.end_s - end_s) < 1e-3:
            window.tasks.submit(label_clip, window.session.project, bound.clip_id, value, annotator=annotator,
                                note=note, lane="write", on_done=lambda e: self._written([e], suggestion),
                                on_error=self._failed, current=("project",))
            return True
        window.tasks.submit(label_region, window.session.project, clip.file_id, start_s, end_s, value,
                            annotator=annotator, note=note, lane="write",
                            on_done=lambda e: self._written([e], suggestion), on_error=self._failed,
                            current=("project",))
        return True

    def adjusted(self, low: float, high: float) -> None:
        """The handle's edges were dragged: a bound region of yours moves (a new event on each clip)."""
        window, clip_id = self.window, self.handle.clip_id  # bound only to regions of yours
        if clip_id is None or self.write_in_flight or window.session is None:
            return
        start_s, end_s = self._clip.start_s + low, self._clip.start_s + high
        self.write_in_flight = True  # the same span again writes nothing (move_region returns no event)
        window.tasks.submit(move_region, window.session.project, clip_id, start_s, end_s,
                            annotator=self.me, lane="write", on_done=lambda events: self._written(events, None),
                            on_error=self._failed, current=("project",))

    def clear(self) -> None:
        """Delete: your label on the bound region is cleared (an event); a suggestion is dropped."""
        window = self.window
        if self.handle.suggestion is not None:
            index = self.handle.suggestion
            self.suggestions = self.suggestions[:index] + self.suggestions[index + 1:]
            self.handle = Handle()
            window.views.hide_region()
            self.redraw()
            return
        if self.handle.clip_id is None or window.session is None:
            window.statusBar().showMessage("Click one of your regions first: Delete clears its label", 5000)
            return
        if self.write_in_flight:
            return
        self.write_in_flight = True
        window.tasks.submit(clear_region, window.session.project, self.handle.clip_id, annotator=self.me, lane="write",
                            on_done=lambda event: self._written([event], None, cleared=True),
                            on_error=self._failed, current=("project",))

    def _failed(self, exc) -> None:
        self.write_in_flight = False
        self.window.show_error(f"the region's label was not saved: {exc}")

    def _written(self, events: list[dict], suggestion: int | None, *, cleared: bool = False) -> None:
        """In the database: record the events, read the regions and the list again, move on."""
        self.write_in_flight = False
        window = self.window
        if not events:
            return
        self._region_ids.update(event["clip_id"] for event in events)
        window.labels.show_written(
            events, lambda event: window.session.record_label(event, made_here=event["value"] is not None))
        window.labels.last_batch = 1
        first = events[0]
        if cleared:
            self.handle = Handle()
            window.views.hide_region()
            window.statusBar().showMessage("Region cleared (Z undoes it)", 5000)
        else:
            self.handle = Handle(clip_id=first["clip_id"])
            span = f"{clock_text(first['start_s'])}–{clock_text(first['end_s'])}" if "start_s" in first else ""
            window.statusBar().showMessage(f"Region {span} labelled {first['value']}", 5000)
            if "start_s" in first:  # committed: draw it now, the re-read (label_written) confirms it
                self.regions = [r for r in self.regions if not (r.clip_id == first["clip_id"] and r.annotator == self.me)
                                and r.clip_id not in {e["clip_id"] for e in events[1:]}]
                self.regions.append(Region(first["clip_id"], first["start_s"], first["end_s"], first["value"],
                                           first["annotator"], first["note"]))
                self.redraw()
        window.projects.refresh(announce=False)  # a new segment clip joins the list (regions: label_written)
        if suggestion is not None:
            self.next_suggestion(after=suggestion)

    # Suggestions and jumps -------------------------------------------------------------
    def suggest(self) -> None:
        """The model's speech regions at the current threshold, minus those you already labelled."""
        window, clip = self.window, self._clip
        prediction = window.clips.loaded.prediction if clip is not None else None
        if prediction is None:
            window.statusBar().showMessage("No prediction for this clip yet: regions are suggested from it", 5000)
            return
        segments = speech_segments(prediction.window_starts_s, prediction.window_probs, prediction.window_s,
                                   window.session.threshold, duration_s=clip.duration_s)
        shifted = [Segment(s.start_s + clip.start_s, s.end_s + clip.start_s, s.peak) for s in segments]
        mine = [r for r in self.regions if r.annotator == self.me]
        self.suggestions = [s for s in shifted if not any(
            _overlap(s.start_s, s.end_s, r.start_s, r.end_s) >= OVERLAP_COVERED * s.duration_s for r in mine)]
        self.redraw()
        decided = len(shifted) - len(self.suggestions)
        window.statusBar().showMessage(
            f"{len(self.suggestions)} speech regions suggested" + (f" ({decided} you labelled already)" if decided else "")
            + ": H accepts, N rejects, drag the edges to adjust, J goes to the next", 10000)
        self.next_suggestion(after=-1)

    def next_suggestion(self, after: int | None = None) -> None:
        """The next suggestion with no label of yours on it (J), shown and bound to the handle."""
        if not self.suggestions and after is None:  # J before S: suggest first
            self.suggest()
            return
        if after is None:
            after = self.handle.suggestion if self.handle.suggestion is not None else -1
        mine = [r for r in self.regions if r.annotator == self.me]
        for index in range(after + 1, len(self.suggestions)):
            s = self.suggestions[index]
            if not any(_overlap(s.start_s, s.end_s, r.start_s, r.end_s) >= OVERLAP_COVERED * s.duration_s
                       for r in mine):
                self._show_span(Handle(suggestion=index), s.start_s, s.end_s)
                return
        if self.suggestions:
            self.window.statusBar().showMessage("No suggested region left after this one", 5000)

    def next_speech(self, direction: int = 1) -> None:
        """Jump to the next (or previous) predicted speech region from the view's middle."""
        window, clip = self.window, self._clip
        prediction = window.clips.loaded.prediction if clip is not None else None
        if prediction is None:
            return
        segments = speech_segments(prediction.window_starts_s, prediction.window_probs, prediction.window_s,
                                   window.session.threshold, duration_s=clip.duration_s)
        low, high = window.views.visible_range()
        here = window.views.loop_region()[0] if window.views.loop_region() else (low + high) / 2
        ahead = [s for s in segments if s.start_s > here + 1e-3] if direction > 0 else \
            [s for s in reversed(segments) if s.start_s < here - 1e-3]
        if not ahead:
            window.statusBar().showMessage("No predicted speech further " + ("on" if direction > 0 else "back"), 5000)
            return
        s = ahead[0]
        self._show_span(Handle(), clip.start_s + s.start_s, clip.start_s + s.end_s)

    def previous_speech(self) -> None:
        self.next_speech(-1)

    def _show_span(self, handle: Handle, start_s: float, end_s: float) -> None:
        offset = self._clip.start_s
        self._bind(handle, start_s, end_s)
        self.window.views.centre_on(start_s - offset, end_s - offset)
        self.window.seek(start_s - offset)
