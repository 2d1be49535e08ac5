"""Check the detector on sounds from Debian packages that training never saw.

    python training/evaluate_external.py [--model M.tflite] [--work /tmp/voicestudio-external]

human:     alsa-utils' speaker-test voices; warzone2100-data's radio messages,
           taunts and countdowns (recorded voice actors)
non-human: warzone2100-data's weapons, explosions, vehicles, buildings and
           interface beeps (its screams are left out); oxygen-sounds (desktop);
           sound-icons (instrument and percussion samples)
Prints ROC AUC, balanced accuracy at the card's threshold, and each source's
share of correct decisions.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from voicestudio.errors import AudioError
from voicestudio.model.detector import Detector
from voicestudio.model.train import binary_report

PACKAGES = ("alsa-utils", "oxygen-sounds", "sound-icons", "warzone2100-data")
AUDIO = re.compile(r"\.(wav|ogg|oga)$", re.I)
RULES = [  # (path pattern, label, source); first match wins
    (r"sounds/alsa/(?!Noise)", "human", "alsa voices"),
    (r"audio/(memressp|taunts|countdown|vtoltalk)/", "human", "warzone voices"),
    (r"audio/sfx/misc/(scream|help)", None, None),
    (r"audio/sfx/(weapons|explons)/", "nonhuman", "warzone weapons"),
    (r"audio/sfx/(vehicle|building|misc)/", "nonhuman", "warzone machines"),
    (r"audio/sfx/interfce/", "nonhuman", "warzone interface"),
    (r"oxygen", "nonhuman", "oxygen desktop"),
    (r"sound-icons", "nonhuman", "sound-icons"),
]


def prepare(work: Path) -> Path:
    debs, root = work / "debs", work / "unpacked"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not list(debs.glob(f"{p}_*.deb"))]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
    for package in PACKAGES:
        target = root / package
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg", "-x", str(sorted(debs.glob(f"{package}_*.deb"))[-1]), str(target)], check=True)
    for archive in root.rglob("*.wz"):  # warzone's data are zip files
        out = archive.with_suffix(".unzipped")
        if not out.exists():
            zipfile.ZipFile(archive).extractall(out)
    return root


def labelled(root: Path):
    for path in sorted(root.rglob("*")):
        if not AUDIO.search(path.name):
            continue
        text = str(path)
        for pattern, label, source in RULES:
            if re.search(pattern, text):
                if label:
                    yield path, label, source
                break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--work", type=Path, default=Path("/tmp/voicestudio-external"))
    args = parser.parse_args()
    detector = Detector(args.model)
    root = prepare(args.work)
    labels, scores, by_source = [], [], defaultdict(list)
    for path, label, source in labelled(root):
        try:
            score = detector.predict_file(path).clip_score
        except AudioError as exc:
            print(f"skipped {exc}")
            continue
        labels.append(label == "human")
        scores.append(score)
        by_source[source].append((score >= detector.card.threshold) == (label == "human"))
    result = binary_report(np.array(labels), np.array(scores), detector.card.threshold)
    print(f"{len(labels)} clips ({sum(labels)} human): ROC AUC {result['roc_auc']}, "
          f"balanced accuracy {result['balanced_accuracy']} at threshold {detector.card.threshold}")
    print(f"confusion: {result['confusion']}")
    for source, correct in sorted(by_source.items()):
        print(f"  {source:20} {sum(correct):>4}/{len(correct):<4} correct")


if __name__ == "__main__":
    main()
