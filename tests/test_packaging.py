"""The shipped assets live in the top-level resources/ folder and reach every install through
one accessor: a wheel built from the source tree, and the editable install the tests run in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import voicestudio
from voicestudio.resources import resource_path

REPO = Path(voicestudio.__file__).resolve().parent.parent
RESOURCES = REPO / "resources"
DEMO_CLIP = "samples/voice-en-ball.ogg"


def shipped_files() -> list[str]:
    """Every asset in resources/, relative to it (the package's own code and caches left out)."""
    return sorted(
        f.relative_to(RESOURCES).as_posix()
        for f in RESOURCES.rglob("*")
        if f.is_file() and f.suffix not in (".py", ".pyc")
    )


def predict_demo_clip(cwd: Path, env: dict | None = None) -> dict:
    """`voicestudio predict` on a shipped demo clip with the built-in model, as a user runs it."""
    code = (
        "import json, subprocess, sys\n"
        "from voicestudio.resources import resource_path\n"
        f"clip = resource_path({DEMO_CLIP!r})\n"
        "done = subprocess.run([sys.executable, '-m', 'voicestudio', '--json', 'predict', str(clip)],\n"
        "                      capture_output=True, text=True, check=True)\n"
        "print(done.stdout)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_shipped_asset_is_found_through_the_accessor():
    assert {"models/voice-detector.tflite", "models/voice-detector.json", "models/voice-detector-int8.tflite",
            "samples/LICENSES.md", "icons/voicestudio.png", DEMO_CLIP} <= set(shipped_files())
    for name in shipped_files():
        assert resource_path(name).is_file(), name
    assert not (REPO / "voicestudio" / "resources").exists()  # one home, not two


def test_editable_install_predicts_a_demo_clip_from_outside_the_repository(tmp_path):
    result = predict_demo_clip(tmp_path)
    assert Path(result["model"]["path"]) == RESOURCES / "models" / "voice-detector.tflite"
    assert result["results"][0]["label"] == "human"


def test_pyproject_lists_every_subpackage():
    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(REPO).parts) for init in (REPO / "voicestudio").rglob("__init__.py")}
    assert sorted(found - listed) == []  # add it to [tool.setuptools] packages, or the wheel leaves it out
    assert "voicestudio.resources" in listed


@pytest.mark.slow
def test_wheel_holds_every_module_and_asset_and_runs_from_them(tmp_path):
    """Build the wheel from a copy of the source tree (no build/ left in the repository), unpack
    it, and run the built-in model on a demo clip with only the unpacked wheel importable."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "voicestudio", source / "voicestudio", ignore=ignore)
    shutil.copytree(RESOURCES, source / "resources", ignore=ignore)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "w"),
         str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "w").glob("voicestudio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "voicestudio").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert sorted(modules - names) == []  # a new subpackage missing from pyproject's list shows here
    assert sorted({f"voicestudio/resources/{f}" for f in shipped_files()} - names) == []
    assert "voicestudio/resources/__init__.py" in names

    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)
    env = {**os.environ, "PYTHONPATH": str(installed)}  # ahead of the editable install on sys.path
    result = predict_demo_clip(tmp_path, env)
    assert Path(result["model"]["path"]) == installed / "voicestudio" / "resources" / "models" / "voice-detector.tflite"
    assert Path(result["results"][0]["path"]).is_relative_to(installed)
    assert result["results"][0]["label"] == "human"
