"""The model card: a JSON file beside the model (``m.tflite`` -> ``m.json``).

Keys (all optional except where a model needs them; unknown keys are refused
so a typo never passes silently):

``card_version`` (1), ``name``, ``version``, ``labels`` (output class order,
default ``["nonhuman", "human"]``), ``positive_label`` (``"human"``),
``threshold`` (0.5), ``feature_spec`` (a FeatureSpec as a dict),
``input_layout`` (``"NHWC"``: batch, time frames, coefficients, 1; or
``"NHW"``), ``output`` (``"sigmoid"``: one probability of the positive label;
``"softmax"``: one per label), ``clip_score`` (``"max"``, ``"mean"`` or
``"top2_mean"`` over non-silent windows), ``quantization`` (``"float32"``,
``"float16"``, ``"dynamic"``, ``"int8"``), ``training`` (data provenance,
licenses), ``metrics`` (validation results), ``created_at`` (ISO 8601).

A model without a card loads with these defaults when its input shape fits
them; otherwise it is refused with a message naming both shapes.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from voicestudio.audio.features import FeatureSpec
from voicestudio.errors import ModelError

LAYOUTS = ("NHWC", "NHW")
OUTPUTS = ("sigmoid", "softmax")
CLIP_SCORES = ("max", "mean", "top2_mean")


@dataclass(frozen=True)
class ModelCard:
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
    card_version: int = 1

    def __post_init__(self):
        problems = []
        if self.input_layout not in LAYOUTS:
            problems.append(f"input_layout must be one of {LAYOUTS}")
        if self.output not in OUTPUTS:
            problems.append(f"output must be one of {OUTPUTS}")
        if self.clip_score not in CLIP_SCORES:
            problems.append(f"clip_score must be one of {CLIP_SCORES}")
        if self.positive_label not in self.labels or len(self.labels) != 2:
            problems.append("labels must be two classes including positive_label")
        if not 0.0 <= self.threshold <= 1.0:
            problems.append("threshold must be within 0..1")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def negative_label(self) -> str:
        return next(label for label in self.labels if label != self.positive_label)

    def input_shape(self, batch: int = 1) -> tuple[int, ...]:
        frames, coeffs = self.feature_spec.image_shape
        return (batch, frames, coeffs, 1) if self.input_layout == "NHWC" else (batch, frames, coeffs)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["feature_spec"] = self.feature_spec.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ModelCard":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown card fields: {', '.join(unknown)}")
        data = dict(data)
        if "feature_spec" in data:
            data["feature_spec"] = FeatureSpec.from_dict(data["feature_spec"])
        if "labels" in data:
            data["labels"] = tuple(data["labels"])
        return cls(**data)

    def with_threshold(self, threshold: float) -> "ModelCard":
        return replace(self, threshold=threshold)


def card_path_for(model_path) -> Path:
    return Path(model_path).with_suffix(".json")


def load_card(path) -> ModelCard:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(path, f"cannot read the model card ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(path, f"model card is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(path, "model card must be a JSON object")
    try:
        return ModelCard.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ModelError(path, f"invalid model card: {exc}") from None


def save_card(card: ModelCard, path) -> None:
    """Write atomically: a crash leaves the old card or the new one, never half."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(card.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def default_card_for(input_shape, output_shape) -> ModelCard | None:
    """The documented defaults, if a model's tensors fit them."""
    spec = FeatureSpec()
    frames, coeffs = spec.image_shape
    shape = tuple(int(d) for d in input_shape)
    if shape[1:] == (frames, coeffs, 1):
        layout = "NHWC"
    elif shape[1:] == (frames, coeffs):
        layout = "NHW"
    else:
        return None
    width = int(output_shape[-1]) if len(output_shape) else 1
    if width not in (1, 2):
        return None
    return ModelCard(name="model (no card: defaults)", input_layout=layout,
                     output="sigmoid" if width == 1 else "softmax")
