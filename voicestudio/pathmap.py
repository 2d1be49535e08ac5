"""Per-machine path prefixes, so one shared project finds its audio on every team member's machine.

A team project (on PostgreSQL, or a shared SQLite file) stores each audio file's path as
it was imported, e.g. ``/mnt/team/audio/x.wav``. On a Mac the same share may be
``/Volumes/team/audio``, on Windows ``Z:\\audio``. A path map, set per machine, says so:

    VOICESTUDIO_PATH_MAP="/mnt/team/audio=/Volumes/team/audio"      (';' between several)

or ``path_map`` in the settings file, or ``--path-map`` on the command line. Reading audio
turns a stored prefix into the local one (``local``); importing turns a local path back
into the stored form (``stored``), so every machine keeps writing the same paths. The
longest matching prefix wins, and prefixes only match whole path components.
"""

from __future__ import annotations

import ntpath
import os
from dataclasses import dataclass

ENV_VAR = "VOICESTUDIO_PATH_MAP"


def _norm(prefix: str) -> str:
    prefix = prefix.strip()
    return prefix.rstrip("/\\") or prefix[:1]  # "/" stays "/"


def _under(path: str, prefix: str) -> str | None:
    """The rest of ``path`` after ``prefix`` (matching whole components), or None."""
    if path == prefix:
        return ""
    for sep in ("/", "\\"):
        head = prefix if prefix.endswith(sep) else prefix + sep
        if path.startswith(head):
            return path[len(head):]
    return None


def _join(prefix: str, rest: str) -> str:
    if not rest:
        return prefix
    windows = ntpath.splitdrive(prefix)[0] != "" or "\\" in prefix
    sep = "\\" if windows else "/"
    rest = rest.replace("/", sep) if windows else rest.replace("\\", "/")
    return prefix.rstrip("/\\") + sep + rest


@dataclass(frozen=True)
class PathMap:
    pairs: tuple[tuple[str, str], ...] = ()  # (stored prefix, local prefix)

    @classmethod
    def parse(cls, text: str | None) -> "PathMap":
        """``STORED=LOCAL`` pairs separated by ';' or new lines; ValueError on a malformed one."""
        pairs = []
        for item in (text or "").replace("\n", ";").split(";"):
            if not item.strip():
                continue
            stored, sep, local = item.partition("=")
            if not sep or not stored.strip() or not local.strip():
                raise ValueError(f"a path map entry is STORED_PREFIX=LOCAL_PREFIX, not {item.strip()!r}")
            pairs.append((_norm(stored), _norm(local)))
        return cls(tuple(pairs))

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def _translate(self, path: str, source: int) -> str:
        best = None
        for pair in self.pairs:
            rest = _under(path, pair[source])
            if rest is not None and (best is None or len(pair[source]) > len(best[0][source])):
                best = (pair, rest)
        if best is None:
            return path
        pair, rest = best
        return _join(pair[1 - source], rest)

    def local(self, stored_path: str) -> str:
        """Where a stored path is on this machine."""
        return self._translate(str(stored_path), 0)

    def stored(self, local_path: str) -> str:
        """The form a local path is stored in (what the other machines map from)."""
        return self._translate(str(local_path), 1)

    def describe(self) -> str:
        return "; ".join(f"{s} = {l}" for s, l in self.pairs)


_active: PathMap | None = None


def active() -> PathMap:
    """This process's map: set by ``use``, else $VOICESTUDIO_PATH_MAP, else the settings file."""
    global _active
    if _active is None:
        text = os.environ.get(ENV_VAR)
        if text is None:
            from voicestudio.settings import load_settings

            text = load_settings().path_map
        try:
            _active = PathMap.parse(text)
        except ValueError:
            _active = PathMap()  # a damaged setting never stops the app; `--path-map` reports it
    return _active


def use(path_map: PathMap | None) -> None:
    """Set this process's map (the CLI's --path-map); None: read the environment again."""
    global _active
    _active = path_map
