"""Debian package helpers: check, download (cached), unpack, read copyright.

Only ``apt-cache policy``, ``apt-get download``, ``dpkg-deb`` and ``dpkg -x``
are used; nothing is installed on the machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Package:
    name: str
    candidate: str | None = None  # from apt-cache policy; None: not known to apt
    deb: Path | None = None
    version: str | None = None  # of the .deb actually used
    root: Path | None = None  # unpacked tree
    error: str | None = None


def apt_candidate(name: str) -> str | None:
    """The candidate version apt would download, or None if apt does not know the package."""
    try:
        out = subprocess.run(["apt-cache", "policy", name], capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"^\s*Candidate:\s*(\S+)", out, re.M)
    if not match or match.group(1) == "(none)":
        return None
    return match.group(1)


def deb_field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True).stdout.strip()


def _cached_debs(debs: Path, name: str) -> list[Path]:
    found = []
    for deb in sorted(debs.glob(f"{name}_*.deb")):
        try:
            if deb_field(deb, "Package") == name:
                found.append(deb)
        except subprocess.CalledProcessError:
            deb.unlink()  # a broken download: fetch again
    return found


def fetch(name: str, work: Path, refresh: bool = False) -> Package:
    """Make sure the package's .deb is in WORK/debs and unpacked in WORK/unpacked.

    A cached .deb is reused (the build runs offline once everything is cached)
    unless ``refresh`` is set and apt has a different candidate version.
    """
    package = Package(name, candidate=apt_candidate(name))
    debs = work / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    cached = _cached_debs(debs, name)
    if package.candidate is None and not cached:
        package.error = "apt-cache policy: no candidate (package unknown to apt; run apt-get update?)"
        return package
    have = {deb_field(d, "Version"): d for d in cached}
    wanted = package.candidate if (refresh or not have) else None
    if wanted and wanted not in have:
        result = subprocess.run(["apt-get", "download", f"{name}={wanted}"], cwd=debs, capture_output=True, text=True)
        if result.returncode != 0:
            if not have:
                package.error = "apt-get download failed: " + (result.stderr.strip().splitlines() or ["?"])[-1]
                return package
        have = {deb_field(d, "Version"): d for d in _cached_debs(debs, name)}
    version = wanted if wanted in have else sorted(have)[-1]
    package.deb, package.version = have[version], version
    root = work / "unpacked" / f"{name}_{version.replace(':', '%3a')}"
    done = root / ".unpacked"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        subprocess.run(["dpkg", "-x", str(package.deb), str(root)], check=True)
        done.touch()
    package.root = root
    return package


# debian/copyright (machine-readable format 1.0) ---------------------------------

@dataclass
class Copyright:
    text: str
    machine_readable: bool
    stanzas: list[tuple[list[str], str]] = field(default_factory=list)  # (Files globs, License short name)

    @property
    def licenses(self) -> list[str]:
        """Every license short name the file declares (for a summary)."""
        names = {lic for _, lic in self.stanzas}
        names |= {m.strip() for m in re.findall(r"^License:[ \t]*(\S.*)$", self.text, re.M)}
        return sorted(n for n in names if n)

    def license_for(self, source_path: str) -> str | None:
        """The license of a source path: the last matching Files stanza wins (DEP-5)."""
        found = None
        for globs, lic in self.stanzas:
            if any(_dep5_match(g, source_path) for g in globs):
                found = lic
        return found


def _dep5_match(pattern: str, path: str) -> bool:
    # DEP-5: '*' matches any characters including '/', '?' one character; no [] classes.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, path) is not None


def read_copyright(root: Path, name: str) -> Copyright | None:
    path = root / "usr/share/doc" / name / "copyright"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    machine = text.startswith("Format:") and "copyright-format" in text.splitlines()[0]
    stanzas = []
    if machine:
        for block in re.split(r"\n[ \t]*\n", text):
            fields = _parse_stanza(block)
            if "files" in fields and "license" in fields:
                globs = fields["files"].split()
                licence = fields["license"].splitlines()[0].strip()
                stanzas.append((globs, licence))
    return Copyright(text, machine, stanzas)


def _parse_stanza(block: str) -> dict[str, str]:
    fields, key = {}, None
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
    return fields
