"""Fixtures for the store tests: a real SQLite project file in tmp_path, and the same tests
again on a fresh database of a real PostgreSQL server (``pg_server``, started by the tests)."""

import pytest

from voicestudio.store import clips
from voicestudio.store.project import open_project


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def project(request, tmp_path):
    """The project, on each backend."""
    if request.param == "postgresql":
        target = request.getfixturevalue("pg_server").new_database()
    else:
        target = tmp_path / "p.vsproj"
    p = open_project(target)
    yield p
    p.close()


@pytest.fixture
def sqlite_project(tmp_path):
    """For what only SQLite has (the file, PRAGMAs, triggers): ``tmp_path / "p.vsproj"``."""
    p = open_project(tmp_path / "p.vsproj")
    yield p
    p.close()


def _add_clips(project, n=3, prefix="/audio/f", group="g"):
    ids = []
    with project.write() as s:
        for i in range(n):
            f = clips.add_or_update_file(
                s, path=f"{prefix}{i}.wav", sha256=f"{i:064x}", size_bytes=100, mtime=1.0, format="WAV",
                subtype="PCM_16", sample_rate=16000, channels=1, frames=16000, duration_s=1.0, source_group=group,
            )
            ids.append(clips.add_clip(s, f.id, 0.0, 1.0)[0].id)
    return ids


@pytest.fixture
def make_clips():
    """make_clips(project, n=3, prefix="/audio/f", group="g") -> clip ids: one 1 s clip per file."""
    return _add_clips
