"""Build the default model's bootstrap corpus from Debian packages and synthetic noise.

    python training/build_corpus.py --work /tmp/vs-corpus-work --out /tmp/vs-corpus

Sources (Debian packages fetched with ``apt-get download`` and unpacked with
``dpkg -x``; nothing else is downloaded):
  human      ktuberling-data (words spoken by volunteers, one folder per language),
             plus the few spoken files of the other packages (listed in SPEECH)
  non-human  gcompris-qt-data (sounds inside Qt .rcc bundles, read with QResource),
             minetest-data, sound-theme-freedesktop, tuxpaint-data, tuxtype-data,
             and synthetic noise (white, pink, brown, hum, clicks, tones, sweeps)

Files whose content could be either (music with singing, possible grunts,
jingles) are left out (AMBIGUOUS). Output: ``OUT/{human,nonhuman}/<group>/...``,
``OUT/manifest.csv`` (path, label, source_group, package, license,
duration_s, sample_rate) and ``OUT/provenance.json``. Rerunnable: downloads are
cached in --work.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

PACKAGES = ("ktuberling-data", "gcompris-qt-data", "minetest-data", "sound-theme-freedesktop",
            "tuxpaint-data", "tuxtype-data")
AUDIO = re.compile(r"\.(wav|ogg|oga|opus|flac|mp3)$", re.I)
# Spoken content inside the non-human packages: it is human voice.
SPEECH = re.compile(r"(audio-channel-|youcannot|areyousure|excuseme|tuxok|giggle|cheer)", re.I)
# Could hold a voice or not (singing in world music, a hurt player's grunt,
# spoken clock numbers, jingles that may be sung): kept out of both classes.
AMBIGUOUS = re.compile(r"(explore_world_music|/chronos/|player_damage|tuxi\.ogg|winfinal|/win\.wav|/lose\.wav)", re.I)
SYNTH_RATE = 16000


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def fetch(work: Path) -> dict[str, Path]:
    """Download and unpack each package once; return its unpacked root."""
    debs, roots = work / "debs", {}
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not list(debs.glob(f"{p}_*.deb"))]
    if missing:
        run(["apt-get", "download", *missing], cwd=debs)
    for package in PACKAGES:
        deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
        root = work / "unpacked" / package
        if not root.exists():
            root.parent.mkdir(parents=True, exist_ok=True)
            run(["dpkg", "-x", str(deb), str(root)])
        roots[package] = root
    return roots


def package_version(deb_dir: Path, package: str) -> str:
    deb = sorted(deb_dir.glob(f"{package}_*.deb"))[-1]
    return subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True).stdout.strip()


def package_license(root: Path, package: str) -> str:
    """The license names from the package's machine-readable copyright file."""
    copyright_file = root / "usr/share/doc" / package / "copyright"
    if not copyright_file.exists():
        return "see debian/copyright"
    names = re.findall(r"^License:\s*(\S.*)$", copyright_file.read_text(errors="replace"), re.M)
    return "; ".join(sorted(set(n.strip() for n in names))) or "see debian/copyright"


def copyright_paragraphs(root: Path, package: str) -> list[tuple[list[str], str]]:
    """(file patterns, license) for each ``Files:`` paragraph of a DEP-5 copyright file."""
    copyright_file = root / "usr/share/doc" / package / "copyright"
    if not copyright_file.exists():
        return []
    paragraphs = []
    for block in re.split(r"\n\s*\n", copyright_file.read_text(errors="replace")):
        files = re.search(r"^Files:\s*((?:.+\n?)(?:[ \t]+.+\n?)*)", block, re.M)
        license_name = re.search(r"^License:\s*(\S.*)$", block, re.M)
        if files and license_name:
            paragraphs.append((files.group(1).split(), license_name.group(1).strip()))
    return paragraphs


def file_license(paragraphs, path: str) -> str:
    """The license of one file: the last paragraph whose pattern matches a tail of its path."""
    from fnmatch import fnmatch

    parts = path.strip("/").split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    found = "see the package's debian/copyright"
    for patterns, name in paragraphs:
        if any(fnmatch(tail, pattern) for pattern in patterns for tail in tails):
            found = name
    return found


def classify(relative: str) -> str | None:
    """'human', 'nonhuman' or None (left out) for a non-ktuberling sound."""
    if AMBIGUOUS.search(relative):
        return None
    return "human" if SPEECH.search(relative) else "nonhuman"


def rcc_sounds(root: Path, staging: Path) -> list[tuple[Path, str]]:
    """Copy the sounds out of gcompris' .rcc bundles; (file, resource path) pairs."""
    from PySide6.QtCore import QCoreApplication, QDirIterator, QFile, QIODevice, QResource

    QCoreApplication.instance() or QCoreApplication([])
    for rcc in sorted(root.rglob("*.rcc")):
        QResource.registerResource(str(rcc))
    found = []
    it = QDirIterator(":/gcompris", QDirIterator.Subdirectories)
    while it.hasNext():
        name = it.next()
        if not AUDIO.search(name):
            continue
        target = staging / name.lstrip(":/")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            f = QFile(name)
            if f.open(QIODevice.ReadOnly):
                target.write_bytes(bytes(f.readAll()))
                f.close()
        found.append((target, name))
    return found


def collect(roots: dict[str, Path], work: Path):
    """(source file, label, group, package, path inside the package) for every sound kept."""
    items = []
    kt = roots["ktuberling-data"] / "usr/share/ktuberling/sounds"
    for path in sorted(kt.rglob("*")):
        if AUDIO.search(path.name):
            language = path.relative_to(kt).parts[0]
            items.append((path, "human", f"ktuberling/{language}", "ktuberling-data", str(path.relative_to(kt))))
    for path, name in rcc_sounds(roots["gcompris-qt-data"], work / "gcompris-rcc"):
        label = classify(name)
        if label:
            activity = name.split("/activities/")[1].split("/")[0] if "/activities/" in name else "core"
            items.append((path, label, f"gcompris/{activity}", "gcompris-qt-data", name.split(":/gcompris/", 1)[-1]))
    for package in ("minetest-data", "sound-theme-freedesktop", "tuxpaint-data", "tuxtype-data"):
        for path in sorted(roots[package].rglob("*")):
            if not AUDIO.search(path.name) or not path.is_file():
                continue
            relative = str(path.relative_to(roots[package]))
            label = classify("/" + relative)
            if not label:
                continue
            if package == "minetest-data":
                mod = re.search(r"mods/([^/]+)/", relative)
                group = f"minetest/{mod.group(1) if mod else 'misc'}"
            else:
                group = f"{package.split('-')[0]}/{'voice' if label == 'human' else path.parent.name}"
            items.append((path, label, group, package, relative))
    return items


def synthesize(out: Path, seed: int = 0, per_kind: int = 40):
    """Seeded synthetic non-human sounds, one group per kind."""
    rng = np.random.default_rng(seed)
    sr = SYNTH_RATE

    def colored(n, exponent):
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.fft.rfftfreq(n, 1 / sr), 1.0)
        y = np.fft.irfft(spectrum / f ** (exponent / 2), n)
        return y / (np.abs(y).max() + 1e-9)

    def hum(n):
        t = np.arange(n) / sr
        base = rng.choice([50.0, 60.0])
        return sum(rng.uniform(0.1, 1) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6)) for k in range(1, 8))

    def clicks(n):
        y = np.zeros(n)
        period = max(1, int(sr / rng.uniform(2, 40)))
        positions = np.arange(rng.integers(0, period), n, period)
        y[positions] = rng.choice([-1.0, 1.0], size=len(positions))
        return np.convolve(y, np.exp(-np.arange(64) / rng.uniform(2, 12)), mode="same")

    def tone(n):
        t = np.arange(n) / sr
        return np.sin(2 * np.pi * rng.uniform(100, 6000) * t)

    def sweep(n):
        t = np.arange(n) / sr
        f0, f1 = rng.uniform(100, 7000, size=2)
        return np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * t[-1])))

    kinds = {"white": lambda n: colored(n, 0), "pink": lambda n: colored(n, 1), "brown": lambda n: colored(n, 2),
             "hum": hum, "clicks": clicks, "tone": tone, "sweep": sweep}
    items = []
    for kind, make in kinds.items():
        folder = out / "nonhuman" / f"synthetic-{kind}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_kind):
            n = int(sr * rng.uniform(1.0, 4.0))
            y = make(n)
            y = y / (np.abs(y).max() + 1e-9) * 10 ** (rng.uniform(-40, -3) / 20)
            path = folder / f"{kind}-{i:03d}.flac"
            sf.write(path, y.astype(np.float32), sr)
            items.append((path, "nonhuman", f"synthetic/{kind}", "synthetic", path.name))
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="cache for .deb files and unpacked packages")
    parser.add_argument("--out", type=Path, required=True, help="the corpus folder (replaced)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    roots = fetch(args.work)
    if args.out.exists():
        shutil.rmtree(args.out)
    rows, skipped = [], []
    licenses = {p: package_license(roots[p], p) for p in PACKAGES}
    licenses["synthetic"] = "generated by training/build_corpus.py (public domain)"
    paragraphs = {p: copyright_paragraphs(roots[p], p) for p in PACKAGES}
    counters = defaultdict(lambda: [0, 0.0])
    for source, label, group, package, inside in collect(roots, args.work) + synthesize(args.out, args.seed):
        try:
            info = sf.info(str(source))
            if info.frames == 0:
                raise ValueError("no frames")
        except Exception as exc:  # one bad file never stops the build
            skipped.append(f"{source}: {exc}")
            continue
        if package == "synthetic":
            target = source
        else:
            safe_group = group.replace("/", "_")
            target = args.out / label / safe_group / f"{len(rows):05d}-{source.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        rows.append({"path": str(target.relative_to(args.out)), "label": label, "source_group": group,
                     "package": package,
                     "license": licenses[package] if package == "synthetic" else file_license(paragraphs[package], inside),
                     "duration_s": round(info.duration, 3), "sample_rate": info.samplerate})
        counters[(label, package)][0] += 1
        counters[(label, package)][1] += info.duration

    with open(args.out / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    provenance = {
        "packages": {p: {"version": package_version(args.work / "debs", p), "license": licenses[p]} for p in PACKAGES},
        "synthetic": {"seed": args.seed, "license": licenses["synthetic"]},
        "counts": {f"{label}/{package}": {"files": n, "minutes": round(s / 60, 2)}
                   for (label, package), (n, s) in sorted(counters.items())},
        "groups": {label: len({r["source_group"] for r in rows if r["label"] == label}) for label in ("human", "nonhuman")},
        "excluded_as_ambiguous": AMBIGUOUS.pattern,
        "moved_to_human_as_speech": SPEECH.pattern,
        "skipped": skipped,
    }
    (args.out / "provenance.json").write_text(json.dumps(provenance, indent=2))
    print(f"{'label':10} {'package':26} {'files':>6} {'minutes':>8}")
    for (label, package), (n, seconds) in sorted(counters.items()):
        print(f"{label:10} {package:26} {n:>6} {seconds / 60:>8.1f}")
    print(f"groups: {provenance['groups']}; skipped {len(skipped)} unreadable files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
