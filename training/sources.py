"""What each Debian package contributes to the corpus, and how it is labelled.

Every decision that is not "the package's sounds are non-human" is listed here
with its reason, so the corpus can be audited (README.md repeats the lists).
The decisions come from looking at every sound of the packages (names, the
programs' own descriptions, spectrograms, an English recogniser's output);
see README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HUMAN, NONHUMAN = "human", "nonhuman"

# Extensions of files that are looked at; anything libsndfile cannot decode
# (e.g. tuxtype's .mod tracker music) is reported and skipped by the builder.
AUDIO_EXT = {".wav", ".ogg", ".oga", ".opus", ".flac", ".mp3", ".aif", ".aiff", ".au", ".mod", ".xm", ".it", ".s3m"}

PACKAGES = (
    "ktuberling-data",  # human: words read by volunteers, one folder per language
    "gcompris-qt-data",  # non-human (sounds inside Qt .rcc bundles)
    "minetest-data",
    "sound-theme-freedesktop",
    "tuxpaint-data",
    "tuxtype-data",
    # The wider corpus (issue 16): see README.md "The wider corpus" for what each holds.
    "fillets-ng-data-cs",  # human: acted dialogue, Czech cast
    "fillets-ng-data-nl",  # human: acted dialogue, Dutch cast
    "asterisk-core-sounds-en-wav",  # human: telephone prompts (8 kHz), one speaker per package...
    "asterisk-core-sounds-es-wav",  # (...the same speaker as -en: one group)
    "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-it-wav",
    "asterisk-core-sounds-ru-wav",
    "asterisk-prompt-it-menardi-wav",
    "0ad-data",  # human: unit voices (4 languages), death cries; non-human: animals, weapons, work, nature
    "openarena-data",  # human: one player's pain/death cries, announcer; non-human: weapons, items, world
    "lugaru-data",  # non-human: wolf growls, dog barks, a hawk, blades, whooshes, impacts
    "lincity-ng-data",  # non-human: industry, transport, power, water, fire (people's places left out)
    "extremetuxracer-data",  # non-human: sliding, pickups
)

# Reserved for the independent evaluation of issue 16: never downloaded or used here.
RESERVED = ("klettres-data", "hedgewars-data", "wesnoth", "alsa-utils")
if any(p.startswith(RESERVED) for p in PACKAGES):
    raise RuntimeError("a package reserved for the independent evaluation is listed for training")

# Packages whose sounds are voices unless a rule says otherwise (the others: non-human unless ...).
VOICE_PACKAGES = {p for p in PACKAGES if p.startswith(("fillets-ng-data-", "asterisk-"))}

# Archives whose sounds are used: (package, archive path in the package, member regex).
ARCHIVES = {
    "0ad-data": ("usr/share/games/0ad/mods/public/public.zip", r"^audio/(?!music/).+\.(ogg|wav)$"),
    "openarena-data": ("usr/share/games/openarena/baseoa/pak0.pk3", r"^sound/.+\.(ogg|wav)$"),
}


@dataclass
class Item:
    package: str
    origin: str  # where it is in the package: installed path, or ':/...' inside a .rcc
    file: Path  # readable copy on disk
    label: str | None  # HUMAN, NONHUMAN, or None = excluded
    group: str  # source group (also the folder under the label folder)
    license_path: str  # path as written in debian/copyright's Files: fields
    note: str = ""  # why it was moved to human or excluded


@dataclass(frozen=True)
class Rule:
    pattern: str  # regex searched in Item.origin
    label: str | None  # HUMAN, or None to exclude
    group: str  # group when label is HUMAN
    reason: str


# Sounds of the "non-human" packages that are voices, or that might be.
RULES: dict[str, list[Rule]] = {
    "sound-theme-freedesktop": [
        Rule(r"/audio-channel-[^/]+\.oga$", HUMAN, "freedesktop-voice",
             "a man saying the speaker channel ('Front left', 'Rear center', ...)"),
    ],
    "tuxpaint-data": [
        Rule(r"/(tuxok|youcannot|areyousure)\.wav$", HUMAN, "tux-voice",
             "Tux's spoken prompts (one voice; also shipped by gcompris)"),
        Rule(r"/giggle\.wav$", HUMAN, "tuxpaint-giggle", "a child's giggle (laughter is voice)"),
        Rule(r"/italic_(on|off)\.wav$", None, "",
             "harmonic, formant-like gliding sounds: could be a voice, cannot be ruled out"),
    ],
    "tuxtype-data": [
        Rule(r"^usr/share/tuxtype/sounds/excuseme\.wav$", HUMAN, "tuxtype-voice-en", "spoken 'excuse me' (English)"),
        Rule(r"/themes/dansk/sounds/excuseme\.wav$", HUMAN, "tuxtype-voice-da", "spoken 'excuse me' (Danish)"),
        # themes/lithuanian/sounds/excuseme.wav is a copy of sounds/pause.wav (a tone):
        # it stays non-human and is dropped as a duplicate.
        Rule(r"/sounds/(cheer|win|winfinal|lose)\.wav$", None, "",
             "crowd cheering / applause / jeering: contains voices"),
        Rule(r"/sounds/run\.wav$", None, "",
             "formant-like rhythmic 'running' noise, probably mouth-made: cannot rule out a voice"),
    ],
    "minetest-data": [
        Rule(r"/player_damage\.ogg$", None, "", "the player's hurt grunt: a human vocalisation"),
    ],
    # The wider corpus. Decisions from file names, the programs' folders, durations, a voicing
    # measure and the shipped detector's scores (README.md); listening to the doubtful ones is
    # still to do, so everything doubtful is left out rather than labelled.
    **{package: [
        Rule(r"/silence/", None, "", "silence of several lengths, no voice"),
        Rule(r"/(beep|beeperr|ascending-2tone|descending-2tone)\.wav$", NONHUMAN, "asterisk-tones",
             "telephone beeps and two-tone signals: non-human in the voices' own channel"),
    ] for package in PACKAGES if package.startswith("asterisk-")},
    "0ad-data": [
        Rule(r"^audio/voice/global/", NONHUMAN, "0ad-dog", "a dog's bark and steps"),
        Rule(r"^audio/voice/(?P<civ>[^/]+)/", HUMAN, "0ad-voice-{civ}",
             "units' spoken orders and acknowledgements, one folder per language"),
        Rule(r"^audio/actor/human/death/", HUMAN, "0ad-human-death", "death cries and screams"),
        Rule(r"^audio/(interface/alarm|interface/complete|interface/select/building|ambient/building|"
             r"ambient/dayscape)/", None, "",
             "alarms, fanfares, building sounds (market, theatre, temple, barracks, ...) and village "
             "ambiences: horns and music, but may hold shouts, chants, crowds or distant voices (not checked by ear)"),
        Rule(r"/(ram_attack_order|siege_select_\d+)\.ogg$", None, "", "siege orders: may hold a voice"),
    ],
    "openarena-data": [
        Rule(r"^sound/player/(?P<who>sarge|announcer)/", HUMAN, "openarena-{who}",
             "a player's pain, death and taunt cries; the announcer"),
        Rule(r"^sound/world/(new/|ambient/|1shot_greg|demonwind|tim_machine)", None, "",
             "moans, a 'pain wind' and eerie ambiences: may be made with voices"),
        Rule(r"^sound/player/(gurp\d|talk)\.wav$", None, "",
             "a player gurgling under water (a vocalisation) and the chat sound (not checked)"),
        Rule(r"^sound/misc/nightmare\.wav$", None, "", "a 31 s nightmare soundscape: may hold voices"),
    ],
    "lugaru-data": [
        Rule(r"/Rabbit[A-Za-z]*\d*\.ogg$", None, "", "the rabbit characters' cries: probably voice actors"),
        Rule(r"/Music[^/]*\.ogg$", None, "", "music: not checked for singing"),
    ],
    "lincity-ng-data": [
        Rule(r"/sounds/(Residential|Market|School|SportsCroud|Shanty|University|Health|Commune|Monument|Farm|"
             r"OrganicFarm|Recycle|Green|ParklandLake)", None, "",
             "places full of people (homes, market, school, stadium, hospital, farms, parks): may hold voices"),
    ],
    "extremetuxracer-data": [
        Rule(r"/music/", None, "", "music: not checked for singing"),
    ],
    "gcompris-qt-data": [
        # Spoken gcompris content lives in voices-<codec>/<locale>/... bundles. Debian's
        # gcompris-qt-data ships none (gcompris downloads them at run time), but if a
        # bundle is present its files are human speech, grouped by locale.
        Rule(r"/voices-[^/]+/(?P<locale>[^/]+)/", HUMAN, "gcompris-voices-{locale}",
             "gcompris voice bundle (letters, words, instructions spoken by people)"),
        Rule(r"/ballcatch/resource/(tuxok|youcannot)\.wav$", HUMAN, "tux-voice",
             "Tux's spoken prompts (same recordings as tuxpaint's)"),
        Rule(r"/explore_world_music/resource/music/(italy|america|australia|mexico|middleeast|japan)\.ogg$",
             None, "",
             "music whose own description says it has singing or shouting (opera, rock vocals, "
             "aboriginal song, mariachi, songs, taiko with shouting crowds)"),
        Rule(r"/core/resource/sounds/bonus\.wav$", None, "",
             "voiced two-syllable 'yoo-hoo'-like contour (recogniser hears 'hello'): may be a voice"),
    ],
}


def apply_rules(item: Item) -> Item:
    for rule in RULES.get(item.package, []):
        match = re.search(rule.pattern, item.origin)
        if match:
            item.label = rule.label
            item.group = rule.group.format(**match.groupdict()) if rule.label else item.group
            item.note = rule.reason
            break
    return item


def _audio_files(folder: Path):
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXT)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "misc"


def ktuberling(package: str, root: Path) -> list[Item]:
    """Words spoken by volunteers: one folder per language (sr@latin etc. are copies of sr)."""
    base = root / "usr/share/ktuberling/sounds"
    items = []
    for path in _audio_files(base):
        parts = path.relative_to(base).parts
        folders = [parts[0].split("@")[0], *parts[1:-1]] if len(parts) > 1 else ["misc"]
        items.append(Item(package, str(path.relative_to(root)), path, HUMAN,
                          "ktuberling-" + "-".join(_slug(f) for f in folders),
                          str(Path("sounds", *parts))))
    return items


def plain(package: str, root: Path) -> list[Item]:
    """minetest-data, sound-theme-freedesktop, tuxpaint-data, tuxtype-data, and the wider corpus' plain packages."""
    items = []
    for path in _audio_files(root / "usr/share"):
        origin = str(path.relative_to(root))
        if package == "minetest-data":
            m = re.search(r"games/minetest/games/([^/]+)/mods/([^/]+)/", origin)
            group = f"minetest-{m.group(2)}" if m else "minetest-misc"
            license_path = re.sub(r"^.*?/games/minetest/games/minetest_game/", "mtg/", origin)
            license_path = re.sub(r"^.*?/games/minetest/games/", "games/", license_path)
        elif package == "sound-theme-freedesktop":
            group = "freedesktop-" + path.parent.name
            license_path = re.sub(r"^.*?/sounds/freedesktop/", "", origin)
        elif package == "tuxpaint-data":
            group = "tuxpaint-sounds"
            license_path = re.sub(r"^usr/share/tuxpaint/", "data/", origin)
        elif package == "tuxtype-data":  # sounds/ and themes/<language>/sounds/
            m = re.search(r"/themes/([^/]+)/", origin)
            group = f"tuxtype-{m.group(1)}" if m else "tuxtype-sounds"
            license_path = re.sub(r"^usr/share/tuxtype/", "data/", origin)
        else:  # lugaru-data, lincity-ng-data, extremetuxracer-data: one group per package
            group = package.removesuffix("-data")
            license_path = re.sub(r"^usr/share/games/[^/]+/", "data/", origin)
            if package == "lugaru-data":
                license_path = re.sub(r"^data/", "Data/", license_path)
        items.append(Item(package, origin, path, NONHUMAN, group, license_path))
    return items


def gcompris(package: str, root: Path, staging: Path) -> list[Item]:
    """The sounds inside gcompris' Qt resource bundles, copied out to ``staging``.

    Layout: /usr/share/gcompris-qt/rcc/<activity>.rcc (plus core.rcc); registered
    bundles show up under ``:/gcompris/src/activities/<activity>/resource/...`` and
    ``:/gcompris/src/core/resource/...``.
    """
    from PySide6.QtCore import QCoreApplication, QDirIterator, QFile, QIODevice, QResource

    QCoreApplication.instance() or QCoreApplication([])
    bundles = sorted(root.rglob("*.rcc"))
    for rcc in bundles:
        if not QResource.registerResource(str(rcc)):
            print(f"SKIP {rcc}: QResource could not register the bundle")
    names = []
    it = QDirIterator(":/", QDirIterator.Subdirectories)
    while it.hasNext():
        name = it.next()
        if Path(name).suffix.lower() in AUDIO_EXT:
            names.append(name)
    items = []
    for name in sorted(names):
        target = staging / name.lstrip(":/")
        resource = QFile(name)
        if not target.exists() or target.stat().st_size != resource.size():
            if not resource.open(QIODevice.ReadOnly):
                print(f"SKIP {name}: cannot open inside the .rcc bundles")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bytes(resource.readAll()))
            resource.close()
        m = re.search(r"/activities/([^/]+)/", name)
        group = f"gcompris-{m.group(1)}" if m else "gcompris-core"
        items.append(Item(package, name, target, NONHUMAN, group, re.sub(r"^:/gcompris/", "", name)))
    for rcc in bundles:
        QResource.unregisterResource(str(rcc))
    return items


def voices(package: str, root: Path) -> list[Item]:
    """fillets-ng-data-cs/-nl (one cast per language), asterisk prompts (one speaker per folder)."""
    items = []
    for path in _audio_files(root / "usr/share"):
        origin = str(path.relative_to(root))
        if package.startswith("fillets-ng-data-"):
            group = "fillets-" + package.rsplit("-", 1)[1]
            license_path = re.sub(r"^usr/share/games/fillets-ng/", "", origin)
        else:  # usr/share/asterisk/sounds/<lang>_<COUNTRY>_<sex>_<Speaker>/...
            m = re.search(r"/sounds/[a-z]+_[A-Z]+_[mf]_([^/]+)/", origin)
            group = "asterisk-" + _slug(m.group(1) if m else package).lower()
            language = package.split("-")[-2] if package.startswith("asterisk-core") else "it"
            license_path = re.sub(r"^usr/share/asterisk/sounds/[^/]+/", f"{language}-wav/", origin)
        items.append(Item(package, origin, path, HUMAN, group, license_path))
    return items


def archived(package: str, root: Path, staging: Path) -> list[Item]:
    """The sounds inside a zip archive (0ad's public.zip, openarena's pak0.pk3), copied out to ``staging``.

    The origin is the member's path inside the archive; the group is its folder.
    """
    import zipfile

    archive, member_pattern = ARCHIVES[package]
    items = []
    with zipfile.ZipFile(root / archive) as z:
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            if not re.search(member_pattern, info.filename):
                continue
            target = staging / info.filename
            if not target.exists() or target.stat().st_size != info.file_size:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(info))
            folder = Path(info.filename).parent
            group = package.split("-")[0] + "-" + "-".join(_slug(f) for f in folder.parts[1:3])
            items.append(Item(package, info.filename, target, NONHUMAN, group, f"{archive}!{info.filename}"))
    return items


def collect(package: str, root: Path, work: Path, version: str) -> list[Item]:
    if package == "ktuberling-data":
        items = ktuberling(package, root)
    elif package == "gcompris-qt-data":
        items = gcompris(package, root, work / "gcompris-rcc" / version.replace(":", "%3a"))
    elif package in VOICE_PACKAGES:
        items = voices(package, root)
    elif package in ARCHIVES:
        items = archived(package, root, work / "archives" / f"{package}_{version.replace(':', '%3a')}")
    else:
        items = plain(package, root)
    return [apply_rules(item) for item in items]


# Licenses of files whose package has no machine-readable copyright file.
FREE_TEXT_LICENSES = {  # the whole package
    "fillets-ng-data-cs": "GPL-2",  # "version 2 dated June, 1991"
    "fillets-ng-data-nl": "GPL-2",
}
TUXTYPE_LICENSES = {  # from README_SOUNDS.TXT, quoted in tuxtype-data's copyright file
    "tuxi.ogg": "public-domain",
    "win.wav": "copyright-free (sample CD, per README_SOUNDS)",
    "winfinal.wav": "copyright-free (sample CD, per README_SOUNDS)",
}
