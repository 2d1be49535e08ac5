"""The shipped assets live in the top-level resources/ folder and reach every install through
one accessor: a wheel built from the source tree, and the editable install the tests run in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
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


# The installers (packaging/build.py, packaging/bundle.py) -------------------------------------------
# CI builds the real bundle, installs the .deb and the tarball and checks them (.ci/run); these
# tests run the same code on small stand-in bundles, so a mistake shows in the suite first.

PACKAGING = REPO / "packaging"


@pytest.fixture
def packaging_modules(monkeypatch, qapp):
    """packaging/build.py and bundle.py. (qapp: the icons are drawn with Qt, and the rest of the
    session's tests need the QApplication, not a QGuiApplication build.py would make.)"""
    monkeypatch.syspath_prepend(str(PACKAGING))
    import build
    import bundle

    return build, bundle


def fake_bundle(root: Path, names: list[str]) -> Path:
    app = root / "VoiceStudio"
    for name in names:
        path = app / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"stand-in")
    program = app / "voicestudio"
    program.write_text("#!/bin/sh\necho 'stand-in voicestudio' \"$@\"\n")
    program.chmod(0o755)
    return app


def test_manifest_names_survive_upgrades_but_not_new_files(packaging_modules, tmp_path):
    _, bundle = packaging_modules
    assert bundle.normalise("_internal/numpy.libs/libscipy_openblas64_-32a4b2a6.so") == \
        "_internal/numpy.libs/libscipy_openblas#_-HASH.so"
    assert bundle.normalise("_internal/libgfortran-040039e1-0352e75f.so.5.0.0") == "_internal/libgfortran-HASH.so.#.#.#"
    assert bundle.normalise("_internal/cryptography-50.0.2.dist-info/METADATA") == \
        "_internal/cryptography-#.#.#.dist-info/METADATA"

    app = fake_bundle(tmp_path, ["_internal/libQt6Core.so.6", "_internal/data/a.txt", "_internal/libextra.so.1"])
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("# why\nvoicestudio\n_internal/libQt#Core.so.#\n_internal/data/*\n")
    problems = bundle.check(app, manifest)
    assert problems == ["not in manifest.txt: _internal/libextra.so.# (add it under the heading that explains it)"]

    (app / "_internal" / "libgtk-3.so.0").write_bytes(b"x")
    (app / "_internal" / "gone.so").symlink_to("nowhere.so")
    problems = bundle.check(app, manifest)
    assert "desktop/system library inside the bundle: _internal/libgtk-3.so.0" in problems
    assert "link to nothing: _internal/gone.so" in problems


def test_the_committed_manifest_explains_every_entry_under_a_heading(packaging_modules):
    _, bundle = packaging_modules
    text = bundle.MANIFEST.read_text()
    assert not text.lstrip().startswith(("_internal", "voicestudio"))  # a heading comes first
    entries = bundle.read_manifest()
    assert not [e for e in entries if e.endswith(".so") and "*" in e], "libraries are listed one by one"
    assert not [e for e in entries if e.split("/")[-1].startswith(bundle.FORBIDDEN)]


def test_depends_names_the_debian_packages_of_linked_libraries(packaging_modules, tmp_path):
    _, bundle = packaging_modules
    require_dpkg = shutil.which("dpkg") and shutil.which("readelf")
    if not require_dpkg:
        pytest.skip("needs dpkg and readelf (Debian)")
    import soxr

    extension = next(Path(soxr.__file__).parent.glob("soxr_ext*.so"))  # links libstdc++, libm, libc
    app = tmp_path / "VoiceStudio"
    (app / "_internal").mkdir(parents=True)
    shutil.copy(extension, app / "_internal")
    needs = bundle.system_needs(app)
    assert needs.libraries["libstdc++.so.6"].startswith("libstdc++")
    assert needs.libraries["libpulse.so.0"] == "libpulse0"  # loaded with dlopen, listed by hand
    assert needs.depends().startswith("libc6 (>= 2.")
    assert "libc6," not in needs.depends() and not needs.missing


def test_tarball_installs_for_one_user_names_missing_libraries_and_uninstalls(packaging_modules, tmp_path):
    build, bundle = packaging_modules
    app = fake_bundle(tmp_path / "dist", ["_internal/libQt6Core.so.6"])
    needs = bundle.SystemNeeds(libraries={"libc.so.6": "libc6", "libvoicestudio-missing.so.9": "libmissing9"})
    tarball = build.write_tarball(app, tmp_path / "dist", "9.9.9", needs)
    assert tarball.name == "VoiceStudio-9.9.9-linux-x86_64.tar.gz"
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin:/sbin:/usr/sbin"}
    root = tmp_path / "unpacked" / "VoiceStudio-9.9.9-linux-x86_64"
    done = subprocess.run(["sh", str(root / "install.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "lacks: libvoicestudio-missing.so.9" in done.stdout and "apt-get install libmissing9" in done.stdout
    assert "libc.so.6" not in done.stdout.split("lacks:")[1]

    local = home / ".local"
    ran = subprocess.run([str(local / "bin" / "voicestudio"), "selftest"], capture_output=True, text=True, env=env)
    assert ran.stdout.strip() == "stand-in voicestudio selftest"
    desktop = (local / "share/applications/org.voicestudio.VoiceStudio.desktop").read_text()
    assert f"Exec={local}/opt/voicestudio/voicestudio\n" in desktop  # menus need no PATH
    assert (local / "share/icons/hicolor/48x48/apps/org.voicestudio.VoiceStudio.png").read_bytes()[:4] == b"\x89PNG"
    metainfo = (local / "share/metainfo/org.voicestudio.VoiceStudio.metainfo.xml").read_text()
    assert '<release version="9.9.9"' in metainfo
    if shutil.which("desktop-file-validate"):
        assert subprocess.run(["desktop-file-validate", str(local / "share/applications/org.voicestudio.VoiceStudio.desktop")]).returncode == 0

    # Again over the first install (an upgrade), then uninstall from the installed copy.
    assert subprocess.run(["sh", str(root / "install.sh")], env=env, capture_output=True).returncode == 0
    done = subprocess.run(["sh", str(local / "opt/voicestudio/uninstall.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    left = [p for p in local.rglob("*") if (p.is_file() or p.is_symlink()) and p.name != "mimeinfo.cache"]
    assert left == []  # (update-desktop-database's shared cache of every app's types stays)


def test_deb_lays_out_opt_usr_bin_and_depends(packaging_modules, tmp_path):
    build, bundle = packaging_modules
    if not shutil.which("dpkg-deb"):
        pytest.skip("needs dpkg-deb (Debian)")
    app = fake_bundle(tmp_path / "dist", ["_internal/libQt6Core.so.6"])
    needs = bundle.SystemNeeds(libraries={"libxcb-cursor.so.0": "libxcb-cursor0"}, glibc=(2, 34))
    deb = build.write_deb(app, tmp_path / "dist", "9.9.9", needs)
    info = subprocess.run(["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Package: voicestudio\n" in info and "Architecture: amd64\n" in info
    assert "Depends: libc6 (>= 2.34), libxcb-cursor0\n" in info
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "./usr/bin/voicestudio -> /opt/voicestudio/voicestudio" in listing
    assert "-rwxr-xr-x root/root" in next(line for line in listing.splitlines() if line.endswith("./opt/voicestudio/voicestudio"))
    for path in ("./usr/share/applications/org.voicestudio.VoiceStudio.desktop",
                 "./usr/share/metainfo/org.voicestudio.VoiceStudio.metainfo.xml",
                 "./usr/share/icons/hicolor/256x256/apps/org.voicestudio.VoiceStudio.png"):
        assert path in listing
