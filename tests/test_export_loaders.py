"""The README's recipes for loading an export, run as written: Hugging Face datasets (the hf layout),
Keras (the folders layout) and a PyTorch ``Dataset`` (any layout, from ``manifest.csv``).

The recipes are taken from README.md's "Exporting the labelled set" section, with ``OUT`` replaced by
the export folder, so the README cannot drift from what is tested. torch is not a dependency of
VoiceStudio nor of its tests: where it is not installed, the PyTorch recipe runs against a tiny
stand-in ``torch`` module (``Dataset`` base class, ``from_numpy``, ``DataLoader``) that checks the
Dataset's own logic: reading the manifest, cropping and padding to the model's 1-s window.
"""

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import audiofiles
from voicestudio.dataset.export import ExportOptions, export_dataset
from voicestudio.dataset.importer import import_paths
from voicestudio.dataset.labels import label_clip
from voicestudio.store import clips as clip_store
from voicestudio.store.project import open_project

README = Path(__file__).resolve().parent.parent / "README.md"


def recipe(name: str) -> str:
    """The python block of README.md whose first line is the comment ``# recipe: NAME``."""
    for block in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        if block.startswith(f"# recipe: {name}\n"):
            return block
    raise AssertionError(f"README.md has no recipe {name!r}")


def run(name: str, out: Path) -> dict:
    scope: dict = {}
    exec(compile(recipe(name).replace('"OUT', '"' + out.as_posix()), f"README recipe {name}", "exec"), scope)
    return scope


@pytest.fixture
def project(tmp_path):
    """Sources at 22.05 and 32 kHz, 0.6 s to 1.5 s long, from 6 speakers and 4 noise folders."""
    audio = tmp_path / "audio"
    for i in range(12):
        rate = (22050, 32000)[i % 2]
        duration = (0.6, 1.0, 1.5)[i % 3]
        audiofiles.write(audio / f"spk{i % 6}" / f"s{i}.wav", audiofiles.speechlike(rate, duration, seed=i), rate)
        audiofiles.write(audio / f"noise{i % 4}" / f"n{i}.wav", audiofiles.noise(rate, duration, seed=i), rate)
    project = open_project(tmp_path / "p.vsproj")
    import_paths(project, sorted(audio.iterdir()))
    with project.session() as s:
        for row in clip_store.list_clips(s):
            label_clip(project, row.id, "human" if "spk" in row.path else "nonhuman", annotator="ann")
    yield project
    project.close()


def test_hf_layout_loads_with_datasets(project, tmp_path):
    datasets = pytest.importorskip("datasets")  # the hf extra, part of the test extra
    out = tmp_path / "hf"
    result = export_dataset(project, out, ExportOptions(layout="hf", fractions=(0.5, 0.25, 0.25), group_by="folder",
                                                       features="mfcc-png"))  # PNGs under features/ are not audio
    counts = result.counts()
    ds = run("datasets", out)["ds"]
    assert set(ds) == {"train", "validation", "test"}
    assert {name: len(ds[name]) for name in ds} == {
        {"val": "validation"}.get(s, s): sum(c.values()) for s, c in counts.items()}
    assert ds["train"].features["label"] == datasets.ClassLabel(names=["human", "nonhuman"])
    names = ds["train"].features["label"].names
    for example in ds["train"]:
        audio = example["audio"]
        assert audio["sampling_rate"] == 16000 and audio["array"].ndim == 1 and len(audio["array"]) >= 0.5 * 16000
        assert f"/{names[example['label']]}/" in audio["path"].replace("\\", "/")
    # The card's YAML header gives the same when the folder itself is loaded (as on the Hub).
    same = datasets.load_dataset(str(out))
    assert set(same) == set(ds) and same["test"].features["label"] == ds["test"].features["label"]


@pytest.mark.slow
def test_folders_layout_loads_with_keras(project, tmp_path):
    pytest.importorskip("keras")  # the train extra, part of the test extra
    out = tmp_path / "set"
    result = export_dataset(project, out, ExportOptions(fractions=(0.5, 0.25, 0.25), group_by="folder"))
    assert {w.sample_rate for w in result.written} == {16000}  # the training layouts' default: the model's rate
    train = run("keras", out)["train"]
    assert train.class_names == ["nonhuman", "human"]
    seen = 0
    for audio, labels in train:
        assert tuple(audio.shape[1:]) == (16000, 1) and audio.shape[0] <= 32
        seen += int(audio.shape[0])
    assert seen == sum(result.counts()["train"].values())


def _stand_in_torch() -> types.ModuleType:
    torch = types.ModuleType("torch")
    data = types.SimpleNamespace(Dataset=type("Dataset", (), {}),
                                 DataLoader=lambda dataset, **kwargs: types.SimpleNamespace(dataset=dataset, **kwargs))
    torch.utils = types.SimpleNamespace(data=data)
    torch.from_numpy = np.asarray
    return torch


def test_pytorch_recipe_with_a_stand_in_torch(project, tmp_path, monkeypatch):
    """torch is no dependency, nor a test one (its Linux wheel with CUDA libraries is over 1 GB): the
    recipe's own logic (reading, cropping, padding, labels) runs against a stand-in ``torch`` module.
    ``check_pytorch_recipe(..., real_torch=True)`` also batches with the real DataLoader (run by hand:
    checked with torch 2.14 when this was written)."""
    monkeypatch.setitem(sys.modules, "torch", _stand_in_torch())
    check_pytorch_recipe(project, tmp_path, real_torch=False)


def check_pytorch_recipe(project, tmp_path, *, real_torch: bool) -> None:
    out = tmp_path / "csv"
    result = export_dataset(project, out, ExportOptions(layout="csv", rate=16000, fractions=(0.5, 0.25, 0.25),
                                                        group_by="folder"))
    scope = run("pytorch", out)
    train = scope["Clips"](str(out), "train")
    assert len(train) == sum(result.counts()["train"].values())
    lengths = set()
    for i in range(len(train)):
        audio, label = train[i]
        assert tuple(audio.shape) == (16000,) and label in (0, 1)
        lengths.add(int(np.count_nonzero(np.asarray(audio)[-3000:])))
    assert 0 in lengths and max(lengths) > 0  # 0.6-s clips padded with zeros, longer ones cropped to the window
    if real_torch:
        import torch

        audio, labels = next(iter(scope["train"]))
        assert audio.dtype == torch.float32 and tuple(audio.shape[1:]) == (16000,) and labels.ndim == 1
