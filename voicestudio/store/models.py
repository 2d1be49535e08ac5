"""Detector models known to the project, by the SHA-256 of the model file."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from voicestudio.store.clips import check_sha256
from voicestudio.store.schema import Model


def register_model(session, sha256: str, path: str, card: dict) -> Model:
    """The model row for this file content, added once (idempotent by hash).

    A model seen again keeps its id (and so its predictions); its path, name,
    version and card follow the latest registration.
    """
    sha256 = check_sha256(sha256)
    name = str(card.get("name") or Path(str(path)).stem or "model")
    version = None if card.get("version") is None else str(card["version"])
    card_json = json.dumps(card, sort_keys=True)
    model = find_model(session, sha256)
    if model is None:
        model = Model(sha256=sha256, path=str(path), name=name, version=version, card_json=card_json)
        session.add(model)
    else:
        model.path, model.name, model.version, model.card_json = str(path), name, version, card_json
    session.flush()
    return model


def find_model(session, sha256: str) -> Model | None:
    return session.scalar(select(Model).where(Model.sha256 == str(sha256).lower()))


def get_model(session, model_id: int) -> Model | None:
    return session.get(Model, model_id)


def list_models(session) -> list[Model]:
    return list(session.scalars(select(Model).order_by(Model.id)))


def model_card(model: Model) -> dict:
    return json.loads(model.card_json)
