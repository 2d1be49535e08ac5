"""What is in the PyInstaller bundle, and what it needs from the system it runs on.

Run: python packaging/bundle.py check dist/VoiceStudio     (exit 1 on any problem)
     python packaging/bundle.py list dist/VoiceStudio      (the bundle's entries, as the manifest spells them)
     python packaging/bundle.py depends dist/VoiceStudio   (system libraries and their Debian packages)

Checks:
- no desktop library (GTK, GLib, cairo, pango, ...) is inside: those must come from the
  user's system, never from the build machine (packaging/voicestudio.spec, from_python);
- every file is explained by packaging/bundle-manifest.txt, a committed list of entries
  grouped under comments that say why they are there. Version numbers and auditwheel's
  hash suffixes are written as ``#`` and ``HASH`` so an upgrade of a dependency does not
  count as an addition; a new library or plugin does, until the manifest says why. A line
  with ``*`` is a pattern (for data folders and package metadata only, never libraries);
- every library the bundle links against is either inside it or found on this machine.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = Path(__file__).resolve().parent / "bundle-manifest.txt"

# Desktop and system-integration libraries that must never be bundled (by soname prefix).
FORBIDDEN = (
    "libgtk", "libgdk", "libglib-", "libgio-", "libgobject-", "libgmodule-", "libgthread-", "libcairo",
    "libpango", "libharfbuzz", "libatk", "libatspi", "libgdk_pixbuf", "libepoxy", "libpixman", "libfribidi",
    "libthai", "libdatrie", "libgraphite2", "libfontconfig", "libfreetype", "libX", "libxcb", "libxkbcommon",
    "libwayland", "libdbus-", "libEGL", "libGL", "libOpenGL", "libpulse", "libasound", "libsystemd",
    "libstdc++", "libgcc_s", "libc.so", "libm.so", "libz.so",
)

# Needed at run time whether or not a library names it in DT_NEEDED (some Qt builds load it
# with dlopen()): soname -> why.
DLOPENED = {
    "libpulse.so.0": "QtMultimedia's audio output (playback)",
}

_HASH = re.compile(r"-[0-9a-f]{8}(?:-[0-9a-f]{8})?(?=[._])")
_NUMBER = re.compile(r"\d+")


def normalise(relative: str) -> str:
    """A bundle path as the manifest writes it: auditwheel hashes as HASH, numbers as #."""
    return _NUMBER.sub("#", _HASH.sub("-HASH", relative))


def entries(bundle: Path) -> list[str]:
    """Every file and link in the bundle, relative to it, normalised; sorted, no repeats."""
    return sorted({normalise(p.relative_to(bundle).as_posix())
                   for p in bundle.rglob("*") if p.is_file() or p.is_symlink()})


def read_manifest(path: Path = MANIFEST) -> set[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def is_elf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def elf_files(bundle: Path) -> list[Path]:
    return [p for p in sorted(bundle.rglob("*")) if p.is_file() and not p.is_symlink() and is_elf(p)]


def _readelf(*args: str) -> str:
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True, check=True).stdout


def needed(path: Path) -> list[str]:
    """The sonames a library or program names in DT_NEEDED."""
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", _readelf("-d", str(path)))


def glibc_versions(path: Path) -> set[tuple[int, ...]]:
    """The GLIBC_x.y symbol versions a file requires."""
    return {tuple(int(n) for n in v.split(".")) for v in re.findall(r"Name: GLIBC_([\d.]+)", _readelf("-V", str(path)))}


def system_library_paths() -> dict[str, str]:
    """soname -> path, from the dynamic linker's cache (this machine's architecture only)."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    found: dict[str, str] = {}
    for name, flags, path in re.findall(r"^\s*(\S+) \(([^)]*)\) => (\S+)$", out, re.M):
        if "x86-64" in flags or "64bit" in flags or sys.maxsize < 2**32:
            found.setdefault(name, path)
    return found


def debian_package(path: str) -> str | None:
    """The installed Debian package that owns a file (its /usr-merged twin too), or None."""
    for candidate in (path, path.replace("/lib/", "/usr/lib/", 1) if path.startswith("/lib/") else
                      path.replace("/usr/lib/", "/lib/", 1)):
        done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.split(":", 1)[0].strip()
    return None


@dataclass
class SystemNeeds:
    """What the bundle takes from the machine it runs on."""

    libraries: dict[str, str | None] = field(default_factory=dict)  # soname -> Debian package (None: not found here)
    glibc: tuple[int, ...] = (2, 17)

    @property
    def missing(self) -> list[str]:
        return sorted(name for name, package in self.libraries.items() if package is None)

    def depends(self) -> str:
        """A Debian ``Depends:`` value."""
        packages = sorted({p for p in self.libraries.values() if p} - {"libc6"})
        return ", ".join([f"libc6 (>= {'.'.join(map(str, self.glibc))})", *packages])


def system_needs(bundle: Path) -> SystemNeeds:
    files = elf_files(bundle)
    inside = {p.name for p in bundle.rglob("*")}
    sonames = set(DLOPENED)
    glibc = {(2, 17)}
    for path in files:
        sonames.update(needed(path))
        glibc |= glibc_versions(path)
    cache = system_library_paths()
    result = SystemNeeds(glibc=max(glibc))
    for soname in sorted(sonames - inside):
        path = cache.get(soname)
        result.libraries[soname] = debian_package(path) if path else None
    return result


def check(bundle: Path, manifest: Path = MANIFEST) -> list[str]:
    """Every problem with the bundle, one line each (an empty list: it passes)."""
    problems = []
    for path in sorted(bundle.rglob("*")):
        if path.name.startswith(FORBIDDEN):
            problems.append(f"desktop/system library inside the bundle: {path.relative_to(bundle)}")
    allowed = read_manifest(manifest)
    patterns = [line for line in allowed if "*" in line]
    for entry in entries(bundle):
        if entry not in allowed and not any(fnmatch.fnmatchcase(entry, p) for p in patterns):
            problems.append(f"not in {manifest.name}: {entry} (add it under the heading that explains it)")
    dangling = [p for p in bundle.rglob("*") if p.is_symlink() and not p.exists()]
    problems += [f"link to nothing: {p.relative_to(bundle)}" for p in dangling]
    needs = system_needs(bundle)
    problems += [f"needs {name}, found neither in the bundle nor on this machine" for name in needs.missing]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("check", "list", "depends"))
    parser.add_argument("bundle", type=Path)
    args = parser.parse_args(argv)
    if not args.bundle.is_dir():
        parser.error(f"{args.bundle} is not a folder")
    if args.action == "list":
        print("\n".join(entries(args.bundle)))
        return 0
    if args.action == "depends":
        needs = system_needs(args.bundle)
        for soname, package in needs.libraries.items():
            print(f"{soname}\t{package or 'NOT FOUND'}")
        print(f"Depends: {needs.depends()}")
        return 1 if needs.missing else 0
    problems = check(args.bundle)
    removed = sorted(line for line in read_manifest() - set(entries(args.bundle)) if "*" not in line)
    for line in removed:
        print(f"note: in the manifest but not in the bundle: {line}")
    for line in problems:
        print(f"bundle: {line}")
    print(f"bundle: {len(entries(args.bundle))} entries, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
