"""Append-only label events, undo, and current labels."""

import sqlite3
from datetime import timezone

import pytest

from voicestudio.annotators import AnnotatorError
from voicestudio.store import labels
from voicestudio.store.schema import LabelEvent


def values(events):
    return [e.value for e in events]


def test_events_are_appended_never_overwritten(project, make_clips):
    (clip,) = make_clips(project, 1)
    with project.write() as s:
        first = labels.add_label(s, clip, "ann", "human", note="clear voice")
        labels.add_label(s, clip, "ann", "nonhuman")
    with project.session() as s:
        history = labels.label_history(s, clip)
        assert values(history) == ["human", "nonhuman"]
        assert history[0].id == first.id and history[0].note == "clear voice"
        assert history[0].created_at.tzinfo == timezone.utc
        assert labels.current_labels(s, "ann")[clip].value == "nonhuman"


def test_several_undos_walk_back_and_stop(project, make_clips):
    (clip,) = make_clips(project, 1)
    with project.write() as s:
        a = labels.add_label(s, clip, "ann", "human")
        b = labels.add_label(s, clip, "ann", "nonhuman")
        c = labels.add_label(s, clip, "ann", "unsure")
    with project.write() as s:
        undo_c = labels.undo_label(s, clip, "ann")
        assert (undo_c.value, undo_c.undoes_id) == ("nonhuman", c.id)
        undo_b = labels.undo_label(s, clip, "ann")
        assert (undo_b.value, undo_b.undoes_id) == ("human", b.id)
        undo_a = labels.undo_label(s, clip, "ann")
        assert (undo_a.value, undo_a.undoes_id) == (None, a.id)  # back before the first label
        assert labels.undo_label(s, clip, "ann") is None  # nothing left to undo
    with project.session() as s:
        assert clip not in labels.current_labels(s, "ann")
        assert values(labels.label_history(s, clip, "ann")) == ["human", "nonhuman", "unsure", "nonhuman", "human", None]


def test_undo_after_new_label_and_after_clear(project, make_clips):
    (clip,) = make_clips(project, 1)
    with project.write() as s:
        labels.add_label(s, clip, "ann", "human")
        labels.add_label(s, clip, "ann", "nonhuman")
        labels.undo_label(s, clip, "ann")  # -> human
        labels.add_label(s, clip, "ann", "unsure")
        labels.add_label(s, clip, "ann", None)  # cleared
    with project.session() as s:
        assert clip not in labels.current_labels(s, "ann")
    with project.write() as s:
        assert labels.undo_label(s, clip, "ann").value == "unsure"  # undoing the clear
        assert labels.undo_label(s, clip, "ann").value == "human"  # the undone "nonhuman" is skipped
        assert labels.undo_label(s, clip, "ann").value is None
        assert labels.undo_label(s, clip, "ann") is None


def test_undo_with_nothing_to_undo(project, make_clips):
    (clip,) = make_clips(project, 1)
    with project.write() as s:
        assert labels.undo_label(s, clip, "ann") is None
        labels.add_label(s, clip, "bob", "human")
        assert labels.undo_label(s, clip, "ann") is None  # bob's label is not ann's to undo
        assert labels.undo_last_label(s, "ann") is None
    with project.session() as s:
        assert labels.count_events(s) == 1


def test_undo_last_label_finds_the_clip(project, make_clips):
    one, two = make_clips(project, 2)
    with project.write() as s:
        labels.add_label(s, one, "ann", "human")
        labels.add_label(s, two, "ann", "nonhuman")
        assert labels.undo_last_label(s, "ann").clip_id == two
        assert labels.undo_last_label(s, "ann").clip_id == one
        assert labels.undo_last_label(s, "ann") is None
    with project.session() as s:
        assert labels.current_labels(s) == {}


def test_current_labels_per_annotator_and_across_annotators(project, make_clips):
    c1, c2, c3 = make_clips(project, 3)
    with project.write() as s:
        labels.add_label(s, c1, "ann", "human")
        labels.add_label(s, c1, "bob", "nonhuman")  # latest on c1
        labels.add_label(s, c2, "bob", "unsure")
        labels.add_label(s, c2, "ann", "human")  # latest on c2
        labels.add_label(s, c3, "ann", "human")
        labels.add_label(s, c3, "bob", "nonhuman")
        labels.undo_label(s, c3, "bob")  # bob takes his label back: ann's stands
    with project.session() as s:
        assert {k: v.value for k, v in labels.current_labels(s, "ann").items()} == {c1: "human", c2: "human", c3: "human"}
        assert {k: v.value for k, v in labels.current_labels(s, "bob").items()} == {c1: "nonhuman", c2: "unsure"}
        across = labels.current_labels(s)
        assert {k: (v.annotator, v.value) for k, v in across.items()} == {
            c1: ("bob", "nonhuman"), c2: ("ann", "human"), c3: ("ann", "human"),
        }
        assert labels.labels_by_annotator(s) == {
            c1: {"ann": "human", "bob": "nonhuman"}, c2: {"ann": "human", "bob": "unsure"}, c3: {"ann": "human"},
        }
        assert labels.current_labels(s, "nobody") == {}


def test_bad_values_annotators_and_clips_are_refused(project, make_clips):
    (clip,) = make_clips(project, 1)
    with project.write() as s:
        with pytest.raises(ValueError, match="label must be one of human, nonhuman, unsure"):
            labels.add_label(s, clip, "ann", "maybe")
        with pytest.raises(ValueError, match="annotator"):
            labels.add_label(s, clip, "  ", "human")
        with pytest.raises(ValueError, match="no clip with id 999"):
            labels.add_label(s, 999, "ann", "human")
        assert labels.add_label(s, clip, " ann ", "human").annotator == "ann"


def test_database_refuses_values_outside_the_set_and_any_update_or_delete(sqlite_project, make_clips, tmp_path):
    project = sqlite_project
    (clip,) = make_clips(project, 1)
    with project.write() as s:
        labels.add_label(s, clip, "ann", "human")
    conn = sqlite3.connect(tmp_path / "p.vsproj")
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO label_events (clip_id, annotator, value, created_at) "
                         "VALUES (?, 'x', 'cat', '2026-01-01')", (clip,))
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE label_events SET value = 'nonhuman'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM label_events")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):  # a labelled clip stays
            conn.execute("DELETE FROM clips")
    finally:
        conn.close()
    with project.session() as s:
        assert values(labels.label_history(s, clip)) == ["human"]


def test_postgresql_refuses_any_update_or_delete_of_label_events(pg_server, make_clips):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from voicestudio.store.project import open_project

    with open_project(pg_server.new_database()) as project:
        (clip,) = make_clips(project, 1)
        with project.write() as s:
            labels.add_label(s, clip, "ann", "human")
        for statement in ("UPDATE label_events SET value = 'nonhuman'", "DELETE FROM label_events",
                          f"DELETE FROM clips WHERE id = {clip}"):  # a labelled clip stays
            with pytest.raises(DBAPIError, match="append-only"):
                with project.write() as s:
                    s.execute(text(statement))
        with project.session() as s:
            assert [e.value for e in labels.label_history(s, clip, "ann")] == ["human"]


BAD_NAMES = ["", "  ", "eve\nvoicestudio: error: forged", "\x1b[2J", "nul\x00", "del\x7f", "c1\x85", "tab\t",
             "\u2028", "rtl\u202e", "\ud800", "x" * 101, {"email": "a"}, True, [1, 2], 7, None]


def test_every_label_write_refuses_names_that_break_the_rule(project, make_clips):
    """One rule, in the one place every write passes (add, undo); a name from before the rule is still read."""
    (clip,) = make_clips(project, 1)
    for name in BAD_NAMES:
        with project.write() as s:
            for write in (lambda: labels.add_label(s, clip, name, "human"), lambda: labels.undo_label(s, clip, name),
                          lambda: labels.undo_last_label(s, name)):
                with pytest.raises(AnnotatorError) as refused:
                    write()
                assert isinstance(refused.value, ValueError) and refused.value.args[0].isprintable(), name
    with project.write() as s:
        assert labels.add_label(s, clip, "Zoë O'Brien <zoe@lab>", "human").annotator == "Zoë O'Brien <zoe@lab>"
        assert labels.add_label(s, clip, " " + "x" * 100 + " ", "human").annotator == "x" * 100
        s.add(LabelEvent(clip_id=clip, annotator="old\nname", value="nonhuman"))  # written before the rule
    with project.session() as s:
        assert labels.count_events(s) == 3
        assert [e.value for e in labels.label_history(s, clip, "old\nname")] == ["nonhuman"]
        assert labels.current_labels(s, "old\nname")[clip].value == "nonhuman"
        assert labels.labels_by_annotator(s)[clip]["old\nname"] == "nonhuman"
