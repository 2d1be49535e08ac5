"""training/sources.py: how a game archive's voice sets are labelled and grouped (issue 16's corpus)."""

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "training"))

import sources  # noqa: E402

PACKAGE = "openarena-081-players"


def wav_bytes(seconds: float, rate: int = 22050) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def test_openarena_player_voices_are_grouped_by_actor_and_creatures_left_out(tmp_path):
    archive, _pattern = sources.ARCHIVES[PACKAGE]
    members = {
        "sound/player/angelyss/pain25_1.wav": ("human", "openarena-pixie"),
        "sound/player/sorceress/falling1.wav": ("human", "openarena-pixie"),
        "sound/player/tony/death1.wav": ("human", "openarena-rottking"),
        "sound/player/kyonshi/taunt.wav": ("human", "openarena-aeri"),
        "sound/player/beret/gasp.wav": ("human", "openarena-beret"),
        "sound/player/penguin/pain_25.wav": (None, None),  # a creature: may be processed
        "sound/player/liz/jump1.wav": (None, None),  # noise-like, credit unclear
    }
    root = tmp_path / "unpacked"
    (root / archive).parent.mkdir(parents=True)
    with zipfile.ZipFile(root / archive, "w") as z:
        for name in members:
            z.writestr(name, wav_bytes(0.4))
        z.writestr("sound/player/tony/credit", "RottKing")  # not audio: not collected
        z.writestr("models/players/tony/tony.skin", "")

    items = sources.collect(PACKAGE, root, tmp_path / "work", "0.8.5split-14")

    assert {item.origin for item in items} == set(members)
    for item in items:
        label, group = members[item.origin]
        assert item.label == label, item.origin
        if label:
            assert item.group == group and item.file.read_bytes() == wav_bytes(0.4)
        assert item.note  # every decision carries its reason
        assert item.license_path == f"{archive}!{item.origin}"
