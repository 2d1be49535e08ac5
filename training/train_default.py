"""Rebuild the built-in detector from scratch: corpus, training, conversion, card.

    python training/train_default.py [--work DIR] [--corpus DIR] [--epochs 40] [--seed 0]

Writes resources/models/voice-detector.tflite (float32),
voice-detector-int8.tflite, and their cards (with provenance, licenses and
held-out metrics). Needs `pip install -e '.[train]'` and Debian's apt-get.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "resources" / "models" / "voice-detector.tflite"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/voicestudio-corpus-work"))
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/voicestudio-corpus"))
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    if not (args.corpus / "manifest.csv").exists():
        subprocess.run([sys.executable, str(REPO / "training" / "build_corpus.py"), "--work", str(args.work),
                        "--out", str(args.corpus), "--seed", str(args.seed)], check=True,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    from voicestudio.model.train import TrainConfig, train

    provenance = json.loads((args.corpus / "provenance.json").read_text())
    result = train(
        args.corpus, args.out, config=TrainConfig(epochs=args.epochs, seed=args.seed), name="voice-detector",
        provenance={"corpus": {k: provenance[k] for k in ("packages", "synthetic", "counts", "groups")},
                    "built_by": "python training/train_default.py"},
    )
    print(json.dumps(result.card["metrics"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
