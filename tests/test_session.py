"""The window's state without a window (voicestudio/dataset/session.py): a real project on disk,
labels written the way the window and a second annotator's CLI write them, no Qt."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voicestudio.dataset import workspace
from voicestudio.dataset.importer import import_paths
from voicestudio.dataset.labels import label_clip, undo_last
from voicestudio.dataset.session import LOOKBACK_EVENTS, Changes, Session
from voicestudio.settings import Settings
from voicestudio.store.project import open_project


@pytest.fixture
def session(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    rate = 16000
    for i in range(4):
        tone = 0.2 * np.sin(2 * np.pi * (200 + 100 * i) * np.arange(rate) / rate)
        sf.write(folder / f"tone{i}.wav", tone.astype(np.float32), rate)
    path = tmp_path / "state.vsproj"
    with open_project(path) as project:
        assert import_paths(project, [folder]).clips_added == 4
    ws = workspace.open_workspace(str(path), annotator="ana")
    opened = Session(ws, Settings(annotator="ana"))
    opened.use_model(ws.model)
    yield opened
    ws.project.close()


def test_changes_merge_and_say_when_they_are_empty():
    assert not Changes()
    merged = Changes(labels=frozenset({1}), rows=frozenset({0})) | Changes(threshold=True, elsewhere=True)
    assert merged == Changes(labels=frozenset({1}), rows=frozenset({0}), threshold=True, elsewhere=True)
    assert merged


def test_a_threshold_is_remembered_only_when_it_differs_from_the_card(session):
    card = session.model.threshold
    assert session.set_threshold(card + 0.1) == Changes(threshold=True)
    assert session.settings.threshold == pytest.approx(card + 0.1)
    session.set_threshold(card)
    assert session.settings.threshold is None  # another model will bring its own
    session.settings.threshold = 0.42
    session.use_model(session.model)  # a remembered threshold wins over the card's
    assert session.threshold == 0.42
    assert session.queue_request("unlabelled", "  tone ").text == "tone"


def test_labels_written_here_count_once_and_undo_takes_them_back(session):
    clip_id = int(session.table.ids[0])
    event = label_clip(session.project, clip_id, "human", annotator="ana")
    changes = session.record_label(event, made_here=True)
    row = session.table.row_of(clip_id)
    assert changes == Changes(labels=frozenset({clip_id}), rows=frozenset({row}))
    assert session.progress.labelled == 1
    undone = undo_last(session.project, annotator="ana")
    assert session.record_undo(undone).labels == {clip_id}
    assert session.progress.labelled == 0
    assert session.table.mine[row] == session.table.mine[session.table.row_of(int(session.table.ids[1]))]  # no label


def test_other_writers_events_are_merged_once_and_new_clips_ask_for_a_reread(session, tmp_path):
    first, second = (int(i) for i in session.table.ids[:2])
    mine = label_clip(session.project, first, "human", annotator="ana")
    session.record_label(mine, made_here=True)  # the window's own event: never merged twice
    label_clip(session.project, second, "nonhuman", annotator="bo")  # another annotator, another program

    feed = workspace.changes_since(session.project, session.tracker.since())
    changes = session.merge_elsewhere(feed)
    assert changes.elsewhere and changes.labels == {second}
    assert "bo" in session.table.votes[session.table.row_of(second)]  # votes are kept per row
    again = session.merge_elsewhere(workspace.changes_since(session.project, session.tracker.since()))
    assert not again  # the same events read again (the look-back) change nothing

    more = tmp_path / "more"
    more.mkdir()
    sf.write(more / "late.wav", np.zeros(16000, np.float32), 16000)
    with open_project(session.project.label) as other:  # the CLI importing meanwhile
        import_paths(other, [more])
    assert session.merge_elsewhere(workspace.changes_since(session.project, session.tracker.since())) is None

    last = workspace.last_event_id(session.project)
    table = workspace.reload_table(session.project, "ana", session.model.model_id)
    assert session.replace_table(table, last_event_id=last) == Changes(table=True)
    assert len(session.table) == 5 and session.tracker.newest == last
    assert session.tracker.since() == max(0, last - LOOKBACK_EVENTS)


def test_one_clip_scored_updates_its_row_once(session):
    clip_id = int(session.table.ids[0])
    row = session.table.row_of(clip_id)
    assert session.set_score(clip_id, 0.25) == Changes(rows=frozenset({row}))
    assert session.set_score(clip_id, 0.25) == Changes()  # unchanged: nothing to redraw
    assert session.set_score(10**9, 0.5) == Changes()  # not in this project's table


def test_reading_back_events_the_table_already_holds_is_not_news(session):
    """Opening a project, the look-back re-reads its latest events, the annotator's own among them:
    no "N clips labelled elsewhere" for labels that were already there."""
    first, second = (int(i) for i in session.table.ids[:2])
    label_clip(session.project, first, "human", annotator="ana")
    label_clip(session.project, second, "human", annotator="bo")
    undo_last(session.project, annotator="bo")
    last = workspace.last_event_id(session.project)
    session.replace_table(workspace.reload_table(session.project, "ana", session.model.model_id), last_event_id=last)
    changes = session.merge_elsewhere(workspace.changes_since(session.project, session.tracker.since()))
    assert changes is not None and not changes.rows and not changes.labels
    assert session.table.votes.get(session.table.row_of(second), {}) == {}  # bo's undone label stays undone


def test_a_batch_is_stored_whole_or_not_at_all_and_undone_whole(session):
    from voicestudio.dataset.labels import label_clips, undo_many

    ids = [int(i) for i in session.table.ids[:3]]
    with pytest.raises(Exception, match="clip"):
        label_clips(session.project, [ids[0], 10**9, ids[1]], "human", annotator="ana")  # one clip is unknown
    assert workspace.last_event_id(session.project) == 0  # nothing of it stored

    events = label_clips(session.project, ids, "human", annotator="ana")
    assert [e["clip_id"] for e in events] == ids
    undone = undo_many(session.project, 3, annotator="ana")
    assert sorted(e["clip_id"] for e in undone) == sorted(ids) and all(e["value"] is None for e in undone)
    assert undo_many(session.project, 3, annotator="ana") == []  # nothing left
