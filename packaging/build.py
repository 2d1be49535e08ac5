"""Build what an analyst installs on Linux: the bundle, a tarball and a .deb.

Run (from the repository, in a clean environment):
    python3 -m venv .venv-build && . .venv-build/bin/activate && pip install -q -e '.[package]' && python packaging/build.py

Writes, in dist/:
    VoiceStudio/                              the PyInstaller bundle (packaging/voicestudio.spec)
    VoiceStudio-VERSION-linux-x86_64.tar.gz   the bundle with install.sh/uninstall.sh for one user (~/.local, no root)
    voicestudio_VERSION_amd64.deb             /opt/voicestudio, /usr/bin/voicestudio, menu entry, icons, metadata

It fails (exit 1) if the bundle holds a desktop library or a file the manifest does not
explain, needs a library this machine does not have (packaging/bundle.py), or is over its
size budget. The .deb's Depends are the Debian packages of the system libraries the bundle
links (and the ones it loads with dlopen), found with dpkg on this machine: build on the
oldest Debian you support.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import bundle

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent
LINUX = PACKAGING / "linux"
APP_ID = "org.voicestudio.VoiceStudio"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
BUDGET_MB = 250  # the bundle on disk (issue 20); benchmarks/bench_bundle.py measures it against a naive build
DEB_NAME = "voicestudio"


def version() -> str:
    sys.path.insert(0, str(ROOT))
    from voicestudio import __version__

    return __version__


def build_bundle(dist: Path) -> Path:
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(ROOT / "build"), str(PACKAGING / "voicestudio.spec")],
                   check=True, cwd=ROOT)
    return dist / "VoiceStudio"


def size_mb(folder: Path) -> int:
    """Megabytes on disk, as ``du -sm`` counts them (links and blocks, not file lengths)."""
    return int(subprocess.run(["du", "-sm", str(folder)], capture_output=True, text=True, check=True).stdout.split()[0])


def write_icons(share: Path) -> None:
    """The icon in the hicolor sizes, drawn by packaging/make_icons.py."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import make_icons
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QImage drawing needs it)
    for size in ICON_SIZES:
        folder = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{APP_ID}.png").write_bytes(make_icons.png_bytes(make_icons.draw(size)))


def write_share(share: Path, release: str) -> None:
    """Menu entry, icons and AppStream metadata, laid out as under /usr/share."""
    (share / "applications").mkdir(parents=True, exist_ok=True)
    shutil.copy(LINUX / f"{APP_ID}.desktop", share / "applications")
    (share / "metainfo").mkdir(parents=True, exist_ok=True)
    metainfo = (LINUX / f"{APP_ID}.metainfo.xml").read_text()
    today = datetime.date.today().isoformat()
    (share / "metainfo" / f"{APP_ID}.metainfo.xml").write_text(
        metainfo.replace("@VERSION@", release).replace("@DATE@", today))
    write_icons(share)


def system_libraries_text(needs: bundle.SystemNeeds) -> str:
    lines = ["# soname<TAB>Debian package: the system libraries VoiceStudio needs (install.sh checks them)"]
    lines += [f"{soname}\t{package}" for soname, package in needs.libraries.items()]
    return "\n".join(lines) + "\n"


def _tar_filter(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def write_tarball(app: Path, dist: Path, release: str, needs: bundle.SystemNeeds) -> Path:
    name = f"VoiceStudio-{release}-linux-x86_64"
    stage = dist / "stage-tar" / name
    shutil.rmtree(stage.parent, ignore_errors=True)
    stage.mkdir(parents=True)
    shutil.copytree(app, stage / "VoiceStudio", symlinks=True)
    for script in ("install.sh", "uninstall.sh"):
        shutil.copy(LINUX / script, stage / script)
        (stage / script).chmod(0o755)
    (stage / "system-libraries.txt").write_text(system_libraries_text(needs))
    write_share(stage / "share", release)
    out = dist / f"{name}.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(stage, arcname=name, filter=_tar_filter)
    shutil.rmtree(stage.parent)
    return out


def write_deb(app: Path, dist: Path, release: str, needs: bundle.SystemNeeds) -> Path:
    stage = dist / "stage-deb"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(app, stage / "opt" / "voicestudio", symlinks=True)
    (stage / "usr" / "bin").mkdir(parents=True)
    (stage / "usr" / "bin" / "voicestudio").symlink_to("/opt/voicestudio/voicestudio")
    write_share(stage / "usr" / "share", release)
    for path in stage.rglob("*"):  # no group/world write, whatever the build machine's umask
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & 0o755 | (0o755 if path.is_dir() else 0o644))
    installed_kb = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    (stage / "DEBIAN").mkdir()
    (stage / "DEBIAN" / "control").write_text(
        f"Package: {DEB_NAME}\n"
        f"Version: {release}\n"
        "Architecture: amd64\n"
        "Maintainer: The VoiceStudio team <voicestudio@localhost>\n"
        f"Installed-Size: {installed_kb}\n"
        f"Depends: {needs.depends()}\n"
        "Section: sound\n"
        "Priority: optional\n"
        "Description: workstation for human-voice detection datasets and on-device models\n"
        " VoiceStudio shows audio clips as waveform, spectrogram and MFCC with the live\n"
        " prediction of a TensorFlow Lite voice detector, labels clips and regions as\n"
        " human voice or not, audits the model, exports training sets, converts models\n"
        " and times them on ARM devices.\n")
    out = dist / f"{DEB_NAME}_{release}_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(stage)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--reuse-bundle", action="store_true",
                        help="package the bundle already in DIST/VoiceStudio instead of building it")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        parser.error("the tarball and the .deb are built on Linux; see packaging/README.md for the other systems")
    dist = args.dist.resolve()
    app = dist / "VoiceStudio" if args.reuse_bundle else build_bundle(dist)
    problems = bundle.check(app)
    megabytes = size_mb(app)
    print(f"bundle: {megabytes} MB on disk (budget {BUDGET_MB} MB)")
    if megabytes > BUDGET_MB:
        problems.append(f"{megabytes} MB on disk, over the {BUDGET_MB} MB budget")
    if problems:
        print("\n".join(f"bundle: {line}" for line in problems), file=sys.stderr)
        return 1
    release = version()
    needs = bundle.system_needs(app)
    tarball = write_tarball(app, dist, release, needs)
    deb = write_deb(app, dist, release, needs)
    for path in (tarball, deb):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
              f"({path.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
