"""Train a compact human-voice CNN and convert it to TFLite (needs ``voicestudio[train]``).

``voicestudio train DATA_DIR OUT.tflite`` reads a folder-per-class set: either
``DATA_DIR/{human,nonhuman}/...`` or already split into
``DATA_DIR/{train,val,test}/{human,nonhuman}/...`` (the layout ``export`` writes).
Unsplit sets are split by source group (the first folder below the class
folder, or ``source_group`` in a ``manifest.csv``) so validation never shares a
source with training.

Features are computed with the same code the detector runs
(``voicestudio.audio.features``): training and inference cannot drift. The
network is the built-in detector's (``voicestudio.model.robust``): a
depthwise-separable CNN over the window's feature image that normalises each
image itself (per-coefficient mean removal over time, then a fixed scale per
coefficient from the training windows), so loudness and channel colouring are
not shortcuts and its int8 build has no operation that can fail on any input.
Written beside OUT.tflite: OUT-int8.tflite (int8 network, normalisation in
float: runs on tflite-runtime 2.14), both cards, and OUT.keras (the network).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from voicestudio.audio.decode import load_audio
from voicestudio.audio.features import FeatureSpec
from voicestudio.errors import AudioError, MissingExtraError, VoiceStudioError
from voicestudio.files import write_atomically
from voicestudio.metrics import confusion_at, roc_auc
from voicestudio.model.windows import clip_windows
from voicestudio.splits import SPLIT_NAMES as SPLITS
from voicestudio.splits import assign_splits

CLASSES = ("nonhuman", "human")  # output order: index 1 is the positive class


@dataclass(frozen=True)
class LabelledFile:
    path: Path
    label: str  # "human" | "nonhuman"
    group: str  # source group: files of one group never span two splits
    split: str | None = None
    start_s: float = 0.0  # the span of the file that is the clip (a project's region clips)
    end_s: float | None = None


@dataclass
class WindowSet:
    """Feature images of non-silent windows, with labels and the file each came from."""

    images: np.ndarray  # (n, frames, coeffs) float32
    labels: np.ndarray  # (n,) int: 1 = human
    file_index: np.ndarray  # (n,) index into ``files``
    files: list[LabelledFile] = field(default_factory=list)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    seed: int = 0
    batch_size: int = 64
    learning_rate: float = 2e-3
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    width: int = 32  # channels of the first block; the model has well under 500k parameters
    augment_copies: int = 3  # augmented variants per training clip (0: none)
    # Each window weighs 1 / (windows of its source group) ** group_balance within its class:
    # 0 weighs every window alike, so hours of calm dialogue from one package outvote a few
    # hundred shouts and cries from another; 0.5 lets the small groups be heard.
    group_balance: float = 0.0
    # Share of augmented variants sped up or slowed like a cartoon voice (Augmenter.cartoon): game
    # characters' exclamations were the voices the built-in model missed most (issue 16).
    cartoon_speed: float = 0.0
    # Share of augmented variants whose pitch moves as far with the formants kept
    # (Augmenter.voice_pitch): an actor's cartoon voice, not a sped-up tape.
    voice_pitch: float = 0.0
    # Share of a teacher model's window score in each training target (the rest: the clip's label).
    # The teacher (TrainingData.teacher) knows which windows of a human clip hold no voice, and how
    # sure to be of each: its soft scores pass what several networks agree on to one (distillation).
    distil: float = 0.0
    # Networks trained apart (seeds seed, seed + 1, ...) and averaged in one graph: two make
    # different mistakes, and their mean scored better on unseen sources than either (issue 16).
    networks: int = 1
    # Keep the last epoch's weights, not those of the best validation AUC. With a source group the
    # training never hears in validation, its window AUC can peak at epoch 1 and keep an unfinished
    # network (issue 16); then validation still picks the clip rule and the threshold.
    keep_last: bool = False
    # Source groups always put in the training split and left out of the grouped split's draw (the
    # other groups get the split they would have without them): a new, rare kind of voice to learn
    # from rather than hold out, or new sources added without moving the old ones.
    train_groups: tuple[str, ...] = ()
    # Width of a network of half-length windows scored on each half of the window, the higher of the
    # two averaged with the networks' score (robust.two_scale; 0: none). Its mistakes are not the 1 s
    # networks' (radio voices and notes right, short effects wrong): together they generalise better.
    half_width: int = 0


# Finding the data ---------------------------------------------------------------

def _files_under(folder: Path):
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def find_labelled_files(data_dir) -> list[LabelledFile]:
    """Files of a folder-per-class set, with source groups and (if present) splits."""
    root = Path(data_dir)
    if not root.is_dir():
        raise VoiceStudioError(f"{root}: not a folder")
    manifest_groups = _manifest_groups(root)
    found: list[LabelledFile] = []
    split_dirs = [root / s for s in SPLITS if (root / s).is_dir()]
    layouts = [(d, d.name) for d in split_dirs] if split_dirs else [(root, None)]
    for base, split in layouts:
        for label in CLASSES:
            class_dir = base / label
            if not class_dir.is_dir():
                continue
            for path in _files_under(class_dir):
                relative = path.relative_to(class_dir)
                group = manifest_groups.get(path.resolve()) or (
                    f"{label}/{relative.parts[0]}" if len(relative.parts) > 1 else f"{label}/{path.stem}"
                )
                found.append(LabelledFile(path, label, group, split))
    labels = {f.label for f in found}
    if labels != set(CLASSES):
        raise VoiceStudioError(
            f"{root}: needs audio in both human/ and nonhuman/ folders"
            + (" (inside train/ val/ test/)" if split_dirs else "")
        )
    return found


def _manifest_groups(root: Path) -> dict[Path, str]:
    manifest = root / "manifest.csv"
    if not manifest.exists():
        return {}
    groups = {}
    with open(manifest, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("path") and row.get("source_group"):
                groups[(root / row["path"]).resolve()] = row["source_group"]
    return groups


def split_training_files(files: list[LabelledFile], config: TrainConfig) -> list[LabelledFile]:
    """Stratified split grouped by source (``voicestudio.splits.assign_splits``); a set already split is kept."""
    if all(f.split for f in files):
        if config.train_groups:  # a split already made on disk would silently override the pinning
            raise VoiceStudioError("the data is already split into train/val/test folders: move the pinned "
                                   f"groups ({', '.join(config.train_groups)}) there instead of pinning them")
        return files
    unknown = sorted(set(config.train_groups) - {f.group for f in files})
    if unknown:
        raise VoiceStudioError(f"no source group named {', '.join(unknown)} in the training data")
    # Pinned groups are left out of the draw, so pinning (or adding) them never moves another group:
    # the others get the split they would have without them.
    drawn = [f for f in files if f.group not in config.train_groups]
    fractions = (1.0 - config.val_fraction - config.test_fraction, config.val_fraction, config.test_fraction)
    splits = iter(assign_splits([f.label for f in drawn], [f.group for f in drawn], fractions, config.seed))
    return [LabelledFile(f.path, f.label, f.group, "train" if f.group in config.train_groups else next(splits))
            for f in files]


# Features ---------------------------------------------------------------------------

def build_window_set(files: list[LabelledFile], spec: FeatureSpec, *, augment=None, report=print) -> WindowSet:
    images, labels, index = [], [], []
    for i, f in enumerate(files):
        try:
            audio = load_audio(f.path, start_s=f.start_s, end_s=f.end_s, sample_rate=spec.sample_rate)
        except AudioError as exc:
            report(f"skipped {exc}")
            continue
        variants = augment(audio.samples, f) if augment else [audio.samples]
        for samples in variants:
            windows = clip_windows(samples, spec)
            images.append(windows)
            labels.append(np.full(len(windows), CLASSES.index(f.label), np.int64))
            index.append(np.full(len(windows), i, np.int64))
    if not images:
        raise VoiceStudioError("no usable audio in the training set")
    return WindowSet(np.concatenate(images), np.concatenate(labels), np.concatenate(index), list(files))


# The network ------------------------------------------------------------------------

def _tf():
    try:
        import tensorflow as tf
    except ImportError:
        raise MissingExtraError("training and conversion", "train", "tensorflow") from None
    return tf


def seed_everything(seed: int) -> None:
    tf = _tf()
    random.seed(seed)
    np.random.seed(seed)
    tf.keras.utils.set_random_seed(seed)
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")


# Conversion -------------------------------------------------------------------------

def to_tflite(model, spec: FeatureSpec, *, quantize: str = "none", representative: np.ndarray | None = None) -> bytes:
    """Convert a Keras model; the batch dimension stays dynamic (the detector batches windows).

    ``from_keras_model`` freezes the weights into constants and folds batch
    normalisation into the convolutions. (Converting a concrete function with
    the model as its trackable object keeps resource variables and unfolded
    BatchNorm: 50x slower per window.)
    """
    from voicestudio.model.quantize import configure_converter

    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    configure_converter(converter, tf, quantize, None if representative is None else representative[..., None])
    return converter.convert()


def json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def dumps(data) -> str:
    return json.dumps(data, indent=2, default=json_default)


# Metrics -----------------------------------------------------------------------------

def binary_report(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    c = confusion_at(labels, scores, threshold)
    auc = roc_auc(labels, scores)
    return {
        "n": c.n,
        "roc_auc": float("nan") if auc is None else round(auc, 4),
        "balanced_accuracy": round(c.balanced_accuracy or 0.0, 4),
        "threshold": threshold,
        "confusion": {"tp": c.tp, "fn": c.fn, "fp": c.fp, "tn": c.tn},
    }


def best_balanced_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The threshold that maximises balanced accuracy on the validation clips."""
    candidates = np.unique(np.round(np.asarray(scores), 3))
    if len(candidates) == 0:
        return 0.5
    best = max(candidates, key=lambda t: binary_report(labels, scores, float(t))["balanced_accuracy"])
    return float(best)


# Training ----------------------------------------------------------------------------

def default_augmenter(train_files: list[LabelledFile], spec: FeatureSpec, config: TrainConfig, report):
    """Mix with the training set's own non-human sounds (never validation's)."""
    from voicestudio.model.augment import Augmenter

    backgrounds = []
    for f in train_files:
        if f.label == "nonhuman":
            try:
                backgrounds.append(load_audio(f.path, start_s=f.start_s, end_s=f.end_s,
                                              sample_rate=spec.sample_rate).samples)
            except AudioError as exc:
                report(f"skipped {exc}")
    return Augmenter(backgrounds, spec.sample_rate, copies=config.augment_copies, seed=config.seed,
                     cartoon=config.cartoon_speed, voice_pitch=config.voice_pitch)


def window_weights(windows: WindowSet, group_balance: float = 0.0) -> np.ndarray:
    """Per-window loss weights: both classes weigh the same in total; within a class a window
    weighs 1 / (windows of its source group) ** group_balance (0: all alike)."""
    groups = np.array([f.group for f in windows.files])[windows.file_index]
    weights = np.zeros(len(windows.labels), np.float32)
    for label in (0, 1):
        mine = windows.labels == label
        if not mine.any():
            continue
        _, group_of, sizes = np.unique(groups[mine], return_inverse=True, return_counts=True)
        within = 1.0 / sizes[group_of].astype(np.float64) ** group_balance
        weights[mine] = within / within.sum() * len(windows.labels) / 2.0
    return weights


@dataclass
class TrainResult:
    model_path: Path
    int8_path: Path | None
    card: dict
    history: dict


CLIP_RULES = ("max", "top2_mean")  # the clip score rules training chooses between, on validation


def pool_file_scores(probabilities: np.ndarray, file_index: np.ndarray, rule: str = "max") -> dict[int, float]:
    """Each clip's score from its non-silent windows' probabilities, by the detector's own rule."""
    from voicestudio.model.detector import clip_score

    order = np.argsort(file_index, kind="stable")
    files, starts = np.unique(file_index[order], return_index=True)
    groups = np.split(np.asarray(probabilities)[order], starts[1:])
    return {int(f): clip_score(g, rule) for f, g in zip(files, groups)}


def evaluate_clips(predict, windows: WindowSet, threshold: float | None = None, rule: str = "max",
                   probabilities: np.ndarray | None = None) -> dict:
    if probabilities is None:
        probabilities = predict(windows.images)
    scores = pool_file_scores(probabilities, windows.file_index, rule)
    indices = sorted(scores)
    labels = np.array([windows.files[i].label == "human" for i in indices])
    values = np.array([scores[i] for i in indices])
    if threshold is None:
        threshold = best_balanced_threshold(labels, values)
    return binary_report(labels, values, threshold)


@dataclass
class TrainingData:
    """The files by split and their window sets: built once by ``prepare_data`` (or loaded from a cache)."""

    by_split: dict[str, list[LabelledFile]]
    train: WindowSet
    val: WindowSet
    test: WindowSet | None
    teacher: np.ndarray | None = None  # a teacher model's probability for each training window

    @functools.cached_property
    def coefficient_scale(self) -> np.ndarray:
        """The network's fixed normalisation (``robust.coefficient_scale`` of the training windows): once
        for all the networks fitted on these windows."""
        from voicestudio.model.robust import coefficient_scale

        return coefficient_scale(self.train.images)


def training_targets(data: TrainingData, config: TrainConfig) -> np.ndarray:
    """What each training window is fitted to: its clip's label, mixed with the teacher's score."""
    labels = data.train.labels.astype(np.float32)
    if not config.distil:
        return labels
    if data.teacher is None or len(data.teacher) != len(labels):
        raise VoiceStudioError("distillation needs the teacher's score for every training window")
    return ((1 - config.distil) * labels + config.distil * data.teacher).astype(np.float32)


def prepare_data(data_dir, spec: FeatureSpec, config: TrainConfig, *, augment=None, report=print) -> TrainingData:
    """Split the set by source group and compute every split's windows (training's with augmentation)."""
    seed_everything(config.seed)
    files = split_training_files(find_labelled_files(data_dir), config)
    by_split = {s: [f for f in files if f.split == s] for s in SPLITS}
    if not by_split["train"]:
        raise VoiceStudioError(f"{data_dir}: no training files")
    val_files = by_split["val"] or by_split["test"] or by_split["train"]
    report(", ".join(f"{s}: {len(by_split[s])} files" for s in SPLITS))
    if augment is None and config.augment_copies:
        augment = default_augmenter(by_split["train"], spec, config, report)
    train_set = build_window_set(by_split["train"], spec, augment=augment, report=report)
    val_set = build_window_set(val_files, spec, report=report)
    test_set = build_window_set(by_split["test"], spec, report=report) if by_split["test"] else None
    report(f"windows: train {len(train_set.labels)}, val {len(val_set.labels)}")
    return TrainingData(by_split, train_set, val_set, test_set)


def train(
    data_dir,
    out_path,
    *,
    spec: FeatureSpec = FeatureSpec(),
    config: TrainConfig = TrainConfig(),
    augment=None,
    name: str = "voice-detector",
    provenance: dict | None = None,
    report=print,
    data: TrainingData | None = None,
) -> TrainResult:
    """Train on a folder-per-class set; write ``out_path`` (float32), its int8 twin and cards.

    ``data``: the window sets already computed (``training/experiment.py`` caches them), else built here.
    """
    from voicestudio.model.robust import average_of, two_scale

    if data is None:
        data = prepare_data(data_dir, spec, config, augment=augment, report=report)
    networks = [fit_network(data, spec, config, member, report) for member in range(config.networks)]
    model = average_of([model for model, _ in networks])
    if config.half_width:
        half, history = fit_half_network(data_dir, spec, config, augment=augment, report=report)
        model, networks = two_scale(model, half), [*networks, (half, history)]
    return finish(model, {"networks": [h for _, h in networks]}, data,
                  out_path, data_dir=data_dir, spec=spec, config=config, name=name, provenance=provenance,
                  report=report)


def half_spec(spec: FeatureSpec) -> FeatureSpec:
    """The features of half-length windows at half the hop: the two-scale graph's halves of a window."""
    return dataclasses.replace(spec, window_s=spec.window_s / 2, window_hop_s=spec.window_hop_s / 2)


def fit_half_network(data_dir, spec: FeatureSpec, config: TrainConfig, *, augment=None, report=print):
    """The network of half-length windows (``config.half_width`` wide, seeded after the 1 s networks:
    ``config.seed + config.networks``) on the same split: (model, history)."""
    report("network of half-length windows")
    half = half_spec(spec)
    data = prepare_data(data_dir, half, config, augment=augment, report=report)
    return fit_network(data, half, dataclasses.replace(config, width=config.half_width), config.networks, report)


def fit_network(data: TrainingData, spec: FeatureSpec, config: TrainConfig, member: int = 0, report=print):
    """Network ``member`` of ``config.networks`` (seeded ``config.seed + member``), fitted: (model, history)."""
    tf = _tf()
    if config.networks > 1 and member < config.networks:  # (the half network, seeded after them, says so itself)
        report(f"network {member + 1} of {config.networks}")
    from voicestudio.model.robust import build_robust_model

    seed_everything(config.seed + member)
    # The built-in detector's network (voicestudio.model.robust): no operation its int8 build can fail on
    model = build_robust_model(spec, config.width, data.coefficient_scale)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.learning_rate),
        loss=tf.keras.losses.BinaryCrossentropy(label_smoothing=0.05),
        metrics=[tf.keras.metrics.AUC(name="auc")],
    )
    fitted = model.fit(
        data.train.images[..., None], training_targets(data, config),
        sample_weight=window_weights(data.train, config.group_balance),
        validation_data=(data.val.images[..., None], data.val.labels.astype(np.float32)),
        epochs=config.epochs, batch_size=config.batch_size, verbose=2,
        callbacks=[
            tf.keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=6,
                                             restore_best_weights=not config.keep_last),
            tf.keras.callbacks.ReduceLROnPlateau(monitor="val_auc", mode="max", factor=0.5, patience=3),
        ],
    )
    return model, {k: [float(v) for v in vals] for k, vals in fitted.history.items()}


def finish(model, history: dict, data: TrainingData, out_path, *, data_dir, spec: FeatureSpec, config: TrainConfig,
           name: str, provenance: dict | None, report=print) -> TrainResult:
    """Choose the clip rule and threshold on validation, score the test split, write both models and cards.

    ``history``: ``{"networks": [each network's Keras history]}`` (an empty list: fitted elsewhere).
    """
    def predict(images):
        return model.predict(images[..., None], batch_size=256, verbose=0)[:, 0]

    # The clip rule is the one with the best validation AUC (ties: max); the threshold the one
    # with the best balanced accuracy on validation clips (grouped apart from training).
    val_probabilities = predict(data.val.images)
    by_rule = {r: evaluate_clips(predict, data.val, rule=r, probabilities=val_probabilities) for r in CLIP_RULES}
    rule = max(CLIP_RULES, key=lambda r: (by_rule[r]["roc_auc"], r == "max"))
    val_metrics = by_rule[rule]
    threshold = val_metrics["threshold"]
    val_metrics["at_0.5"] = evaluate_clips(predict, data.val, 0.5, rule, val_probabilities)["balanced_accuracy"]
    val_metrics["clip_rules"] = {r: {k: m[k] for k in ("roc_auc", "balanced_accuracy", "threshold")}
                                 for r, m in by_rule.items()}
    metrics = {"validation": val_metrics}
    if data.test is not None:
        metrics["test"] = evaluate_clips(predict, data.test, threshold, rule)
    report(f"metrics: {dumps(metrics)}")
    train_set, val_set, by_split = data.train, data.val, data.by_split

    from voicestudio.model.robust import to_tflite_float_front

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out_path, to_tflite(model, spec))
    rng = np.random.default_rng(config.seed)
    representative = train_set.images[rng.choice(len(train_set.images), min(500, len(train_set.images)), replace=False)]
    int8_path = out_path.with_name(out_path.stem + "-int8.tflite")
    # The built-in's int8 build: int8 network, normalisation in float (runs on tflite-runtime 2.14)
    write_atomically(int8_path, to_tflite_float_front(model, representative))
    # The network itself, to fine-tune (--base) or average later; Keras wants the suffix, so the partial file has it
    partial = out_path.with_name(out_path.stem + ".partial.keras")
    model.save(partial)
    os.replace(partial, out_path.with_suffix(".keras"))

    card = {
        "card_version": 1,
        "name": name,
        "version": utc_now()[:10],
        "labels": list(CLASSES),
        "positive_label": "human",
        "threshold": threshold,
        "feature_spec": spec.to_dict(),
        "input_layout": "NHWC",
        "output": "sigmoid",
        "clip_score": rule,
        "training": {
            "data_dir": str(data_dir),
            "files": {s: len(by_split[s]) for s in SPLITS},
            "groups": {s: len({f.group for f in by_split[s]}) for s in SPLITS},
            "windows": {"train": int(len(train_set.labels)), "val": int(len(val_set.labels))},
            "epochs_run": [len(h.get("loss", [])) for h in history["networks"]],  # none: fitted elsewhere
            "seed": config.seed,
            "augment_copies": config.augment_copies,
            "group_balance": config.group_balance,
            "cartoon_speed": config.cartoon_speed,
            "voice_pitch": config.voice_pitch,
            "distil": config.distil,
            "keep_last": config.keep_last,
            **({"train_groups": list(config.train_groups)} if config.train_groups else {}),
            "networks": config.networks,
            "width": config.width,
            **({"half_width": config.half_width} if config.half_width else {}),
            "parameters": int(model.count_params()),
            **(provenance or {}),
        },
        "metrics": metrics,
        "created_at": utc_now(),
    }
    for path, quantization in ((out_path, "float32"), (int8_path, "int8")):
        write_atomically(
            path.with_suffix(".json"),
            dumps({**card, "name": name if quantization == "float32" else f"{name}-int8", "quantization": quantization}),
        )
    return TrainResult(out_path, int8_path, card, history)
