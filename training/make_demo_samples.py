"""Copy the demo clips into resources/samples/ from the bootstrap corpus.

    python training/make_demo_samples.py --corpus /tmp/voicestudio-corpus

The list is fixed so the demo project is the same everywhere; LICENSES.md beside
the clips names each one's package and license.
"""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "resources" / "samples"

# (demo file name, corpus file name ending, label)
PICKS = [
    ("voice-en-ball.ogg", "ktuberling-en/", "/ball.ogg", "human"),
    ("voice-de-word.ogg", "ktuberling-de/", None, "human"),
    ("voice-fr-word.ogg", "ktuberling-fr/", None, "human"),
    ("voice-ru-word.ogg", "ktuberling-ru/", None, "human"),
    ("voice-es-word.ogg", "ktuberling-es/", None, "human"),
    ("voice-front-left.oga", "freedesktop-voice/", "audio-channel-front-left.oga", "human"),
    ("dog-bark.ogg", "gcompris-memory-sound/", "LRBark_1_LA_cut.ogg", "nonhuman"),
    ("car-engine.ogg", "gcompris-memory-sound/", "LRStartAndStopCarEngine1LACut.ogg", "nonhuman"),
    ("rain-in-garden.ogg", "gcompris-memory-sound/", "LRRain_in_garden_01_LA_cut.ogg", "nonhuman"),
    ("owl.ogg", "gcompris-explore_farm_animals/", "owl.ogg", "nonhuman"),
    ("explosion.ogg", "minetest-tnt/", "tnt_explode.ogg", "nonhuman"),
    ("camera-shutter.oga", "freedesktop-stereo/", "camera-shutter.oga", "nonhuman"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, required=True)
    args = parser.parse_args()
    with open(args.corpus / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    OUT.mkdir(parents=True, exist_ok=True)
    lines = ["# Demo clips", "", "Copied unchanged from Debian packages by `training/make_demo_samples.py`.", "",
             "| file | label | source | license |", "| --- | --- | --- | --- |"]
    for name, folder, ending, label in PICKS:
        candidates = [r for r in rows if f"/{folder}" in f"/{r['path']}" and (ending is None or r["path"].endswith(ending))]
        if not candidates:
            raise SystemExit(f"no corpus file for {name} ({folder}{ending or ''})")
        row = sorted(candidates, key=lambda r: r["path"])[0]
        shutil.copyfile(args.corpus / row["path"], OUT / name)
        original = row["path"].split("/")[-1]
        lines.append(f"| {name} | {label} | Debian `{row['package']}`: {original} | {row['license']} |")
    (OUT / "LICENSES.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(PICKS)} clips to {OUT}")


if __name__ == "__main__":
    main()
