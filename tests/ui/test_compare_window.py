"""The Audit tab's Compare page (issue 19): the window's model (A, the built-in one) against a second
real .tflite (B, tests/tinymodels.py's mean model) on a real SQLite project, run as a background job;
the clip list's Models disagree queue and A/B score columns; Cancel; adopting B as the project's default."""

import numpy as np
import pytest

import audiofiles
from conftest import label_by_truth, scoring_done
from voicestudio.dataset import workspace
from voicestudio.dataset.cliptable import COLUMNS, MODELS_DISAGREE
from voicestudio.dataset.compare import compare_models
from voicestudio.dataset.consensus import Consensus
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.dataset.labels import label_clips
from voicestudio.model.detector import DEFAULT_MODEL, Detector
from voicestudio.store import clips as clip_store
from voicestudio.store.models import find_model
from voicestudio.store.predictions import clip_scores
from voicestudio.store.project import open_project

WAIT_MS = 60000


@pytest.fixture
def labelled_file(project_file):
    with open_project(project_file) as project:
        label_by_truth(project)
    return project_file


def compare(qtbot, window, model_b, split="all"):
    """Choose B on the Compare page, press Compare, wait for the outcome."""
    window.compare.show()
    panel = window.compare_panel
    qtbot.waitUntil(lambda: panel.model_b.count() > 0, timeout=WAIT_MS)  # the project's models are listed
    panel.choose_model_b(str(model_b))
    panel.split.setCurrentIndex(panel.split.findData(split))
    with qtbot.waitSignal(window.compare.shown, timeout=WAIT_MS) as shown:
        panel.run_button.click()
    return shown.args[0]


def column_text(window, row, column):
    model = window.clip_list.model
    return model.data(model.index(row, COLUMNS.index(column)))


def listed(window):
    model = window.clip_list.model
    return [model.clip_id(r) for r in range(model.rowCount())]


def test_compare_view_shows_what_compare_models_finds(qtbot, open_window, labelled_file, tiny_model):
    window = open_window(labelled_file)
    scoring_done(qtbot, window)
    # Model B is offered among the project's models once it is registered: here, an "Other file…" choice.
    outcome = compare(qtbot, window, tiny_model)
    shown = outcome.comparison
    panel = window.compare_panel
    assert not panel.running and panel.run_button.text() == "Compare"

    # The same figures as compare_models on the same project (every score stored now: nothing is scored again).
    with open_project(labelled_file) as project:
        again = compare_models(project, Detector(), Detector(tiny_model), split="all", consensus=Consensus())
    assert again.a.scoring.scored == again.b.scoring.scored == 0
    for mine, theirs in ((shown.a, again.a), (shown.b, again.b)):
        assert (mine.name, mine.threshold) == (theirs.name, theirs.threshold)
        assert mine.auc == pytest.approx(theirs.auc)
        assert mine.balanced_accuracy == pytest.approx(theirs.balanced_accuracy)
        assert mine.average_precision == pytest.approx(theirs.average_precision)
        assert mine.confusion == theirs.confusion
        assert mine.speed is not None and mine.speed.single_ms > 0  # timed on this machine, off the main thread
    assert shown.mcnemar == again.mcnemar
    assert [d.clip_id for d in shown.disagreements] == [d.clip_id for d in again.disagreements]

    # ... and those are the numbers on the page.
    figures = {panel.figures.verticalHeaderItem(r).text(): (panel.figures.item(r, 0).text(),
                                                              panel.figures.item(r, 1).text())
               for r in range(panel.figures.rowCount())}
    assert figures["ROC AUC"] == tuple(f"{m.auc:.3f}" if m.auc is not None else "–" for m in (again.a, again.b))
    assert figures["Avg precision"] == tuple(f"{m.average_precision:.3f}" for m in (again.a, again.b))
    assert figures["Balanced acc."] == tuple(f"{m.balanced_accuracy:.3f}" for m in (again.a, again.b))
    assert figures["Human ✓ / ✗"] == tuple(f"{m.confusion.tp} / {m.confusion.fn}" for m in (again.a, again.b))
    assert figures["Non-human ✓ / ✗"] == tuple(f"{m.confusion.tn} / {m.confusion.fp}" for m in (again.a, again.b))
    assert figures["Threshold"] == tuple(f"{m.threshold:g}" for m in (again.a, again.b))
    assert all(value != "–" for value in figures["ms/window"] + figures["ms/window ×64"])
    for column, model in enumerate((again.a, again.b)):
        assert model.name in panel.figures.horizontalHeaderItem(column).toolTip()
    assert again.mcnemar.sentence() in panel.mcnemar.text()
    legend = [item[1].text for item in panel.roc.plotItem.legend.items]
    assert len(legend) == 2 and legend[0].startswith("A: ") and legend[1].startswith("B: ")

    # The list: A and B score columns, shown while the comparison is.
    table = window.session.table
    view = window.clip_list.view
    assert not view.isColumnHidden(COLUMNS.index("score_a")) and not view.isColumnHidden(COLUMNS.index("score_b"))
    assert view.isColumnHidden(COLUMNS.index("duration"))  # room for them in a list of the usual width
    with open_project(labelled_file) as project, project.session() as s:
        stored_b = clip_scores(s, find_model(s, Detector(tiny_model).sha256).id)
    window.clip_list.set_queue_name("all")
    window.recompute_queue()
    for row, clip_id in enumerate(listed(window)):
        assert column_text(window, row, "score_b") == f"{stored_b[clip_id]:.3f}"
        assert column_text(window, row, "score_a") == f"{table.score[table.row_of(clip_id)]:.3f}"

    # The Models disagree queue: exactly the clips where their decisions differ, the largest gap first.
    window.compare.list_disagreements()
    assert window.clip_list.queue_name == MODELS_DISAGREE
    assert listed(window) == [d.clip_id for d in again.disagreements]
    assert again.disagreements, "the mean model says human to everything: it must differ from the built-in one"
    gaps = [abs(float(column_text(window, r, "score_a")) - float(column_text(window, r, "score_b")))
            for r in range(len(again.disagreements))]
    assert gaps == sorted(gaps, reverse=True)

    # A label written while the comparison is shown keeps the columns (the table's row, in place).
    window.clips.show(listed(window)[0])
    qtbot.waitUntil(lambda: window.clips.loaded is not None and window.clips.loaded.clip_id == listed(window)[0],
                    timeout=WAIT_MS)
    assert column_text(window, 0, "score_b") != ""

    # Cleared: the columns and the queue go, the list falls back to All.
    window.compare.clear()
    assert view.isColumnHidden(COLUMNS.index("score_b")) and window.clip_list.queue.findData(MODELS_DISAGREE) < 0
    assert not view.isColumnHidden(COLUMNS.index("duration"))
    assert window.clip_list.queue_name == "all"


def test_time_b_without_a_device_says_how_to_add_one(qtbot, open_window, labelled_file, tiny_model):
    window = open_window(labelled_file)
    window.compare.show()
    window.compare_panel.choose_model_b(str(tiny_model))
    window.compare_panel.time_button.click()
    assert window.devices_panel.model_path.text() == str(tiny_model)
    assert "No device yet" in window.devices_panel.status.text() and "Add" in window.devices_panel.status.text()


@pytest.fixture
def many_clips_file(tmp_path):
    """240 one-second clips (12 recordings of 20 s), half labelled: scoring them takes a while."""
    audio = tmp_path / "many"
    for i in range(6):
        audiofiles.write(audio / f"voice{i}.wav", audiofiles.speechlike(16000, 20.0, seed=i), 16000)
        audiofiles.write(audio / f"noise{i}.wav", audiofiles.noise(16000, 20.0, seed=i), 16000)
    path = tmp_path / "many.vsproj"
    with open_project(path) as project:
        assert import_paths(project, [audio], rule=SegmentRule.parse("1")).clips_added == 240
        with project.session() as s:
            rows = clip_store.list_clips(s)
        label_clips(project, [r.id for r in rows if "voice" in r.path][::2], "human", annotator="ann")
        label_clips(project, [r.id for r in rows if "noise" in r.path][::2], "nonhuman", annotator="ann")
    return path


def test_cancel_mid_scoring_leaves_the_window_usable(qtbot, open_window, many_clips_file, tiny_model):
    window = open_window(many_clips_file)
    scoring_done(qtbot, window)
    window.compare.show()
    panel = window.compare_panel
    panel.choose_model_b(str(tiny_model))
    panel.split.setCurrentIndex(panel.split.findData("all"))
    cancelled = []

    def cancel_once_scoring(job):  # B is being scored (A was scored when the project opened)
        if job is window.compare.job and job.progress is not None and job.progress.done >= 1 and not cancelled:
            cancelled.append(job.progress.done)
            panel.run_button.click()  # the button reads Cancel while the job runs

    window.tasks.job_progress.connect(cancel_once_scoring)
    panel.run_button.click()
    assert panel.running and panel.run_button.text() == "Cancel"
    with qtbot.waitSignal(window.compare.failed, timeout=WAIT_MS) as failed:
        pass
    window.tasks.job_progress.disconnect(cancel_once_scoring)
    assert "cancelled" in failed.args[0] and cancelled
    assert not panel.running and "cancelled" in panel.status.text() and window.last_error is None
    assert window.compare.job is None and not window.tasks.jobs
    with open_project(many_clips_file) as project, project.session() as s:
        model = find_model(s, Detector(tiny_model).sha256)
        assert model is None or len(clip_scores(s, model.id)) < 240  # stopped part way

    # Usable: the list moves, a label is written, and the comparison runs to the end when asked again.
    with qtbot.waitSignal(window.label_written, timeout=WAIT_MS):
        window.labels.human()
    with qtbot.waitSignal(window.compare.shown, timeout=WAIT_MS) as shown:
        panel.run_button.click()
    assert len(shown.args[0].comparison.clip_ids) >= 120


def test_adopting_b_makes_it_the_project_default_and_the_builtin_stays(qtbot, open_window, labelled_file, tiny_model):
    window = open_window(labelled_file)
    scoring_done(qtbot, window)
    compare(qtbot, window, tiny_model)
    with qtbot.waitSignal(window.compare.adopted, timeout=WAIT_MS):
        window.compare_panel.adopt_button.click()
    qtbot.waitUntil(lambda: window.session.detector.sha256 == Detector(tiny_model).sha256, timeout=WAIT_MS)
    scoring_done(qtbot, window)  # re-scored with B in the background (nothing left to score here)
    assert window.model_label.text() == window.session.detector.card.name
    with open_project(labelled_file) as project:
        assert workspace.default_model(project) == str(tiny_model)
    # A's name is the page's A now; the built-in model is offered as B.
    qtbot.waitUntil(lambda: window.compare_panel.model_b.findData(str(DEFAULT_MODEL)) >= 0, timeout=WAIT_MS)
    assert window.compare_panel.model_a.text().startswith(window.session.detector.card.name)

    # Stored in the project, not in this user's settings: a fresh window opens on B.
    window.close()
    fresh = open_window(labelled_file)
    assert fresh.session.detector.sha256 == Detector(tiny_model).sha256
    assert fresh.settings.model_path == ""
    # The built-in model is still there (Model ▸ Use the built-in model), for this session only.
    fresh.actions_by_name["builtin_model"].trigger()
    qtbot.waitUntil(lambda: fresh.session.detector.sha256 == Detector().sha256, timeout=WAIT_MS)
    assert fresh.actions_by_name["builtin_model"].isEnabled()
    with open_project(labelled_file) as project:
        assert workspace.default_model(project) == str(tiny_model)
    assert not np.isnan(fresh.session.table.score).all()


def test_the_compare_page_fits_a_1280_by_720_window(qtbot, open_window, labelled_file, tiny_model):
    window = open_window(labelled_file)
    window.resize(1280, 720)
    scoring_done(qtbot, window)
    qtbot.waitUntil(lambda: window.views.width() >= 0.45 * 1280, timeout=5000)  # the side docks gave way
    compare(qtbot, window, tiny_model)
    panel = window.compare_panel
    page = panel.parentWidget().parentWidget()  # the Compare tab's own scroll area (its viewport, then the area)
    qtbot.waitUntil(lambda: panel.width() > 0 and page.viewport().width() > 0, timeout=5000)
    assert panel.minimumSizeHint().width() <= page.viewport().width()  # nothing cut at the right
    for widget in (panel.figures, panel.mcnemar, panel.adopt_button, panel.time_button):
        assert widget.isVisible() and widget.width() <= page.viewport().width()
