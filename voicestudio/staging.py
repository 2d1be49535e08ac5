"""Folders (and files) filled beside their destination and moved into place whole, named after the process that fills them.

``export`` writes ``OUT`` as ``.OUT.partial-<owner>-<random>`` beside it and
renames it to ``OUT`` when complete; an ``OUT`` it replaces is first set aside
as ``.OUT.old-<owner>-<random>/export``. A process killed with SIGKILL cannot
remove its folders, so their names say who owns them: ``<owner>`` is
``<pid>-<start>-<machine>-<boot>``, the process id, its start time (clock
ticks after boot, so a reused PID is not taken for the owner), and the first
hex digits of the machine id and boot id (``/etc/machine-id``,
``/proc/sys/kernel/random/boot_id``). ``remove_stale`` removes the folders of
owners that are gone: a process of this boot that no longer runs, or any
process of an earlier boot of this machine. Folders of another machine (a
shared network folder) are left alone, as are names without an owner.

``db backup`` names its partial file the same way (``make_partial_file``), so a
killed backup's file (and the SQLite side files beside it) is removed too.

Folders are made with ``os.mkdir(0o777)``, so they get the user's umask
(``mkdtemp`` would make them 0700); a folder replacing an existing one keeps
that folder's permissions.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import secrets
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)-(?P<started>\d+)-(?P<machine>[0-9a-f]+)"
                   r"-(?P<boot>[0-9a-f]+)-[0-9a-f]+$")
_SET_ASIDE = "export"  # what the folder set aside is called inside its .old- folder
_UNKNOWN = "0"
log = logging.getLogger(__name__)


def _first_hex(path: str) -> str:
    """The first 8 hex digits of an id file ("0" if there is none)."""
    try:
        with open(path, encoding="ascii") as f:
            digits = re.sub(r"[^0-9a-f]", "", f.read().lower())
    except (OSError, ValueError):
        return _UNKNOWN
    return digits[:8] or _UNKNOWN


def _start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot, Linux); None if no such process (or not Linux)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()  # the name before ")" may hold spaces
    except (OSError, IndexError):
        return None
    return int(fields[19])  # field 22 of proc(5); fields[0] is field 3


@functools.cache
def _machine_and_boot() -> tuple[str, str]:
    return _first_hex("/etc/machine-id"), _first_hex("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True)
class Owner:
    """The process that fills a folder."""

    pid: int
    started: int  # clock ticks after boot; 0 where unknown
    machine: str  # first hex digits of the machine id; "0" where unknown
    boot: str  # first hex digits of the boot id; "0" where unknown

    @classmethod
    def current(cls) -> Owner:
        pid = os.getpid()
        return cls(pid, _start_ticks(pid) or 0, *_machine_and_boot())

    def tag(self) -> str:
        return f"{self.pid}-{self.started}-{self.machine}-{self.boot}"

    def is_gone(self) -> bool:
        """True only when sure the owner no longer runs; a folder of another machine may still be in use."""
        machine, boot = _machine_and_boot()
        if _UNKNOWN not in (self.machine, machine) and self.machine != machine:
            return False
        if _UNKNOWN not in (self.boot, boot) and self.boot != boot:
            return True  # this machine has rebooted since
        if os.path.isdir("/proc/self"):
            started = _start_ticks(self.pid)
            return started is None or (self.started != 0 and started != self.started)
        if os.name == "nt":
            return False  # os.kill would terminate the process there
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False  # it exists (another user's)
        return False


@dataclass(frozen=True)
class StaleFolder:
    """A folder left by a process that is gone, and what was done with it."""

    path: Path
    pid: int
    restored: Path | None = None  # a folder set aside and put back (its replacement never arrived)
    what: str = "export"

    def describe(self) -> str:
        if self.restored is not None:
            return f"put back {self.restored} from {self.path.name}, left by process {self.pid} that stopped mid-{self.what}"
        return f"removed {self.path}, left by process {self.pid} that stopped mid-{self.what}"


def _make_folder(parent: Path, name: str, kind: str) -> Path:
    tag = Owner.current().tag()
    while True:
        folder = parent / f".{name}.{kind}-{tag}-{secrets.token_hex(2)}"
        try:
            os.mkdir(folder, 0o777)
            return folder
        except FileExistsError:
            continue


def make_staging(out: Path) -> Path:
    """An empty folder beside ``out`` to fill before ``move_into_place``."""
    return _make_folder(out.parent, out.name, "partial")


def make_partial_file(out: Path, mode: int = 0o600) -> Path:
    """An empty file beside ``out`` to fill and rename to ``out``, named after this process."""
    tag = Owner.current().tag()
    while True:
        path = out.parent / f".{out.name}.partial-{tag}-{secrets.token_hex(2)}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
            return path
        except FileExistsError:
            continue


def move_into_place(staging: Path, out: Path) -> None:
    """Replace ``out`` (if any) with ``staging``; the earlier ``out`` is removed only once the new one is there."""
    old = None
    if out.exists():
        os.chmod(staging, stat.S_IMODE(os.stat(out).st_mode))
        old = _make_folder(out.parent, out.name, "old")
        os.replace(out, old / _SET_ASIDE)
    try:
        os.replace(staging, out)
    except OSError:
        if old is not None:
            os.replace(old / _SET_ASIDE, out)  # put the earlier folder back
            os.rmdir(old)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_stale(parent: Path) -> list[StaleFolder]:
    """Remove the staging folders in ``parent`` whose owner is gone; put back a folder set aside with no successor."""
    handled = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return handled
    for entry in entries:
        match = _NAME.match(entry.name)
        try:
            is_folder = entry.is_dir(follow_symlinks=False)
            if match is None or not (is_folder or (match["kind"] == "partial" and entry.is_file(follow_symlinks=False))):
                continue
            if hasattr(os, "geteuid") and entry.stat(follow_symlinks=False).st_uid != os.geteuid():
                continue  # another user's: not ours to judge
        except OSError:
            continue  # removed meanwhile (by another export cleaning up)
        owner = Owner(int(match["pid"]), int(match["started"]), match["machine"], match["boot"])
        if not owner.is_gone():
            continue
        folder = Path(entry.path)
        restored = None
        destination = parent / match["name"]
        set_aside = folder / _SET_ASIDE
        if match["kind"] == "old" and set_aside.is_dir() and not os.path.lexists(destination):
            try:
                os.replace(set_aside, destination)  # killed between setting it aside and moving its successor in
                restored = destination
            except OSError:
                pass
        if is_folder:
            shutil.rmtree(folder, ignore_errors=True)
        else:  # a backup's partial file, with whatever SQLite left beside it
            for path in (folder, *(Path(f"{folder}{side}") for side in ("-journal", "-wal", "-shm"))):
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    pass
        if restored is not None or not os.path.lexists(folder):
            handled.append(StaleFolder(folder, owner.pid, restored, "export" if is_folder else "backup"))
            log.info("%s", handled[-1].describe())
    return handled
