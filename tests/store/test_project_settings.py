"""Settings of the project itself (0005_project_settings): the default model everyone who opens the
project predicts with. On a real SQLite file and a real PostgreSQL server; an old project upgrades
to one without a default (the built-in model) and takes one afterwards."""

import shutil
from pathlib import Path

import pytest

from voicestudio.dataset import workspace
from voicestudio.store import project_settings
from voicestudio.store.models import find_model, list_models
from voicestudio.store.project import open_project

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"


def test_a_setting_is_stored_replaced_and_removed(project):
    key = project_settings.DEFAULT_MODEL
    with project.session() as s:
        assert project_settings.get_setting(s, key) is None
    with project.write() as s:
        project_settings.set_setting(s, key, "ab" * 32)
    with project.write() as s:
        project_settings.set_setting(s, key, "cd" * 32)
    with project.session() as s:
        assert project_settings.get_setting(s, key) == "cd" * 32
    with project.write() as s:
        project_settings.set_setting(s, key, None)
        project_settings.set_setting(s, key, None)  # removing what is not there is no error
    with project.session() as s:
        assert project_settings.get_setting(s, key) is None


def test_an_unknown_key_is_refused(project):
    with pytest.raises(ValueError, match="unknown project setting"), project.write() as s:
        project_settings.set_setting(s, "defualt_model", "x")


def test_adopting_a_model_registers_it_and_makes_it_the_default(tmp_path, tiny_model):
    from voicestudio.model.detector import Detector

    path = tmp_path / "p.vsproj"
    with open_project(path) as project:
        assert workspace.default_model(project) is None
        model_id = workspace.adopt_model(project, str(tiny_model))
        with project.session() as s:
            assert find_model(s, Detector(tiny_model).sha256).id == model_id
        assert workspace.default_model(project) == str(tiny_model)
    # Stored in the project, not in anyone's settings: a new opening, with no model asked for, loads it.
    ws = workspace.open_workspace(str(path), personal_model="")
    try:
        assert Path(ws.model.detector.path) == Path(tiny_model) and ws.model.model_id == model_id
    finally:
        ws.project.close()
    # A model chosen in this session wins; the built-in one ("") stays choosable.
    ws = workspace.open_workspace(str(path), model_path="")
    try:
        assert ws.model.detector.card.name != Detector(tiny_model).card.name
        workspace.adopt_model(ws.project, None)
        assert workspace.default_model(ws.project) is None
    finally:
        ws.project.close()


def test_a_project_without_a_default_falls_back_to_the_users_last_model(tmp_path, tiny_model):
    ws = workspace.open_workspace(str(tmp_path / "p.vsproj"), personal_model=str(tiny_model))
    try:
        assert Path(ws.model.detector.path) == Path(tiny_model)
    finally:
        ws.project.close()


def test_a_read_only_project_refuses_a_new_default(tmp_path, tiny_model):
    from voicestudio.errors import VoiceStudioError

    with open_project(tmp_path / "p.vsproj") as project:
        project.read_only = True  # as open_project marks a file this process cannot write
        with pytest.raises(VoiceStudioError, match="read-only"):
            workspace.adopt_model(project, str(tiny_model))


@pytest.mark.parametrize("revision", ["0003_postgres_append_only", "0004_replaced_files"])
def test_an_old_project_upgrades_without_a_default_and_takes_one(revision, tmp_path, tiny_model):
    path = tmp_path / "old.vsproj"
    shutil.copyfile(FIXTURES / f"schema-{revision}.vsproj", path)
    with open_project(path) as project:
        with project.session() as s:
            assert s.connection().exec_driver_sql("SELECT count(*) FROM project_settings").scalar() == 0
            known = [m.sha256 for m in list_models(s)]
        assert workspace.default_model(project) is None
        workspace.adopt_model(project, str(tiny_model))
    with open_project(path) as project:
        assert workspace.default_model(project) == str(tiny_model)
        with project.session() as s:
            assert [m.sha256 for m in list_models(s)][:len(known)] == known  # the old models kept, in order
