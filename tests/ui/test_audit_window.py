"""The window's audit panel and export dialog, on a real project scored by the built-in model."""

import csv
import json
import shutil

import pytest
from PySide6.QtCore import Qt

from conftest import label_by_truth
from voicestudio.dataset.export import ExportOptions
from voicestudio.dataset.labels import label_clip
from voicestudio.store.project import open_project

WAIT_MS = 30000


@pytest.fixture
def labelled_file(project_file):
    with open_project(project_file) as project:
        rows = label_by_truth(project)
        label_clip(project, rows[0].id, "nonhuman", annotator="bob")  # a conflict on a-voice
    return project_file


def shown_audit(qtbot, window, scored=4):
    """Raise the audit tab and wait for an audit with every labelled clip scored."""
    window.audit_dock.raise_()
    qtbot.waitUntil(lambda: window.audit_panel.audit is not None and window.audit_panel.audit.model is not None
                    and window.audit_panel.audit.model.scored >= scored, timeout=WAIT_MS)
    return window.audit_panel.audit


def test_audit_panel_shows_the_model_against_the_labels(qtbot, open_window, labelled_file):
    window = open_window(labelled_file)
    audit = shown_audit(qtbot, window)
    c = audit.model.confusion
    assert c.n == 4 and audit.by_label == {"human": 1, "nonhuman": 3}  # bob's later nonhuman wins on a-voice
    assert audit.agreement.conflicts and "Fleiss" in window.audit_panel.summary.text()
    assert window.audit_panel.pairs.rowCount() == 1
    assert window.audit_panel.roc.curve.getData()[0] is not None
    # The majority rule leaves the 1:1 conflict out.
    window.audit_panel.consensus_box.setCurrentIndex(window.audit_panel.consensus_box.findData("majority"))
    qtbot.waitUntil(lambda: window.audit_panel.audit.consensus.rule == "majority", timeout=WAIT_MS)
    assert window.audit_panel.audit.model.confusion.n == 3

    # A click on a confusion cell lists exactly its clips.
    cell = next(name for name, rows in window.audit_panel.audit.model.cell_rows.items() if len(rows))
    qtbot.mouseClick(window.audit_panel.matrix.buttons[cell], Qt.MouseButton.LeftButton)
    assert window.clip_list.queue_name == cell
    listed = {window.clip_list.model.clip_id(r) for r in range(window.clip_list.model.rowCount())}
    table = window.session.table
    assert listed == {int(table.ids[r]) for r in window.audit_panel.audit.model.cell_rows[cell]}


def test_threshold_picker_sets_the_threshold_and_writes_the_card(qtbot, open_window, labelled_file, tmp_path):
    from voicestudio.model.detector import DEFAULT_MODEL

    model = tmp_path / "mine.tflite"
    shutil.copy(DEFAULT_MODEL, model)
    shutil.copy(DEFAULT_MODEL.with_suffix(".json"), model.with_suffix(".json"))
    window = open_window(labelled_file, model_path=str(model))
    shown_audit(qtbot, window)
    pick = window.audit_panel.pick()
    assert pick is not None and pick.threshold is not None
    window.audit_panel.use_button.click()
    assert window.session.threshold == pytest.approx(round(pick.threshold, 3))
    qtbot.waitUntil(lambda: window.audit_panel.audit.model.threshold == pytest.approx(window.session.threshold), timeout=WAIT_MS)

    assert window.audit_panel.write_button.text() == f"Write {pick.threshold:.3f} to the model card"
    window.audit_panel.write_button.click()
    qtbot.waitUntil(lambda: json.loads(model.with_suffix(".json").read_text())["threshold"] == pick.threshold,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.session.model.detector.card.threshold == pick.threshold, timeout=WAIT_MS)


def test_export_dialog_options_and_the_export_job(qtbot, open_window, labelled_file, tmp_path):
    from voicestudio.ui.export_dialog import ExportDialog

    window = open_window(labelled_file)
    dialog = ExportDialog(window.session.project.label, ["ann", "bob"], window.audit_panel.consensus(), window)
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path / "set"))
    dialog.layout_box.setCurrentIndex(dialog.layout_box.findData("csv"))
    dialog.annotator_box.setCurrentIndex(dialog.annotator_box.findData("ann"))
    options = dialog.options()
    assert options.layout == "csv" and options.consensus.annotator == "ann" and options.rate == 16000
    assert "--annotator ann" in dialog.command.text() and str(tmp_path / "set") in dialog.command.text()
    dialog.fractions[0].setValue(0.5)  # 0.5 + 0.1 + 0.1: refused with the reason shown, nothing accepted
    dialog._accept()
    assert "sum to 1" in dialog.error.text() and dialog.result() == 0

    with qtbot.waitSignal(window.export_finished, timeout=WAIT_MS) as done:
        window.projects.export(tmp_path / "set", options)
    result = done.args[0]
    assert len(result.written) == 4 and not result.failures
    with open(tmp_path / "set" / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["label"] for r in rows} == {"human", "nonhuman"} and all(r["model_score"] for r in rows)
    assert "Exported 4 clips" in window.statusBar().currentMessage()
    box = window.projects.export_box  # the finished note offers the folder, without blocking the window
    assert box.isVisible() and not box.isModal()
    assert "Open the export folder" in [b.text() for b in box.buttons()]
    box.close()

    # Exporting into the same folder again: the dialog names its own box, not a command-line flag.
    again = ExportDialog(window.session.project.label, ["ann"], window.audit_panel.consensus(), window)
    qtbot.addWidget(again)
    again.folder.setText(str(tmp_path / "set"))
    again._accept()
    assert "Replace an earlier export in this folder" in again.error.text() and "--force" not in again.error.text()


def test_export_options_refuse_nonsense():
    for bad in ({"layout": "zip"}, {"rate": 5}, {"fractions": (0.5, 0.1, 0.1)}, {"features": "wavelets"}):
        with pytest.raises(ValueError):
            ExportOptions(**bad)


def test_labels_export_and_import_from_the_window(qtbot, open_window, labelled_file, tmp_path):
    window = open_window(labelled_file)
    window.projects.export_labels(str(tmp_path / "labels.csv"))
    qtbot.waitUntil(lambda: (tmp_path / "labels.csv").exists(), timeout=WAIT_MS)
    with open(tmp_path / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5
    with open(tmp_path / "more.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["path", "label", "annotator"])
        out.writerow([rows[0]["path"], "unsure", "zed"])
        out.writerow(["/nowhere.wav", "human", "zed"])
    window.projects.import_labels(str(tmp_path / "more.csv"))
    table = lambda: window.session.table  # noqa: E731  (replaced by the import)
    row = table().row_of(int(rows[0]["clip_id"]))
    qtbot.waitUntil(lambda: "zed" in table().votes.get(table().row_of(int(rows[0]["clip_id"])), {}), timeout=WAIT_MS)
    assert row is not None and "1 rows failed" in window.statusBar().currentMessage()
