"""``voicestudio compare MODEL_A MODEL_B`` (issue 19): two real .tflite models on a real SQLite project
of audio written here, checked against metrics.py on the scores read back from the store, against a
hand-computed binomial, and against the export's own split."""

from __future__ import annotations

import csv
import json
from math import comb

import numpy as np
import pytest

import audiofiles
from voicestudio.cli import main
from voicestudio.dataset.compare import compare_models, exact_binomial_p, McNemar
from voicestudio.dataset.consensus import Consensus
from voicestudio.dataset.export import ExportOptions, export_dataset
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.dataset.labels import label_clip, label_clips
from voicestudio.metrics import average_precision, confusion_at, pr_curve, roc_auc
from voicestudio.model.detector import Detector
from voicestudio.store import clips as clip_store
from voicestudio.store.models import find_model
from voicestudio.store.predictions import clip_scores
from voicestudio.store.project import open_project

SR = 16000


@pytest.fixture
def project(tmp_path):
    """24 three-second recordings cut into 1-s clips (72 clips, 3 per source group): 12 speech-like,
    6 tones, 6 noises. Labelled by what they are, except one clip left unlabelled and one unsure."""
    audio = tmp_path / "audio"
    for i in range(12):
        audiofiles.write(audio / f"spk{i % 4}" / f"take{i}.wav", audiofiles.speechlike(SR, 3.0, seed=i), SR)
    for i in range(6):
        audiofiles.write(audio / "tones" / f"tone{i}.wav", audiofiles.tone(SR, 3.0, 200.0 + 250 * i), SR)
        audiofiles.write(audio / "street" / f"noise{i}.wav", audiofiles.noise(SR, 3.0, seed=i), SR)
    db = tmp_path / "p.vsproj"
    opened = open_project(db)
    assert import_paths(opened, [audio], rule=SegmentRule.parse("1")).clips_added == 72
    with opened.session() as session:
        rows = clip_store.list_clips(session)
    human = [r.id for r in rows if "/spk" in r.path]
    label_clips(opened, human, "human", annotator="ann")
    label_clips(opened, [r.id for r in rows if "/spk" not in r.path], "nonhuman", annotator="ann")
    label_clip(opened, human[0], None, annotator="ann")  # unlabelled again
    label_clip(opened, human[1], "unsure", annotator="ann")
    opened.db_path = db
    opened.left_out = {human[0], human[1]}
    yield opened
    opened.close()


@pytest.fixture
def builtin():
    return Detector()


@pytest.fixture
def mean_model(tiny_model):
    return Detector(tiny_model)


def stored(project, detector) -> dict[int, float]:
    with project.session() as session:
        return clip_scores(session, find_model(session, detector.sha256).id)


def test_figures_are_metrics_of_the_stored_scores_and_a_second_run_scores_nothing(project, builtin, mean_model):
    first = compare_models(project, builtin, mean_model, split="all")
    assert first.a.scoring.scored == first.b.scoring.scored == 72  # every clip, labelled or not
    again = compare_models(project, builtin, mean_model, split="all")
    assert again.a.scoring.scored == again.b.scoring.scored == 0 and again.a.scoring.already_scored == 72

    with project.session() as session:
        labels = {r.id: "human" if "/spk" in r.path else "nonhuman" for r in clip_store.list_clips(session)}
    ids = sorted(set(labels) - project.left_out)  # unsure and unlabelled clips are left out
    assert sorted(again.clip_ids.tolist()) == ids and len(again.clip_ids) == 70
    truth = np.array([labels[int(c)] == "human" for c in again.clip_ids])
    assert (again.truth == truth).all()
    for model, detector in ((again.a, builtin), (again.b, mean_model)):
        scores = np.array([stored(project, detector)[int(c)] for c in again.clip_ids])
        assert (model.scores == scores).all()
        assert model.threshold == detector.card.threshold
        assert model.auc == roc_auc(truth, scores)
        assert model.average_precision == average_precision(truth, scores) == pr_curve(truth, scores).area
        assert model.confusion == confusion_at(truth, scores, detector.card.threshold)
        assert model.balanced_accuracy == confusion_at(truth, scores, detector.card.threshold).balanced_accuracy

    # McNemar: b = A right and B wrong, c = A wrong and B right; two-sided exact binomial by hand.
    right_a, right_b = again.a.decisions == truth, again.b.decisions == truth
    b, c = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    assert (again.mcnemar.a_right_b_wrong, again.mcnemar.a_wrong_b_right) == (b, c) and b + c > 0
    n = b + c
    hand = min(1.0, 2 * sum(comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n)
    assert again.mcnemar.p_value == pytest.approx(hand, rel=1e-12)
    from scipy.stats import binomtest

    assert again.mcnemar.p_value == pytest.approx(binomtest(b, n, 0.5).pvalue, rel=1e-9)

    # The queue: exactly the clips where the decisions differ, the largest score gap first.
    differ = {int(i) for i, x, y in zip(again.clip_ids, again.a.decisions, again.b.decisions) if x != y}
    queue = again.disagreements
    assert {d.clip_id for d in queue} == differ and len(queue) == len(differ)
    gaps = [abs(d.score_a - d.score_b) for d in queue]
    assert gaps == sorted(gaps, reverse=True)
    for d in queue:
        assert d.truth == labels[d.clip_id] and d.score_a == stored(project, builtin)[d.clip_id]
        assert d.path.endswith(".wav") and d.end_s - d.start_s == pytest.approx(1.0)


def test_the_test_split_is_exactly_the_exports_test_split(project, builtin, mean_model, tmp_path):
    for seed in (0, 3):
        comparison = compare_models(project, builtin, mean_model, split="test", seed=seed)
        export_dataset(project, tmp_path / f"export{seed}", ExportOptions(layout="csv", seed=seed))
        with open(tmp_path / f"export{seed}" / "manifest.csv", newline="") as f:
            test_ids = {int(row["clip_id"]) for row in csv.DictReader(f) if row["split"] == "test"}
        assert test_ids and sorted(comparison.clip_ids.tolist()) == sorted(test_ids)
        assert comparison.split == "test" and comparison.seed == seed
    with pytest.raises(ValueError, match="split must be one of"):
        compare_models(project, builtin, mean_model, split="val")


def test_average_precision_is_step_wise_as_hand_computed():
    truth = [True, False, True, True, False]
    scores = [0.9, 0.8, 0.7, 0.4, 0.3]
    # Each human clip adds 1/3 recall at precision 1 (0.9), 2/3 (0.7) and 3/4 (0.4); no interpolation.
    assert average_precision(truth, scores) == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)
    assert average_precision([True, False], [0.5, 0.5]) == pytest.approx(0.5)  # a tie is one threshold
    assert average_precision([False, False], [0.1, 0.2]) is None


def test_mcnemar_p_value_and_sentence():
    # n = 30, at most 7 on the smaller side: 2 * (C(30,0) + ... + C(30,7)) / 2**30 = 2 * 2804012 / 2**30.
    assert exact_binomial_p(7, 23) == exact_binomial_p(23, 7) == pytest.approx(2 * 2804012 / 2 ** 30, rel=1e-15)
    assert exact_binomial_p(0, 0) == 1.0 and exact_binomial_p(5, 5) == 1.0
    assert McNemar(7, 23, exact_binomial_p(7, 23)).sentence() == "B is better on 23 clips, A on 7, p = 0.005"
    assert McNemar(0, 0, 1.0).sentence() == "no clip where exactly one is right"
    assert McNemar(3, 3, 1.0).sentence() == "A and B are each better on 3 clips, p = 1.000: the difference is not " \
        "significant at 5 %"
    assert McNemar(0, 40, exact_binomial_p(0, 40)).sentence() == "B is better on 40 clips, A on 0, p = 1.8e-12"
    assert McNemar(5, 3, exact_binomial_p(5, 3)).sentence() == \
        "A is better on 5 clips, B on 3, p = 0.727: the difference is not significant at 5 %"


def test_compare_json_text_and_plots_through_the_cli(project, mean_model, tiny_model, tmp_path, capsys):
    db, plots = str(project.db_path), tmp_path / "plots"
    project.close()  # as a user would: the CLI opens the project itself
    status = main(["--db", db, "--json", "compare", "builtin", str(tiny_model), "--split", "all", "--plots",
                   str(plots), "--speed", "--consensus", "majority"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    out = json.loads(captured.out)
    assert out["clips"] == 70 and out["split"] == "all" and out["consensus"] == "majority"
    assert out["a"]["name"] == "voice-detector" and out["b"]["sha256"] == mean_model.sha256
    assert out["a"]["scored_now"] == out["b"]["scored_now"] == 72 and out["a"]["speed"]["ms_per_window_single"] > 0
    with open_project(db) as reopened:
        core = compare_models(reopened, Detector(), mean_model, split="all")
    assert core.b.scoring.scored == 0
    assert out["a"]["roc_auc"] == round(core.a.auc, 6) and out["b"]["confusion"] == core.b.confusion.to_dict()
    assert out["mcnemar"]["a_right_b_wrong"] == core.mcnemar.a_right_b_wrong
    assert [d["clip_id"] for d in out["disagreements"]] == [d.clip_id for d in core.disagreements]
    assert sorted(p.name for p in plots.iterdir()) == ["pr.png", "roc.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in plots.iterdir())

    assert main(["--db", db, "compare", str(tiny_model), "builtin"]) == 0  # either side may be the built-in
    text = capsys.readouterr().out
    assert "McNemar: " in text and "compared on" in text and "mean-model" in text


def test_a_file_that_is_not_a_model_is_one_line_and_the_same_model_twice_is_usage(project, tmp_path, capsys):
    db = str(project.db_path)
    project.close()
    fake = tmp_path / "fake.tflite"
    fake.write_bytes(b"not a model at all")
    assert main(["--db", db, "compare", "builtin", str(fake)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "fake.tflite" in err and "not a TensorFlow Lite model" in err
    assert main(["--db", db, "compare", "builtin", "builtin"]) == 2
    assert "same model" in capsys.readouterr().err
    assert main(["--db", db, "compare", "builtin", str(tmp_path / "missing.tflite")]) == 1


def test_speed_is_timed_on_request_only(project, builtin, mean_model):
    plain = compare_models(project, builtin, mean_model, split="all")
    assert plain.a.speed is None and "ms/window" not in plain.text()
    timed = compare_models(project, builtin, mean_model, split="all", speed=True, speed_runs=3)
    assert timed.b.speed.single_ms > 0 and timed.b.speed.batched_ms > 0 and timed.b.speed.runs == 3
    assert "ms/window" in timed.text()
    json.dumps(timed.to_dict(), allow_nan=False)  # JSON-safe


def test_nothing_to_compare_is_one_clear_error(tmp_path, builtin, mean_model):
    from voicestudio.errors import VoiceStudioError

    audiofiles.write(tmp_path / "a" / "one.wav", audiofiles.speechlike(SR, 1.0), SR)
    with open_project(tmp_path / "p.vsproj") as empty:
        import_paths(empty, [tmp_path / "a"])
        with pytest.raises(VoiceStudioError, match="no clip of the test split is labelled"):
            compare_models(empty, builtin, mean_model, consensus=Consensus())


def test_clips_a_model_cannot_score_are_named_left_out_and_exit_1(project, tiny_model, capsys):
    db = str(project.db_path)
    project.close()
    gone = next(p for p in (project.db_path.parent / "audio" / "street").iterdir())
    gone.unlink()  # its three clips cannot be scored
    assert main(["--db", db, "--json", "compare", "builtin", str(tiny_model), "--split", "all"]) == 1
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["clips"] == 67 and out["unscored"] == 3
    assert len(out["a"]["score_failures"]) == 3 and str(gone) in captured.err


def test_the_project_default_model_is_what_the_commands_use(project, tiny_model, capsys):
    """After Use B for the project (adopt_model), score, stats, clips and export use B without --model;
    --model still wins."""
    from voicestudio.dataset.workspace import adopt_model, default_model

    db = str(project.db_path)
    adopt_model(project, str(tiny_model))
    assert default_model(project) == str(tiny_model)
    b_sha = Detector(tiny_model).sha256
    assert main(["--db", db, "--json", "score"]) == 0
    assert json.loads(capsys.readouterr().out)["model_sha256"] == b_sha
    assert main(["--db", db, "--json", "stats"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["sha256"] == b_sha
    assert main(["--db", db, "--json", "score", "--model", str(Detector().path)]) == 0
    assert json.loads(capsys.readouterr().out)["model_sha256"] == Detector().sha256
    adopt_model(project, None)  # back to the built-in model
    assert main(["--db", db, "--json", "score"]) == 0
    assert json.loads(capsys.readouterr().out)["model_sha256"] == Detector().sha256

    # The same from the command line: model use shows and sets it.
    assert main(["--db", db, "--json", "model", "use"]) == 0
    assert json.loads(capsys.readouterr().out)["default_model"] is None
    assert main(["--db", db, "model", "use", str(tiny_model)]) == 0
    assert f"{tiny_model} scores, audits and exports" in capsys.readouterr().out
    assert default_model(project) == str(tiny_model)
    assert main(["--db", db, "model", "use", "builtin"]) == 0
    assert default_model(project) is None and "the built-in detector scores" in capsys.readouterr().out
    assert main(["--db", db, "model", "use", str(project.db_path)]) != 0  # the project itself is not a model
