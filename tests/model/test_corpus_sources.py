"""training/sources.py: how game packages' sounds are read, labelled and grouped (issue 16's corpus)."""

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from components import require

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


def test_wavpack_sounds_are_decoded_losslessly_and_labelled_by_the_rules(tmp_path):
    require("wavpack", shutil.which("wavpack") and shutil.which("wvunpack"), "apt-get install wavpack")
    audio = tmp_path / "unpacked/usr/share/games/teeworlds/data/audio"
    audio.mkdir(parents=True)
    members = {  # the package's own names
        "vo_teefault_pain_short-01": ("human", "teeworlds-tee"),
        "vo_teefault_cry-02": ("human", "teeworlds-tee"),
        "wp_gun_fire-01": ("nonhuman", "teeworlds"),
        "wp_ninja_attack-03": (None, None),  # scores as voice, not checked by ear
        "music_menu": (None, None),
    }
    for name in members:
        (audio / f"{name}.wav").write_bytes(wav_bytes(0.3))
        subprocess.run(["wavpack", "-q", "-y", str(audio / f"{name}.wav"), "-o", str(audio / f"{name}.wv")],
                       check=True, capture_output=True)
        (audio / f"{name}.wav").unlink()  # the package ships only .wv
    (audio / "wp_shotty_fire-01.wv").write_bytes(b"wvpk" + bytes(60))  # corrupt: one bad file, not the package

    items = sources.collect("teeworlds-data", tmp_path / "unpacked", tmp_path / "work", "0.7.5-2")

    corrupt = [item for item in items if item.origin.endswith("wp_shotty_fire-01.wv")]
    assert len(corrupt) == 1 and corrupt[0].file.suffix == ".wv"  # left for the build to report and skip
    items = [item for item in items if item not in corrupt]
    assert {Path(item.origin).stem for item in items} == set(members)
    for item in items:
        label, group = members[Path(item.origin).stem]
        assert item.label == label
        assert item.note or label == "nonhuman"  # every rule's decision carries its reason
        assert item.license_path == f"data/audio/{Path(item.origin).name}"  # as debian/copyright writes it
        if label:
            assert item.group == group
            samples, rate = sf.read(str(item.file), dtype="float32")
            original, _ = sf.read(io.BytesIO(wav_bytes(0.3)), dtype="float32")
            assert rate == 22050 and np.array_equal(samples, original)  # WavPack is lossless
            assert sources.corpus_name(item) == Path(item.origin).stem + ".wav"


def test_wavpack_package_without_the_decoder_says_what_to_install(tmp_path, monkeypatch):
    audio = tmp_path / "unpacked/usr/share/games/teeworlds/data/audio"
    audio.mkdir(parents=True)
    (audio / "wp_gun_fire-01.wv").write_bytes(b"wvpk")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match=r"apt-get install wavpack"):
        sources.collect("teeworlds-data", tmp_path / "unpacked", tmp_path / "work", "0.7.5-2")
