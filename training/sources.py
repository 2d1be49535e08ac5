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
)


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
    """minetest-data, sound-theme-freedesktop, tuxpaint-data, tuxtype-data."""
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
        else:  # tuxtype-data: sounds/ and themes/<language>/sounds/
            m = re.search(r"/themes/([^/]+)/", origin)
            group = f"tuxtype-{m.group(1)}" if m else "tuxtype-sounds"
            license_path = re.sub(r"^usr/share/tuxtype/", "data/", origin)
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


def collect(package: str, root: Path, work: Path, version: str) -> list[Item]:
    if package == "ktuberling-data":
        items = ktuberling(package, root)
    elif package == "gcompris-qt-data":
        items = gcompris(package, root, work / "gcompris-rcc" / version.replace(":", "%3a"))
    else:
        items = plain(package, root)
    return [apply_rules(item) for item in items]


# Licenses of files whose package has no machine-readable copyright file.
TUXTYPE_LICENSES = {  # from README_SOUNDS.TXT, quoted in tuxtype-data's copyright file
    "tuxi.ogg": "public-domain",
    "win.wav": "copyright-free (sample CD, per README_SOUNDS)",
    "winfinal.wav": "copyright-free (sample CD, per README_SOUNDS)",
}
