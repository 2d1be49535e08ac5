"""The clip table and its queues: real projects, labels and predictions in SQLite."""

import numpy as np
import pytest

from voicestudio.dataset.cliptable import (
    ANNOTATORS_DISAGREE,
    HUMAN,
    MODEL_DISAGREES,
    NO_LABEL,
    QueueRequest,
    load_clip_table,
    queue_rows,
    sort_rows,
)
from voicestudio.dataset.consensus import Consensus
from voicestudio.store import clips, labels, predictions
from voicestudio.store.project import open_project

SCORES = [0.95, 0.10, 0.58, 0.46, None, 0.80]  # clip i's model score (None: not scored)


@pytest.fixture
def project(tmp_path):
    """Six one-second clips in files f0..f5; f5 holds two clips (a long recording's segments)."""
    with open_project(tmp_path / "p.vsproj") as project:
        with project.write() as s:
            model = predictions.register_model(s, "a" * 64, "/m.tflite", {"name": "m"})
            ids = []
            for i in range(5):
                f = clips.add_or_update_file(s, path=f"/audio/f{i}.wav", sha256=f"{i:064x}", size_bytes=1, mtime=1.0,
                                             format="WAV", subtype=None, sample_rate=16000, channels=1, frames=16000,
                                             duration_s=1.0, source_group="g")
                ids.append(clips.add_clip(s, f.id, 0.0, 1.0)[0].id)
            f = clips.add_or_update_file(s, path="/audio/f5.wav", sha256=f"{5:064x}", size_bytes=1, mtime=1.0,
                                         format="WAV", subtype=None, sample_rate=16000, channels=1, frames=32000,
                                         duration_s=2.0, source_group="g")
            ids.extend(clips.add_clips(s, f.id, [(0.0, 1.0), (1.0, 2.0)]).ids)
            for clip_id, score in zip(ids, SCORES + [0.3]):
                if score is not None:
                    predictions.save_prediction(s, clip_id, model.id, score, 0.5, [0.0], [score])
        project.ids, project.model_id = ids, model.id
        yield project


def table_for(project, annotator="ann"):
    with project.session() as s:
        return load_clip_table(s, annotator=annotator, model_id=project.model_id)


def label(project, clip_id, value, annotator="ann"):
    with project.write() as s:
        return labels.add_label(s, clip_id, annotator, value).id


def test_columns_come_from_the_store(project):
    label(project, project.ids[0], "human", "ann")
    label(project, project.ids[0], "nonhuman", "bob")
    label(project, project.ids[1], "nonhuman", "bob")
    label(project, project.ids[1], None, "bob")  # cleared
    table = table_for(project)
    assert list(table.ids) == project.ids
    assert table.n_annotators.tolist() == [2, 0, 0, 0, 0, 0, 0]
    assert table.label[0] == 2  # bob's is the most recent
    assert table.mine[0] == HUMAN and table.mine[1] == NO_LABEL
    assert np.isnan(table.score[4]) and table.score[0] == pytest.approx(0.95)
    assert table.name(0) == "f0.wav" and table.name(6) == "0:01.0 f5.wav" and table.name(5) == "0:00.0 f5.wav"


def test_record_updates_one_row_like_a_reload(project):
    table = table_for(project)
    event = label(project, project.ids[2], "human")
    table.record(project.ids[2], "ann", event, "human")
    event = label(project, project.ids[2], "nonhuman", "bob")
    table.record(project.ids[2], "bob", event, "nonhuman")
    fresh = table_for(project)
    for column in ("label", "mine", "n_annotators"):
        assert np.array_equal(getattr(table, column), getattr(fresh, column)), column
    assert table.disagreement(0.5)[2] == ANNOTATORS_DISAGREE
    assert table.row_disagreement(2, 0.5) == ANNOTATORS_DISAGREE
    assert table.record(10**6, "ann", 1, "human") is None  # a clip not in the table


def test_unlabelled_queue_is_the_annotators_own(project):
    label(project, project.ids[0], "human", "ann")
    label(project, project.ids[1], "human", "bob")
    rows = queue_rows(table_for(project, "ann"), QueueRequest("unlabelled"))
    assert [project.ids[r] for r in rows] == project.ids[1:]


def test_uncertain_queue_is_nearest_the_threshold_first(project):
    rows = queue_rows(table_for(project), QueueRequest("uncertain", threshold=0.5, uncertain_margin=0.25))
    assert [SCORES[r] if r < 6 else 0.3 for r in rows] == [0.46, 0.58, 0.3]


def test_disagreements_put_confident_mistakes_first_then_annotator_conflicts(project):
    ids = project.ids
    label(project, ids[1], "human")  # scored 0.10: a confident mistake
    label(project, ids[3], "human")  # 0.45: a near miss
    label(project, ids[0], "human")  # 0.95: agrees
    label(project, ids[5], "human")
    label(project, ids[5], "nonhuman", "bob")  # annotators disagree (and bob's latest disagrees with 0.80)
    label(project, ids[4], "nonhuman")  # unscored: never a model disagreement
    table = table_for(project)
    rows = queue_rows(table, QueueRequest("disagreements", threshold=0.5))
    # Mistakes by confidence (clip 5's latest label, bob's nonhuman, contradicts 0.80), then conflicts not yet listed.
    assert [ids[r] for r in rows] == [ids[1], ids[5], ids[3]]
    assert [ids[r] for r in queue_rows(table, QueueRequest("mistakes", threshold=0.5))] == [ids[1], ids[5], ids[3]]
    assert [ids[r] for r in queue_rows(table, QueueRequest("conflicts", threshold=0.5))] == [ids[5]]
    assert table.disagreement(0.5)[1] == MODEL_DISAGREES
    # At threshold 0.05 the model calls 0.10 human: that mistake is gone.
    assert ids[1] not in [ids[r] for r in queue_rows(table, QueueRequest("disagreements", threshold=0.05))]


def test_confusion_cells_list_their_clips_and_follow_the_consensus(project):
    ids = project.ids
    label(project, ids[0], "human")  # 0.95: true positive
    label(project, ids[1], "nonhuman")  # 0.10: true negative
    label(project, ids[2], "nonhuman")  # 0.58: false positive
    label(project, ids[5], "nonhuman")  # 0.80: false positive, more confident
    label(project, ids[3], "nonhuman", "bob")
    label(project, ids[3], "nonhuman", "cy")
    label(project, ids[3], "human")  # 0.46: the latest label makes it a false negative; the majority, a true negative
    table = table_for(project)

    def cell(name, **kw):
        return [ids[r] for r in queue_rows(table, QueueRequest(name, threshold=0.5, **kw))]

    assert cell("tp") == [ids[0]]
    assert cell("fp") == [ids[5], ids[2]]
    assert cell("fn") == [ids[3]]
    assert cell("tn") == [ids[1]]
    majority = Consensus("majority")
    assert cell("fn", consensus=majority) == [] and cell("tn", consensus=majority) == [ids[3], ids[1]]


def test_filter_and_sort(project):
    table = table_for(project)
    rows = queue_rows(table, QueueRequest("all", text="F5"))
    assert [table.paths[r] for r in rows] == ["/audio/f5.wav"] * 2
    everything = queue_rows(table, QueueRequest("all"))
    by_score = sort_rows(table, everything, "score", descending=True, threshold=0.5)
    assert [project.ids.index(table.ids[r]) for r in by_score][:3] == [0, 5, 2]
    assert table.ids[by_score[-1]] == project.ids[4]  # unscored last when descending
    by_name = sort_rows(table, everything, "name", descending=False, threshold=0.5)
    # By file, then by start: a recording's segments stay together in time order.
    assert [(table.paths[r].rsplit("/", 1)[-1], table.starts[r]) for r in by_name] == \
        sorted((table.paths[r].rsplit("/", 1)[-1], table.starts[r]) for r in everything)
    with pytest.raises(ValueError):
        queue_rows(table, QueueRequest("nonsense"))


def test_a_hundred_thousand_clips_load_as_columns(tmp_path):
    """The list's scale: one query per column, no per-row objects."""
    import time

    from sqlalchemy import insert

    from voicestudio.store.schema import AudioFile, Clip

    with open_project(tmp_path / "big.vsproj") as project:
        with project.write() as s:
            s.execute(insert(AudioFile), [dict(path=f"/a/{i:06d}.wav", sha256=f"{i:064x}", size_bytes=1, mtime=1.0,
                                               format="WAV", sample_rate=16000, channels=1, frames=16000,
                                               duration_s=1.0) for i in range(100_000)])
            s.execute(insert(Clip), [dict(file_id=i + 1, start_s=0.0, end_s=1.0) for i in range(100_000)])
        started = time.perf_counter()
        with project.session() as s:
            table = load_clip_table(s, annotator="ann")
        assert len(table) == 100_000 and table.ids.dtype == np.int64
        assert len(queue_rows(table, QueueRequest("unlabelled"))) == 100_000
        print(f"100,000 clips loaded in {time.perf_counter() - started:.2f} s")


def test_the_note_column_shows_the_note_of_the_label_shown(project):
    a, b = project.ids[0], project.ids[1]
    with project.write() as s:
        labels.add_label(s, a, "ann", "human", note="a man talking")
        labels.add_label(s, b, "ann", "nonhuman", note="a car")
        labels.add_label(s, b, "bob", "human", note="someone behind the car")
    table = table_for(project)
    assert table.note(table.row_of(a)) == "a man talking"
    assert table.note(table.row_of(b)) == "someone behind the car"  # bob's label is the one shown
    with project.write() as s:
        labels.undo_label(s, b, "bob")
    table = table_for(project)
    assert table.note(table.row_of(b)) == "a car"  # bob's undo cleared his vote; an undo's note is not shown
    # Live: a newer event drops the old note until its own note arrives.
    row = table.record(a, "ann", 10**6, "unsure")
    assert table.note(row) == ""
    assert table.set_note(a, "ann", 10**6 - 1, "stale") is None and table.note(row) == ""
    table.set_note(a, "ann", 10**6, "not sure at all")
    assert table.note(row) == "not sure at all"


def test_the_filter_takes_label_note_path_and_words(project):
    from voicestudio.dataset.cliptable import parse_filter

    ids = project.ids
    with project.write() as s:
        labels.add_label(s, ids[0], "ann", "human", note="Too quiet, a man")
        labels.add_label(s, ids[1], "ann", "nonhuman", note="a car")
        labels.add_label(s, ids[2], "ann", "unsure")
    table = table_for(project)
    everything = queue_rows(table, QueueRequest("all"))

    def listed(text):
        return [int(table.ids[r]) for r in queue_rows(table, QueueRequest("all", text=text))]

    assert listed("label:human") == [ids[0]]
    assert listed("label:non-human") == [ids[1]]
    assert listed("label:none") == ids[3:] == listed("label:unlabelled")
    assert listed("label:human label:unsure") == [ids[0], ids[2]]  # several labels: any of them
    assert listed("label:nonsense") == []
    assert listed("label:") == [int(table.ids[r]) for r in everything]  # half typed: no filter yet
    assert listed('note:"too quiet"') == [ids[0]] == listed("note:quiet")
    assert listed("note:") == ids[:2]  # any note
    assert listed("note:car label:human") == []
    assert listed("f1 note:car") == [ids[1]] and listed("f0 note:car") == []
    assert listed("path:/audio/f5") == ids[5:]
    assert listed("f5") == ids[5:]
    assert parse_filter('label:human note:"a b" path:/x word').words == ("word",)


def test_start_column_and_grouping_by_recording(project):
    from voicestudio.dataset.cliptable import RECORDING_ORDER

    table = table_for(project)
    rows = queue_rows(table, QueueRequest("all"))
    starts = [table.start_text(int(r)) for r in rows]
    assert starts == ["", "", "", "", "", "0:00.0", "0:01.0"]  # only f5's two segments have a start
    by_start = sort_rows(table, rows, "start", descending=True, threshold=0.5)
    assert [table.start_text(int(r)) for r in by_start[:2]] == ["0:01.0", "0:00.0"]
    shuffled = rows[[6, 2, 0, 5, 4, 1, 3]]
    grouped = sort_rows(table, shuffled, RECORDING_ORDER, descending=False, threshold=0.5)
    assert [int(r) for r in grouped] == [int(r) for r in rows]  # path, then start: f5's segments together


def test_models_disagree_lists_the_compared_clips_whose_decisions_differ_largest_gap_first(project):
    from voicestudio.dataset.cliptable import MODELS_DISAGREE, ComparedModels

    table = table_for(project)
    ids = project.ids
    assert list(queue_rows(table, QueueRequest(MODELS_DISAGREE))) == []  # no comparison: an empty queue
    a = {ids[0]: 0.9, ids[1]: 0.2, ids[2]: 0.6, ids[3]: 0.55, ids[5]: 0.7}
    b = {ids[0]: 0.1, ids[1]: 0.3, ids[2]: 0.3, ids[3]: 0.65, ids[5]: 0.2}
    # A decides at 0.5, B at 0.6 (each its own card's): clip 3 is human to both (0.55, 0.65), clip 1 to neither.
    compared = ComparedModels("A", "B", 0.5, 0.6, a, b, frozenset({ids[0], ids[1], ids[2], ids[3]}))
    table.set_comparison(compared)
    rows = queue_rows(table, QueueRequest(MODELS_DISAGREE))
    # clip 0 (gap 0.8) before clip 2 (gap 0.3); clip 5 differs too but the comparison did not count it.
    assert [int(table.ids[r]) for r in rows] == [ids[0], ids[2]]
    assert np.isnan(table.score_b[table.row_of(ids[4])]) and table.score_a[table.row_of(ids[5])] == 0.7
    by_b = sort_rows(table, np.arange(len(table)), "score_b", True, 0.5)
    assert int(table.ids[by_b[0]]) == ids[3]
    assert table.snapshot().comparison is compared
    table.set_comparison(None)
    assert table.score_a is None and list(queue_rows(table, QueueRequest(MODELS_DISAGREE))) == []


def test_a_comparison_stays_shown_when_the_table_is_read_again(project):
    from voicestudio.dataset.cliptable import ComparedModels
    from voicestudio.dataset.session import Session
    from voicestudio.dataset.workspace import ModelChoice, Workspace
    from voicestudio.settings import Settings

    session = Session(Workspace("p", project, ModelChoice(None, None, {}), table_for(project)), Settings())
    compared = ComparedModels("A", "B", 0.5, 0.5, {project.ids[0]: 0.9}, {project.ids[0]: 0.1},
                              frozenset({project.ids[0]}))
    assert session.show_comparison(compared).scores
    session.replace_table(table_for(project))
    assert session.table.comparison is compared and session.table.score_b[session.table.row_of(project.ids[0])] == 0.1
