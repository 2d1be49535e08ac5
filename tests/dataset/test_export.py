"""Export of a labelled project: layouts, splits, consensus, determinism and safety, on real files."""

import csv
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import audiofiles
from voicestudio.dataset.consensus import Consensus
from voicestudio.dataset.export import ExportOptions, export_dataset, plan_export
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.dataset.labels import label_clip
from voicestudio.errors import VoiceStudioError
from voicestudio.store import clips as clip_store
from voicestudio.store.project import open_project

SR = 22050


@pytest.fixture
def labelled(tmp_path):
    """20 one-second files from 5 speakers and 2 noise folders, and a 6-s recording cut into 3 clips.

    Hostile names included: a file named like a path escape and two names that differ only by case.
    """
    audio = tmp_path / "audio"
    for i in range(10):
        audiofiles.write(audio / f"spk{i % 5}" / f"take {i}.wav", audiofiles.speechlike(SR, 1.0, seed=i), SR)
        audiofiles.write(audio / f"noise{i % 2}" / f"n{i}.flac", audiofiles.noise(SR, 1.0, seed=i), SR)
    audiofiles.write(audio / "odd" / "..evil.wav", audiofiles.tone(SR, 1.0), SR)
    audiofiles.write(audio / "odd" / "Case.wav", audiofiles.tone(SR, 1.0, 300), SR)
    audiofiles.write(audio / "odd2" / "case.wav", audiofiles.tone(SR, 1.0, 500), SR)
    audiofiles.write(audio / "long" / "meeting.wav", audiofiles.speechlike(SR, 6.0, seed=99), SR)
    project = open_project(tmp_path / "p.vsproj")
    import_paths(project, [audio / d for d in ("spk0", "spk1", "spk2", "spk3", "spk4", "noise0", "noise1", "odd", "odd2")])
    import_paths(project, [audio / "long"], rule=SegmentRule.parse("2"))
    with project.session() as s:
        rows = clip_store.list_clips(s)
    project.ids = {}
    for row in rows:
        human = "spk" in row.path or "meeting" in row.path
        label_clip(project, row.id, "human" if human else "nonhuman", annotator="ann")
        project.ids.setdefault(Path(row.path).name, []).append(row.id)
    yield project
    project.close()


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def manifest(folder: Path) -> list[dict]:
    with open(folder / "manifest.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_folders_layout_is_complete_resampled_and_readable_by_train(labelled, tmp_path):
    from voicestudio.model.train import find_labelled_files

    out = tmp_path / "set"
    result = export_dataset(labelled, out, ExportOptions(rate=16000, seed=3))
    rows = manifest(out)
    assert len(rows) == len(result.written) == 26 and not result.failures
    for row in rows:
        path = out / row["path"]
        assert path.parent.parent.name == row["split"] and path.parent.name == row["label"]
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
        assert float(row["duration_s"]) == pytest.approx(float(row["end_s"]) - float(row["start_s"]), abs=1e-3)
    # The 6-s recording is three 2-s files, all in one split (grouped by source).
    meeting = [r for r in rows if r["source_file"].endswith("meeting.wav")]
    assert [round(float(r["start_s"])) for r in sorted(meeting, key=lambda r: float(r["start_s"]))] == [0, 2, 4]
    assert len({r["split"] for r in meeting}) == 1 and all("_" in Path(r["path"]).stem for r in meeting)
    # voicestudio train reads it as split, with the manifest's groups.
    found = find_labelled_files(out)
    assert len(found) == 26 and {f.split for f in found} == {"train", "val", "test"}
    assert {f.group for f in found if "meeting" in f.path.name} == {meeting[0]["source_group"]}
    card = (out / "README.md").read_text()
    assert "voicestudio --db" in card and "--seed 3 --rate 16000" in card
    assert "| **all** | 13 | 13 | 26 |" in card


def test_same_seed_gives_identical_exports(labelled, tmp_path):
    options = ExportOptions(rate=16000, seed=7, features="mfcc-npy")
    export_dataset(labelled, tmp_path / "one", options)
    export_dataset(labelled, tmp_path / "two", ExportOptions(rate=16000, seed=7, features="mfcc-npy", workers=1))
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    export_dataset(labelled, tmp_path / "three", ExportOptions(rate=16000, seed=8))
    splits = lambda folder: {r["clip_id"]: r["split"] for r in manifest(folder)}  # noqa: E731
    assert splits(tmp_path / "one") != splits(tmp_path / "three")


def test_hostile_names_stay_inside_and_never_collide(labelled, tmp_path):
    out = tmp_path / "set"
    result = export_dataset(labelled, out, ExportOptions(layout="csv"))
    written = [out / w.path for w in result.written]
    assert len({p.name.lower() for p in written}) == len(written)  # unique even on a case-insensitive disk
    for path in written:
        assert path.resolve().is_relative_to(out.resolve()) and path.exists()
    names = {Path(w.item.source).name: Path(w.path).name for w in result.written}
    assert names["..evil.wav"] == "evil.wav"
    assert {names["Case.wav"].lower(), names["case.wav"].lower()} == {"case.wav", "case-2.wav"}
    assert not list(tmp_path.glob("evil*")) and all(Path(w.path).parts[0] == "audio" for w in result.written)


def test_consensus_rules_choose_the_label(labelled, tmp_path):
    take0, take1, take2 = (labelled.ids[f"take {i}.wav"][0] for i in range(3))
    label_clip(labelled, take0, "nonhuman", annotator="bob")  # 1:1 tie
    label_clip(labelled, take1, "human", annotator="bob")  # unanimous
    label_clip(labelled, take2, "unsure", annotator="bob")
    label_clip(labelled, take2, "unsure", annotator="cy")  # majority unsure
    labels = lambda consensus: {i.clip_id: i.label for i in plan_export(labelled, ExportOptions(consensus=consensus)).items}  # noqa: E731

    latest = labels(Consensus("latest"))
    assert latest[take0] == "nonhuman" and take2 not in latest and latest[take1] == "human"
    majority = plan_export(labelled, ExportOptions(consensus=Consensus("majority")))
    assert take0 not in {i.clip_id for i in majority.items} and majority.left_out == {"no consensus": 1, "unsure": 1}
    unanimous = labels(Consensus("unanimous"))
    assert take1 in unanimous and take0 not in unanimous and take2 not in unanimous
    assert labels(Consensus("majority", include_unsure=True))[take2] == "unsure"
    assert labels(Consensus("latest", annotator="ann"))[take0] == "human"
    assert set(labels(Consensus("latest", annotator="bob"))) == {take0, take1}
    item = next(i for i in majority.items if i.clip_id == take1)
    assert item.annotators == "ann:human;bob:human"


def test_target_safety(labelled, tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(VoiceStudioError, match="not empty"):
        export_dataset(labelled, out, ExportOptions())
    with pytest.raises(VoiceStudioError, match="not a VoiceStudio export"):
        export_dataset(labelled, out, ExportOptions(force=True))
    assert (out / "precious.txt").read_text() == "keep me"
    earlier = tmp_path / "earlier"
    export_dataset(labelled, earlier, ExportOptions(seed=1))
    export_dataset(labelled, earlier, ExportOptions(seed=2, layout="csv", force=True))
    assert (earlier / "audio").is_dir() and not (earlier / "train").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_a_bad_clip_is_reported_and_the_rest_exported(labelled, tmp_path):
    source = tmp_path / "audio" / "spk0" / "take 0.wav"
    source.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    result = export_dataset(labelled, tmp_path / "set", ExportOptions())
    assert [f.source for f in result.failures] == [str(source)]
    assert len(result.written) == 25 and len(manifest(tmp_path / "set")) == 25
    assert "take 0" in (tmp_path / "set" / "README.md").read_text()


def test_cancel_leaves_nothing(labelled, tmp_path):
    import threading

    cancel = threading.Event()
    result = export_dataset(labelled, tmp_path / "set", ExportOptions(), progress=lambda p: cancel.set(), cancel=cancel)
    assert result.cancelled and not (tmp_path / "set").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


FILL_THE_DISK = """
import resource, signal, sys
from voicestudio.dataset.export import ExportOptions, export_dataset
from voicestudio.errors import VoiceStudioError
from voicestudio.store.project import open_project

project = open_project(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (150000, 150000))
try:
    export_dataset(project, sys.argv[2], ExportOptions(rate=48000))
except VoiceStudioError as exc:
    sys.exit(str(exc))
"""


def test_a_write_failure_stops_the_export_and_leaves_nothing(labelled, tmp_path):
    """A real failed write: the kernel refuses files over 150 kB (2 s at 48 kHz is 192 kB), as a full disk would."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FILL_THE_DISK, labelled.label, str(tmp_path / "set")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "nothing was changed" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "set").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_hf_layout_and_features(labelled, tmp_path):
    out = tmp_path / "hf"
    export_dataset(labelled, out, ExportOptions(layout="hf", rate=16000, features="mfcc-png", audio_format="flac"))
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "checksums.sha256", "features", "manifest.csv",
                                                     "test", "train", "val"]
    rows = manifest(out)
    assert rows and all(r["path"].startswith(f"{r['split']}/{r['label']}/") and r["path"].endswith(".flac") for r in rows)
    assert not list(out.rglob("metadata.csv"))  # audiofolder would read label as a string from it
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "      class_label:\n        names:\n          '0': human\n          '1': nonhuman\n" in card
    assert "  - split: validation\n    path: val/*/*\n" in card and "sampling_rate: 16000" in card
    png = next(out.glob("features/train/human/*.png")).read_bytes()
    assert png.startswith(b"\x89PNG") and int.from_bytes(png[20:24], "big") == 20  # height: 20 coefficients

    npy = tmp_path / "npy"
    export_dataset(labelled, npy, ExportOptions(features="mfcc-npy"))
    row = next(r for r in manifest(npy) if r["features"])
    array = np.load(npy / row["features"])
    assert array.dtype == np.float32 and array.shape[1] == 20 and array.shape[0] > 90  # 1 s at a 10-ms hop


def test_cli_export_and_options(labelled, tmp_path, capsys):
    from voicestudio.cli import main

    db = labelled.label
    code = main(["--db", db, "--json", "export", str(tmp_path / "set"), "--split", "0.5,0.5", "--group-by", "folder",
                 "--rate", "8000", "--seed", "2"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["clips"] == 26 and set(result["counts"]) == {"train", "val"}
    rows = manifest(tmp_path / "set")
    folder_split = {}
    for row in rows:
        assert folder_split.setdefault(os.path.dirname(row["source_file"]), row["split"]) == row["split"]
    assert main(["--db", db, "export", str(tmp_path / "set")]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main(["--db", db, "export", str(tmp_path / "x"), "--split", "0.5,0.1"]) == 2
    assert main(["--db", db, "export", str(tmp_path / "x"), "--rate", "100"]) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_keras_reads_the_folders_export(labelled, tmp_path):
    keras = pytest.importorskip("keras")  # the train extra, installed by the test command
    out = tmp_path / "set"
    export_dataset(labelled, out, ExportOptions(rate=16000))
    train = keras.utils.audio_dataset_from_directory(str(out / "train"), class_names=["nonhuman", "human"],
                                                     batch_size=4, output_sequence_length=16000, seed=0)
    n = sum(int(batch[0].shape[0]) for batch in train)
    assert n == sum(1 for r in manifest(out) if r["split"] == "train")


def test_training_layouts_default_to_the_model_rate_and_flac_for_keras_warns(labelled, tmp_path, capsys):
    from voicestudio.cli import main

    db = labelled.label
    assert main(["--db", db, "export", str(tmp_path / "a"), "--audio-format", "flac"]) == 0
    assert "reads WAV files only" in capsys.readouterr().err
    assert {r["sample_rate"] for r in manifest(tmp_path / "a")} == {"16000"}
    assert "the model's rate, the default for this layout" in (tmp_path / "a" / "README.md").read_text()
    assert main(["--db", db, "export", str(tmp_path / "b"), "--rate", "source"]) == 0
    assert "WAV" not in capsys.readouterr().err
    assert {r["sample_rate"] for r in manifest(tmp_path / "b")} == {str(SR)}
    assert "--rate source" in (tmp_path / "b" / "README.md").read_text()
    assert main(["--db", db, "export", str(tmp_path / "c"), "--format", "csv"]) == 0
    assert {r["sample_rate"] for r in manifest(tmp_path / "c")} == {str(SR)}  # csv keeps each source's rate
    with pytest.raises(SystemExit) as exited:
        main(["--db", db, "export", str(tmp_path / "d"), "--rate", "fast"])
    assert exited.value.code == 2 and "not a rate in Hz nor 'source'" in capsys.readouterr().err


def test_force_replaces_an_hf_export_of_the_old_layout(labelled, tmp_path):
    """Before the hf layout took label folders it wrote validation/x.wav with a metadata.csv per split."""
    from voicestudio.dataset.export import CARD_MARK

    out = tmp_path / "hf"
    (out / "validation").mkdir(parents=True)
    (out / "README.md").write_text(f"{CARD_MARK}\n# Human-voice detection dataset\n")
    (out / "manifest.csv").write_text("path,label,split\nvalidation/a.wav,human,val\n")
    (out / "validation" / "a.wav").write_bytes(b"RIFF")
    (out / "validation" / "metadata.csv").write_text("file_name,label\na.wav,human\n")
    export_dataset(labelled, out, ExportOptions(layout="hf", force=True))
    assert not (out / "validation").exists() and list(out.glob("train/human/*.wav"))
