"""The detector: a clip -> per-window probabilities of human voice and a clip score.

Pipeline: resample to the card's rate -> pad to one window -> features of the
whole clip once -> classifier windows are slices of those frames -> the energy
gate marks silent windows, which are not run -> the rest go through the
interpreter in batches (when the model has a dynamic batch dimension) -> the
card's rule turns window probabilities into the clip score.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicestudio.audio.decode import load_audio
from voicestudio.audio.features import (
    features,
    pad_to_window,
    silent_windows,
    window_images,
    window_starts,
)
from voicestudio.audio.resample import resample
from voicestudio.errors import ModelError, NoModelError
from voicestudio.model.card import ModelCard, card_path_for, default_card_for, load_card
from voicestudio.model.runtime import file_sha256, load_interpreter

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "resources" / "models" / "voice-detector.tflite"
MAX_BATCH = 64


@dataclass(frozen=True)
class Prediction:
    clip_score: float
    label: str
    threshold: float
    window_starts_s: np.ndarray
    window_probs: np.ndarray  # float32; NaN where the window was silent and not run
    silent: np.ndarray  # bool
    model_sha256: str

    @property
    def n_windows(self) -> int:
        return len(self.window_starts_s)


@dataclass(frozen=True)
class ClipWindows:
    """A clip made ready for the interpreter: everything but the invoke."""

    images: np.ndarray  # (n_active, frames, coeffs): the non-silent windows only
    starts: np.ndarray  # first frame of every window
    silent: np.ndarray  # bool per window

    @property
    def n_active(self) -> int:
        return len(self.images)


def clip_score(probs: np.ndarray, rule: str) -> float:
    """The clip's score from its non-silent windows' probabilities (0 when all are silent)."""
    probs = probs[~np.isnan(probs)]
    if len(probs) == 0:
        return 0.0
    if rule == "max":
        return float(probs.max())
    if rule == "mean":
        return float(probs.mean())
    top = np.sort(probs)[-2:]
    return float(top.mean())


class Detector:
    """A loaded model with its card. Safe to share between threads."""

    def __init__(self, model_path=None, *, threads: int | None = None, card: ModelCard | None = None):
        if model_path is None:
            model_path = DEFAULT_MODEL
            if not Path(model_path).exists():
                raise NoModelError(
                    f"no model given and the built-in detector is not installed ({model_path}); "
                    "pass --model FILE.tflite"
                )
        self.path = Path(model_path)
        loaded = load_interpreter(self.path, threads)
        self.runtime_name = f"{loaded.runtime} {loaded.runtime_version}"
        self.threads = loaded.threads
        self._interpreter = loaded.interpreter
        self._lock = threading.Lock()
        self.sha256 = file_sha256(self.path)
        self._input, self._output = self._single_tensors()
        self.card = self._resolve_card(card)
        self.spec = self.card.feature_spec
        self._check_shapes()
        self.batch_capable = int(self._input["shape_signature"][0]) == -1
        self._batch = int(self._input["shape"][0])

    # Loading and checking ----------------------------------------------------
    def _single_tensors(self):
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1:
            raise ModelError(self.path, f"has {len(inputs)} inputs; a detector takes one feature image")
        if len(outputs) != 1:
            raise ModelError(self.path, f"has {len(outputs)} outputs; a detector gives one probability tensor")
        return inputs[0], outputs[0]

    def _resolve_card(self, card: ModelCard | None) -> ModelCard:
        if card is not None:
            return card
        sibling = card_path_for(self.path)
        if sibling.exists():
            return load_card(sibling)
        default = default_card_for(self._input["shape"], self._output["shape"])
        if default is None:
            raise ModelError(
                self.path,
                f"no model card, and the input shape {list(self._input['shape'])} does not fit the defaults "
                f"{list(ModelCard().input_shape())} (write {sibling.name} beside the model)",
            )
        return default

    def _check_shapes(self) -> None:
        expected = self.card.input_shape()[1:]
        actual = tuple(int(d) for d in self._input["shape"][1:])
        if actual != expected:
            raise ModelError(
                self.path,
                f"input shape {[-1, *actual]} contradicts its card ({self.card.input_layout} "
                f"{[-1, *expected]} from the FeatureSpec)",
            )
        for tensor, role in ((self._input, "input"), (self._output, "output")):
            dtype = np.dtype(tensor["dtype"])
            if dtype == np.float32:
                continue
            scale, _ = tensor.get("quantization", (0.0, 0))
            if dtype not in (np.int8, np.uint8) or not scale:
                raise ModelError(self.path, f"{role} is {dtype.name} without quantisation parameters; expected float32 or quantised int8/uint8")
        width = int(self._output["shape"][-1]) if len(self._output["shape"]) > 1 else 1
        wanted = 1 if self.card.output == "sigmoid" else len(self.card.labels)
        if width != wanted:
            raise ModelError(self.path, f"output has {width} values per window but its card says {self.card.output} over {list(self.card.labels)}")

    # Running -----------------------------------------------------------------
    def _quantize(self, x: np.ndarray) -> np.ndarray:
        dtype = np.dtype(self._input["dtype"])
        if dtype == np.float32:
            return x.astype(np.float32, copy=False)
        scale, zero = self._input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, y: np.ndarray) -> np.ndarray:
        if np.dtype(self._output["dtype"]) == np.float32:
            return y
        scale, zero = self._output["quantization"]
        return (y.astype(np.float32) - zero) * scale

    def _run(self, batch: np.ndarray) -> np.ndarray:
        interpreter = self._interpreter
        if batch.shape[0] != self._batch:
            interpreter.resize_tensor_input(self._input["index"], list(batch.shape))
            interpreter.allocate_tensors()
            self._batch = batch.shape[0]
        interpreter.set_tensor(self._input["index"], self._quantize(batch))
        interpreter.invoke()
        return self._dequantize(interpreter.get_tensor(self._output["index"])).reshape(batch.shape[0], -1)

    def invoke_images(self, images: np.ndarray) -> np.ndarray:
        """Positive-class probability for each ``(frames, coeffs)`` image."""
        images = np.asarray(images, dtype=np.float32)
        if self.card.input_layout == "NHWC":
            images = images[..., None]
        n = len(images)
        out = np.empty(n, np.float32)
        if n == 0:
            return out
        column = 0 if self.card.output == "sigmoid" else self.card.labels.index(self.card.positive_label)
        with self._lock:
            if not self.batch_capable:
                for i in range(n):
                    out[i] = self._run(images[i:i + 1])[0, column]
                return out
            size = min(MAX_BATCH, 1 << (n - 1).bit_length())  # powers of two: few re-allocations
            for start in range(0, n, size):
                chunk = images[start:start + size]
                if len(chunk) < size:  # pad the last chunk rather than re-allocate for it
                    chunk = np.concatenate([chunk, np.zeros((size - len(chunk), *chunk.shape[1:]), np.float32)])
                out[start:start + size] = self._run(chunk)[: n - start, column]
        return out

    def prepare(self, samples: np.ndarray, sample_rate: int) -> ClipWindows:
        """Resample, features once, windows, silence gate (thread-safe, no interpreter)."""
        spec = self.spec
        if sample_rate != spec.sample_rate:
            samples = resample(samples, sample_rate, spec.sample_rate)
        samples = pad_to_window(np.asarray(samples, dtype=np.float32), spec)
        frames = features(samples, spec)
        starts = window_starts(len(frames), spec)
        silent = silent_windows(samples, starts, spec)
        return ClipWindows(window_images(frames, starts[~silent], spec), starts, silent)

    def prepare_file(self, path, *, start_s: float = 0.0, end_s: float | None = None) -> ClipWindows:
        audio = load_audio(path, start_s=start_s, end_s=end_s, sample_rate=self.spec.sample_rate)
        return self.prepare(audio.samples, audio.sample_rate)

    def assemble(self, windows: ClipWindows, active_probs: np.ndarray) -> Prediction:
        """The prediction from the probabilities of a clip's non-silent windows."""
        spec, card = self.spec, self.card
        probs = np.full(len(windows.starts), np.nan, np.float32)
        probs[~windows.silent] = active_probs
        score = clip_score(probs, card.clip_score)
        return Prediction(
            clip_score=score,
            label=card.positive_label if score >= card.threshold else card.negative_label,
            threshold=card.threshold,
            window_starts_s=(windows.starts * spec.hop_length / spec.sample_rate).astype(np.float32),
            window_probs=probs,
            silent=windows.silent,
            model_sha256=self.sha256,
        )

    def predict_samples(self, samples: np.ndarray, sample_rate: int) -> Prediction:
        windows = self.prepare(samples, sample_rate)
        return self.assemble(windows, self.invoke_images(windows.images))

    def predict_file(self, path, *, start_s: float = 0.0, end_s: float | None = None) -> Prediction:
        windows = self.prepare_file(path, start_s=start_s, end_s=end_s)
        return self.assemble(windows, self.invoke_images(windows.images))
