"""The model card: a JSON object in a file beside the model (``m.tflite`` -> ``m.json``).

JSON keys (stable; every key is optional and takes the default shown; unknown
keys are refused so that a typo never passes silently):

=================  ==========================  =========================================
key                default                     meaning
=================  ==========================  =========================================
``card_version``   ``1``                       format of this file; newer ones are refused
``name``           ``"model"``                 display name
``version``        ``""``                      the model's own version string
``labels``         ``["nonhuman", "human"]``   the two classes, in the output's order
``positive_label`` ``"human"``                 the class whose probability is scored
``threshold``      ``0.5``                     clip score >= threshold -> positive label
``feature_spec``   FeatureSpec() as a dict     what the model sees (see audio.features)
``input_layout``   ``"NHWC"``                  ``"NHWC"``: (batch, frames, coeffs, 1);
                                               ``"NHW"``: (batch, frames, coeffs)
``output``         ``"sigmoid"``               ``"sigmoid"``: one probability of the
                                               positive label per window; ``"softmax"``:
                                               one probability per label
``clip_score``     ``"max"``                   ``"max"``, ``"mean"`` or ``"top2_mean"`` of the
                                               non-silent windows' probabilities
``quantization``   ``"float32"``               ``"float32"``, ``"float16"``, ``"dynamic"``,
                                               ``"int8"`` (informational)
``training``       ``{}``                      data provenance, licenses, settings
``metrics``        ``{}``                      validation results
``created_at``     ``""``                      ISO 8601 time the model was made
=================  ==========================  =========================================

A model without a card loads with these defaults when its tensors fit them
(see :func:`default_card_for`); otherwise it is refused with a message naming
both shapes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from voicestudio.audio.features import FeatureSpec
from voicestudio.errors import ModelError
from voicestudio.files import write_atomically

CARD_VERSION = 1
LAYOUTS = ("NHWC", "NHW")
OUTPUTS = ("sigmoid", "softmax")
CLIP_SCORES = ("max", "mean", "top2_mean")
QUANTIZATIONS = ("float32", "float16", "dynamic", "int8")
MAX_CARD_BYTES = 1 << 20  # cards are a few kB, with their training provenance
MAX_CARD_DEPTH = 32  # nesting of lists and objects (a card needs 4)


@dataclass(frozen=True)
class ModelCard:
    """What a detector needs to know about a model besides its tensors."""

    name: str = "model"
    version: str = ""
    labels: tuple[str, ...] = ("nonhuman", "human")
    positive_label: str = "human"
    threshold: float = 0.5
    feature_spec: FeatureSpec = field(default_factory=FeatureSpec)
    input_layout: str = "NHWC"
    output: str = "sigmoid"
    clip_score: str = "max"
    quantization: str = "float32"
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    created_at: str = ""
    card_version: int = CARD_VERSION

    def __post_init__(self):
        problems = []
        for name in ("name", "version", "positive_label", "created_at"):
            if not isinstance(getattr(self, name), str):
                problems.append(f"{name} must be a string")
        if (not isinstance(self.labels, tuple) or len(self.labels) != 2
                or not all(isinstance(label, str) and label for label in self.labels)
                or self.labels[0] == self.labels[1]):
            problems.append("labels must be two different class names")
        elif self.positive_label not in self.labels:
            problems.append(f"positive_label {self.positive_label!r} is not one of the labels {list(self.labels)}")
        if (isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float))
                or not 0.0 <= self.threshold <= 1.0):
            problems.append("threshold must be a number within 0..1")
        if not isinstance(self.feature_spec, FeatureSpec):
            problems.append("feature_spec must be a FeatureSpec")
        if self.input_layout not in LAYOUTS:
            problems.append(f"input_layout must be one of {list(LAYOUTS)}")
        if self.output not in OUTPUTS:
            problems.append(f"output must be one of {list(OUTPUTS)}")
        if self.clip_score not in CLIP_SCORES:
            problems.append(f"clip_score must be one of {list(CLIP_SCORES)}")
        if self.quantization not in QUANTIZATIONS:
            problems.append(f"quantization must be one of {list(QUANTIZATIONS)}")
        for name in ("training", "metrics"):
            if not isinstance(getattr(self, name), dict):
                problems.append(f"{name} must be a JSON object")
        if isinstance(self.card_version, bool) or not isinstance(self.card_version, int) or self.card_version < 1:
            problems.append("card_version must be a positive integer")
        elif self.card_version > CARD_VERSION:
            problems.append(f"card_version {self.card_version} is newer than this VoiceStudio reads ({CARD_VERSION})")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def negative_label(self) -> str:
        return next(label for label in self.labels if label != self.positive_label)

    def input_shape(self, batch: int = 1) -> tuple[int, ...]:
        """The model input this card describes, for ``batch`` windows."""
        frames, coeffs = self.feature_spec.image_shape
        return (batch, frames, coeffs, 1) if self.input_layout == "NHWC" else (batch, frames, coeffs)

    @property
    def output_width(self) -> int:
        """Values per window in the model's output: 1 (sigmoid) or one per label (softmax)."""
        return 1 if self.output == "sigmoid" else len(self.labels)

    def to_dict(self) -> dict:
        """The card as JSON-ready data, keys in the documented order."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["labels"] = list(self.labels)
        data["feature_spec"] = self.feature_spec.to_dict()
        data["training"] = dict(self.training)
        data["metrics"] = dict(self.metrics)
        card_version = data.pop("card_version")
        return {"card_version": card_version, **data}

    @classmethod
    def from_dict(cls, data: dict) -> "ModelCard":
        """Build a card from JSON data; ``ValueError`` names every problem found."""
        if not isinstance(data, dict):
            raise ValueError("a model card must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown card fields: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        data = dict(data)
        if "feature_spec" in data:
            spec = data["feature_spec"]
            if not isinstance(spec, dict):
                raise ValueError("feature_spec must be a JSON object")
            try:
                data["feature_spec"] = FeatureSpec.from_dict(spec)
            except (TypeError, ValueError) as exc:  # names the field and its allowed range
                raise ValueError(f"invalid feature_spec: {str(exc).removeprefix('invalid FeatureSpec: ')}") from None
        if "labels" in data:
            labels = data["labels"]
            if not isinstance(labels, list):
                raise ValueError("labels must be a list of two class names")
            data["labels"] = tuple(labels)
        if isinstance(data.get("threshold"), float) and not math.isfinite(data["threshold"]):
            raise ValueError("threshold must be a number within 0..1")
        return cls(**data)

    def with_threshold(self, threshold: float) -> "ModelCard":
        return replace(self, threshold=threshold)


def card_path_for(model_path) -> Path:
    """Where a model's card lives: ``m.tflite`` -> ``m.json``."""
    return Path(model_path).with_suffix(".json")


def read_card_json(path):
    """A card file's JSON, refused in one line when too large or nested too deep to be a card."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CARD_BYTES + 1)
    except OSError as exc:
        raise ModelError(path, f"cannot read the model card ({exc.strerror or exc})") from None
    if len(raw) > MAX_CARD_BYTES:
        raise ModelError(path, f"card too large/malformed: over {MAX_CARD_BYTES >> 20} MiB (a card is a few kB)")
    too_deep = f"card too large/malformed: nested deeper than {MAX_CARD_DEPTH} levels"
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:  # the parser's own guard, far below a crash
        raise ModelError(path, too_deep) from None
    except (ValueError, UnicodeDecodeError) as exc:  # includes numbers of thousands of digits
        raise ModelError(path, f"model card is not valid JSON ({exc})") from None
    if _depth(data) > MAX_CARD_DEPTH:
        raise ModelError(path, too_deep)
    return data


def _depth(data) -> int:
    """How deeply lists and objects nest in parsed JSON (without recursion: any depth is safe)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


def load_card(path) -> ModelCard:
    """Read a card; every problem is a ``ModelError`` naming the file."""
    path = Path(path)
    data = read_card_json(path)
    try:
        return ModelCard.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ModelError(path, f"invalid model card: {exc}") from None


def save_card(card: ModelCard, path) -> None:
    """Write atomically: a crash leaves the old card or the new one, never half of one."""
    path = Path(path)
    text = json.dumps(card.to_dict(), indent=2, ensure_ascii=False) + "\n"
    write_atomically(path, text)


def _per_window(shape) -> int:
    """Values per window in an output of ``shape`` (batch first; a 1-D output is one value each)."""
    width = 1
    for d in tuple(shape)[1:]:
        width *= int(d)
    return width


def default_card_for(input_shape, output_shape) -> ModelCard | None:
    """The documented defaults for a model without a card, or ``None`` when they don't fit.

    The defaults are ``ModelCard()``: ``FeatureSpec()`` (16 kHz MFCC, 1 s
    windows: 100 frames x 20 coefficients), labels ``nonhuman, human``,
    threshold 0.5, clip score ``max``. The layout follows the input shape
    (``(batch, 100, 20, 1)`` -> NHWC, ``(batch, 100, 20)`` -> NHW) and the
    output follows the output shape (one value per window -> sigmoid, two ->
    softmax). Batch dimensions (first axes) may be anything, including -1.
    """
    frames, coeffs = FeatureSpec().image_shape
    shape = tuple(int(d) for d in input_shape)
    if shape[1:] == (frames, coeffs, 1):
        layout = "NHWC"
    elif shape[1:] == (frames, coeffs):
        layout = "NHW"
    else:
        return None
    output_shape = tuple(int(d) for d in output_shape)
    if not 1 <= len(output_shape) <= 2:
        return None
    width = _per_window(output_shape)
    if width not in (1, 2):
        return None
    return ModelCard(name="model (no card: defaults)", input_layout=layout,
                     output="sigmoid" if width == 1 else "softmax")
