"""Shared test set-up: every test gets its own data, config and cache dirs."""

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Keep platformdirs (default project, settings, logs) inside a temp folder."""
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.delenv("VOICESTUDIO_DB", raising=False)
    return home


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model(model_dir):
    """A real .tflite detector (dynamic batch, NHWC, sigmoid) with its card."""
    import tinymodels

    return tinymodels.build_mean_model(model_dir)
