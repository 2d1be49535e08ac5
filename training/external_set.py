"""The external evaluation set: clips from Debian packages that training never uses.

The set is fixed by a listing, ``training/external_set.csv`` (package, version, path inside
the package, label, source, sha256, duration), so every run scores the same clips:

    python training/external_set.py --work /work/corpus-work            # check / fetch the clips
    python training/external_set.py --work /work/corpus-work --rebuild  # audit again, rewrite the listing

Seven packages, none of them in ``sources.PACKAGES`` (the training corpus) and none of the
packages reserved for the independent evaluation (klettres-data, hedgewars-data, wesnoth,
alsa-utils). ``path`` is the installed path; a sound inside a zip archive (warzone's ``.wz``,
ufoai's ``.pk3``) is written ``ARCHIVE!MEMBER``. The label policy is training/README.md's.
Files the rules do not name are left out (only audited folders are used), and so is every
file a rule excludes (may hold a voice, or a voice that may be synthetic).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import sys
import zipfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import debsrc  # noqa: E402
from sources import HUMAN, NONHUMAN, RESERVED  # noqa: E402
from sources import HARD_NEGATIVES, INSTRUMENT_NOTES, PACKAGES as TRAINING_PACKAGES  # noqa: E402

LISTING = Path(__file__).resolve().parent / "external_set.csv"
FIELDS = ("package", "version", "path", "label", "source", "sha256", "duration_s")
AUDIO = re.compile(r"\.(wav|ogg|oga|opus|flac)$", re.I)
ARCHIVES = re.compile(r"\.(wz|pk3)$", re.I)

PACKAGES = (
    "warzone2100-data",  # English voice actors (radio messages, tutorial, taunts, screams); weapons, vehicles
    "warmux-data",  # cartoon exclamations, shouts and screams; weapons, interface
    "ufoai-sound",  # soldiers' and civilians' hurt and death cries; weapons, ambience, doors, footsteps
    "pingus-data",  # short exclamations ("oh no", "yipee"); interface sounds
    "pocketsphinx-testdata",  # read English speech (LibriVox, test sentences)
    "oxygen-sounds",  # desktop notification sounds
    "sound-icons",  # instrument and percussion samples, a canary
)


@dataclass(frozen=True)
class Rule:
    package: str
    pattern: str  # regex searched in the clip's path (ARCHIVE!MEMBER for archived sounds)
    label: str | None  # HUMAN, NONHUMAN, or None = left out
    source: str  # the per-source breakdown's name
    reason: str = ""
    cap: int = 0  # at most this many clips of the source (0: all), picked by sha256 order


# First matching rule wins. Decisions come from names, durations, the programs' own
# folders and the shipped detector's and a voicing measure's numbers (see README.md).
RULES = (
    # warzone2100-data: base.wz
    Rule("warzone2100-data", r"!audio/nexus/", None, "", "NEXUS AI voice: a processed or synthetic voice"),
    Rule("warzone2100-data", r"!audio/(multi|sequenceaudio)/|!sequenceaudio/", None, "",
         "cut-scene mixes and multiplayer cues: not all checked for a voice"),
    Rule("warzone2100-data", r"!audio/sfx/misc/silence\.ogg$", None, "", "silence"),
    Rule("warzone2100-data", r"!audio/sfx/misc/(scream|help)", HUMAN, "warzone screams",
         "screams and a shout for help"),
    Rule("warzone2100-data", r"!audio/taunts/", HUMAN, "warzone screams", "taunts and laughter"),
    Rule("warzone2100-data", r"!audio/(vtoltalk|trnsppil)/", HUMAN, "warzone radio",
         "pilots' radio talk (band-limited, distorted)"),
    Rule("warzone2100-data", r"!audio/(coltive|countdown|extra|memressp|proxmessages|tutorial)/", HUMAN,
         "warzone voices", "voice actors' messages and tutorial", cap=120),
    Rule("warzone2100-data", r"!audio/(sfx|radclick)/", NONHUMAN, "warzone sfx",
         "weapons, explosions, vehicles, buildings, interface beeps, radio clicks"),
    # warmux-data
    Rule("warmux-data", r"/voices/theme\d", None, "", "team jingles: not checked for singing"),
    Rule("warmux-data", r"/voices/", HUMAN, "warmux voices", "exclamations, shouts, screams, laughter"),
    Rule("warmux-data", r"/misc/(sherif|victory|newcomer|frog_music)\.", None, "",
         "jingles that may hold a voice or singing"),
    Rule("warmux-data", r"/sound/default/(misc|weapons)/", NONHUMAN, "warmux sfx", "weapons and interface"),
    # ufoai-sound: base/0snd.pk3
    Rule("ufoai-sound", r"!sound/aliens/", None, "", "alien creature cries: source unknown (may be voices)"),
    Rule("ufoai-sound", r"!sound/ambience/(radiomessage|tv_newswav|aliencom|disco|city_|sand-city|jingle)", None, "",
         "radio, TV, music or city ambience that may hold a voice"),
    Rule("ufoai-sound", r"!sound/misc/talk\.ogg$", None, "", "chat sound: not checked"),
    Rule("ufoai-sound", r"!sound/(soldiers|civilians)/", HUMAN, "ufoai cries", "hurt and death cries, screams"),
    Rule("ufoai-sound", r"!sound/", NONHUMAN, "ufoai sfx",
         "weapons, impacts, doors, footsteps, machines, weather, interface", cap=150),
    # pingus-data
    Rule("pingus-data", r"/sounds/(goodidea|letsgo|ohno|yipee)\.wav$", HUMAN, "pingus voices", "short exclamations"),
    Rule("pingus-data", r"/sounds/", NONHUMAN, "pingus sfx", "interface and digging sounds"),
    # pocketsphinx-testdata
    Rule("pocketsphinx-testdata", r"/test/data/", HUMAN, "pocketsphinx speech", "read English sentences"),
    # oxygen-sounds
    Rule("oxygen-sounds", r"/sounds/Oxygen-", NONHUMAN, "oxygen desktop", "notification sounds"),
    # sound-icons
    Rule("sound-icons", r"/cockchafer-gentleman", None, "", "name suggests a voice: not checked"),
    Rule("sound-icons", r"/sound-icons/", NONHUMAN, "sound-icons", "instrument, percussion and bird samples"),
)


@dataclass(frozen=True)
class Clip:
    package: str
    version: str
    path: str  # installed path, or ARCHIVE!MEMBER
    label: str
    source: str
    sha256: str
    duration_s: float


def check_packages() -> None:
    """The set's packages must never be training's, nor the independent evaluation's."""
    overlap = set(PACKAGES) & {*TRAINING_PACKAGES, *INSTRUMENT_NOTES, *HARD_NEGATIVES}
    reserved = [p for p in PACKAGES if p.startswith(RESERVED)]
    if overlap or reserved:
        raise SystemExit(f"external set packages also used elsewhere: {sorted(overlap) + reserved}")


def sounds(root: Path):
    """(path, bytes) of every audio file of an unpacked package, archives opened."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if AUDIO.search(path.name):
            yield relative, path.read_bytes()
        elif ARCHIVES.search(path.name):
            with zipfile.ZipFile(path) as archive:
                for member in sorted(archive.namelist()):
                    if AUDIO.search(member):
                        yield f"{relative}!{member}", archive.read(member)


def rule_for(package: str, path: str) -> Rule | None:
    for rule in RULES:
        if rule.package == package and re.search(rule.pattern, path):
            return rule
    return None


def audio_digest(data: bytes) -> str | None:
    """Hash of the decoded audio, so one recording shipped twice is listed once (None: undecodable)."""
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception:
        return None
    if not len(samples) or not np.any(samples):
        return None
    pcm = np.round(np.clip(samples, -1, 1) * 32767).astype("<i2")
    return hashlib.sha256(f"{rate}:{pcm.shape}".encode() + pcm.tobytes()).hexdigest()


def build(work: Path) -> list[Clip]:
    """Apply the rules to the packages and pick the clips (the listing's content)."""
    check_packages()
    picked: dict[tuple[str, str], list[Clip]] = defaultdict(list)
    caps: dict[tuple[str, str], int] = {}
    seen: set[str] = set()
    for name in PACKAGES:
        package = debsrc.fetch(name, work)
        if package.error:
            raise SystemExit(f"{name}: {package.error}")
        for path, data in sounds(package.root):
            rule = rule_for(name, path)
            if rule is None or rule.label is None:
                continue
            digest = audio_digest(data)
            if digest is None or digest in seen:
                continue
            seen.add(digest)
            info = sf.info(io.BytesIO(data))
            clip = Clip(name, package.version, path, rule.label, rule.source,
                        hashlib.sha256(data).hexdigest(), round(info.frames / info.samplerate, 3))
            picked[(name, rule.source)].append(clip)
            caps[(name, rule.source)] = rule.cap
    clips = []
    for key, found in picked.items():
        found.sort(key=lambda c: c.sha256)
        clips += found[: caps[key] or None]
        if caps[key] and len(found) > caps[key]:
            print(f"{key[0]} / {key[1]}: {caps[key]} of {len(found)} clips (the cap)")
    return sorted(clips, key=lambda c: (c.package, c.path))


def write_listing(clips: list[Clip], path: Path = LISTING) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(asdict(c) for c in clips)


def read_listing(path: Path = LISTING) -> list[Clip]:
    with open(path, newline="", encoding="utf-8") as f:
        return [Clip(**{**row, "duration_s": float(row["duration_s"])}) for row in csv.DictReader(f)]


@dataclass(frozen=True)
class LocalClip:
    clip: Clip
    file: Path  # a readable copy on disk


def materialise(work: Path, listing: Path = LISTING, report=print) -> list[LocalClip]:
    """The listed clips as files under WORK/external-clips, checked against their sha256.

    A clip whose package or content differs from the listing is reported and left out;
    the others are still returned.
    """
    clips = read_listing(listing)
    roots: dict[str, Path | None] = {}
    out_dir = work / "external-clips"
    local = []
    for clip in clips:
        target = out_dir / clip.package / clip.path.replace("!", "/")
        if not target.exists() or hashlib.sha256(target.read_bytes()).hexdigest() != clip.sha256:
            if clip.package not in roots:
                package = debsrc.fetch(clip.package, work)
                if package.error:
                    report(f"MISSING {clip.package}: {package.error}")
                roots[clip.package] = package.root
                if package.version and package.version != clip.version:
                    report(f"NOTE {clip.package}: apt has {package.version}, the listing {clip.version}")
            root = roots[clip.package]
            if root is None:
                continue
            data = read_member(root, clip.path)
            if data is None or hashlib.sha256(data).hexdigest() != clip.sha256:
                report(f"SKIP {clip.package}:{clip.path}: " + ("not in the package" if data is None else
                                                              "content differs from the listing"))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        local.append(LocalClip(clip, target))
    return local


def read_member(root: Path, path: str) -> bytes | None:
    archive, _, member = path.partition("!")
    file = root / archive
    if not file.is_file():
        return None
    if not member:
        return file.read_bytes()
    with zipfile.ZipFile(file) as z:
        return z.read(member) if member in z.namelist() else None


def describe(clips: list[Clip]) -> str:
    lines = [f"{len(clips)} clips, {sum(c.label == HUMAN for c in clips)} human "
             f"({100 * np.mean([c.label == HUMAN for c in clips]):.0f} %), "
             f"{len({c.package for c in clips})} packages, {sum(c.duration_s for c in clips) / 60:.1f} min"]
    counts = Counter((c.package, c.source, c.label) for c in clips)
    minutes = defaultdict(float)
    for c in clips:
        minutes[(c.package, c.source, c.label)] += c.duration_s / 60
    for key in sorted(counts):
        lines.append(f"  {key[2]:9} {key[0]:22} {key[1]:20} {counts[key]:>4} clips {minutes[key]:5.1f} min")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/voicestudio-corpus-work"),
                        help="cache of .deb files, unpacked packages and extracted clips")
    parser.add_argument("--rebuild", action="store_true", help="apply the rules again and rewrite the listing")
    args = parser.parse_args(argv)
    if args.rebuild:
        clips = build(args.work)
        write_listing(clips)
        print(f"wrote {LISTING}")
    local = materialise(args.work)
    print(describe([c.clip for c in local]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
