"""A throwaway PostgreSQL server for the tests: Debian's binaries, a cluster in a temp folder.

``start_postgres()`` runs ``initdb`` and ``pg_ctl start`` (as the ``postgres`` user when
the tests run as root, which PostgreSQL refuses to run as) with trust authentication on
127.0.0.1 and a free port; ``PgServer.new_database()`` gives the URL of a fresh database.
Without the server's programs (:func:`find_bin_dir`) the ``pg_server`` fixture skips its tests
locally and fails them in CI (``tests/components.py``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

APT_PACKAGE = "postgresql"
USER = "voicestudio"


def find_bin_dir() -> Path | None:
    """Debian keeps the server's programs in /usr/lib/postgresql/VERSION/bin (newest first)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user() -> list[str]:
    """A prefix that runs a command as ``postgres`` when we are root (the server refuses root)."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    port: int
    data_dir: Path
    bin_dir: Path

    @property
    def admin_url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def new_database(self, prefix: str = "vs") -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run([*_as_server_user(), str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_postgres() -> PgServer:
    """A new cluster in its own folder under the temp dir (not pytest's: that one is private to
    root, and the server runs as ``postgres``)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's server programs are not installed: apt-get install postgresql")
    workdir = Path(tempfile.mkdtemp(prefix="voicestudio-pg-"))
    data_dir, socket_dir = workdir / "data", workdir / "socket"
    socket_dir.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(socket_dir, "postgres")
        os.chmod(workdir, 0o755)
    prefix = _as_server_user()
    done = subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", USER, "--auth=trust",
                           "-E", "UTF8", "--locale=C.UTF-8"], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr.strip()[-1000:]}")
    port = _free_port()
    options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
    done = subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options, "-l",
                           str(workdir / "server.log"), "-w", "-t", "60", "start"], capture_output=True, text=True,
                          timeout=90)
    if done.returncode != 0:
        log = (workdir / "server.log").read_text(errors="replace") if (workdir / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()[-500:]}\n{log[-1500:]}")
    return PgServer(port, data_dir, bin_dir)
