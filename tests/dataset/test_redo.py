"""Redo (Ctrl+Shift+Z) on a real SQLite project: what an undo took back comes back as a new event."""

import pytest

from voicestudio.dataset.labels import RedoStack, label_clip, label_clips, redo_undone, undo_last, undo_many
from voicestudio.store import clips, labels
from voicestudio.store.project import open_project


@pytest.fixture
def project(tmp_path):
    """Three one-second clips."""
    with open_project(tmp_path / "p.vsproj") as project:
        with project.write() as s:
            ids = []
            for i in range(3):
                f = clips.add_or_update_file(s, path=f"/audio/f{i}.wav", sha256=f"{i:064x}", size_bytes=1, mtime=1.0,
                                             format="WAV", subtype=None, sample_rate=16000, channels=1, frames=16000,
                                             duration_s=1.0, source_group="g")
                ids.append(clips.add_clip(s, f.id, 0.0, 1.0)[0].id)
        project.ids = ids
        yield project


def current(project, annotator="ann"):
    with project.session() as s:
        return {c: label.value for c, label in labels.current_labels(s, annotator).items()}


def count(project):
    with project.session() as s:
        return labels.count_events(s)


def test_redo_re_applies_the_undone_label_as_a_new_event_with_its_note(project):
    a = project.ids[0]
    label_clip(project, a, "human", annotator="ann", note="a man talking")
    undo = undo_last(project, annotator="ann")
    assert current(project) == {} and undo["undoes_id"] is not None
    stack = RedoStack()
    stack.undone([undo])
    redone = redo_undone(project, stack.next(), annotator="ann")
    assert [(e["clip_id"], e["value"], e["note"]) for e in redone] == [(a, "human", "a man talking")]
    assert redone[0]["undoes_id"] is None and current(project) == {a: "human"}
    assert count(project) == 3  # label, undo, redo: nothing rewritten
    # Undo after redo takes the redo back: the clip is unlabelled again.
    undo_last(project, annotator="ann")
    assert current(project) == {}


def test_a_batch_undone_with_one_z_is_redone_with_one_redo(project):
    label_clips(project, project.ids, "nonhuman", annotator="ann")
    undone = undo_many(project, 3, annotator="ann")
    stack = RedoStack()
    stack.undone(undone)
    assert current(project) == {}
    redone = redo_undone(project, stack.next(), annotator="ann")
    assert len(redone) == 3 and current(project) == {c: "nonhuman" for c in project.ids}
    assert not stack


def test_two_undos_on_one_clip_are_redone_in_order(project):
    a = project.ids[0]
    label_clip(project, a, "human", annotator="ann")
    label_clip(project, a, "unsure", annotator="ann")
    stack = RedoStack()
    stack.undone([undo_last(project, annotator="ann")])  # back to human
    stack.undone([undo_last(project, annotator="ann")])  # back to nothing
    assert current(project) == {}
    assert [e["value"] for e in redo_undone(project, stack.next(), annotator="ann")] == ["human"]
    assert [e["value"] for e in redo_undone(project, stack.next(), annotator="ann")] == ["unsure"]
    assert current(project) == {a: "unsure"} and stack.next() is None


def test_a_clip_labelled_since_the_undo_is_not_overwritten(project):
    a = project.ids[0]
    label_clip(project, a, "human", annotator="ann")
    undo = undo_last(project, annotator="ann")
    label_clip(project, a, "nonhuman", annotator="ann")
    assert redo_undone(project, [undo["event_id"]], annotator="ann") == []
    assert current(project) == {a: "nonhuman"}


def test_only_the_annotators_own_undos_are_redone(project):
    a = project.ids[0]
    label_clip(project, a, "human", annotator="bob")
    undo = undo_last(project, annotator="bob")
    label = label_clip(project, project.ids[1], "human", annotator="ann")
    assert redo_undone(project, [undo["event_id"], label["event_id"]], annotator="ann") == []
    assert current(project, "bob") == {}


def test_the_stack_keeps_one_entry_per_undo_and_a_new_label_empties_it():
    stack = RedoStack()
    stack.undone([{"event_id": 4, "undoes_id": 1}])
    stack.undone([{"event_id": 9, "undoes_id": 6}, {"event_id": 10, "undoes_id": 5}])
    stack.undone([])  # nothing was undone: no entry
    assert stack.next() == (9, 10) and stack.next() == (4,) and stack.next() is None
    stack.undone([{"event_id": 4, "undoes_id": 1}])
    stack.clear()
    assert not stack
