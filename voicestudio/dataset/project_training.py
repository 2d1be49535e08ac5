"""Train a detector from the project's own labels, fine-tuning the built-in model by default.

``train_from_project(project, out, ...)`` takes the project's labelled clips (whole
clips and region clips alike, each read with its span) under a consensus rule
(unsure and undecided clips left out), splits them exactly as the export does
(``compare.split_plan``: grouped by source, stratified, seeded), and trains with the
default trainer's pieces (``model.train``: features, augmentation, class weights).
Test clips are never seen in training nor in choosing the threshold (validation only).

``base`` is the model to start from: ``"builtin"`` (the default, when its FeatureSpec
is the project's), a float ``.tflite`` of the built-in family (rebuilt in Keras by
``model.from_tflite`` and checked equal to the file), a ``.keras`` file, or
``"none"`` to train the built-in network from nothing. The weights kept are the
epoch's with the best validation AUC (ties: log loss), the base itself included: fine-tuning never
hands back a model worse on validation than the one it started from.

Writes ``out`` (float32), its int8 twin (``out-int8.tflite``: the built-in's "float
front" build, which no input can make fail) and both cards, all under temporary
names renamed only at the end: a failed or cancelled run leaves nothing behind. Both
models are registered in the project, so every annotator of a shared project sees
them. Nothing here imports Qt: the window runs this as a background job.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voicestudio import pathmap
from voicestudio.audio.features import FeatureSpec
from voicestudio.dataset.compare import split_plan
from voicestudio.dataset.consensus import Consensus
from voicestudio.errors import ModelError, VoiceStudioError
from voicestudio.files import file_sha256, fsync_folder
from voicestudio.progress import CancelToken, ProgressCallback, report
from voicestudio.splits import SPLIT_NAMES

BUILTIN = "builtin"
NO_BASE = "none"
LABELS = ("human", "nonhuman")
CHECK_IMAGES = 256  # feature images the rebuilt base is checked on
REPRESENTATIVE_IMAGES = 500  # int8 calibration, as model.train.train
CHUNK_CLIPS = 16  # clips read between two progress reports and cancel checks


class TrainingCancelled(VoiceStudioError):
    """The run was cancelled; nothing was written."""

    def __init__(self):
        super().__init__("training was cancelled: nothing was written")


@dataclass(frozen=True)
class BaseModel:
    """The model fine-tuning starts from."""

    name: str
    path: Path
    sha256: str
    threshold: float  # its card's

    def to_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256, "card_threshold": self.threshold}


@dataclass(frozen=True)
class EpochReport:
    epoch: int  # 1-based
    loss: float  # training loss (label smoothing 0.05, class-weighted)
    val_auc: float  # ROC AUC over the validation clips' windows
    val_loss: float  # class-balanced log loss over the same windows


@dataclass
class ProjectTrainResult:
    model_path: Path
    int8_path: Path
    card: dict  # the float model's card (the int8 card differs in name, quantization and its own test metrics)
    int8_card: dict
    base: BaseModel | None
    clip_ids: dict[str, tuple[int, ...]]  # per split: the clips it holds (the export's split)
    counts: dict[str, dict[str, int]]  # per split: clips per label
    metrics: dict  # validation and test of the new model; "base": the base on the same clips
    epochs: list[EpochReport] = field(default_factory=list)
    model_ids: tuple[int, int] = (0, 0)  # the project's model rows: float, int8
    skipped: list[str] = field(default_factory=list)  # clips that could not be read

    def to_dict(self) -> dict:
        return {"model": str(self.model_path), "int8_model": str(self.int8_path), "model_ids": list(self.model_ids),
                "base": None if self.base is None else self.base.to_dict(), "counts": self.counts,
                "clip_ids": {s: list(ids) for s, ids in self.clip_ids.items()},
                "metrics": self.metrics, "epochs": [vars(e) for e in self.epochs], "skipped": self.skipped}


# Where it goes -------------------------------------------------------------------------------------------

def project_file(project) -> Path | None:
    """The SQLite file of the project, or None (a server database)."""
    database = project.engine.url.database if project.is_sqlite else None
    return None if not database or database == ":memory:" else Path(database)


def default_output(project, name: str | None = None) -> Path:
    """``<project folder>/<project stem>.models/NAME.tflite`` (NAME: the stem and the time)."""
    from voicestudio.model.train import utc_now

    db = project_file(project)
    if db is None:
        raise VoiceStudioError(f"{project.label}: not a project file; give the output model's path")
    name = name or f"{db.stem}-{utc_now()[:19].replace(':', '').replace('T', '-')}"
    return db.parent / f"{db.stem}.models" / f"{name}.tflite"


def int8_path_for(out: Path) -> Path:
    return out.with_name(out.stem + "-int8.tflite")


# The base ----------------------------------------------------------------------------------------------

def resolve_base(base, spec: FeatureSpec | None) -> tuple[Path | None, FeatureSpec, str | None]:
    """The base's file, the features to train on, and a note when the default base was not used."""
    from voicestudio.model.detector import DEFAULT_MODEL

    if base in (None, BUILTIN):
        builtin = Path(DEFAULT_MODEL)
        card_spec = _card_of(builtin).feature_spec if builtin.is_file() else None
        if card_spec is None:
            return None, spec or FeatureSpec(), "the built-in model is not installed: trained from nothing"
        if spec is not None and spec != card_spec:
            return None, spec, "the built-in model's features are not the project's: trained from nothing"
        return builtin, card_spec, None
    if str(base) == NO_BASE:
        return None, spec or FeatureSpec(), None
    path = Path(base)
    if not path.is_file():
        raise VoiceStudioError(f"{path}: no such base model")
    if path.suffix not in (".tflite", ".keras"):
        raise VoiceStudioError(f"{path}: a base model is a .tflite or .keras file")
    card_spec = _card_of(path).feature_spec
    if spec is not None and spec != card_spec:
        raise VoiceStudioError(f"{path}: its card's features are not the ones asked for: cannot fine-tune it on them")
    return path, card_spec, None


def _card_of(path: Path):
    from voicestudio.model.card import ModelCard, load_card

    card_path = path.with_suffix(".json")
    return load_card(card_path) if card_path.is_file() else ModelCard()


def _base_info(path: Path) -> BaseModel:
    card = _card_of(path)
    name = card.name if card.name != "model" else path.stem
    return BaseModel(name, path, file_sha256(path), float(card.threshold))


def load_base(path: Path, check_images: np.ndarray):
    """A trainable Keras model equal to the base (a .tflite is rebuilt and checked on ``check_images``)."""
    from voicestudio.model.robust import normalisation_layer
    from voicestudio.model.train import _tf

    if path.suffix == ".tflite":
        from voicestudio.model.from_tflite import rebuild_from_tflite

        return rebuild_from_tflite(path, check_images)
    tf = _tf()
    normalisation_layer()  # registered before loading: the .keras file names it
    try:
        return tf.keras.models.load_model(path, compile=False)
    except (ValueError, TypeError, OSError) as exc:
        raise ModelError(path, f"cannot be loaded as a Keras model ({str(exc).splitlines()[0][:200]})") from None


# The clips ---------------------------------------------------------------------------------------------

def labelled_files(plan) -> list:
    """The plan's clips as the trainer's ``LabelledFile``s: each with its span and split."""
    from voicestudio.model.train import LabelledFile

    active = pathmap.active()
    return [LabelledFile(Path(active.local(item.source)), item.label, item.group, item.split,
                         item.start_s, None if item.whole_file else item.end_s) for item in plan.items]


def _window_set(files, spec, augment, stage: str, progress, cancel, skipped: list[str]):
    """``train.build_window_set`` in chunks: progress and cancel between them; unreadable clips are noted."""
    from voicestudio.model.train import WindowSet, build_window_set

    parts, offset = [], 0
    for start in range(0, len(files), CHUNK_CLIPS):
        _check(cancel)
        chunk = files[start:start + CHUNK_CLIPS]
        try:
            part = build_window_set(chunk, spec, augment=augment, report=skipped.append)
        except VoiceStudioError:  # every clip of the chunk unreadable: each was noted
            part = None
        if part is not None:
            parts.append(WindowSet(part.images, part.labels, part.file_index + offset, []))
        offset += len(chunk)
        report(progress, min(start + CHUNK_CLIPS, len(files)), len(files), f"reading {stage} clips")
    if not parts:
        raise VoiceStudioError(f"no {stage} clip could be read")
    return WindowSet(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]),
                     np.concatenate([p.file_index for p in parts]), list(files))


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled()


def _counts(files) -> dict[str, dict[str, int]]:
    return {s: {label: sum(f.split == s and f.label == label for f in files) for label in LABELS}
            for s in SPLIT_NAMES}


def _ids_digest(ids) -> str:
    return hashlib.sha256(",".join(str(i) for i in sorted(ids)).encode()).hexdigest()


# Training ----------------------------------------------------------------------------------------------

def _callback(tf, val_images, val_labels, epochs: int, progress, cancel, history: list[EpochReport]):
    """Per epoch: progress, and the best weights on validation (the starting model's own included).

    Best = highest window ROC AUC, ties broken by the lower class-balanced log loss: on a
    small validation split the AUC saturates at 1.0 and alone would never let training move.
    """

    class Watch(tf.keras.callbacks.Callback):
        best = (-1.0, -np.inf)
        best_weights = None
        best_epoch = 0

        def on_train_begin(self, logs=None):
            auc, loss = _validation_fit(self.model, val_images, val_labels)
            self.best, self.best_weights = (auc, -loss), self.model.get_weights()
            report(progress, 0, epochs, f"epoch 0/{epochs}: validation AUC {auc:.4f}, validation loss {loss:.4f} "
                   "(the starting model)")

        def on_train_batch_end(self, batch, logs=None):
            _check(cancel)

        def on_epoch_end(self, epoch, logs=None):
            auc, loss = _validation_fit(self.model, val_images, val_labels)
            entry = EpochReport(epoch + 1, float((logs or {}).get("loss", np.nan)), auc, loss)
            history.append(entry)
            if (auc, -loss) > self.best:
                self.best, self.best_weights, self.best_epoch = (auc, -loss), self.model.get_weights(), epoch + 1
            report(progress, epoch + 1, epochs, f"epoch {epoch + 1}/{epochs}: loss {entry.loss:.4f}, "
                   f"validation AUC {auc:.4f}, validation loss {loss:.4f}")
            _check(cancel)

    return Watch()


def _validation_fit(model, images, labels) -> tuple[float, float]:
    """Window ROC AUC and class-balanced log loss on the validation windows (dropout off)."""
    from voicestudio.metrics import roc_auc
    from voicestudio.model.from_tflite import keras_probabilities

    p = np.clip(keras_probabilities(model, images).astype(np.float64), 1e-7, 1 - 1e-7)
    auc = roc_auc(labels, p)
    losses = [-np.mean(np.log(p[labels == 1])), -np.mean(np.log(1 - p[labels == 0]))]
    return (-1.0 if auc is None else round(float(auc), 6)), float(np.mean(losses))


def _clip_metrics(predict, val_set, test_set) -> dict:
    """Validation metrics at the threshold chosen on validation; test metrics at that threshold."""
    from voicestudio.model.train import evaluate_clips

    validation = evaluate_clips(predict, val_set)
    return {"validation": validation, "test": evaluate_clips(predict, test_set, validation["threshold"])}


def train_from_project(
    project,
    out=None,
    *,
    consensus: Consensus = Consensus(),
    base=BUILTIN,
    epochs: int = 10,
    seed: int = 0,
    augment_copies: int = 1,
    learning_rate: float | None = None,
    spec: FeatureSpec | None = None,
    name: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ProjectTrainResult:
    """Train on the project's labelled clips; write ``out``, its int8 twin and their cards; register both.

    ``out`` None: ``default_output(project)``. ``learning_rate`` None: 5e-4 when fine-tuning,
    2e-3 from nothing. Raises ``TrainingCancelled`` when ``cancel`` is set (nothing written),
    ``MissingExtraError`` without TensorFlow, ``VoiceStudioError`` for unusable labels or models.
    """
    from voicestudio.model.robust import build_robust_model, coefficient_scale, to_tflite_float_front
    from voicestudio.model.train import (
        TrainConfig, _tf, default_augmenter, seed_everything, to_tflite, utc_now)

    tf = _tf()  # first: without TensorFlow, nothing else is worth doing
    if project.read_only:
        raise VoiceStudioError(f"read-only: cannot register trained models in {project.label}")
    if epochs < 0:
        raise VoiceStudioError(f"epochs must be 0 or more, not {epochs}")
    out = Path(out) if out is not None else default_output(project, name)
    if out.suffix != ".tflite":
        raise VoiceStudioError(f"{out}: the output model must be a .tflite file")
    base_path, spec, base_note = resolve_base(base, spec)
    base_info = _base_info(base_path) if base_path is not None else None

    report(progress, 0, None, "planning the split")
    plan = split_plan(project, consensus, seed)
    files = labelled_files(plan)
    counts = _counts(files)
    by_split = {s: [f for f in files if f.split == s] for s in SPLIT_NAMES}
    for s in SPLIT_NAMES:
        if not all(counts[s].values()):
            raise VoiceStudioError(
                f"the {s} split needs both human and nonhuman clips (it has {counts[s]['human']} human, "
                f"{counts[s]['nonhuman']} nonhuman of {len(files)} labelled clips); label more clips, "
                "from more recordings")
    _check(cancel)

    seed_everything(seed)
    skipped: list[str] = []
    config = TrainConfig(epochs=epochs, seed=seed, augment_copies=augment_copies)
    augment = default_augmenter(by_split["train"], spec, config, skipped.append) if augment_copies else None
    train_set = _window_set(by_split["train"], spec, augment, "training", progress, cancel, skipped)
    val_set = _window_set(by_split["val"], spec, None, "validation", progress, cancel, skipped)
    test_set = _window_set(by_split["test"], spec, None, "test", progress, cancel, skipped)
    _check(cancel)

    report(progress, 0, None, "preparing the model")
    if base_path is not None:
        model = load_base(base_path, np.concatenate([val_set.images, train_set.images])[:CHECK_IMAGES])
    else:
        model = build_robust_model(spec, config.width, coefficient_scale(train_set.images))

    def predict(images):
        from voicestudio.model.from_tflite import keras_probabilities

        return keras_probabilities(model, images)

    base_metrics = _clip_metrics(predict, val_set, test_set) if base_path is not None else None
    if base_metrics is not None:
        base_metrics["test_at_card_threshold"] = _at(predict, test_set, base_info.threshold)

    class_counts = np.bincount(train_set.labels, minlength=2)
    class_weight = {c: len(train_set.labels) / (2.0 * max(class_counts[c], 1)) for c in (0, 1)}
    rate = learning_rate or (5e-4 if base_path is not None else config.learning_rate)
    model.compile(optimizer=tf.keras.optimizers.Adam(rate),
                  loss=tf.keras.losses.BinaryCrossentropy(label_smoothing=0.05),
                  metrics=[tf.keras.metrics.AUC(name="auc")])
    history: list[EpochReport] = []
    watch = _callback(tf, val_set.images, val_set.labels, epochs, progress, cancel, history)
    if epochs:
        model.fit(train_set.images[..., None], train_set.labels.astype(np.float32),
                  validation_data=(val_set.images[..., None], val_set.labels.astype(np.float32)),
                  epochs=epochs, batch_size=config.batch_size, class_weight=class_weight, verbose=0, shuffle=True,
                  callbacks=[watch, tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=4)])
        model.set_weights(watch.best_weights)
    _check(cancel)

    metrics = _clip_metrics(predict, val_set, test_set)
    threshold = metrics["validation"]["threshold"]
    if base_metrics is not None:
        metrics["base"] = base_metrics
        metrics["test_auc_minus_base"] = round(metrics["test"]["roc_auc"] - base_metrics["test"]["roc_auc"], 4)

    report(progress, 0, None, "converting to .tflite")
    float_bytes = to_tflite(model, spec)
    _check(cancel)
    report(progress, 0, None, "converting the int8 twin (calibrating)")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(train_set.images), min(REPRESENTATIVE_IMAGES, len(train_set.images)), replace=False)
    int8_bytes = to_tflite_float_front(model, train_set.images[np.sort(chosen)])
    _check(cancel)

    name = name or out.stem
    card = {
        "card_version": 1, "name": name, "version": utc_now()[:10], "labels": ["nonhuman", "human"],
        "positive_label": "human", "threshold": threshold, "feature_spec": spec.to_dict(), "input_layout": "NHWC",
        "output": "sigmoid", "clip_score": "max", "quantization": "float32",
        "training": {
            "built_by": "voicestudio train --from-project",
            "project": project_name(project),
            "consensus": {"rule": consensus.rule, "annotator": consensus.annotator,
                          "in_words": consensus.describe()},
            "label_counts": {label: sum(c[label] for c in counts.values()) for label in LABELS},
            "left_out": plan.left_out,
            "split": {"seed": seed, "fractions": [0.8, 0.1, 0.1], "group_by": "source", "clips": counts,
                      "clip_ids_sha256": {s: _ids_digest(item.clip_id for item in plan.items if item.split == s)
                                          for s in SPLIT_NAMES}},
            "base": None if base_info is None else base_info.to_dict(),
            "base_note": base_note,
            "epochs": epochs, "epochs_run": len(history), "epoch_kept": watch.best_epoch, "seed": seed,
            "learning_rate": rate, "augment_copies": augment_copies,
            "windows": {"train": int(len(train_set.labels)), "val": int(len(val_set.labels)),
                        "test": int(len(test_set.labels))},
            "parameters": int(model.count_params()),
            "skipped_clips": len(skipped),
        },
        "metrics": metrics,
        "created_at": utc_now(),
    }

    staged = _Staged(out)
    try:
        staged.write(out, float_bytes)
        int8_tmp = staged.write(int8_path_for(out), int8_bytes)
        report(progress, 0, None, "checking the int8 twin on the test clips")
        int8_card = {**card, "name": f"{name}-int8", "quantization": "int8"}
        int8_card["metrics"] = {**metrics, "test_int8": _int8_test_metrics(int8_tmp, int8_card, test_set, threshold)}
        staged.write(out.with_suffix(".json"), _dumps(card))
        staged.write(int8_path_for(out).with_suffix(".json"), _dumps(int8_card))
        _check(cancel)
        report(progress, 0, None, "writing the models")
        staged.commit()
    finally:
        staged.discard()
    model_ids = _register(project, out, card, int8_path_for(out), int8_card)
    report(progress, 1, 1, f"wrote {out.name} and {int8_path_for(out).name}")
    splits = {s: tuple(sorted(item.clip_id for item in plan.items if item.split == s)) for s in SPLIT_NAMES}
    return ProjectTrainResult(out, int8_path_for(out), card, int8_card, base_info, splits, counts, metrics,
                              history, model_ids, skipped)


def _at(predict, windows, threshold: float) -> dict:
    from voicestudio.model.train import evaluate_clips

    return evaluate_clips(predict, windows, threshold)


def _int8_test_metrics(path: Path, card: dict, test_set, threshold: float) -> dict:
    """The int8 twin's own test metrics at the float model's threshold: it has run every test window."""
    from voicestudio.model.card import ModelCard
    from voicestudio.model.detector import Detector
    from voicestudio.model.train import evaluate_clips

    detector = Detector(path, threads=1, card=ModelCard.from_dict(json.loads(_dumps(card))))
    return evaluate_clips(detector.invoke_images, test_set, threshold)


def project_name(project) -> str:
    db = project_file(project)
    return db.stem if db is not None else project.label


def _dumps(card: dict) -> str:
    from voicestudio.model.train import dumps

    return dumps(card) + "\n"


class _Staged:
    """Files written under temporary names beside their targets, renamed together by ``commit``."""

    def __init__(self, out: Path):
        missing = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
        out.parent.mkdir(parents=True, exist_ok=True)
        self.made = missing  # folders made here, the deepest first: removed again if nothing is committed
        self.pending: list[tuple[Path, Path]] = []
        self.token = secrets.token_hex(4)

    def write(self, target: Path, data: bytes | str) -> Path:
        tmp = target.with_name(f".{target.name}.{self.token}.tmp")
        with open(tmp, "wb") as f:
            self.pending.append((tmp, target))
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        return tmp

    def commit(self) -> None:
        for tmp, target in self.pending:
            os.replace(tmp, target)
        fsync_folder(self.pending[0][1].parent)
        self.pending, self.made = [], []

    def discard(self) -> None:
        for tmp, _ in self.pending:
            tmp.unlink(missing_ok=True)
        for folder in self.made:
            with contextlib.suppress(OSError):  # not empty: someone else's now
                folder.rmdir()
        self.pending, self.made = [], []


def _register(project, out: Path, card: dict, int8: Path, int8_card: dict) -> tuple[int, int]:
    from voicestudio.store.models import register_model

    with project.write() as session:
        return tuple(register_model(session, file_sha256(path), str(path), c).id
                     for path, c in ((out, card), (int8, int8_card)))
