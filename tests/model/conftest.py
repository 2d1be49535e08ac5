"""Real .tflite models for the model tests, built once per session."""

import pytest

import tinymodels


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """Name -> path of a tiny model (with its card, except ``nocard``)."""
    folder = tmp_path_factory.mktemp("tinymodels")
    return {
        "dynamic": tinymodels.build_mean_model(folder),
        "fixed": tinymodels.build_mean_model(folder, dynamic_batch=False),
        "fixed4": tinymodels.build_mean_model(folder, dynamic_batch=False, batch=4),
        "dyntime": tinymodels.build_mean_model(folder, dynamic_time=True),
        "nhw_softmax": tinymodels.build_mean_model(folder, layout="NHW", output="softmax"),
        "int8": tinymodels.build_mean_model(folder, quantize="int8"),
        "logits": tinymodels.build_mean_model(folder, logits=True),
        "nocard": tinymodels.build_mean_model(folder, name="no-card", card=False),
        "fragile": tinymodels.build_fragile_model(folder),
        **tinymodels.build_broken_models(folder / "broken"),
    }
