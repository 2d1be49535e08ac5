"""training/soundfont.py: instrument notes out of a SoundFont 2 bank, voices left out (issue 16's corpus)."""

import struct
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "training"))

import soundfont  # noqa: E402
import sources  # noqa: E402

RATE = 44100


def chunk(cid: bytes, data: bytes) -> bytes:
    return cid + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def name20(text: str) -> bytes:
    return text.encode("latin-1").ljust(20, b"\0")


def write_bank(path: Path) -> dict[str, np.ndarray]:
    """A small SoundFont as a synthesizer's editor writes it: a looped piano note, a choir's stereo pair,
    an unlooped kick on the percussion bank; presets Grand Piano (0), Choir Aahs (52) and a drum kit."""
    t = np.arange(2000) / RATE
    notes = {"Piano C4": (0.5 * np.sin(2 * np.pi * 261.6 * t) * 32767).astype("<i2"),
             "Ahh Choir C4(L)": (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2"),
             "Ahh Choir C4(R)": (0.3 * np.sin(2 * np.pi * 221 * t) * 32767).astype("<i2"),
             "Kick": (np.exp(-t * 60) * np.sin(2 * np.pi * 60 * t) * 32767).astype("<i2")}
    loops = {"Piano C4": (200, 1800), "Ahh Choir C4(L)": (100, 1900), "Ahh Choir C4(R)": (100, 1900), "Kick": (0, 0)}
    kinds = {"Piano C4": 1, "Ahh Choir C4(L)": 4, "Ahh Choir C4(R)": 2, "Kick": 1}
    smpl, shdr, at = b"", b"", 0
    for name, data in notes.items():
        smpl += data.tobytes() + b"\0" * 92  # the 46 zero samples the format wants after each
        start, end = at, at + len(data)
        loop = loops[name]
        shdr += struct.pack("<20sIIIIIBbHH", name20(name), start, end, start + loop[0], start + loop[1], RATE, 60, 0,
                            0, kinds[name])
        at = end + 46
    shdr += struct.pack("<20sIIIIIBbHH", name20("EOS"), 0, 0, 0, 0, 0, 0, 0, 0, 0)

    # Instruments: Piano (a global zone says "loop", then its note), Choir (two looped zones), Kick (no loop).
    zones = [[(54, 1)], [(53, 0)], [(54, 1), (53, 1)], [(54, 1), (53, 2)], [(53, 3)]]
    firsts = {"Piano": 0, "Choir": 2, "Kick": 4}
    igen, ibag = b"", b""
    count = 0
    for zone in zones:
        ibag += struct.pack("<HH", count, 0)
        for operator, amount in zone:
            igen += struct.pack("<HH", operator, amount)
            count += 1
    ibag += struct.pack("<HH", count, 0)
    igen += struct.pack("<HH", 0, 0)
    inst = b"".join(struct.pack("<20sH", name20(n), b) for n, b in firsts.items()) + \
        struct.pack("<20sH", name20("EOI"), len(zones))

    presets = [("Grand Piano", 0, 0, 0), ("Choir Aahs", 52, 0, 1), ("Standard", 0, 128, 2)]
    phdr, pbag, pgen = b"", b"", b""
    for index, (name, program, bank, instrument) in enumerate(presets):
        phdr += struct.pack("<20sHHHIII", name20(name), program, bank, index, 0, 0, 0)
        pbag += struct.pack("<HH", index, 0)
        pgen += struct.pack("<HH", 41, instrument)
    phdr += struct.pack("<20sHHHIII", name20("EOP"), 0, 0, len(presets), 0, 0, 0)
    pbag += struct.pack("<HH", len(presets), 0)
    pgen += struct.pack("<HH", 0, 0)

    info = chunk(b"LIST", b"INFO" + chunk(b"ifil", struct.pack("<HH", 2, 1)) + chunk(b"INAM", b"Test bank\0"))
    sdta = chunk(b"LIST", b"sdta" + chunk(b"smpl", smpl))
    pdta = chunk(b"LIST", b"pdta" + b"".join(chunk(c, d) for c, d in (
        (b"phdr", phdr), (b"pbag", pbag), (b"pmod", b"\0" * 10), (b"pgen", pgen), (b"inst", inst),
        (b"ibag", ibag), (b"imod", b"\0" * 10), (b"igen", igen), (b"shdr", shdr))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(chunk(b"RIFF", b"sfbk" + info + sdta + pdta))
    return notes


def test_samples_come_with_the_presets_that_play_them_and_voices_are_flagged(tmp_path):
    notes = write_bank(tmp_path / "bank.sf2")
    found = {s.name: s for s in soundfont.read_samples(tmp_path / "bank.sf2")}
    assert set(found) == {"Piano C4", "Ahh Choir C4(L)", "Kick"}  # a stereo pair's right half is left out

    piano, choir, kick = found["Piano C4"], found["Ahh Choir C4(L)"], found["Kick"]
    assert piano.presets == [(0, 0, "Grand Piano")] and piano.family == "piano" and piano.voice_like is None
    assert piano.loop == (200, 1800)  # looped: the instrument's global zone says so
    assert np.array_equal(piano.data, notes["Piano C4"]) and piano.rate == RATE
    assert "GM program 52 (Choir Aahs)" in choir.voice_like
    assert kick.family == "drums" and kick.loop is None and kick.voice_like is None


def test_a_looped_note_is_held_and_released_and_an_unlooped_one_is_kept_as_recorded(tmp_path):
    write_bank(tmp_path / "bank.sf2")
    found = {s.name: s for s in soundfont.read_samples(tmp_path / "bank.sf2")}
    piano, kick = found["Piano C4"], found["Kick"]

    held = soundfont.render(piano, index=2)  # the third of the hold lengths: 1 s
    assert len(held) == RATE and held.dtype == np.float32
    recorded = piano.data.astype(np.float32) / 32768
    assert np.array_equal(held[:1800], recorded[:1800])  # the attack and the first pass of the loop
    assert np.array_equal(held[1800:3400], recorded[200:1800])  # then the loop again
    assert abs(held[-1]) < 1e-3 and np.abs(held[-RATE // 20:]).max() < np.abs(held[:RATE // 2]).max()

    assert np.array_equal(soundfont.render(kick, index=2), kick.data.astype(np.float32) / 32768)


def test_the_corpus_gets_instrument_clips_and_leaves_voices_out(tmp_path):
    root = tmp_path / "unpacked"
    write_bank(root / sources.SOUNDFONT_FILE)
    items = sources.collect(sources.SOUNDFONT_PACKAGE, root, tmp_path / "work", "3.1-5.3")
    by_name = {item.origin.split(":", 1)[1]: item for item in items}
    assert set(by_name) == {"Piano C4", "Ahh Choir C4(L)", "Kick"}

    piano, choir, kick = by_name["Piano C4"], by_name["Ahh Choir C4(L)"], by_name["Kick"]
    assert (piano.label, piano.group) == (sources.NONHUMAN, "fluid-piano")
    assert (kick.label, kick.group) == (sources.NONHUMAN, "fluid-drums")
    assert choir.label is None and choir.note.startswith("possibly a voice") and not choir.file.exists()
    samples, rate = sf.read(str(piano.file), dtype="float32")
    assert rate == RATE and len(samples) == int(soundfont.HOLD_S[0] * RATE)  # the first sample: 0.3 s
    assert piano.license_path == sources.SOUNDFONT_FILE
    assert sources.FREE_TEXT_LICENSES[sources.SOUNDFONT_PACKAGE] == "MIT"
