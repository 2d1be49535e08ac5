"""Rebuild the built-in detector from scratch: corpus, training, conversion, cards.

    python training/train_default.py [--work DIR] [--corpus DIR] [--epochs 6] [--seed 0] [--half-width 24]
    python training/train_default.py --cards-only --from DIR    # cards for models trained already

Writes resources/models/voice-detector.tflite (float32) and voice-detector-int8.tflite with
their cards. The network is ``voicestudio.model.robust``'s (``robust_graph.py`` has the reasoning
and the checks): its normalisation is MEAN, SUB and MUL by
constants, so no operator can fail on any input (the old graph divided by a quantised standard
deviation) and every operator is at a version tflite-runtime 2.14 has. The shipped int8 model is
the "float front" build: int8 CNN, normalisation kept in float (int8 AUC within 0.001 of float).
The graph is two-scale (``robust.two_scale``): a 1 s network, and a narrower network of half-length
windows scored on each half of the window, the higher half averaged with the 1 s score.
The cards carry the corpus's provenance and licences, the label policy, the held-out test split,
and the external evaluation set's metrics (``evaluate_external.py``; clips fetched into --work).
Needs `pip install -e '.[train]'` and Debian's apt-get. On a 2-core machine: the corpus 6–15 min
(1.9 GB of packages, cached in --work), then 21 min for both networks' windows and 6 epochs each,
the conversions and the external set (training/README.md, "Two scales: the shipped model"). The
defaults are the recipe of the shipped model's networks;
--networks N averages N 1 s networks, --half-width 0 leaves the half network out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "resources" / "models" / "voice-detector.tflite"
HALF_WIDTH = 24  # the shipped model's network of half-length windows (training/README.md, "Two scales")
CORPUS_OPTIONS = ("--hard-negatives", "--instrument-notes")  # the shipped model's corpus (training/README.md)
# Source groups always in the training split (TrainConfig.train_groups): rare kinds of sound to learn from
# rather than hold out (game cries, instrument notes; training/README.md, tenth and eleventh sessions)
TRAIN_GROUPS = ("teeworlds-tee", "teeworlds", "widelands", "lmms-common", "scorched3d", "scorched3d-screams",
                "chromium-bsu", "openttd", *(f"fluid-{family}" for family in (
                    "strings", "drums", "reed", "guitar", "organ", "piano", "chromatic-percussion", "bass", "brass",
                    "ethnic", "pipe", "percussive", "synth-lead", "synth-pad", "ensemble", "sound-effects",
                    "synth-effects")))
sys.path.insert(0, str(Path(__file__).resolve().parent))

LABEL_POLICY = ("human = any human vocalisation: speech in any language, whisper, shout, scream, exclamation, "
                "laughter, crying, singing voice, children, voice through radio/telephone band or in noise/music; "
                "nonhuman = everything without a human voice, animal vocalisations included; synthesised speech "
                "and sounds whose voice could not be checked are left out of both (training/README.md)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/voicestudio-corpus-work"))
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/voicestudio-corpus"))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--augment-copies", type=int, default=2)
    parser.add_argument("--group-balance", type=float, default=0.5,
                        help="weigh small source groups up (voicestudio.model.train.TrainConfig.group_balance)")
    parser.add_argument("--cartoon-speed", type=float, default=0.0, metavar="P",
                        help="share of augmented variants sped up or slowed like cartoon voices "
                        "(voicestudio.model.train.TrainConfig.cartoon_speed)")
    parser.add_argument("--voice-pitch", type=float, default=0.0, metavar="P",
                        help="share of augmented variants pitched like cartoon voices with their formants kept "
                        "(voicestudio.model.train.TrainConfig.voice_pitch)")
    parser.add_argument("--networks", type=int, default=1,
                        help="networks trained apart and averaged in one graph (TrainConfig.networks)")
    parser.add_argument("--half-width", type=int, default=HALF_WIDTH, metavar="W",
                        help="width of the network of half-length windows scored on each half of the window "
                        f"(TrainConfig.half_width; default {HALF_WIDTH}, the shipped model's; 0: none)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=4e-3)
    parser.add_argument("--best-epoch", action="store_true",
                        help="keep the best validation AUC's weights, not the last epoch's (TrainConfig.keep_last)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cards-only", action="store_true", help="write the cards and copy models from --from")
    parser.add_argument("--from", dest="trained", type=Path, help="folder of a robust_graph.py train output")
    parser.add_argument("--peer-json", type=Path,
                        help="`benchmarks/bench_detector.py --json` output of the same run: Silero VAD's figures go "
                        "into the cards as the peer comparison")
    args = parser.parse_args()

    if not (args.corpus / "manifest.csv").exists():
        subprocess.run([sys.executable, str(REPO / "training" / "build_corpus.py"), "--work", str(args.work),
                        "--out", str(args.corpus), "--seed", str(args.seed), *CORPUS_OPTIONS], check=True,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    trained = args.trained
    if not args.cards_only:
        from robust_graph import train_robust

        from voicestudio.model.train import TrainConfig

        trained = args.work / "training-output"  # not under resources/: only the shipped files go there
        trained.mkdir(parents=True, exist_ok=True)
        config = TrainConfig(epochs=args.epochs, seed=args.seed, augment_copies=args.augment_copies,
                             cartoon_speed=args.cartoon_speed, voice_pitch=args.voice_pitch,
                             group_balance=args.group_balance,
                             batch_size=args.batch_size, learning_rate=args.learning_rate, networks=args.networks,
                             half_width=args.half_width, keep_last=not args.best_epoch, train_groups=TRAIN_GROUPS)
        train_robust(args.corpus, trained / args.out.name, config, name="voice-detector")
    if trained is None:
        parser.error("--cards-only needs --from DIR")
    ship(trained, args.out, args.corpus, args.work, peer_json=args.peer_json,
         built_by=None if args.cards_only else "python training/train_default.py")
    return 0


def card_corpus(provenance: dict) -> dict:
    """The corpus as a card keeps it: per package its version, .deb hash, licences and counts, and how many
    files were left out or moved to human (each with its reason in the corpus's provenance.json, which
    ``build_corpus.py`` rebuilds bit for bit: the lists themselves would make the card 800 KB)."""
    packages = {}
    for name, package in provenance["packages"].items():
        kept = {k: v for k, v in package.items() if k not in ("excluded", "moved_to_human")}
        kept["excluded_files"] = len(package.get("excluded", ()))
        kept["moved_to_human_files"] = len(package.get("moved_to_human", ()))
        packages[name] = kept
    return {"packages": packages, **{k: provenance[k] for k in ("synthetic", "counts", "totals") if k in provenance}}


def ship(trained: Path, out: Path, corpus: Path, work: Path, *, peer_json: Path | None = None,
         built_by: str | None = None) -> None:
    """Copy the float and int8 (float front) models next to ``out`` with complete cards.

    ``built_by`` replaces the command the trained cards name (None: they keep it; --cards-only).
    """
    from evaluate_external import evaluate
    from robust_graph import operator_versions

    peer = None
    if peer_json is not None:
        runs = json.loads(peer_json.read_text())["results"]
        peer = next(({k: r[k] for k in ("model", "roc_auc", "balanced_accuracy", "threshold")}
                     for r in runs if r["model"].startswith("silero")), None)

    provenance = json.loads((corpus / "provenance.json").read_text())
    int8_build = trained / (out.stem + "-int8.tflite")
    if (earlier := trained / (out.stem + "-int8-float-front.tflite")).exists():
        int8_build = earlier  # trained before the float front became the -int8 build (its -int8 is fully int8)
    builds = {out: trained / out.name, out.with_name(out.stem + "-int8.tflite"): int8_build}
    external, scores = {}, {}
    for target, source in builds.items():
        card = json.loads(source.with_suffix(".json").read_text())
        card["name"] = target.stem
        if built_by:
            card["training"]["built_by"] = built_by
        card["training"].update({
            "data_dir": "training/build_corpus.py output (see corpus)",
            "label_policy": LABEL_POLICY,
            "corpus": card_corpus(provenance),
        })
        shutil.copyfile(source, target)
        target.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")  # evaluated with its own card
        report = evaluate(target, work, report=lambda *_: None)
        scores[target] = report["scores"]
        external[target] = {k: report[k] for k in ("n", "human", "roc_auc", "balanced_accuracy", "threshold",
                                                   "confusion", "by_source")}
        external[target].update({"set": "training/external_set.csv (7 Debian packages never used in training)",
                                 "failed_clips": len(report["failed"])})
        card["metrics"]["external"] = external[target]
        card["metrics"]["min_runtime_version"] = operator_versions(target)[1]
        if peer is not None:
            card["metrics"]["peer"] = {**peer, "measured_by": "python benchmarks/bench_detector.py (same clips, same run)"}
        target.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    int8, float_model = out.with_name(out.stem + "-int8.tflite"), out
    card = json.loads(int8.with_suffix(".json").read_text())
    card["quantization"] = "int8"
    threshold = card["threshold"]
    common = scores[int8].keys() & scores[float_model].keys()
    agree = sum((scores[int8][c] >= threshold) == (scores[float_model][c] >= threshold) for c in common)
    card["metrics"]["external"]["decisions_agree_with_float"] = round(agree / max(1, len(common)), 4)
    card["metrics"]["external"]["auc_minus_float"] = round(
        external[int8]["roc_auc"] - external[float_model]["roc_auc"], 4)
    int8.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps({str(t): {k: v for k, v in e.items() if k != "by_source"} for t, e in external.items()},
                     indent=2))


if __name__ == "__main__":
    sys.exit(main())
