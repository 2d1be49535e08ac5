"""Reading OpenSSH ``known_hosts`` files the way OpenSSH does, line by line, never failing on one.

paramiko's own reader stops at the first line it cannot decode, and it reads marker lines
(``@cert-authority``, ``@revoked``) as host names, so one such line made every SSH device
fail. Here a line that cannot be read is skipped; ``@revoked`` keys are collected and
refused for every host, whatever host pattern their line names, even when another line lists them;
``@cert-authority`` lines are skipped: paramiko cannot check host certificates, so a host
is known only by its own key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REVOKED = "@revoked"


@dataclass
class KnownHosts:
    entries: list = field(default_factory=list)  # paramiko HostKeyEntry: host names and one key
    revoked: set[bytes] = field(default_factory=set)  # revoked keys, as their wire bytes
    skipped: int = 0  # lines not used: malformed, unknown key types, @cert-authority, other markers

    def is_revoked(self, key) -> bool:
        return key.asbytes() in self.revoked


def read_known_hosts(paths) -> KnownHosts:
    """Every readable ``known_hosts`` among ``paths`` (missing files are skipped), in order."""
    found = KnownHosts()
    for path in paths:
        path = Path(path)
        if not path.is_file():
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                _read_line(line, found)
    found.entries = [e for e in found.entries if not found.is_revoked(e.key)]
    return found


def _read_line(line: str, found: KnownHosts) -> None:
    fields = line.split()
    if not fields or fields[0].startswith("#"):
        return
    marker = fields.pop(0) if fields[0].startswith("@") else None
    if marker not in (None, REVOKED):
        found.skipped += 1
        return
    entry = _entry(fields)
    if entry is None:
        found.skipped += 1
    elif marker == REVOKED:
        found.revoked.add(entry.key.asbytes())
    else:
        found.entries.append(entry)


def _entry(fields: list[str]):
    """``hosts keytype base64 [comment]`` as a paramiko ``HostKeyEntry``, or None."""
    from paramiko.hostkeys import HostKeyEntry

    if len(fields) < 3:
        return None
    try:
        return HostKeyEntry.from_line(" ".join(fields[:3]))
    except Exception:  # InvalidHostKey (bad base64), SSHException, ValueError from a key's own parser
        return None
