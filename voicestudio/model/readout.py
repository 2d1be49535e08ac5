"""``voicestudio model tensors MODEL AUDIO``: the model's tensors and their values on an audio file's windows.

Every feature window of the file is made as the detector makes it (silent ones too: this is for
looking, not scoring), run through the model's tensor reader (``model/tensors.py``), and the values
of the tensors asked for are summarised as text or kept as ``.npy`` files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voicestudio.errors import VoiceStudioError
from voicestudio.model.card import ModelCard
from voicestudio.model.tensors import ROLES, TensorEntry, card_for, open_reader


@dataclass(frozen=True)
class AudioWindows:
    """Every feature window of an audio file (silent ones too: this is for looking, not scoring)."""

    images: np.ndarray  # (n, frames, coeffs)
    starts_s: np.ndarray  # seconds from the file's start
    silent: np.ndarray  # bool per window
    window_s: float


def audio_windows(path, card: ModelCard, *, start_s: float | None = None) -> AudioWindows:
    """The windows of ``path`` as the model sees them; with ``start_s`` only the window that covers
    that time (the latest window starting at or before it)."""
    from voicestudio.audio.decode import load_audio
    from voicestudio.audio.features import features, pad_to_window, silent_windows, window_images, window_starts

    spec = card.feature_spec
    samples = pad_to_window(load_audio(path, sample_rate=spec.sample_rate).samples, spec)
    frames = features(samples, spec)
    starts = window_starts(len(frames), spec)
    seconds = starts * spec.hop_length / spec.sample_rate  # as the detector times its windows
    if start_s is not None:
        if start_s < 0 or start_s > len(samples) / spec.sample_rate:
            raise VoiceStudioError(f"--start {start_s:g} s is outside the audio (0..{len(samples) / spec.sample_rate:.2f} s)")
        keep = np.array([max(0, int(np.searchsorted(seconds, start_s + 1e-9, side="right")) - 1)])
        starts, seconds = starts[keep], seconds[keep]
    silent = silent_windows(samples, starts, spec)
    return AudioWindows(window_images(frames, starts, spec).astype(np.float32), seconds.astype(np.float64),
                        silent, spec.window_s)


def model_input(images: np.ndarray, card: ModelCard) -> np.ndarray:
    return images[..., None] if card.input_layout == "NHWC" else images


# The readout ------------------------------------------------------------------------------------

@dataclass
class TensorReadout:
    model: str
    kind: str
    audio: str
    tensors: list[TensorEntry]
    windows: AudioWindows
    values: dict[str, np.ndarray] = field(default_factory=dict)  # short name -> (windows, ...)
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "model": self.model, "kind": self.kind, "audio": self.audio, "note": self.note,
            "tensors": [dict(name=t.name, shape=list(t.shape), dtype=t.dtype, role=t.role, op=t.op)
                        for t in self.tensors],
            "window_starts_s": [round(float(s), 4) for s in self.windows.starts_s],
            "silent": [bool(s) for s in self.windows.silent],
            "values": {name: dict(shape=list(v.shape), **summary(v)) for name, v in self.values.items()},
        }

    def text(self) -> str:
        from voicestudio.terminal import one_line

        by_role = {role: [t for t in self.tensors if t.role == role] for role in ROLES}
        lines = [f"{self.model}: {self.kind}, {len(self.tensors)} tensors ("
                 + ", ".join(f"{len(v)} {role}{'s' * (len(v) != 1)}" for role, v in by_role.items() if v) + ")"]
        for role in ROLES:
            if role == "constant" and self.values:
                continue  # with values asked for, the weights' list is noise
            lines += [f"  {t.describe()}" for t in by_role[role]]
        if self.note:
            lines.append(f"  note: {self.note}")
        n = len(self.windows.starts_s)
        lines.append(f"{self.audio}: {n} window{'s' * (n != 1)} of {self.windows.window_s:g} s"
                     + (f" from {self.windows.starts_s[0]:.2f} s" if n else ""))
        if not self.values:
            lines.append("  pick tensors with --tensor NAME (a unique part of the name will do)")
        for name, value in self.values.items():
            stats = summary(value)
            lines.append(f"{name}  {list(value.shape)}: min {stats['min']:.4g}, max {stats['max']:.4g}, "
                         f"mean {stats['mean']:.4g}, std {stats['std']:.4g}")
            if value.ndim and len(value) == n:
                for start, silent, row in zip(self.windows.starts_s, self.windows.silent, value):
                    flat = np.asarray(row, np.float64).ravel()
                    shown = (" ".join(f"{x:.4g}" for x in flat) if flat.size <= 8 else
                             f"mean {flat.mean():.4g}, max {flat.max():.4g}, first {' '.join(f'{x:.3g}' for x in flat[:4])} …")
                    lines.append(f"  {start:8.2f} s{' (silent)' if silent else ''}: {shown}")
        return "\n".join(one_line(line) for line in lines)  # names from files never forge a line


def summary(value: np.ndarray) -> dict:
    flat = np.asarray(value, np.float64).ravel()
    if flat.size == 0:
        return dict(min=float("nan"), max=float("nan"), mean=float("nan"), std=float("nan"))
    return dict(min=float(flat.min()), max=float(flat.max()), mean=float(flat.mean()), std=float(flat.std()))


def read_tensors(model, audio, names: list[str] = (), *, start_s: float | None = None,
                 input_name: str | None = None, step: int | None = None, ema: bool = False) -> TensorReadout:
    """The model's tensors and, for ``names``, their values on the audio's windows."""
    reader = open_reader(model, input_name=input_name, step=step, ema=ema)
    card = card_for(reader)
    windows = audio_windows(audio, card, start_s=start_s)
    values = {}
    if names and len(windows.images):
        found = reader.run(model_input(windows.images, card), list(names))
        for name in names:
            entry = reader.find(name)
            values[entry.short_name] = found[entry.name]
    return TensorReadout(str(model), reader.kind, str(audio), reader.tensors, windows, values, reader.note)


def save_values(readout: TensorReadout, folder) -> list[Path]:
    """One ``.npy`` per tensor read (windows first) and ``window_starts_s.npy``; names made safe for files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written, used = [], set()
    for name, value in {**readout.values, "window_starts_s": readout.windows.starts_s}.items():
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "tensor"
        candidate, n = stem, 1
        while candidate in used:
            n += 1
            candidate = f"{stem}_{n}"
        used.add(candidate)
        target = folder / f"{candidate}.npy"
        np.save(target, np.asarray(value))
        written.append(target)
    return written
