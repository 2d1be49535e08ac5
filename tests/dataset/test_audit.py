"""The audit over a real project: counts, agreement, the model against the labels, threshold to card."""

import json

import numpy as np
import pytest

from voicestudio.dataset.audit import audit_table, write_threshold
from voicestudio.dataset.cliptable import load_clip_table
from voicestudio.dataset.consensus import Consensus
from voicestudio.metrics import ThresholdGoal
from voicestudio.errors import VoiceStudioError
from voicestudio.store import clips, labels, models, predictions
from voicestudio.store.project import open_project

# clip:    0        1        2           3           4         5     6        7
TRUTH = ["human", "human", "nonhuman", "nonhuman", "unsure", None, "human", "nonhuman"]
SCORES = [0.9, 0.3, 0.7, 0.1, 0.8, 0.6, None, 0.5]


@pytest.fixture
def project(tmp_path):
    with open_project(tmp_path / "p.vsproj") as project:
        with project.write() as s:
            model = models.register_model(s, "c" * 64, "/m.tflite", {"name": "m"})
            ids = []
            for i, (value, score) in enumerate(zip(TRUTH, SCORES)):
                f = clips.add_or_update_file(s, path=f"/audio/f{i}.wav", sha256=f"{i:064x}", size_bytes=1, mtime=1.0,
                                             format="WAV", subtype=None, sample_rate=16000, channels=1, frames=16000,
                                             duration_s=1.0, source_group="g")
                clip_id = clips.add_clip(s, f.id, 0.0, 1.0)[0].id
                ids.append(clip_id)
                if value is not None:
                    labels.add_label(s, clip_id, "bob", "unsure")
                    labels.add_label(s, clip_id, "ann", value)  # the latest across annotators
                if score is not None:
                    predictions.save_prediction(s, clip_id, model.id, score, 0.5, [0.0], [score])
        project.ids, project.model_id = ids, model.id
        yield project


def audit(project, **kw):
    with project.session() as s:
        table = load_clip_table(s, model_id=project.model_id)
    return audit_table(table, **{"threshold": 0.5, **kw}), table


def test_counts_confusion_and_mistakes(project):
    result, table = audit(project)
    assert (result.clips, result.labelled) == (8, 7)
    assert result.by_label == {"human": 3, "nonhuman": 3, "unsure": 1}
    assert result.by_annotator == {"ann": {"human": 3, "nonhuman": 3, "unsure": 1}, "bob": {"unsure": 7}}
    m = result.model
    c = m.confusion
    assert (c.tp, c.fn, c.fp, c.tn) == (1, 1, 2, 1)  # 0.5 >= threshold counts as human
    assert (m.labelled_unscored, m.scored) == (1, 7)
    assert c.precision == pytest.approx(1 / 3) and c.recall == pytest.approx(0.5)
    # Most confident mistakes first: clips 1 (human at 0.3) and 2 (nonhuman at 0.7), then clip 7 (0.5).
    assert [x.clip_id for x in m.mistakes][2] == project.ids[7]
    assert {x.clip_id for x in m.mistakes[:2]} == {project.ids[1], project.ids[2]}
    assert sorted(int(table.ids[r]) for r in m.cell_rows["fp"]) == [project.ids[2], project.ids[7]]
    assert sum(m.histogram.counts["unlabelled"]) == 2  # clips 4 (unsure) and 5
    assert audit(project, threshold=0.95)[0].model.confusion.tp == 0


def test_agreement_between_annotators(project):
    ids = project.ids
    with project.write() as s:
        labels.add_label(s, ids[0], "cy", "human")
        labels.add_label(s, ids[1], "cy", "nonhuman")
    result, _ = audit(project)
    agree = result.agreement
    assert agree.annotators == ("ann", "bob", "cy")
    ann_cy = next(p for p in agree.pairs if (p.first, p.second) == ("ann", "cy"))
    assert (ann_cy.clips, ann_cy.observed, ann_cy.disagreements) == (2, 0.5, (ids[1],))
    ann_bob = next(p for p in agree.pairs if (p.first, p.second) == ("ann", "bob"))
    assert ann_bob.clips == 7 and ann_bob.kappa == pytest.approx(0.0)  # bob always says unsure
    assert agree.multi_labelled == 7 and agree.fleiss_kappa is not None
    assert agree.conflicts == (ids[1],)  # unsure does not conflict; human vs nonhuman does
    majority = audit(project, consensus=Consensus("majority"))[0]
    # ann vs bob's unsure is a tie everywhere but clip 4 (both unsure) and clip 0 (cy sides with ann).
    assert majority.by_label == {"human": 1, "unsure": 1}


def test_to_dict_is_json(project):
    result, table = audit(project, goals=(ThresholdGoal("best-f1"), ThresholdGoal("recall", 1.0)), model_name="m")
    data = json.loads(json.dumps(result.to_dict(table), allow_nan=False))
    assert data["model"]["confusion"]["tp"] == 1 and data["model"]["roc_auc"] == pytest.approx(4 / 6, abs=1e-4)
    assert [t["goal"] for t in data["model"]["thresholds"]] == ["best-f1", "recall=1"]
    assert data["model"]["mistakes"][-1]["path"] == "/audio/f7.wav"


def test_write_threshold_into_the_card(project, tiny_model, tmp_path):
    import shutil

    from voicestudio.model.detector import Detector

    copy = tmp_path / "copy.tflite"
    shutil.copy(tiny_model, copy)
    shutil.copy(tiny_model.with_suffix(".json"), copy.with_suffix(".json"))
    result, _ = audit(project)
    pick = result.model.picks[0]
    detector = Detector(copy)
    path = write_threshold(detector, pick, consensus=Consensus(), source="p.vsproj")
    card = json.loads(path.read_text())
    assert card["threshold"] == pick.threshold
    assert card["metrics"]["threshold_choice"]["goal"] == "best-f1"
    assert Detector(copy).card.threshold == pick.threshold
    with pytest.raises(VoiceStudioError, match="built-in"):
        write_threshold(Detector(), pick, consensus=Consensus(), source="p")


def test_stats_cli_json_text_and_plots(project, tiny_model, tmp_path, capsys):
    from voicestudio.cli import main
    from voicestudio.dataset.scoring import score_project  # noqa: F401  (stats reads stored scores only)

    db = project.label
    assert main(["--db", db, "--json", "stats", "--model", str(tiny_model), "--pick", "precision=0.9"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["labelled"] == 7 and data["model"]["scored"] == 0  # the tiny model never scored this project
    assert main(["--db", db, "stats", "--plots", str(tmp_path / "plots")]) == 1
    assert "nothing to plot" in capsys.readouterr().err
    assert main(["--db", db, "stats", "--pick", "nonsense"]) == 2
