"""Real instrument notes from a SoundFont 2 bank, as non-human training clips (issue 16).

A SoundFont holds recorded notes of instruments (piano, strings, brass, flutes,
organs, drums, ...) plus the presets that play them. Sustained tonal sounds and
single short notes were the detector's most common false alarms on the external
set, and no game package holds many of them. Each sample becomes one clip: a
looped sample is held for a fraction of a second to two seconds and released,
as a synthesizer would play it; an unlooped one is written as recorded.

Samples any voice-like preset uses (choirs, "aahs", "oohs", voice leads, breath
noise, applause, whistles) are left out: they are people, or might be.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# General MIDI programs (bank 0, counted from 0) that are voices or might be.
VOICE_PROGRAMS = {52: "Choir Aahs", 53: "Voice Oohs", 54: "Synth Voice", 85: "Lead 6 (voice)",
                  91: "Pad 4 (choir)", 121: "Breath Noise", 126: "Applause"}
VOICE_NAME = re.compile(r"voice|vox|choir|aah|ooh|breath|applause|laugh|scream|whistl|human|vocal|sing", re.I)
GM_FAMILIES = ("piano", "chromatic-percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
               "reed", "pipe", "synth-lead", "synth-pad", "synth-effects", "ethnic", "percussive", "sound-effects")
PERCUSSION_BANK = 128
HOLD_S = (0.3, 0.6, 1.0, 1.5, 2.0)  # how long a looped note is held, in turn: short notes and long tones
_MONO, _RIGHT, _LEFT = 1, 2, 4
_ROM = 0x8000


@dataclass
class Sample:
    name: str
    data: np.ndarray  # int16, the recorded note
    rate: int
    loop: tuple[int, int] | None  # loop start and end within data if an instrument plays it looped, else None
    kind: int = _MONO  # SoundFont sample type: mono, left, right (or linked), ROM
    presets: list[tuple[int, int, str]] = field(default_factory=list)  # (bank, program, name) that play it

    @property
    def voice_like(self) -> str | None:
        """Why this sample may be a voice, or None."""
        for bank, program, name in self.presets:
            if bank != PERCUSSION_BANK and program in VOICE_PROGRAMS:
                return f"played by GM program {program} ({VOICE_PROGRAMS[program]}) as '{name}'"
            if VOICE_NAME.search(name):
                return f"played by preset '{name}'"
        if VOICE_NAME.search(self.name):
            return f"sample named '{self.name}'"
        return None

    @property
    def family(self) -> str:
        """GM family of the first preset that plays it ('drums' for the percussion bank)."""
        bank, program, _ = min(self.presets)
        return "drums" if bank == PERCUSSION_BANK else GM_FAMILIES[min(program, 127) // 8]


def _chunks(data: bytes, start: int, end: int):
    while start + 8 <= end:
        cid, size = data[start:start + 4].decode("latin-1"), struct.unpack_from("<I", data, start + 4)[0]
        yield cid, start + 8, size
        start += 8 + size + (size & 1)


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


def read_samples(path: Path) -> list[Sample]:
    """Every stored sample of a SoundFont 2 file with the presets that play it (ROM samples left out)."""
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise ValueError(f"{path} is not a SoundFont 2 file")
    lists: dict[str, dict[str, bytes]] = {}
    for cid, off, size in _chunks(data, 12, len(data)):
        if cid == "LIST":
            kind = data[off:off + 4].decode("latin-1")
            lists[kind] = {c: data[o:o + s] for c, o, s in _chunks(data, off + 4, off + size)}
    smpl = np.frombuffer(lists["sdta"]["smpl"], dtype="<i2")
    pdta = lists["pdta"]

    def records(chunk: str, fmt: str) -> list[tuple]:
        size = struct.calcsize(fmt)
        raw = pdta[chunk]
        return [struct.unpack_from(fmt, raw, i) for i in range(0, len(raw) - size + 1, size)]

    phdr = records("phdr", "<20sHHHIII")
    pbag, ibag = records("pbag", "<HH"), records("ibag", "<HH")
    pgen, igen = records("pgen", "<HH"), records("igen", "<HH")
    inst = records("inst", "<20sH")
    shdr = records("shdr", "<20sIIIIIBbHH")

    def zones(bags, gens, first_bag, last_bag) -> list[dict[int, int]]:
        """Each zone's generators (operator -> amount); a first zone without the terminal generator is global."""
        return [{gens[g][0]: gens[g][1] for g in range(bags[b][0], bags[b + 1][0])} for b in range(first_bag, last_bag)]

    looped: set[int] = set()  # samples some instrument zone plays with its loop (sampleModes 1 or 3)
    instrument_samples = []
    for i in range(len(inst) - 1):
        zs = zones(ibag, igen, inst[i][1], inst[i + 1][1])
        default_mode = zs[0].get(54, 0) if zs and 53 not in zs[0] else 0
        instrument_samples.append({z[53] for z in zs if 53 in z})
        looped |= {z[53] for z in zs if 53 in z and z.get(54, default_mode) & 1}
    samples = []
    for name, start, end, loop_start, loop_end, rate, *_rest, kind in shdr[:-1]:  # the last is the terminal record
        played_looped = len(samples) in looped and loop_end > loop_start >= start
        loop = (loop_start - start, loop_end - start) if played_looped else None
        samples.append(Sample(_name(name), smpl[start:end], rate, loop, kind))
    for i in range(len(phdr) - 1):  # the last is the terminal record
        name, program, bank, first_bag = _name(phdr[i][0]), phdr[i][1], phdr[i][2], phdr[i][3]
        for instrument in {z[41] for z in zones(pbag, pgen, first_bag, phdr[i + 1][3]) if 41 in z}:
            for s in instrument_samples[instrument]:
                samples[s].presets.append((bank, program, name))
    return [s for s in samples if s.presets and not s.kind & _ROM and s.kind & (_MONO | _LEFT) and len(s.data)]


def render(sample: Sample, index: int) -> np.ndarray:
    """The note as a float32 clip: a looped sample held for 0.3-2 s and released, an unlooped one as recorded
    (so is one whose loop is a single waveform cycle, under 20 ms: repeating it alone sounds synthetic)."""
    x = sample.data.astype(np.float32) / 32768.0
    if sample.loop and sample.loop[1] - sample.loop[0] >= 0.02 * sample.rate:
        start, end = sample.loop
        held = HOLD_S[index % len(HOLD_S)]
        n = max(int(held * sample.rate), end)
        body = np.concatenate([x[:end], np.resize(x[start:end], n - end)]) if n > end else x[:n]
        release = min(len(body), int(0.15 * sample.rate))
        body[-release:] *= np.linspace(1.0, 0.0, release, dtype=np.float32)
        x = body
    return x
