"""Settings of the project itself (not of one user): a key-value table, read and written here only."""

from __future__ import annotations

from sqlalchemy import select

from voicestudio.store.schema import ProjectSetting, utcnow

DEFAULT_MODEL = "default_model_sha256"  # the models row the project predicts with, by its file's SHA-256
KEYS = frozenset({DEFAULT_MODEL})  # a typo'd key must fail loudly, not store a setting nobody reads


def _check(key: str) -> str:
    if key not in KEYS:
        raise ValueError(f"unknown project setting {key!r}: one of {', '.join(sorted(KEYS))}")
    return key


def get_setting(session, key: str) -> str | None:
    return session.scalar(select(ProjectSetting.value).where(ProjectSetting.key == _check(key)))


def set_setting(session, key: str, value: str | None) -> None:
    """Store ``value`` under ``key``; None removes the setting."""
    row = session.get(ProjectSetting, _check(key))
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(ProjectSetting(key=key, value=str(value)))
    else:
        row.value, row.updated_at = str(value), utcnow()
    session.flush()
