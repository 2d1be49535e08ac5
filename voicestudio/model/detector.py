"""The detector: a clip -> per-window probabilities of human voice and a clip score.

Pipeline: resample to the card's rate -> pad to one window -> features of the
whole clip once -> classifier windows are slices of those frames -> the energy
gate marks silent windows, which are not run -> the rest go through the
interpreter in batches (when the model has a dynamic batch dimension) -> the
card's rule turns window probabilities into the clip score.

Importing this module is cheap: the TFLite runtime is imported when the first
model is loaded, the decoder and resampler when first needed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicestudio.audio.features import (
    features,
    n_frames,
    pad_to_window,
    silent_windows,
    window_images,
    window_starts,
)
from voicestudio.errors import ModelError, NoModelError
from voicestudio.files import file_sha256
from voicestudio.model.card import ModelCard, card_path_for, default_card_for, load_card
from voicestudio.model.runtime import load_interpreter
from voicestudio.resources import resource_path

DEFAULT_MODEL = resource_path("models/voice-detector.tflite")
MAX_BATCH = 64  # windows per invoke for dynamic-batch models
LONG_PART_S = 300.0  # longer parts are predicted a block of this many seconds at a time
PROBABILITY_SLACK = 1e-3  # float rounding allowed outside 0..1 before an output is "not a probability"


@dataclass(frozen=True)
class Prediction:
    clip_score: float
    label: str
    threshold: float
    window_starts_s: np.ndarray  # float32 seconds from the clip's start
    window_probs: np.ndarray  # float32; NaN where the window was silent and not run
    silent: np.ndarray  # bool per window
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
    """The clip's score from its non-silent windows' probabilities (NaN = silent; 0 when all are)."""
    probs = np.asarray(probs, dtype=np.float64)
    probs = probs[~np.isnan(probs)]
    if len(probs) == 0:
        return 0.0
    if rule == "max":
        return float(probs.max())
    if rule == "mean":
        return float(probs.mean())
    if rule == "top2_mean":
        return float(np.sort(probs)[-2:].mean())
    raise ValueError(f"unknown clip score rule {rule!r}")


def _invoke_reason(exc: Exception) -> str:
    """LiteRT's invoke error on one line: the first failure only (its error reporter keeps
    appending the messages of earlier failed invokes)."""
    text = " ".join(str(exc).split())
    end = text.find("failed to invoke.")
    text = text[:end + len("failed to invoke.")] if end >= 0 else text
    return text[:300] or type(exc).__name__


def _shape(values) -> list[int]:
    return [int(d) for d in values]


def _as_float_samples(samples) -> np.ndarray:
    """Mono float32 samples; integer PCM is scaled to -1..1."""
    samples = np.asarray(samples)
    if np.issubdtype(samples.dtype, np.integer):
        info = np.iinfo(samples.dtype)
        samples = samples.astype(np.float32) / float(max(abs(info.min), info.max))
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"the detector takes mono audio (1-D samples), not an array of shape {samples.shape}")
    if not np.isfinite(samples).all():
        raise ValueError("audio samples contain NaN or infinity")
    return samples


class Detector:
    """A loaded model with its card. One Detector can be shared by worker threads."""

    def __init__(self, model_path=None, *, threads: int | None = None, card: ModelCard | None = None):
        if model_path is None:
            model_path = DEFAULT_MODEL
            if not Path(model_path).is_file():
                raise NoModelError(
                    f"no model given and the built-in voice detector is not installed ({model_path}); "
                    "pass --model FILE.tflite"
                )
        self.path = Path(model_path)
        loaded = load_interpreter(self.path, threads)
        self.runtime = loaded.runtime
        self.runtime_version = loaded.runtime_version
        self.runtime_name = loaded.runtime_name
        self.threads = loaded.threads
        self._interpreter = loaded.interpreter
        self._lock = threading.Lock()
        self.sha256 = file_sha256(self.path)

        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1:
            raise ModelError(self.path, f"has {len(inputs)} inputs; a detector takes one feature image")
        if len(outputs) != 1:
            raise ModelError(self.path, f"has {len(outputs)} outputs; a detector gives one probability tensor")
        self._input, self._output = inputs[0], outputs[0]
        self.card = self._resolve_card(card)
        self.spec = self.card.feature_spec
        self._fit_input()
        self._check_tensors()
        self.batch_capable = self._signature()[0] == -1
        self._allocated = int(self._input["shape"][0])  # the batch the tensors are allocated for
        self._buffer = None  # input batch reused between invokes
        self._column = 0 if self.card.output == "sigmoid" else self.card.labels.index(self.card.positive_label)

    # Loading and checking ----------------------------------------------------
    def _signature(self) -> list[int]:
        return _shape(self._input.get("shape_signature", self._input["shape"]))

    def _resolve_card(self, card: ModelCard | None) -> ModelCard:
        if card is not None:
            return card
        sibling = card_path_for(self.path)
        if sibling.exists():
            return load_card(sibling)
        default = default_card_for(self._signature(), self._output["shape"])
        if default is None:
            nhwc, nhw = ModelCard().input_shape()[1:], ModelCard(input_layout="NHW").input_shape()[1:]
            if default_card_for(self._signature(), [1, 1]) is None:
                what = f"the input shape {self._signature()}"
            else:
                what = f"the output shape {_shape(self._output['shape'])}"
            raise ModelError(
                self.path,
                f"no model card and {what} does not fit the defaults (input {[-1, *nhwc]} NHWC or "
                f"{[-1, *nhw]} NHW, output [-1, 1] sigmoid or [-1, 2] softmax); "
                f"write {sibling.name} beside the model",
            )
        return default

    def _fit_input(self) -> None:
        """Check the input against the card; size dynamic non-batch dimensions from the card."""
        signature = self._signature()
        expected = list(self.card.input_shape()[1:])
        dims_fit = len(signature) == len(expected) + 1 and all(
            s in (e, -1) for s, e in zip(signature[1:], expected)
        )
        if not dims_fit:
            raise ModelError(
                self.path,
                f"input shape {signature} contradicts its card ({self.card.input_layout} "
                f"{[-1, *expected]} from the FeatureSpec: {self.spec.window_frames} frames x "
                f"{self.spec.n_coeffs} {self.spec.feature} coefficients)",
            )
        if _shape(self._input["shape"][1:]) != expected:  # dynamic time/coefficient axes
            self._reallocate(max(1, int(self._input["shape"][0])))

    def _reallocate(self, batch: int) -> None:
        interpreter = self._interpreter
        try:
            interpreter.resize_tensor_input(self._input["index"], [batch, *self.card.input_shape()[1:]])
            interpreter.allocate_tensors()
        except Exception as exc:
            text = str(exc).strip()
            raise ModelError(self.path, f"cannot run a batch of {batch} "
                                        f"({text.splitlines()[0] if text else type(exc).__name__})") from None
        self._input = interpreter.get_input_details()[0]
        self._output = interpreter.get_output_details()[0]
        self._allocated = batch
        self._buffer = None
        out_shape = _shape(self._output["shape"])
        if not out_shape or out_shape[0] != batch:
            raise ModelError(self.path, f"output shape {out_shape} for a batch of {batch} windows "
                                        "is not one row per window")

    def _check_tensors(self) -> None:
        for tensor, role in ((self._input, "input"), (self._output, "output")):
            dtype = np.dtype(tensor["dtype"])
            if dtype == np.float32:
                continue
            scale, _ = tensor.get("quantization", (0.0, 0))
            if dtype not in (np.int8, np.uint8):
                raise ModelError(self.path, f"{role} is {dtype.name}; expected float32 or quantised int8/uint8")
            if not scale:
                raise ModelError(self.path, f"{role} is {dtype.name} without quantisation parameters; "
                                            "expected float32 or quantised int8/uint8")
        in_shape, out_shape = _shape(self._input["shape"]), _shape(self._output["shape"])
        if in_shape[0] < 1:
            raise ModelError(self.path, f"input shape {in_shape} has a batch of {in_shape[0]}; expected -1 (any) "
                                        "or a positive batch")
        if not 1 <= len(out_shape) <= 2 or out_shape[0] != in_shape[0]:
            raise ModelError(self.path, f"output shape {out_shape} is not one row per window "
                                        f"(input shape {in_shape}); expected [batch, values]")
        width = int(np.prod(out_shape[1:], dtype=np.int64))
        if width != self.card.output_width:
            raise ModelError(self.path, f"output has {width} values per window but its card says "
                                        f"{self.card.output} over {list(self.card.labels)} "
                                        f"({self.card.output_width} per window)")
        try:  # a crafted model may name an output that no operator writes: it has no data at all
            self._interpreter.get_tensor(self._output["index"])
        except ValueError as exc:
            raise ModelError(self.path, f"its output cannot be read ({exc})") from None

    # Running -----------------------------------------------------------------
    def _quantize(self, x: np.ndarray, out: np.ndarray) -> None:
        """Write images ``x`` into the input buffer ``out`` in the input's dtype."""
        dtype = out.dtype
        if dtype == np.float32:
            out[: len(x)] = x
            return
        scale, zero = self._input["quantization"]
        info = np.iinfo(dtype)
        out[: len(x)] = np.clip(np.round(x / scale + zero), info.min, info.max)

    def _dequantize(self, y: np.ndarray) -> np.ndarray:
        if y.dtype == np.float32:
            return y
        scale, zero = self._output["quantization"]
        return (y.astype(np.float32) - zero) * np.float32(scale)

    def _invoke(self, chunk: np.ndarray) -> np.ndarray:
        """Run up to ``self._allocated`` images (already in the input layout); probabilities of the positive label."""
        if self._buffer is None:
            self._buffer = np.zeros(_shape(self._input["shape"]), np.dtype(self._input["dtype"]))
        buffer = self._buffer
        self._quantize(chunk, buffer)
        if len(chunk) < len(buffer):
            # Padding rows repeat a real one: their results are dropped, and an input the
            # model cannot take (e.g. all zeros into a quantised DIV) must not fail the batch.
            buffer[len(chunk):] = buffer[len(chunk) - 1]
        interpreter = self._interpreter
        interpreter.set_tensor(self._input["index"], buffer)
        try:
            interpreter.invoke()
        except RuntimeError as exc:  # a kernel refused this input (e.g. a quantised DIV by zero)
            raise ModelError(self.path, f"the model failed on this audio ({_invoke_reason(exc)})") from None
        values = self._dequantize(interpreter.get_tensor(self._output["index"]))
        return values.reshape(len(buffer), -1)[: len(chunk), self._column]

    def invoke_images(self, images: np.ndarray) -> np.ndarray:
        """Positive-class probability (float32) for each ``(frames, coeffs)`` image in ``images``."""
        images = np.asarray(images, dtype=np.float32)
        if len(images) == 0:
            return np.empty(0, np.float32)
        if images.ndim != 3 or images.shape[1:] != self.spec.image_shape:
            raise ValueError(f"images must be (n, {self.spec.window_frames}, {self.spec.n_coeffs}), "
                             f"not {images.shape}")
        if self.card.input_layout == "NHWC":
            images = images[..., None]
        n = len(images)
        out = np.empty(n, np.float32)
        with self._lock:
            if self.batch_capable:
                # Powers of two up to MAX_BATCH: few distinct sizes, so the tensors are
                # re-allocated only when a call needs a different size than the last one.
                size = min(MAX_BATCH, 1 << (n - 1).bit_length())
                if size != self._allocated:
                    self._reallocate(size)
            size = self._allocated  # a fixed-batch model takes its own batch, padded
            for start in range(0, n, size):
                out[start:start + size] = self._invoke(images[start:start + size])
        bad = ~((out >= -PROBABILITY_SLACK) & (out <= 1 + PROBABILITY_SLACK))
        if bad.any():
            raise ModelError(self.path, f"output {float(out[bad][0]):g} is not a probability "
                                        f"(does the model end in a {self.card.output} as its card says?)")
        return np.clip(out, 0.0, 1.0, out=out)

    def invoke_each(self, groups: list[np.ndarray]) -> list[np.ndarray | ModelError]:
        """Probabilities for each group of images (e.g. one clip's windows), in one pass when it can.

        When the pass fails, each group runs alone: a group the interpreter fails on gets
        its ``ModelError`` in place of its probabilities, and the others still get theirs.
        """
        if not groups:
            return []
        try:
            probs = self.invoke_images(np.concatenate(groups))
        except ModelError:
            return [self._invoke_or_error(images) for images in groups]
        return np.split(probs, np.cumsum([len(images) for images in groups])[:-1])

    def _invoke_or_error(self, images: np.ndarray) -> np.ndarray | ModelError:
        try:
            return self.invoke_images(images)
        except ModelError as exc:
            return exc

    def prepare(self, samples: np.ndarray, sample_rate: int) -> ClipWindows:
        """Resample, features once, windows, silence gate (thread-safe; no interpreter).

        ``samples``: mono audio, float in -1..1 (integer PCM is scaled).
        """
        spec = self.spec
        samples = _as_float_samples(samples)
        if int(sample_rate) <= 0:
            raise ValueError(f"sample rate must be positive, not {sample_rate}")
        if sample_rate != spec.sample_rate:
            from voicestudio.audio.resample import resample

            samples = resample(samples, int(sample_rate), spec.sample_rate)
        samples = pad_to_window(samples, spec)
        frames = features(samples, spec)
        starts = window_starts(len(frames), spec)
        silent = silent_windows(samples, starts, spec)
        return ClipWindows(window_images(frames, starts[~silent], spec), starts, silent)

    def prepare_file(self, path, *, start_s: float = 0.0, end_s: float | None = None) -> ClipWindows:
        from voicestudio.audio.decode import load_audio

        audio = load_audio(path, start_s=start_s, end_s=end_s, sample_rate=self.spec.sample_rate)
        return self.prepare(audio.samples, audio.sample_rate)

    def assemble(self, windows: ClipWindows, active_probs: np.ndarray) -> Prediction:
        """The prediction from the probabilities of a clip's non-silent windows."""
        probs = np.full(len(windows.starts), np.nan, np.float32)
        probs[~windows.silent] = active_probs
        return self._prediction(windows.starts, windows.silent, probs)

    def _prediction(self, starts: np.ndarray, silent: np.ndarray, probs: np.ndarray) -> Prediction:
        spec, card = self.spec, self.card
        score = clip_score(probs, card.clip_score)
        return Prediction(
            clip_score=score,
            label=card.positive_label if score >= card.threshold else card.negative_label,
            threshold=card.threshold,
            window_starts_s=(starts * spec.hop_length / spec.sample_rate).astype(np.float32),
            window_probs=probs,
            silent=silent,
            model_sha256=self.sha256,
        )

    def predict_samples(self, samples: np.ndarray, sample_rate: int) -> Prediction:
        """Predict a clip held in memory (resampled to the model's rate if needed)."""
        windows = self.prepare(samples, sample_rate)
        return self.assemble(windows, self.invoke_images(windows.images))

    def predict_file(self, path, *, start_s: float = 0.0, end_s: float | None = None) -> Prediction:
        """Predict a file, or the part of it from ``start_s`` to ``end_s``.

        A part longer than ``LONG_PART_S`` is streamed: memory stays that of a few minutes
        of audio, whatever the recording's length, and the result is the same.
        """
        if not self.streams(path, start_s=start_s, end_s=end_s):
            windows = self.prepare_file(path, start_s=start_s, end_s=end_s)
            return self.assemble(windows, self.invoke_images(windows.images))
        return self._predict_streamed(path, start_s, end_s)

    def streams(self, path, *, start_s: float = 0.0, end_s: float | None = None) -> bool:
        """Whether ``predict_file`` streams this part (longer than ``LONG_PART_S``).

        Such a part must not go through ``prepare_file``, which holds it whole.
        """
        if end_s is not None and float(end_s) - start_s <= LONG_PART_S:
            return False  # known short without opening the file
        from voicestudio.audio.decode import probe

        duration = probe(path).duration_s
        end = duration if end_s is None else min(float(end_s), duration)
        return end - start_s > LONG_PART_S

    def _predict_streamed(self, path, start_s: float, end_s: float | None) -> Prediction:
        """The windows of a long part, a block of audio at a time.

        Blocks are joined with the few frames (``context``) before the next window still to
        do, so every frame sees the samples around it that it would see in one piece
        (the STFT is centred), and each window's frames and samples are whole. The
        streamed samples are exactly those ``load_audio`` gives, so the windows, their
        features and probabilities equal the in-memory path's.
        """
        from voicestudio.audio.decode import iter_blocks

        spec = self.spec
        hop, size, step = spec.hop_length, spec.window_frames, spec.window_hop_frames
        context = spec.n_fft // (2 * hop) + 1  # frames: a centred frame reaches n_fft/2 samples back and ahead
        starts, silent, probs = [], [], []
        buffer = np.empty(0, np.float32)
        offset = 0  # frame (and hop-sized block of samples) where ``buffer`` begins
        next_start = 0  # the next window still to do, on the grid of window hops
        total = 0

        def run(frame_starts: np.ndarray, final: bool) -> None:
            if not len(frame_starts):
                return
            local = frame_starts - offset
            frames = features(pad_to_window(buffer, spec) if final else buffer, spec)
            quiet = silent_windows(buffer, local, spec)
            out = np.full(len(local), np.nan, np.float32)
            if (~quiet).any():
                out[~quiet] = self.invoke_images(window_images(frames, local[~quiet], spec))
            starts.append(frame_starts)
            silent.append(quiet)
            probs.append(out)

        for block in iter_blocks(path, block_s=LONG_PART_S, start_s=start_s, end_s=end_s,
                                 sample_rate=spec.sample_rate):
            total += len(block)
            buffer = np.concatenate([buffer, block])
            # Grid windows whose frames, with context on both sides, are all inside the buffer.
            last = offset + len(buffer) // hop - context - size
            ready = np.arange(next_start, last + 1, step, dtype=np.int64) if last >= next_start else np.empty(0, np.int64)
            run(ready, final=False)
            if len(ready):
                next_start = int(ready[-1]) + step
            # Kept from a hop before the next grid window: the end-aligned window may start there.
            keep_from = max(0, next_start - step - context)
            buffer = buffer[(keep_from - offset) * hop:]
            offset = keep_from
        # The rest: what the whole part's window grid (with its end-aligned window) still holds.
        every = window_starts(n_frames(total, spec), spec)
        run(every[(every >= next_start) | (every % step != 0)], final=True)  # off the grid: aligned to the end
        return self._prediction(np.concatenate(starts), np.concatenate(silent), np.concatenate(probs))

    def __repr__(self) -> str:
        return f"Detector({str(self.path)!r}, card={self.card.name!r}, runtime={self.runtime_name!r})"
