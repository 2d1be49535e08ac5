"""Compare training settings on window sets computed once: the measurement behind the shipped model.

Computing the augmented windows of the wider corpus takes ~10 min of the ~60 a training run
needs; caching them lets several settings be tried on the very same windows, and the model
written is exactly what ``train_default.py`` would write with those settings (the same
``voicestudio.model.train.train``, split, augmentation seed and robust graph).

    python training/experiment.py prepare --corpus /work/corpus-wide2 --out CACHE.npz [--augment-copies 2]
        [--cartoon-speed P] [--voice-pitch P] [--train-group GROUP ...] [--feature mfcc|logmel] [--spec FIELD=VALUE ...]
    python training/experiment.py train CACHE.npz --corpus /work/corpus-wide2 --out DIR/voice-detector.tflite \\
        [--group-balance 0.5] [--epochs 12] [--batch-size 256] [--learning-rate 4e-3] [--width 32] [--networks N]
        [--network I | --from-keras K.keras|F.tflite [...] [--half H.keras]] [--teacher T.tflite [--distil A]]
        [--keep-last] [--work /work/corpus-work]

``--network I`` fits only network I of ``--networks`` (seed + I, as ``train`` would) and saves it, its
recipe beside it (``NET.recipe.json``, which the cards of what averages it quote);
``--from-keras`` then averages the saved networks into one graph, as ``--networks`` does in one go;
``--half`` adds a network trained on a half-window cache (``--spec window_s=0.5 --spec
window_hop_s=0.25``) on each half of the window (``robust.two_scale``: the shipped model's graph);
a float ``.tflite`` there is turned back into its network (``from_tflite``, checked against the file),
and ``F.tflite#I`` into network I of an averaged one (e.g. the shipped pair's second network).
``--feature logmel`` makes the windows 40 log-mel bands instead of 20 MFCCs; ``--spec FIELD=VALUE`` sets
any other FeatureSpec field (``n_mfcc=13``, ``window_s=0.5``; the cache remembers its FeatureSpec and
``train`` needs the same flags).
``--teacher`` (distillation) fits each window to ``A`` times the teacher model's score plus ``1 - A``
times its clip's label, e.g. with an average of several networks as the teacher.
``train`` writes the float model, its int8 twins and cards like ``robust_graph.py train``, then
(with --work) scores both float and float-front int8 on the external set and appends a line to
``DIR/../experiments.jsonl``. The clip rule and the threshold are chosen on validation only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from voicestudio.audio.features import FEATURE_KINDS, FeatureSpec  # noqa: E402
from voicestudio.model import train as train_module  # noqa: E402

SETS = ("train", "val", "test")


def prepare(corpus: Path, out: Path, config, spec: FeatureSpec) -> None:
    """Compute the split's window sets once and save them (float32 images, labels, file indices)."""
    data = train_module.prepare_data(corpus, spec, config)
    arrays = {}
    for name in SETS:
        windows = getattr(data, name)
        arrays.update({f"{name}_images": windows.images, f"{name}_labels": windows.labels,
                       f"{name}_file": windows.file_index})
    np.savez(out, augment_copies=config.augment_copies, seed=config.seed, cartoon_speed=config.cartoon_speed,
             voice_pitch=config.voice_pitch, train_groups=",".join(config.train_groups),
             feature_spec=json.dumps(spec.to_dict()), **arrays)


def feature_spec(feature: str, settings: list[str]) -> FeatureSpec:
    """FeatureSpec(feature=...) with FIELD=VALUE settings, each value of its field's type."""
    default = FeatureSpec().to_dict()
    values = {"feature": feature}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in default or name == "feature" or not value:
            raise ValueError(f"--spec {setting}: not FIELD=VALUE with a FeatureSpec field other than feature")
        values[name] = type(default[name])(value)
    return FeatureSpec(**values)


def cached_spec(saved) -> FeatureSpec:
    """The features a cache was made with (one made before they were saved: the default)."""
    return FeatureSpec.from_dict(json.loads(str(saved["feature_spec"]))) if "feature_spec" in saved else FeatureSpec()


def load(cache: Path, corpus: Path, config, spec: FeatureSpec) -> train_module.TrainingData:
    """The cached window sets with their files (the split is recomputed: it is deterministic)."""
    saved = np.load(cache)
    # The augmentation settings the windows were made with (a cache without one was made before it existed)
    for setting, before in (("augment_copies", config.augment_copies), ("cartoon_speed", 0.0),
                            ("voice_pitch", 0.0)):
        wanted = getattr(config, setting)
        made = type(wanted)(saved[setting]) if setting in saved else before
        if made != wanted:
            raise SystemExit(f"{cache}: prepared with --{setting.replace('_', '-')} {made}, not {wanted}")
    made = cached_spec(saved)
    if made != spec:
        wanted, had = spec.to_dict(), made.to_dict()
        raise SystemExit(f"{cache}: prepared with " + ", ".join(
            f"--{k.replace('_', '-')} {had[k]}, not {wanted[k]}" for k in had if had[k] != wanted[k]))
    made = str(saved["train_groups"]) if "train_groups" in saved else ""
    if made != ",".join(config.train_groups):
        raise SystemExit(f"{cache}: prepared with --train-group {made or '(none)'}, not "
                         f"{','.join(config.train_groups) or '(none)'}")
    files = train_module.split_training_files(train_module.find_labelled_files(corpus), config)
    by_split = {s: [f for f in files if f.split == s] for s in train_module.SPLITS}
    sets = {}
    for name in SETS:
        labels, index = saved[f"{name}_labels"], saved[f"{name}_file"]
        files_here = by_split[name]
        expected = np.array([train_module.CLASSES.index(files_here[i].label) for i in index])
        if len(index) and (index.max() >= len(files_here) or not np.array_equal(expected, labels)):
            raise SystemExit(f"{cache}: its {name} windows do not match {corpus}'s split (another corpus or seed?)")
        sets[name] = train_module.WindowSet(saved[f"{name}_images"], labels, index, files_here)
    return train_module.TrainingData(by_split, sets["train"], sets["val"], sets["test"])


def external_scores(models: dict[str, Path], work: Path) -> dict:
    import evaluate_external

    found = {}
    for label, model in models.items():
        report = evaluate_external.evaluate(model, work, report=lambda *_: None)
        found[label] = {k: report[k] for k in ("roc_auc", "balanced_accuracy", "threshold", "by_source")}
        found[label]["failed_clips"] = len(report["failed"])
    return found


# The TrainConfig settings a network's recipe names, both from a card and from this run's config.
RECIPE_SETTINGS = ("seed", "augment_copies", "cartoon_speed", "voice_pitch", "group_balance", "keep_last",
                   "train_groups", "width")


def network_recipes(paths: list[Path], config) -> list[dict]:
    """How each averaged network was trained: a float ``.tflite`` as its card says; a ``.keras`` file
    on this cache with this run's settings (``--network I`` saves them so)."""
    from voicestudio.model.from_tflite import member_path

    recipes = []
    for named in paths:
        path, member = member_path(named)
        if path.suffix == ".tflite":
            card = path.with_suffix(".json")
            trained = json.loads(card.read_text()).get("training", {}) if card.is_file() else {}
            if member is not None:  # network I of an averaged file: its card lists each network's recipe
                trained = dict(enumerate(trained.get("averaged", []))).get(member, {})
            keep = ("built_by", "teacher", *RECIPE_SETTINGS, "distil", "networks", "epochs_run",
                    *(("epochs", "batch_size", "learning_rate") if member is not None else ()))
            recipes.append({"file": named.name, **({"trained_as": trained["file"]} if "file" in trained else {}),
                            **{k: trained[k] for k in keep if k in trained}})
        elif recipe_path(path).is_file():  # written beside it by --network I
            recipes.append({"file": path.name, **json.loads(recipe_path(path).read_text())})
        else:
            recipes.append({"file": path.name, "built_by": "python training/experiment.py train",
                            **fitting_settings(config)})
    return recipes


def fitting_settings(config) -> dict:
    """The TrainConfig settings a network fitted here was trained with."""
    return {k: getattr(config, k) for k in (*RECIPE_SETTINGS, "epochs", "batch_size", "learning_rate")}


def recipe_path(network: Path) -> Path:
    """Where ``--network I`` writes how it fitted NETWORK.keras (NETWORK.json may be a model's card)."""
    return network.with_suffix(".recipe.json")


def network_recipe(config, spec, member: int, epochs_run: int) -> dict:
    """How ``--network I`` fitted its network: written beside the .keras file for the cards of what averages it."""
    return {"built_by": f"python training/experiment.py train --networks {config.networks} --network {member}",
            **fitting_settings(config), "seed": config.seed + member, "epochs_run": epochs_run, "feature_spec": spec.to_dict()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare", help="compute and cache the window sets")
    t = commands.add_parser("train", help="train one setting on the cached windows")
    t.add_argument("cache", type=Path)
    t.add_argument("--group-balance", type=float, default=0.5)
    t.add_argument("--epochs", type=int, default=12)
    t.add_argument("--batch-size", type=int, default=256)
    t.add_argument("--learning-rate", type=float, default=4e-3)
    t.add_argument("--width", type=int, default=32, help="channels of the first block (TrainConfig.width)")
    t.add_argument("--networks", type=int, default=1, help="networks averaged in one graph (TrainConfig.networks)")
    t.add_argument("--network", type=int, metavar="I",
                   help="fit only network I of --networks (seed + I) and save it as OUT's stem-networkI.keras")
    t.add_argument("--from-keras", type=Path, nargs="+",
                   help="networks trained already on this split (several: averaged): write the models only; "
                   "a .keras file trained on this cache with these settings, or a float .tflite with its card "
                   "(FILE.tflite#I: network I of an averaged one)")
    t.add_argument("--half", type=Path, metavar="NETWORK",
                   help="with --from-keras: a network of half-length windows (a .keras file trained on a cache "
                   "with --spec window_s=0.5 --spec window_hop_s=0.25), scored on each half of the window; the "
                   "higher of the two is averaged with --from-keras's score (the two-scale graph)")
    t.add_argument("--teacher", type=Path, metavar="MODEL.tflite",
                   help="distil: fit to this model's window scores mixed with the labels (see --distil)")
    t.add_argument("--distil", type=float, default=0.5, metavar="A",
                   help="with --teacher: the teacher's share of each target (TrainConfig.distil)")
    t.add_argument("--keep-last", action="store_true",
                   help="keep the last epoch's weights, not the best validation AUC's (TrainConfig.keep_last)")
    t.add_argument("--work", type=Path, help="package cache of the external set: score the models on it")
    for sub in (p, t):
        sub.add_argument("--corpus", type=Path, required=True)
        sub.add_argument("--out", type=Path, required=True)
        sub.add_argument("--augment-copies", type=int, default=2)
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--cartoon-speed", type=float, default=0.0, metavar="P",
                         help="share of augmented variants sped up or slowed like cartoon voices "
                         "(TrainConfig.cartoon_speed; the cache remembers it)")
        sub.add_argument("--voice-pitch", type=float, default=0.0, metavar="P",
                         help="share of augmented variants pitched like cartoon voices with their formants kept "
                         "(TrainConfig.voice_pitch; the cache remembers it)")
        sub.add_argument("--train-group", action="append", default=[], metavar="GROUP",
                         help="a source group always put in the training split (TrainConfig.train_groups; "
                         "repeatable; the cache remembers them)")
        sub.add_argument("--feature", choices=FEATURE_KINDS, default="mfcc",
                         help="what a window's image is made of: 20 MFCCs (default) or 40 log-mel bands "
                         "(FeatureSpec.feature; the cache remembers it)")
        sub.add_argument("--spec", action="append", default=[], metavar="FIELD=VALUE",
                         help="another FeatureSpec field, e.g. n_mfcc=13 or window_s=0.5 (repeatable; the cache "
                         "remembers them)")
    args = parser.parse_args(argv)
    try:
        spec = feature_spec(args.feature, args.spec)
    except ValueError as exc:
        parser.error(str(exc))
    if args.command == "prepare":
        prepare(args.corpus, args.out, train_module.TrainConfig(augment_copies=args.augment_copies, seed=args.seed,
                                                                cartoon_speed=args.cartoon_speed,
                                                                voice_pitch=args.voice_pitch,
                                                                train_groups=tuple(args.train_group)), spec)
        return 0

    if args.network is not None and (args.from_keras or not 0 <= args.network < args.networks):
        parser.error("--network I goes with --networks N (0 <= I < N), not with --from-keras")
    if args.half and not args.from_keras:
        parser.error("--half goes with --from-keras")
    if args.teacher and args.from_keras:
        parser.error("--teacher fits a network; --from-keras fits none")
    from robust_graph import train_robust

    config = train_module.TrainConfig(epochs=args.epochs, seed=args.seed, augment_copies=args.augment_copies,
                                      cartoon_speed=args.cartoon_speed, voice_pitch=args.voice_pitch,
                                      group_balance=args.group_balance,
                                      batch_size=args.batch_size, learning_rate=args.learning_rate,
                                      width=args.width, networks=len(args.from_keras) if args.from_keras else args.networks,
                                      distil=args.distil if args.teacher else 0.0, keep_last=args.keep_last,
                                      train_groups=tuple(args.train_group))
    data = load(args.cache, args.corpus, config, spec)
    if args.teacher:
        from voicestudio.model.detector import Detector

        data = dataclasses.replace(data, teacher=Detector(args.teacher).invoke_images(data.train.images))
    if args.network is not None:  # one network of several, fitted apart (e.g. on another machine)
        model, history = train_module.fit_network(data, spec, config, args.network)
        path = args.out.with_name(f"{args.out.stem}-network{args.network}.keras")
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        recipe_path(path).write_text(json.dumps(network_recipe(config, spec, args.network, len(history["loss"])),
                                                        indent=1, default=train_module.json_default) + "\n")
        print(f"wrote {path} ({len(history['loss'])} epochs; best validation AUC {max(history['val_auc']):.4f})")
        return 0
    started = time.time()
    result = train_robust(args.corpus, args.out, config, name="voice-detector", data=data, from_keras=args.from_keras,
                          spec=spec, half=args.half,
                          provenance={"built_by": "python training/experiment.py train (train_default.py's "
                                                  "training, on cached windows)",
                                      **({"teacher": args.teacher.name} if args.teacher else {}),
                                      **({"averaged": network_recipes(args.from_keras, config)} if args.from_keras
                                         else {}),
                                      **({"half_windows": network_recipes([args.half], config)[0]} if args.half
                                         else {})})
    line = {"settings": dataclasses.asdict(config), "from_keras": [str(p) for p in args.from_keras or ()],
            "seconds": round(time.time() - started), "out": str(args.out), "metrics": result.card["metrics"],
            "clip_score": result.card["clip_score"]}
    if args.work is not None:
        line["external"] = external_scores(
            {"float32": args.out, "int8 float front": args.out.with_name(args.out.stem + "-int8.tflite")},
            args.work)
    with open(args.out.parent.parent / "experiments.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(line, default=train_module.json_default) + "\n")
    print(json.dumps({k: line[k] for k in ("clip_score", "external") if k in line}, indent=1,
                     default=train_module.json_default))
    return 0


if __name__ == "__main__":
    sys.exit(main())
