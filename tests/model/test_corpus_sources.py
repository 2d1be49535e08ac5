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


# The tenth round's packages, laid out as installed, with debian/copyright's stanzas for the sounds.
TENTH_ROUND = {
    "lmms-common": (
        "Files: *\nCopyright: LMMS developers\nLicense: GPL-2+\n",
        {
            "usr/share/lmms/samples/instruments/trumpet01.ogg": ("nonhuman", "lmms-common", "GPL-2+"),
            "usr/share/lmms/samples/stringsnpads/bell_choir01.ogg": ("nonhuman", "lmms-common", "GPL-2+"),
            "usr/share/lmms/samples/drums/clap01.ogg": ("nonhuman", "lmms-common", "GPL-2+"),
            "usr/share/lmms/samples/stringsnpads/chorus02.ogg": (None, None, None),  # a voice-like pad
            "usr/share/lmms/samples/stringsnpads/rave_choir01.ogg": (None, None, None),
            "usr/share/lmms/samples/misc/buzz!.ogg": (None, None, None),  # may be spoken
            "usr/share/lmms/samples/misc/breath01.ogg": (None, None, None),
            "usr/share/lmms/samples/waveforms/10saw.flac": (None, None, None),  # a single cycle, not a recording
            "usr/share/lmms/samples/shapes/vowel_a.wav": (None, None, None),
        },
    ),
    "scorched3d-data": (
        "Files: *\nCopyright: 2001-2014 Gavin Camp\nLicense: GPL-2+\n\n"
        "Files: data/globalmods/apoc/*\nCopyright: Apocalypse mod team\nLicense: CC-BY-SA-3\n",
        {
            "usr/share/games/scorched3d/data/globalmods/apoc/data/wav/misc/scream2.wav":
                ("human", "scorched3d-screams", "CC-BY-SA-3"),
            "usr/share/games/scorched3d/data/globalmods/apoc/data/wav/misc/screaming.wav":
                ("human", "scorched3d-screams", "CC-BY-SA-3"),
            "usr/share/games/scorched3d/data/globalmods/apoc/data/wav/misc/carhorn1.wav":
                ("nonhuman", "scorched3d", "CC-BY-SA-3"),
            "usr/share/games/scorched3d/data/globalmods/none/data/wav/misc/wolf.wav": ("nonhuman", "scorched3d", "GPL-2+"),
            "usr/share/games/scorched3d/data/globalmods/apoc/data/wav/misc/cheeringloop.wav": (None, None, None),
            "usr/share/games/scorched3d/data/globalmods/none/data/music/mix3_loop1.ogg": (None, None, None),
        },
    ),
    "chromium-bsu-data": (
        "Files: *\nCopyright: 2000 Mark B. Allan.\nLicense: Clarified-Artistic\n\n"
        "Files: data/wav/*\nCopyright: 2008 Brian Redfern\nLicense: Expat\n",
        {
            "usr/share/games/chromium-bsu/wav/boom.wav": ("nonhuman", "chromium-bsu", "Expat"),
            "usr/share/games/chromium-bsu/wav/music_game.wav": (None, None, None),
        },
    ),
}


@pytest.mark.parametrize("package", sorted(TENTH_ROUND))
def test_tenth_round_packages_are_labelled_grouped_and_licensed_per_file(tmp_path, package):
    import build_corpus
    import debsrc

    stanzas, files = TENTH_ROUND[package]
    root = tmp_path / package
    copyright = root / "usr/share/doc" / package / "copyright"
    copyright.parent.mkdir(parents=True)
    copyright.write_text("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n" + stanzas)
    for path in files:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(wav_bytes(0.3))

    items = sources.collect(package, root, tmp_path / "work", "1.0-1")
    record = debsrc.read_copyright(root, package)

    assert {item.origin for item in items} == set(files)
    for item in items:
        label, group, license = files[item.origin]
        assert item.label == label, item.origin
        if label:
            assert item.group == group, item.origin
            assert build_corpus.file_license(package, item, record) == license, item.origin
        else:
            assert item.note, item.origin  # every file left out says why


def opensfx_catalogue(sounds: list[tuple[str, bytes]]) -> bytes:
    """An OpenTTD .cat as opensfx ships it: (offset | 0x80000000, size) per sound, then title-prefixed WAVs."""
    import struct

    header = 8 * len(sounds)
    table, body = b"", b""
    for title, wav in sounds:
        encoded = title.encode() + b"\0"
        table += struct.pack("<II", (header + len(body)) | 0x80000000, len(wav))
        body += bytes([len(encoded)]) + encoded + wav
    return table + body


def test_openttd_catalogue_sounds_are_read_with_their_own_titles_and_licenses(tmp_path):
    import build_corpus

    sounds = [
        ('"Ship horn". Original "ship2_bergen.aif" by Leon Milo. Edited by Wuzzy. License: Creative Commons '
         'Attribution 3.0 Unported.', wav_bytes(0.5), "nonhuman", "CC-BY-3.0"),
        ('"Tropical: Monkeys". Original "Affen schreit.mp3" by "Bidone". Edited by "Wuzzy". License: Creative '
         'Commons Zero 1.0.', wav_bytes(0.3, 44100), "nonhuman", "CC0-1.0"),
        ('"Helicopter". Original "helicopterRaw_16sec.wav" by "lorenzosu". License: Creative Commons '
         'Attribution-ShareAlike 3.0 Unported.', wav_bytes(0.2), "nonhuman", "CC-BY-SA-3.0"),
        ('"Applause". Original "Approx 850 - Enthusiast Audience.wav" by "lonemonk". License: Creative Commons '
         'Attribution 3.0 Unported.', wav_bytes(0.4), None, "CC-BY-3.0"),  # an audience: may hold voices
    ]
    package = "openttd-opensfx"
    root = tmp_path / package
    catalogue = root / sources.CATALOGUES[package]
    catalogue.parent.mkdir(parents=True)
    catalogue.write_bytes(opensfx_catalogue([(title, wav) for title, wav, *_ in sounds]))

    items = sources.collect(package, root, tmp_path / "work", "1.0.3-2")

    assert [Path(item.origin).name for item in items] == [
        "00-Ship_horn.wav", "01-Tropical_Monkeys.wav", "02-Helicopter.wav", "03-Applause.wav"]
    for item, (_title, wav, label, license) in zip(items, sounds):
        assert item.file.read_bytes() == wav  # each sound copied out byte for byte
        assert sf.info(str(item.file)).frames > 0
        assert item.label == label and build_corpus.file_license(package, item, None) == license
        assert sources.corpus_name(item) == Path(item.origin).name
    assert items[3].note  # left out, and says why

    # A catalogue cut off in its last sound still gives the sounds before it; the cut-off one is written short,
    # and the build reports and skips what soundfile cannot read.
    whole = catalogue.read_bytes()
    catalogue.write_bytes(whole[:len(whole) - len(sounds[3][1]) // 2])
    shutil.rmtree(tmp_path / "work")
    cut = sources.collect(package, root, tmp_path / "work", "1.0.3-2")
    assert [item.file.read_bytes() for item in cut[:3]] == [wav for _t, wav, *_ in sounds[:3]]
    catalogue.write_bytes(whole[:8 * len(sounds) + 10])  # only the table and the first title's start
    shutil.rmtree(tmp_path / "work")
    assert len(sources.collect(package, root, tmp_path / "work", "1.0.3-2")) <= 1
