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
    # Shouts, cries, taunts and short calls (issue 16, second round): game voice sets.
    "nexuiz-data",  # human: six player voice sets (pain, death, jump, taunts, team calls), announcer, tutorial
    "megaglest-data",  # human: unit acknowledgements, selections and death cries; non-human: machines, weapons
    "redeclipse-data",  # human: taunts/exclamations, announcer; non-human: weapons, steps, impacts
    "flare-game",  # human: merchants' greetings, a man's and a woman's death cry; non-human: spells, steps, items
    "cube2-data",  # human: the 'aard' player's pain/death grunts; non-human: weapons, instruments, effects
    "btanks-data",  # human: laughs, dying men, a kamikaze's scream; non-human: weapons, vehicles, explosions
    "wordwarvi-sound",  # human: a man's cries ('aaah it burns', 'ow my spine', 'help'), ho-ho-ho; non-human: weapons, impacts
    "supertuxkart-data",  # human: the Wilhelm scream, an 'ugh'; non-human: engines, horns, crashes, a flute, effects
    "supertux-data",  # human: Tux's and Penny's voice clips, grunts, 'excellent'; non-human: game effects
    "openclonk-data",  # human: four clonk voice sets (hurt, die, shock, laughter, scream, confirm); non-human: effects
    # Pain, death, falling and jump cries taken whole (issue 16, seventh round): the second round kept only the
    # cries the shipped detector already scored as voice, so it missed the ones the detector misses.
    "openarena-081-players",  # human: ten player characters' voice sets by four actors; creatures left out
    # Cartoon exclamations and hard negatives (issue 16, ninth round).
    "teeworlds-data",  # human: the tee's cartoon voice (pain, cry, spawn); non-human: weapons, steps, hooks, pickups
    "widelands-data",  # non-human: animals (wolf, coyote, moose, stag, boar, birds, ducks, farm animals), crafts, mills
)

# Recorded instrument notes, only with `build_corpus.py --instrument-notes` (issue 16, fourth round): sustained
# tones and short notes were common false alarms, but a net trained with them scored lower on the external
# set (training/README.md), so the default corpus leaves them out. One clip per sample of the bank;
# voice-like presets left out (training/soundfont.py).
SOUNDFONT_PACKAGE = "fluid-soundfont-gm"  # non-human: piano, strings, brass, reeds, pipes, organs, guitars, drums, ...
INSTRUMENT_NOTES = (SOUNDFONT_PACKAGE,)

# Recorded instruments, weapons and vehicles, only with `build_corpus.py --hard-negatives` (issue 16, tenth round):
# the kinds of sound every network heard as voice. Networks trained with them alone scored lower on validation
# and on the external set (two seeds), with them and the instrument notes about the same (training/README.md).
HARD_NEGATIVES = (
    "lmms-common",  # non-human: LMMS's sample library (instrument notes, drums, basses, loops, pads, effects)
    "scorched3d-data",  # human: five screams; non-human: weapons, explosions, aircraft, car horns, animals, weather
    "chromium-bsu-data",  # non-human: weapons, explosions, pickups
    "openttd-opensfx",  # non-human: trains, buses, planes, ships' horns, machinery, farm and jungle animals, weather
)

# Reserved for the independent evaluation of issue 16: never downloaded or used here.
RESERVED = ("klettres-data", "hedgewars-data", "wesnoth", "alsa-utils")
if any(p.startswith(RESERVED) for p in (*PACKAGES, *INSTRUMENT_NOTES, *HARD_NEGATIVES)):
    raise RuntimeError("a package reserved for the independent evaluation is listed for training")

# Packages whose sounds are voices unless a rule says otherwise (the others: non-human unless ...).
VOICE_PACKAGES = {p for p in PACKAGES if p.startswith(("fillets-ng-data-", "asterisk-"))}

# Archives whose sounds are used: (package, archive path in the package, member regex).
ARCHIVES = {
    "0ad-data": ("usr/share/games/0ad/mods/public/public.zip", r"^audio/(?!music/).+\.(ogg|wav)$"),
    "openarena-data": ("usr/share/games/openarena/baseoa/pak0.pk3", r"^sound/.+\.(ogg|wav)$"),
    "nexuiz-data": ("usr/share/games/nexuiz/data/data.pk3", r"^sound/.+\.(ogg|wav)$"),
    "openarena-081-players": ("usr/share/games/openarena/baseoa/pak2-players.pk3", r"^sound/player/.+\.(ogg|wav)$"),
    # A Clonk c4group (not a zip): read by _c4group_members below.
    "openclonk-data": ("usr/share/games/openclonk/Sound.ocg", r"\.(ogg|wav)$"),
}

# Formats soundfile cannot read: their collector decodes them to .wav (WavPack: `wvunpack`, Debian package wavpack).
DECODED_EXT = {".wv"}
WAVPACK_PACKAGES = {"teeworlds-data"}

# OpenTTD's sound catalogue: one file of WAVs, each with its title, author and license (read by catalogued below).
CATALOGUES = {"openttd-opensfx": "usr/share/games/openttd/baseset/opensfx/opensfx.cat"}

# Plain packages whose debian/copyright paths are the installed paths below a folder: (that folder, what
# replaces it in the copyright file's paths).
LICENSE_ROOTS = {
    "megaglest-data": ("usr/share/games/megaglest/", ""),
    "redeclipse-data": ("usr/share/games/redeclipse/", ""),
    "flare-game": ("usr/share/games/flare/", ""),
    "cube2-data": ("usr/share/games/cube2/", ""),
    "btanks-data": ("usr/share/games/btanks/", ""),
    "wordwarvi-sound": ("usr/share/wordwarvi/", ""),
    "supertuxkart-data": ("usr/share/games/supertuxkart/", ""),
    "supertux-data": ("usr/share/games/supertux2/", "data/"),
    "teeworlds-data": ("usr/share/games/teeworlds/", ""),
    "widelands-data": ("usr/share/games/widelands/", ""),
    "lmms-common": ("usr/share/lmms/", "data/"),
    "scorched3d-data": ("usr/share/games/scorched3d/", ""),
    "chromium-bsu-data": ("usr/share/games/chromium-bsu/", "data/"),
}

# megaglest: units whose voices are people (creatures, monsters, animals and machines are not listed).
_MG_PEOPLE = ("archer|archmage|axe_thrower|battlemage|cudgel|guard|horseman|initiate|princess|shaman|spearman|"
              "stickfighter|summoner|swordman|technician|valkyrie|worker")
# ... and those whose death cries score as voices (the others' die_* may be thuds, falls or a horse).
_MG_DEATHS = "archer|battlemage|guard|shaman|spearman|stickfighter|swordman|technician|valkyrie"
# ... and the people's attack, work and production sounds that the shipped detector scores >= 0.9 (battle
# cries, grunts, "done!" calls mixed with blows; below 0.9 they may be blows alone, so those are left out).
_MG_CRIES = (
    "commondata/sounds/archmage_attack12.wav",
    "commondata/sounds/archmage_attack15.wav",
    "commondata/sounds/axe_thrower_attack3.wav",
    "commondata/sounds/guard_attack1.wav",
    "commondata/sounds/guard_attack10.wav",
    "commondata/sounds/guard_attack11.wav",
    "commondata/sounds/guard_attack12.wav",
    "commondata/sounds/guard_attack13.wav",
    "commondata/sounds/guard_attack14.wav",
    "commondata/sounds/guard_attack2.wav",
    "commondata/sounds/guard_attack3.wav",
    "commondata/sounds/guard_attack4.wav",
    "commondata/sounds/guard_attack5.wav",
    "commondata/sounds/guard_attack6.wav",
    "commondata/sounds/guard_attack7.wav",
    "commondata/sounds/guard_attack8.wav",
    "commondata/sounds/guard_attack9.wav",
    "commondata/sounds/horseman_attack13.wav",
    "commondata/sounds/horseman_attack14.wav",
    "commondata/sounds/stickfighter_attack11.wav",
    "commondata/sounds/summoner_attack1.wav",
    "commondata/sounds/summoner_attack3.wav",
    "commondata/sounds/summoner_attack8.wav",
    "commondata/sounds/swordman_attack4.wav",
    "commondata/sounds/swordman_attack5.wav",
    "commondata/sounds/worker_work_end1.wav",
    "commondata/sounds/worker_work_end2.wav",
    "commondata/sounds/worker_work_end3.wav",
    "factions/egypt/units/spearman/sounds/spearman_attack1.wav",
    "factions/egypt/units/spearman/sounds/spearman_attack2.wav",
    "factions/egypt/units/spearman/sounds/spearman_attack3.wav",
    "factions/egypt/units/spearman/sounds/spearman_attack4.wav",
    "factions/indian/units/horseman/sounds/horseman_attack1.wav",
    "factions/indian/units/horseman/sounds/horseman_attack2.wav",
    "factions/indian/units/horseman/sounds/horseman_attack3.wav",
    "factions/indian/units/horseman/sounds/horseman_attack4.wav",
    "factions/indian/units/shaman/sounds/shaman_prod1.wav",
    "factions/indian/units/shaman/sounds/shaman_prod2.wav",
    "factions/indian/units/shaman/sounds/shaman_prod3.wav",
    "factions/indian/units/spearman/sounds/stickfighter_attack2.wav",
    "factions/indian/units/spearman/sounds/stickfighter_attack4.wav",
    "factions/indian/units/spearman/sounds/stickfighter_attack5.wav",
    "factions/indian/units/spearman/sounds/stickfighter_attack6.wav",
    "factions/indian/units/spearman/sounds/stickfighter_attack7.wav",
    "factions/indian/units/stickfighter/sounds/indiattack2.wav",
    "factions/indian/units/stickfighter/sounds/indiattack3.wav",
    "factions/magic/units/battlemage/sounds/battlemage_attack8.wav",
    "factions/magic/units/initiate/sounds/initiate_attack1.wav",
    "factions/magic/units/initiate/sounds/initiate_attack3.wav",
    "factions/magic/units/initiate/sounds/initiate_attack4.wav",
    "factions/magic/units/initiate/sounds/initiate_attack7.wav",
    "factions/magic/units/initiate/sounds/initiate_build1.wav",
    "factions/magic/units/initiate/sounds/initiate_build3.wav",
    "factions/magic/units/initiate/sounds/initiate_harvest2.wav",
    "factions/magic/units/initiate/sounds/initiate_work_end1.wav",
    "factions/magic/units/initiate/sounds/initiate_work_end2.wav",
    "factions/magic/units/initiate/sounds/initiate_work_start1.wav",
    "factions/magic/units/initiate/sounds/initiate_work_start2.wav",
    "factions/norsemen/units/cudgel_lady/sounds/cudgel_attack1.wav",
    "factions/norsemen/units/cudgel_lady/sounds/cudgel_attack2.wav",
    "factions/norsemen/units/cudgel_lady/sounds/cudgel_attack3.wav",
    "factions/norsemen/units/cudgel_lady/sounds/cudgel_attack4.wav",
    "factions/norsemen/units/cudgel_lady/sounds/cudgel_attack5.wav",
    "factions/norsemen/units/spearman/sounds/swordman_attack4.wav",
    "factions/norsemen/units/spearman/sounds/swordman_attack7.wav",
    "factions/norsemen/units/spearman/sounds/swordman_attack9.wav",
    "factions/norsemen/units/spearman_berserk/sounds/swordman_attack4.wav",
    "factions/norsemen/units/spearman_berserk/sounds/swordman_attack7.wav",
    "factions/norsemen/units/spearman_berserk/sounds/swordman_attack9.wav",
    "factions/norsemen/units/swordman/sounds/swordman_attack4.wav",
    "factions/norsemen/units/swordman_berserk/sounds/swordman_attack10.wav",
    "factions/norsemen/units/swordman_berserk/sounds/swordman_attack8.wav",
    "factions/norsemen/units/valkyrie/sounds/valkyrie_attack2.wav",
    "factions/norsemen/units/valkyrie/sounds/valkyrie_attack4.wav",
    "factions/persian/units/magician/sounds/die1.wav",
    "factions/persian/units/magician/sounds/die2.wav",
    "factions/persian/units/magician/sounds/die3.wav",
    "factions/persian/units/princess/sounds/princess_attack1.wav",
    "factions/persian/units/princess/sounds/princess_attack2.wav",
    "factions/persian/units/princess/sounds/princess_attack3.wav",
    "factions/persian/units/princess/sounds/princess_attack5.wav",
    "factions/persian/units/stickfighter/sounds/stickfighter_attack11.wav",
    "factions/persian/units/stickfighter/sounds/stickfighter_attack12.wav",
    "factions/persian/units/swordman/sounds/swordman_attack2.wav",
    "factions/persian/units/swordman/sounds/swordman_attack3.wav",
    "factions/persian/units/swordman/sounds/swordman_attack5.wav",
    "factions/persian/units/swordman/sounds/swordman_attack6.wav",
    "factions/persian/units/swordman/sounds/swordman_attack8.wav",
    "factions/romans/units/gladiator/sounds/guard_attack5.wav",
)


def _mg_unit(path: str) -> str:
    name = path.rsplit("/", 1)[1]
    if name.startswith("indiattack"):
        return "stickfighter"
    if "/magician/" in path:
        return "magician"
    return re.match(rf"({_MG_PEOPLE})_", name).group(1)


@dataclass
class Item:
    package: str
    origin: str  # where it is in the package: installed path, or ':/...' inside a .rcc
    file: Path  # readable copy on disk
    label: str | None  # HUMAN, NONHUMAN, or None = excluded
    group: str  # source group (also the folder under the label folder)
    license_path: str  # path as written in debian/copyright's Files: fields
    note: str = ""  # why it was moved to human or excluded
    license: str = ""  # the license the sound itself states, where it states one (wins over debian/copyright)


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
    # Each set's `credit` file names its voice actor; one group per actor, so no actor is in two splits.
    "openarena-081-players": [
        Rule(r"^sound/player/(angelyss|ayumi|major|sorceress)/", HUMAN, "openarena-pixie",
             "four women characters' pain, death, falling, drowning, jump and taunt cries (actor: pixie)"),
        Rule(r"^sound/player/(assassin|sergei|smarine|tony)/", HUMAN, "openarena-rottking",
             "four men characters' cries (actor: RottKing)"),
        Rule(r"^sound/player/kyonshi/", HUMAN, "openarena-aeri", "a woman character's cries (actor: aeri_s)"),
        Rule(r"^sound/player/beret/", HUMAN, "openarena-beret", "a man character's cries (no credit file)"),
        Rule(r".", None, "",
             "creatures (arachna, gargoyle, merman, penguin, skelebot: voices may be processed) and liz (noise-like "
             "grunts, credit file copied from the gargoyle's): left out"),
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
    # Second round (shouts, cries, taunts). Decisions from names, folders and the shipped detector's
    # scores per voice set (README.md); creatures, robots, processed voices and anything doubtful are left out.
    "nexuiz-data": [
        Rule(r"^sound/player/(?P<who>fricka|insurrectionist|marine|pyria-skadi|soldier|specop)/", HUMAN,
             "nexuiz-{who}", "a player character's voice set: pain, death, jump, drown cries, taunts, team calls"),
        Rule(r"^sound/player/(carni-lycan|reptilian|torus)/", None, "",
             "werewolf, lizard and robot characters: voices may be processed beyond recognition"),
        Rule(r"^sound/player/(lava|slime)\.wav$", None, "", "a player burning/dissolving: may hold a cry"),
        Rule(r"^sound/announcer/male/", HUMAN, "nexuiz-announcer", "the (male) announcer's calls"),
        Rule(r"^sound/announcer/robotic/", None, "", "the robotic announcer: processed or synthetic voice"),
        Rule(r"^sound/tutorial/(\d+-[^/]+|misc-(at_corp_rap|did_yoda_show_you_that|excellent|good_work|nice|"
             r"very_impressive))\.ogg$", HUMAN, "nexuiz-tutorial", "the tutorial instructor's spoken lines"),
        Rule(r"^sound/tutorial/", None, "", "tutorial cues not checked (a door, a detonation, a teleport)"),
        Rule(r"^sound/(ambient|desertfactory)/", None, "",
             "ambience loops (a 'demon wind', crickets, a radio message and static): may hold voices"),
        Rule(r"^sound/misc/talk2?\.wav$", None, "", "the chat sound (not checked)"),
        Rule(r"^sound/(ctf|kh)/|^sound/onslaught/(controlpoint_|generator_underattack)|^sound/porto/unsupported", None, "",
             "flag, key and control-point cues (1.4-3.6 s) that score as voice: may be spoken announcements"),
    ],
    "megaglest-data": [
        Rule(rf"/(?P<unit>{_MG_PEOPLE})_(ack|select)\d*\.wav$", HUMAN, "megaglest-{unit}",
             "a unit's spoken acknowledgement or reply when selected (one group per unit type)"),
        Rule(rf"/(?P<unit>{_MG_DEATHS})_die\d*\.wav$", HUMAN, "megaglest-{unit}", "a soldier's death cry"),
        Rule(r"/units/magician/sounds/(ack|select)\d*\.wav$", HUMAN, "megaglest-magician",
             "the magician's spoken replies"),
        *[Rule("/techs/megapack/" + re.escape(path) + "$", HUMAN, "megaglest-" + _mg_unit(path),
               "a person's battle cry, grunt, work call or death cry (scores as voice)") for path in _MG_CRIES],
        Rule(r"/tower_(attack|hit)\d*\.wav$", None, "", "tower attack/hit sounds that score as voice: may hold shouts"),
        Rule(r"/(anvil|arrow_hit|catapult_(attack|hit|walk)|defense_tower_attack|"
             r"tech_building_fall|tech_click|magic_building_fall|magic_click|knife|firearrowhit|"
             r"machine_(attack|walk)|airship_(attack|fly|hit)|orni_(attack|fly|hit|standing)|click_[a-d]|highlight|"
             r"sonar|water)[0-9a-c]*\.(wav|ogg)$", NONHUMAN, "megaglest-sfx",
             "machines, siege engines, towers, weapons, impacts, menu clicks, water"),
        Rule(r"/tilesets/[^/]+/sounds/(rain|wind)\d*\.(wav|ogg)$", NONHUMAN, "megaglest-weather", "rain and wind"),
        Rule(r".", None, "",
             "creatures, animals, attack/work sounds of people (may hold shouts or grunts), day/night "
             "ambiences, music and the remaining voices: not checked"),
    ],
    "redeclipse-data": [
        Rule(r"/sounds/voice/", HUMAN, "redeclipse-voice",
             "a player's taunts and exclamations ('argh', 'haha', 'damn it', 'go go go', 'sorry', ...)"),
        Rule(r"/sounds/announcer/(headshot|multikill2?)\.ogg$", None, "",
             "announcer lines that score low as voice: may be processed"),
        Rule(r"/sounds/announcer/", HUMAN, "redeclipse-announcer", "the announcer's calls"),
        Rule(r"/sounds/player/(death|pain|jump)\d*\.ogg$", None, "",
             "the player's pain, death and jump sounds: vocal, but score as non-voice; noise-like in a spectrogram, "
             "one with a steady 3.4 kHz tone (possibly processed)"),
        Rule(r"/sounds/(ambience|music)/|/sounds/(original|theme|theme_chip)\.ogg$|/data/maps/", None, "",
             "ambiences and music: may hold voices or singing"),
        Rule(r"/sounds/sfx/(chat|underwater)\.ogg$", None, "", "the chat sound and an underwater loop (not checked)"),
    ],
    "flare-game": [
        Rule(r"/npcs/(?P<sex>male|female)_merchant_\d+\.ogg$", HUMAN, "flare-{sex}",
             "merchants' spoken greetings"),
        Rule(r"/soundfx/(?P<sex>male|female)_die\.ogg$", HUMAN, "flare-{sex}", "the hero's death cry"),
        Rule(r"/soundfx/(male|female)_hit\.ogg$", None, "",
             "the hero's hurt sound: scores as non-voice; noise-like in a spectrogram, possibly processed"),
        Rule(r"/enemies/|/powers/(warcry|heal)\.ogg$|/(no_mana|melee_attack)\.ogg$", None, "",
             "monsters' cries (creatures), a war cry, the 'no mana' cue, the heal spell (choir-like) and the "
             "hero's melee attack (may hold a grunt): may be voices"),
        Rule(r"/environment/(forest_owl|bird_twitter|raven)", None, "", "birds (animals: left out this round)"),
        Rule(r"/music/", None, "", "music: not checked for singing"),
    ],
    "cube2-data": [
        Rule(r"/sounds/aard/(?P<what>pain\d|die\d|grunt\d)\.wav$", HUMAN, "cube2-aard",
             "the player's pain and death grunts (the 'aard' set)"),
        Rule(r"/sounds/aard/jump\.wav$", None, "", "the player's jump: may be a grunt"),
        Rule(r"/sounds/0ad/", None, "", "copies of 0ad-data sounds (voices and alarms; 0ad-data is already used)"),
        Rule(r"/BeatBox[^/]*\.wav$", None, "", "beatbox: mouth-made"),
        Rule(r"/sounds/q009/ren\d?\.ogg$", None, "", "'ren' cues: not checked"),
        Rule(r"/music/", None, "", "music: not checked for singing"),
    ],
    "btanks-data": [
        Rule(r"/sounds/(laugh\d+|deadman\d+|kamikaze-scream)\.ogg$", HUMAN, "btanks-voice",
             "laughs, dying men and a kamikaze's scream"),
        Rule(r"/sounds/(zombie[^/]*|cow|slime[^/]*|worm[^/]*|disembark)\.ogg$", None, "",
             "zombies, a cow, slime and worm creatures (creature/animal cries), 'disembark' (may be spoken)"),
        Rule(r"/sounds/ambient/|/tunes/", None, "", "ambiences (city, horror, ...) and music: may hold voices"),
    ],
    "wordwarvi-sound": [
        Rule(r"/sounds/(aaaah_it_burns|help_down_here|help_up_here|ooooof|ow_my_spine|nice_bank_shot|woohoo|"
             r"yay_santa|hohoho|hohoho_merry_xmas)\.ogg$", HUMAN, "wordwarvi-voice",
             "a man's cries and calls ('aaah it burns', 'ow my spine', 'help down here', 'woohoo', 'ho ho ho')"),
        Rule(r"/sounds/(abducted|UseTheSource|fallingscreamhi|bodyslam|destiny_facedown|dtox3monomix|highscoremusic|"
             r"lucky[^/]*)\.ogg$", None, "",
             "a possibly processed voice ('abducted', 'use the source', a pitched falling scream), a body slam "
             "(may hold a grunt) and music (not checked for singing)"),
    ],
    "supertuxkart-data": [
        Rule(r"/data/sfx/(WilhelmScream|ugh)\.ogg$", HUMAN, "supertuxkart-voice", "the Wilhelm scream and an 'ugh'"),
        Rule(r"/data/sfx/(sara_airport_pa|static-radio|wee|lenautile_restaurant|race_finish(_victory)?|fireworks_show|"
             r"exotic-birds[^/]*|goo|dark)\.ogg$", None, "",
             "an airport announcement (may be synthetic), radio static, a 'wee', a restaurant and crowd ambiences, "
             "birds, and unexplained cues: not checked"),
        Rule(r"/data/sfx/", NONHUMAN, "supertuxkart-sfx",
             "engines, horns, crashes, explosions, a flute, bowling, items, interface"),
        Rule(r".", None, "", "music and the tracks' and karts' ambiences (a cow, a restaurant, ...): not checked"),
    ],
    "supertux-data": [
        Rule(r"/speech/[^/]+\.ogg$", HUMAN, "supertux-voice", "Tux's and Penny's voice clips (hello, upset, a rap)"),
        Rule(r"/sounds/(grunts\.ogg|excellent\.wav)$", HUMAN, "supertux-voice", "grunts, a spoken 'excellent'"),
        Rule(r"/sounds/(hurt\.wav|welldone\.ogg|yeti_[^/]*|mr_tree[^/]*|tree_howling\.ogg|invincible_start\.ogg|"
             r"totem\.ogg|tada\.ogg|lifeup\.wav|savebell[^/]*)$", None, "",
             "Tux's hurt cry and 'well done' (not checked), the yeti's and trees' cries (creatures), jingles"),
        Rule(r"/music/", None, "", "music: not checked for singing"),
    ],
    "openclonk-data": [
        Rule(r"^Clonk\.ocg/Skin\.ocg/(?P<who>[^/]+)\.ocg/", HUMAN, "openclonk-{who}",
             "a clonk voice set (one actor each, per authors.txt): hurt, die, shock, scream, laughter, doubt, "
             "confirm/decline exclamations, a little singing"),
        Rule(r"^Clonk\.ocg/Action\.ocg/(Breathing|Munch\d|GroupAttack)\.|^Clonk\.ocg/Movement\.ocg/DivingLoop", None, "",
             "breathing, munching, a group attack cry and diving loops: may be mouth-made or voiced"),
        Rule(r"^Animals\.ocg/|^Environment\.ocg/BirdsLoop", None, "",
             "animals and creatures (bats, mooqs, monsters, wipfs, birds): left out this round"),
        Rule(r"^UI\.ocg/(Trumpet|Fanfare|NextWave)\.", None, "", "trumpet and fanfare cues: not checked"),
        Rule(r".", NONHUMAN, "openclonk-sfx",
             "digging, steps, hits, fire, liquids, weapons, objects, structures, weather, interface"),
    ],
    # Ninth round. debian/copyright: teeworlds' data/* CC-BY-SA-3.0; widelands' sounds GPL-2+ (three music files CC-BY-SA-3.0).
    "teeworlds-data": [
        Rule(r"/vo_teefault_[a-z_]+-\d+\.wv$", HUMAN, "teeworlds-tee",
             "the tee's voice: short pain cries, long pain, crying, spawn and ninja/sledge exclamations; a high "
             "cartoon voice (harmonics and moving formant bands in a spectrogram), most scored below 0.5 as voice"),
        Rule(r"/music_menu\.wv$", None, "", "music: not checked for singing"),
        Rule(r"/(wp_ninja_attack-\d+|sfx_pickup_ninja)\.wv$", None, "",
             "ninja cues that score as voice: a burst, then steady harmonic tones (a gong or blade?), "
             "may hold a shout (not checked by ear)"),
    ],
    "widelands-data": [
        Rule(r"/data/music/", None, "", "music: not checked for singing"),
        Rule(r"/sound/[a-z]+/taverns/|/sound/(lobby_[a-z]+|military/[a-z_]+)\.ogg$", None, "",
             "tavern kitchens, the lobby's chat cues and military alerts: may hold voices (not checked by ear)"),
    ],
    # Tenth round. debian/copyright: lmms-common GPL-2+; scorched3d's data GPL-2+, its apoc mod CC-BY-SA-3;
    # chromium-bsu's data/wav/* Expat.
    "lmms-common": [
        Rule(r"/samples/(shapes|waveforms)/", None, "",
             "single-cycle waveforms and LFO shapes for the wavetable synths (mostly under 0.1 s): not recordings"),
        Rule(r"/samples/(misc/(applause|breath|raving_crowd|undefined)\d*|misc/(bass|buzz)!|stringsnpads/rave_choir"
             r"\d*|stringsnpads/chorus\d*|effects/(stop|scratch)\d*)\.ogg$", None, "",
             "applause, a breath, a crowd, choir and chorus pads (voice-like presets, as for the soundfont), "
             "'bass!', 'buzz!' and an unnamed cue (formant-like bands: may be spoken), a tape stop and a scratch "
             "(may be of a voice)"),
    ],
    "scorched3d-data": [
        Rule(r"/apoc/data/wav/misc/scream(ing|\d)\.wav$", HUMAN, "scorched3d-screams",
             "five screams (harmonic stacks with formant bands, 500-1500 Hz pitch); the shipped pair scored "
             "four of them below 0.5"),
        Rule(r"/music/|/misc/(cheeringloop|citysounds|fight4life|beamup)\.wav$", None, "",
             "music and a jingle (not checked for singing), a cheering crowd and a city ambience (voices), "
             "a transporter effect with voice-like arcs"),
    ],
    "chromium-bsu-data": [
        Rule(r"/wav/music_[a-z]+\.wav$", None, "", "music: not checked for singing"),
    ],
    "openttd-opensfx": [  # origins are '<catalogue>/<index>-<title>.wav'; every sound's title credits its source
        Rule(r"/\d+-(Good_Year|Bad_Year|Applause|Oooh_sound|Tropical_Lion_roar)\.wav$", None, "",
             "year-end jingles and an audience's applause and 'oooh' (may hold voices), a 'lion roar' made from a "
             "recording titled 'elaine-growl' (may be a person growling)"),
        Rule(r"/\d+-Unused_Nothing[^/]*\.wav$", None, "", "empty placeholders"),
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


def _audio_files(folder: Path, extensions=AUDIO_EXT):
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in extensions)


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


def plain(package: str, root: Path, extensions=AUDIO_EXT) -> list[Item]:
    """minetest-data, sound-theme-freedesktop, tuxpaint-data, tuxtype-data, and the wider corpus' plain packages."""
    items = []
    for path in _audio_files(root / "usr/share", extensions):
        origin = str(path.relative_to(root))
        license = ""  # from debian/copyright unless the file's own is known
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
            license = TUXTYPE_LICENSES.get(path.name, "GPL-2")  # free-text copyright file
        elif package in LICENSE_ROOTS:  # the second round's plain packages: one default group per package
            group = package.removesuffix("-data")
            prefix, replacement = LICENSE_ROOTS[package]
            license_path = replacement + origin.removeprefix(prefix)
        else:  # lugaru-data, lincity-ng-data, extremetuxracer-data: one group per package
            group = package.removesuffix("-data")
            license_path = re.sub(r"^usr/share/games/[^/]+/", "data/", origin)
            if package == "lugaru-data":
                license_path = re.sub(r"^data/", "Data/", license_path)
        items.append(Item(package, origin, path, NONHUMAN, group, license_path, license=license))
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
    if archive.endswith(".ocg"):
        members = _c4group_members(root / archive)
    else:
        with zipfile.ZipFile(root / archive) as z:
            members = {i.filename: z.read(i) for i in z.infolist() if re.search(member_pattern, i.filename)}
    items = []
    for name in sorted(members):
        if not re.search(member_pattern, name):
            continue
        data = members[name]
        target = staging / name
        if not target.exists() or target.stat().st_size != len(data):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        folder = Path(name).parent
        group = package.split("-")[0] + "-" + "-".join(_slug(f) for f in folder.parts[1:3])
        items.append(Item(package, name, target, NONHUMAN, group, f"{archive}!{name}"))
    return items


SOUNDFONT_FILE = "usr/share/sounds/sf2/FluidR3_GM.sf2"


def wavpack_decoded(package: str, root: Path, staging: Path) -> list[Item]:
    """A plain package whose sounds are WavPack (.wv), decoded to .wav in ``staging`` with ``wvunpack``.

    The origin stays the installed .wv path, so rules, groups and licenses read as for a plain package.
    A file wvunpack cannot decode keeps its .wv copy, which the build then reports and skips on its own.
    """
    import shutil
    import subprocess

    wvunpack = shutil.which("wvunpack")
    if wvunpack is None:
        raise RuntimeError("its sounds are WavPack files and wvunpack is missing (apt-get install wavpack)")
    items = []
    for item in plain(package, root, extensions=DECODED_EXT):
        target = staging / Path(item.origin).with_suffix(".wav")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part.wav")  # never leave half a clip under the final name
            decoded = subprocess.run([wvunpack, "-q", "-y", str(item.file), "-o", str(partial)], capture_output=True)
            if decoded.returncode == 0:
                partial.replace(target)
            partial.unlink(missing_ok=True)
        if target.exists():
            item.file = target
        items.append(item)
    return items


def _catalogue_license(title: str) -> str:
    stated = re.search(r"License: (.+?)\.(?: |$)", title)
    if not stated:
        return ""
    text = stated.group(1)
    for words, short in (("Zero 1.0", "CC0-1.0"), ("Attribution-ShareAlike 3.0", "CC-BY-SA-3.0"),
                         ("Attribution 3.0", "CC-BY-3.0")):
        if words in text:
            return short
    return text


def catalogued(package: str, root: Path, staging: Path) -> list[Item]:
    """The sounds of an OpenTTD sound catalogue (.cat), copied out to ``staging`` as .wav files.

    The catalogue starts with one (offset, size) pair of little-endian uint32 per sound (the first offset
    tells how many, the top bit is a flag); each sound is a length byte, its title, then ``size`` bytes of
    RIFF WAV. The title names the sound, credits its recording and states its license. A truncated
    catalogue gives the sounds that begin inside it (a cut-off last one is then skipped by the build).
    """
    import struct

    catalogue = CATALOGUES[package]
    data = (root / catalogue).read_bytes()
    count = min((struct.unpack_from("<I", data)[0] & 0x7FFFFFFF) // 8, len(data) // 8) if len(data) >= 4 else 0
    items = []
    for index in range(count):
        offset, size = struct.unpack_from("<II", data, 8 * index)
        offset &= 0x7FFFFFFF
        if offset >= len(data):
            break
        length = data[offset]
        title = data[offset + 1:offset + 1 + length].rstrip(b"\0").decode("utf-8", errors="replace")
        wav = data[offset + 1 + length:offset + 1 + length + size]
        name = title.split('"')[1] if title.count('"') >= 2 else title  # the quoted name before the credits
        origin = f"{catalogue}/{index:02d}-{_slug(re.sub(r'[^A-Za-z0-9]+', '_', name))}.wav"
        target = staging / Path(origin).name
        if not target.exists() or target.stat().st_size != len(wav):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(wav)
        items.append(Item(package, origin, target, NONHUMAN, package.split("-")[0], catalogue,
                          license=_catalogue_license(title)))
    return items


def corpus_name(item: Item) -> str:
    """The clip's file name in the corpus: the origin's, with the decoded copy's extension if it was decoded."""
    name = Path(item.origin).name
    return Path(name).with_suffix(item.file.suffix).name if Path(name).suffix.lower() in DECODED_EXT else name


def soundfont_notes(package: str, root: Path, staging: Path) -> list[Item]:
    """One clip per instrument sample of the General MIDI bank, rendered to ``staging`` as FLAC.

    The origin is '<bank file>#<sample index>:<sample name>'; the group is the GM family of the
    preset that plays it (fluid-piano, fluid-brass, ..., fluid-drums).
    """
    import soundfile as sf

    import soundfont

    items = []
    for index, sample in enumerate(soundfont.read_samples(root / SOUNDFONT_FILE)):
        origin = f"{SOUNDFONT_FILE}#{index}:{sample.name}"
        target = staging / f"{index:04d}-{_slug(sample.name)}.flac"
        why = sample.voice_like
        if why is None:  # rendered every time: a render rule changed must not leave stale clips
            target.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(target), soundfont.render(sample, index), sample.rate, subtype="PCM_16")
        items.append(Item(package, origin, target, None if why else NONHUMAN, f"fluid-{sample.family}",
                          SOUNDFONT_FILE, f"possibly a voice: {why}" if why else ""))
    return items


def _c4group_members(path: Path) -> dict[str, bytes]:
    """The files of a Clonk c4group (OpenClonk's .ocg/.ocd/.ocf), by their path inside it.

    Format: a gzip stream whose two magic bytes are 1E 8C instead of 1F 8B; inside, a 204-byte header
    (XOR 237, then every byte triple's first and third byte swapped) with the entry count at offset 36,
    then one 316-byte entry core per entry (name[260], packed, child-group, size, reserved, offset:
    int32 LE), then the entries' data at their offsets; a child group is a nested c4group (header
    scrambled the same way, not compressed).
    """
    import gzip
    import struct

    raw = path.read_bytes()
    raw = gzip.decompress(b"\x1f\x8b" + raw[2:])

    def header(at: int) -> bytes:
        h = bytearray(b ^ 237 for b in raw[at:at + 204])
        for i in range(0, len(h) - 2, 3):
            h[i], h[i + 2] = h[i + 2], h[i]
        if not h.startswith(b"RedWolf Design GrpFolder"):
            raise ValueError(f"{path}: not a c4group at offset {at}")
        return bytes(h)

    def walk(at: int, prefix: str) -> dict[str, bytes]:
        count = struct.unpack("<i", header(at)[36:40])[0]
        cores = [raw[at + 204 + 316 * i: at + 204 + 316 * (i + 1)] for i in range(count)]
        data = at + 204 + 316 * count
        out = {}
        for core in cores:
            name = core[:260].split(b"\0")[0].decode("latin-1")
            _packed, child, size, _reserved, offset = struct.unpack("<5i", core[260:280])
            if child:
                out.update(walk(data + offset, prefix + name + "/"))
            else:
                out[prefix + name] = raw[data + offset: data + offset + size]
        return out

    return walk(0, "")


def collect(package: str, root: Path, work: Path, version: str) -> list[Item]:
    version = version.replace(":", "%3a")  # as in the .deb's file name: a safe folder name
    if package == "ktuberling-data":
        items = ktuberling(package, root)
    elif package == "gcompris-qt-data":
        items = gcompris(package, root, work / "gcompris-rcc" / version)
    elif package in VOICE_PACKAGES:
        items = voices(package, root)
    elif package in INSTRUMENT_NOTES:
        items = soundfont_notes(package, root, work / "soundfont" / f"{package}_{version}")
    elif package in ARCHIVES:
        items = archived(package, root, work / "archives" / f"{package}_{version}")
    elif package in WAVPACK_PACKAGES:
        items = wavpack_decoded(package, root, work / "decoded" / f"{package}_{version}")
    elif package in CATALOGUES:
        items = catalogued(package, root, work / "catalogues" / f"{package}_{version}")
    else:
        items = plain(package, root)
    return [apply_rules(item) for item in items]


# Licenses of files whose package has no machine-readable copyright file.
FREE_TEXT_LICENSES = {  # the whole package
    "fillets-ng-data-cs": "GPL-2",  # "version 2 dated June, 1991"
    "fillets-ng-data-nl": "GPL-2",
    "nexuiz-data": "GPL-2+",
    # free-text copyright ("some files belonging to the game content are licensed under CC-BY-3.0 or CC0");
    # Sound.ocg's authors.txt: "If not stated otherwise, the sound effects are licensed under CC-BY-3.0".
    "openclonk-data": "CC-BY-3.0 (per Sound.ocg/authors.txt)",  # "either version 2 ... or (at your option) any later version"
    "fluid-soundfont-gm": "MIT",  # "I hereby release Fluid under the MIT license" (README, quoted in copyright)
}
TUXTYPE_LICENSES = {  # from README_SOUNDS.TXT, quoted in tuxtype-data's copyright file
    "tuxi.ogg": "public-domain",
    "win.wav": "copyright-free (sample CD, per README_SOUNDS)",
    "winfinal.wav": "copyright-free (sample CD, per README_SOUNDS)",
}
