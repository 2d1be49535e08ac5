"""Convert a TensorFlow model to ``.tflite``, check the result against the source, write its card.

``voicestudio model convert SRC OUT.tflite --quantize none|float16|dynamic|int8`` (needs the
``train`` extra). The card starts from ``--card``, else the card beside the source, else the
documented defaults (when the source's shapes fit them); its FeatureSpec says what the model
sees. Real audio, from the project's clips or a folder, is turned into feature images with
that spec, exactly as the detector does: int8 calibrates on them (the representative set),
and both the source and the converted model are run on them to report the largest
difference in probability and how often their decisions at the card's threshold agree.
A training checkpoint is frozen first (``--outputs``; ``--ema``, ``--step``), then converted
like a frozen GraphDef.
"""

from __future__ import annotations

import os
import random
import tempfile
import warnings
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from voicestudio.audio.decode import load_audio
from voicestudio.audio.scan import FileProblem
from voicestudio.errors import AudioError, ModelError, VoiceStudioError
from voicestudio.model.card import ModelCard, card_path_for, default_card_for, load_card, save_card
from voicestudio.model.quantize import configure_converter
from voicestudio.model.windows import clip_windows
from voicestudio.progress import report
from voicestudio.terminal import one_line

QUANTIZE = ("none", "float16", "dynamic", "int8")
CARD_QUANTIZATION = {"none": "float32", "float16": "float16", "dynamic": "dynamic", "int8": "int8"}
DEFAULT_WINDOWS = 300  # TFLite's guidance: a few hundred samples calibrate int8 well


@dataclass(frozen=True)
class ConvertOptions:
    quantize: str = "none"
    inputs: tuple[str, ...] = ()  # GraphDef tensor names
    outputs: tuple[str, ...] = ()
    signature: str | None = None  # SavedModel signature key (default serving_default)
    card: Path | None = None  # card to start from
    audio: Path | None = None  # a folder of audio for calibration and checks, instead of the project
    windows: int = DEFAULT_WINDOWS
    seed: int = 0
    trust_code: bool = False  # allow Keras Lambda layers (they run code from the file)
    ema: bool = False  # checkpoint: freeze the variables' moving averages instead of their raw values
    step: int | None = None  # checkpoint: this step instead of the latest

    def __post_init__(self):
        if self.quantize not in QUANTIZE:
            raise VoiceStudioError(f"--quantize must be one of {', '.join(QUANTIZE)}, not {self.quantize!r}")
        if self.windows < 1:
            raise VoiceStudioError("the number of windows must be at least 1")


@dataclass
class ConversionReport:
    source: str
    kind: str
    out: str
    card: str
    quantize: str
    size_bytes: int
    audio: str  # where the calibration / check images came from
    windows: int  # images taken from the audio: calibrated on (int8) and compared
    threshold: float
    max_abs_diff: float | None
    mean_abs_diff: float | None
    decision_agreement: float | None  # share of windows with the same decision at the threshold
    compared: int = 0  # windows both models ran on
    failures: list[FileProblem] = field(default_factory=list)  # audio the converted model failed on

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        lines = [f"wrote {self.out} ({self.size_bytes / 1024:.1f} kB, {self.quantize}) and its card {self.card}"]
        if self.failures:
            n = len(self.failures)
            lines.append(f"the converted model failed on {n} file{'s' if n > 1 else ''} (below): not compared")
        if self.max_abs_diff is not None:
            lines.append(f"on {self.compared} windows of {self.audio}: largest difference {self.max_abs_diff:.4g} "
                         f"(mean {self.mean_abs_diff:.4g}), decisions at {self.threshold:g} agree on "
                         f"{100 * self.decision_agreement:.1f}%")
        elif not self.failures:
            lines.append("not compared: no audio to run both models on")
        return "\n".join(one_line(line) for line in lines)  # values from files never forge a line


# The card ---------------------------------------------------------------------------

def _base_card(source, options: ConvertOptions) -> tuple[ModelCard, str]:
    if options.card is not None:
        return load_card(options.card), str(options.card)
    beside = card_path_for(source.path)
    if beside.is_file():
        return load_card(beside), str(beside)
    shape_in = [-1 if d is None else d for d in (source.input_specs[0].shape or ())]
    shape_out = [-1 if d is None else d for d in (source.output_specs[0].shape or ())]
    card = default_card_for(shape_in, shape_out) if shape_in and shape_out else None
    if card is None:
        raise ModelError(source.path, f"no card given and its shapes (input {shape_in}, output {shape_out}) do not "
                                      "fit the defaults: pass --card CARD.json with its FeatureSpec")
    return card, "the documented defaults"


def _check_fits(source, card: ModelCard) -> None:
    wanted = card.input_shape()[1:]
    shape = source.input_specs[0].shape
    if shape is None:
        return  # unknown rank (a GraphDef placeholder without a shape): the converter is given it
    if len(shape) != len(wanted) + 1 or any(d not in (None, w) for d, w in zip(shape[1:], wanted)):
        spec = card.feature_spec
        raise ModelError(source.path, f"input {list(shape)} does not fit the card ({card.input_layout} "
                                      f"{[-1, *wanted]}: {spec.window_frames} frames x {spec.n_coeffs} coefficients); "
                                      "pass --card with the model's FeatureSpec")


# Audio -> feature images --------------------------------------------------------------

def _project_spans(project, seed: int) -> list[tuple[str, float, float]]:
    from voicestudio.store import clips as clip_store

    with project.session() as s:
        spans = [(r.path, r.start_s, r.end_s) for r in clip_store.list_clips(s)]
    random.Random(seed).shuffle(spans)
    return spans


def _folder_spans(folder: Path, seed: int) -> list[tuple[str, float, float | None]]:
    from voicestudio.audio.scan import AUDIO_SUFFIXES, FoundFile, scan

    if not folder.is_dir():
        raise VoiceStudioError(f"{folder}: not a folder of audio")
    spans = [(str(f.path), 0.0, None) for f in scan([folder])
             if isinstance(f, FoundFile) and f.path.suffix.lower() in AUDIO_SUFFIXES]
    random.Random(seed).shuffle(spans)
    return spans


@dataclass(frozen=True)
class FeatureImages:
    images: np.ndarray  # in the layout the model takes
    paths: list[str]  # the file each image came from

    @property
    def files(self) -> int:
        return len(set(self.paths))

    def by_file(self) -> list[tuple[str, slice]]:
        """Each file with the slice of its images (a file's images are contiguous)."""
        groups, start = [], 0
        for i in range(1, len(self.paths) + 1):
            if i == len(self.paths) or self.paths[i] != self.paths[start]:
                groups.append((self.paths[start], slice(start, i)))
                start = i
        return groups


def feature_images(spans, card: ModelCard, limit: int, *, progress=None, cancel=None) -> FeatureImages:
    """Up to ``limit`` non-silent window images from ``(path, start_s, end_s)`` spans, with their files.

    Windows are taken a few per clip (spread over many clips rather than all from the first),
    in the layout the model takes. Unreadable audio is skipped: calibration needs many
    clips, not every clip.
    """
    spec = card.feature_spec
    per_clip = max(1, limit // max(1, min(len(spans), limit)))
    rng = np.random.default_rng(0)
    images, paths = [], []
    for i, (path, start, end) in enumerate(spans):
        if cancel is not None and cancel.is_set():
            raise VoiceStudioError("cancelled")
        if sum(len(x) for x in images) >= limit:
            break
        report(progress, i, len(spans), "reading audio for calibration and checks")
        try:
            audio = load_audio(path, start_s=start, end_s=end, sample_rate=spec.sample_rate)
        except AudioError:
            continue
        windows = clip_windows(audio.samples, spec)
        if len(windows) > per_clip:
            windows = windows[np.sort(rng.choice(len(windows), per_clip, replace=False))]
        if len(windows):
            images.append(windows)
            paths += [path] * len(windows)
    if not images:
        return FeatureImages(np.empty((0, *card.input_shape()[1:]), np.float32), [])
    stacked = np.concatenate(images)[:limit].astype(np.float32)
    return FeatureImages(stacked[..., None] if card.input_layout == "NHWC" else stacked, paths[:limit])


def _probabilities(values: np.ndarray, card: ModelCard) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    column = 0 if card.output == "sigmoid" else card.labels.index(card.positive_label)
    return values[:, column]


# Conversion -------------------------------------------------------------------------

def convert_model(source_path, out_path, options: ConvertOptions = ConvertOptions(), *, project=None,
                  progress=None, cancel=None) -> ConversionReport:
    """Convert, compare on real audio, and write ``out_path`` with its card (both atomically)."""
    from voicestudio.model.detector import Detector
    from voicestudio.model.tf_source import Source

    out_path = Path(out_path)
    if out_path.suffix.lower() != ".tflite":
        raise VoiceStudioError(f"{out_path}: the converted model's name must end in .tflite")
    if not out_path.parent.is_dir():
        raise VoiceStudioError(f"{out_path.parent}: no such folder")
    report(progress, 0, None, "loading the source model")
    source = Source(source_path, inputs=list(options.inputs), outputs=list(options.outputs),
                    signature=options.signature, trust_code=options.trust_code, ema=options.ema, step=options.step)
    source.check_single_io()
    base, card_origin = _base_card(source, options)
    _check_fits(source, base)

    if options.audio is not None:
        spans, where = _folder_spans(Path(options.audio), options.seed), str(options.audio)
    elif project is not None:
        spans, where = _project_spans(project, options.seed), f"the project's clips ({project.label})"
    else:
        spans, where = [], "no audio"
    found = feature_images(spans, base, options.windows, progress=progress, cancel=cancel)
    images = found.images
    if options.quantize == "int8" and not len(images):
        raise VoiceStudioError(f"int8 needs a representative set, and {where} gave no non-silent audio: "
                               "import clips into the project or pass --audio FOLDER")

    report(progress, 0, None, f"converting ({options.quantize})")
    tf = source.tf
    converter = source.converter(base.input_shape()[1:])
    configure_converter(converter, tf, options.quantize, images)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the converter's deprecation and "statistics" warnings
            blob = converter.convert()
    except Exception as exc:
        raise ModelError(source.path, f"the TFLite converter failed ({str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else type(exc).__name__})") from None

    card = replace(
        base, name=out_path.stem, quantization=CARD_QUANTIZATION[options.quantize],
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        training={**base.training, "conversion": {
            "source": str(source.path), "kind": source.kind, "quantize": options.quantize,
            "card_from": card_origin, "audio": where, "audio_files": found.files, "windows": int(len(images)),
            **source.details,
        }},
    )
    # Write both into a temporary folder beside the target, check, then move into place.
    with tempfile.TemporaryDirectory(prefix=f".{out_path.stem}.", dir=out_path.parent) as tmp:
        staged = Path(tmp) / out_path.name
        staged.write_bytes(blob)
        diff = mean = agreement = None
        failures, compared = [], np.zeros(len(images), bool)
        if len(images):
            report(progress, 0, None, "comparing the source and the converted model")
            detector = Detector(staged, card=card)
            # Per file: a file the converted model fails on is reported, the others are compared.
            files = found.by_file()
            plain = images[..., 0] if card.input_layout == "NHWC" else images
            results = detector.invoke_each([plain[part] for _, part in files])
            converted = np.zeros(len(images), np.float32)
            for (path, part), probs in zip(files, results):
                if isinstance(probs, ModelError):
                    failures.append(FileProblem(path, probs.reason))
                else:
                    converted[part], compared[part] = probs, True
        if compared.any():
            converted, checked = converted[compared], images[compared]
            original = np.concatenate([_probabilities(source.run(checked[i:i + 64]), card)
                                       for i in range(0, len(checked), 64)])
            gap = np.abs(converted.astype(np.float64) - original)
            diff, mean = float(gap.max()), float(gap.mean())
            agreement = float(np.mean((converted >= card.threshold) == (original >= card.threshold)))
            card = replace(card, training={**card.training, "conversion": {
                **card.training["conversion"], "max_abs_diff": round(diff, 6),
                "decision_agreement": round(agreement, 6), **({"failed_files": len(failures)} if failures else {})}})
        save_card(card, Path(tmp) / card_path_for(out_path).name)
        os.replace(staged, out_path)
        os.replace(Path(tmp) / card_path_for(out_path).name, card_path_for(out_path))
    return ConversionReport(
        source=str(source.path), kind=source.kind, out=str(out_path), card=str(card_path_for(out_path)),
        quantize=options.quantize, size_bytes=out_path.stat().st_size, audio=where, windows=int(len(images)),
        threshold=card.threshold, max_abs_diff=diff, mean_abs_diff=mean, decision_agreement=agreement,
        compared=int(compared.sum()), failures=failures)
