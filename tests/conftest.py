"""Shared test set-up: every test gets its own data, config and cache dirs.

The device fixtures (a real SSH server, an aarch64 Python under qemu-user) and the
PostgreSQL server are started for real. A missing program skips the tests that need
it locally and fails them in CI (``tests/components.py``); see ``tests/devicehost.py``
and ``tests/pghost.py``.

Markers (``device``, ``postgres``, ``tf``, ``slow``; meanings in pyproject.toml) are
applied here, by the fixtures a test uses and by the lists below, so
``pytest -m "not slow"`` and friends need no decorators in the test files.
"""

import os
import subprocess
from pathlib import Path

import pytest

import devicehost
from components import require

pytest_plugins = ["pytester"]  # tests/test_components.py runs pytest on small test files

# A test using one of these fixtures (directly or through another fixture) gets the marker.
MARKER_FIXTURES = {
    "device": {"sshd", "arm_python", "adb"},  # adb: tests/device/test_transport.py's stand-in
    "postgres": {"pg_server"},  # the sqlite/postgresql parametrised fixtures mark their parameter
    "tf": {"tiny_model", "models", "fragile", "conv_model", "sources", "runs", "band_model", "tf_sources"},  # TensorFlow
    "slow": {"label_studio"},  # a real Label Studio server (tests/lshost.py)
}

# Tests that need a marker no fixture gives them, as "path::function" (every parameter).
# slow: over ~5 s in a full run (every run's --durations=25 shows new candidates).
MARKED_TESTS = {
    "slow": (
        "tests/test_hostile_inputs.py::test_fifty_thousand_small_files",
        "tests/test_soak.py::test_short_soak_loses_nothing_and_mislabels_nothing",
        "tests/test_crash_safety.py::test_window_labels_survive_sigkill",
        "tests/test_crash_safety.py::test_cli_labels_survive_sigkill",
        "tests/test_long_clip_scoring.py::test_a_two_hour_clip_scores_in_bounded_memory",
        "tests/test_destructive_outputs.py::test_labels_export_refuses_the_project_and_its_side_files",
        "tests/test_cli_output.py::test_a_closed_pipe_ends_quietly",
        "tests/test_cli_output.py::test_hostile_names_never_drive_the_terminal",
        "tests/test_import_integrity.py::test_importing_the_folder_that_holds_the_project_while_someone_labels",
        "tests/test_project_access.py::test_a_read_only_project_can_be_read_and_refuses_writes_in_one_line",
        "tests/test_label_rows.py::test_a_bad_annotator_option_is_a_usage_error_and_stores_nothing",
        "tests/test_clip_failures.py::test_convert_compares_the_files_the_converted_model_takes",
        "tests/ui/test_devices_window.py::test_devices_panel_adds_trusts_checks_benches_and_charts",
        "tests/device/test_ssh_device.py::test_bench_times_arm_code_and_keeps_every_run",
        "tests/device/test_ssh_device.py::test_benchmark_model_is_preferred_and_its_output_parsed",
        "tests/device/test_ssh_device.py::test_a_cancelled_bench_stops_the_device_and_keeps_the_run",
        "tests/device/test_ssh_device.py::test_a_run_that_times_out_is_stored_with_its_partial_output",
        "tests/device/test_ssh_device.py::test_remove_takes_the_runs_with_it",
        "tests/device/test_ssh_device.py::test_check_reports_the_arm_python_and_its_runtime",
        "tests/device/test_hostile_devices.py::test_a_device_that_prints_without_end_is_stopped_at_the_cap",
        "tests/device/test_hostile_devices.py::test_the_python_command_is_arguments_quoted_and_shown",
        "tests/device/test_transport.py::test_check_and_bench_through_adb",
        "tests/device/test_training_run_recipe.py::test_from_a_training_run_to_the_device_as_the_readme_says",
        # over ~7 s in a fast-lane run on the shared 2-core machine (under load)
        "tests/test_concurrent_annotators.py::test_annotators_at_once_lose_nothing_and_agree_as_labelled",
        "tests/test_clip_failures.py::test_export_with_features_after_the_model_failed_on_some_clips",
        "tests/test_clip_failures.py::test_score_stores_the_others_and_reports_the_failing_clips",
        "tests/test_hostile_inputs.py::test_a_three_hour_file_is_predicted_in_bounded_memory",
        "tests/test_import_integrity.py::test_a_re_recorded_file_keeps_its_label_with_the_old_recording",
        "tests/test_import_integrity.py::test_new_content_that_duplicates_another_file_never_takes_the_old_label",
        "tests/test_repair.py::test_db_recover_copies_every_readable_row_and_reports_the_rest",
        "tests/test_repair.py::test_a_damaged_project_refuses_writes_and_db_check_says_what_is_lost",
        "tests/test_destructive_outputs.py::test_a_killed_export_is_cleaned_up_by_the_next",
        "tests/test_destructive_outputs.py::test_a_running_export_keeps_its_folder",
        "tests/test_destructive_outputs.py::test_force_replaces_only_what_the_earlier_export_wrote",
        "tests/test_destructive_outputs.py::test_labels_export_replaces_a_file_only_with_force_and_atomically",
        "tests/test_destructive_outputs.py::test_force_accepts_every_file_an_export_writes",
        "tests/test_destructive_outputs.py::test_export_into_a_link_writes_the_target_and_keeps_the_link",
        "tests/store/test_backup.py::test_backup_while_annotators_label_has_every_committed_event",
        "tests/device/test_ssh_device.py::test_a_truncated_benchmark_model_output_is_an_error_run",
        "tests/device/test_hostile_devices.py::test_a_workdir_under_tilde_is_the_login_home",
    ),
    "tf": (
        "tests/model/test_train.py::test_train_cli_writes_models_that_predict",
        "tests/model/test_train.py::test_half_width_adds_a_network_of_half_windows_scored_on_both_halves",
        "tests/ui/test_inside_window.py::test_occlusion_on_the_mfcc_view_marks_exactly_the_band_a_model_reads",
        "tests/ui/test_checkpoint_window.py::test_model_tab_shows_a_checkpoint_as_a_tree",
        "tests/test_clip_failures.py::test_convert_compares_the_files_the_converted_model_takes",
    ),
}


def _test_name(config, item) -> str:
    return f"{item.path.relative_to(config.rootpath).as_posix()}::{item.originalname}"


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config, items):
    named = {}
    for marker, tests in MARKED_TESTS.items():
        for test in tests:
            named.setdefault(test, []).append(marker)
    modules = {}
    for item in items:
        for marker, fixtures in MARKER_FIXTURES.items():
            if fixtures.intersection(item.fixturenames):
                item.add_marker(marker)
        for marker in named.get(_test_name(config, item), ()):
            item.add_marker(marker)
        if isinstance(item, pytest.Function):
            modules[item.path.relative_to(config.rootpath).as_posix()] = item.module
    # A renamed test would silently lose its marker: refuse names its module no longer has.
    for test in named:
        path, function = test.split("::")
        if path in modules and not hasattr(modules[path], function):
            raise pytest.UsageError(f"tests/conftest.py MARKED_TESTS names {test}, which does not exist")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Keep platformdirs (default project, settings, logs) inside a temp folder."""
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.delenv("VOICESTUDIO_DB", raising=False)
    monkeypatch.delenv("VOICESTUDIO_PATH_MAP", raising=False)
    from voicestudio import pathmap

    pathmap.use(None)  # read again from this test's own settings
    return home


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model(model_dir):
    """A real .tflite detector (dynamic batch, NHWC, sigmoid) with its card."""
    import tinymodels

    return tinymodels.build_mean_model(model_dir)


def device_cache_dir() -> Path:
    """``$VOICESTUDIO_TEST_CACHE``, else ``~/.cache/voicestudio-tests``.

    Not XDG_CACHE_HOME: the autouse ``isolated_dirs`` fixture points it at a
    fresh temp folder for every test.
    """
    env = os.environ.get("VOICESTUDIO_TEST_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "voicestudio-tests"


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """An OpenSSH server on 127.0.0.1 accepting ``sshd.key_path`` for ``sshd.user``."""
    require("sshd", devicehost.find_sshd() is not None, f"apt-get install {devicehost.SSHD_APT_PACKAGE}")
    try:
        server = devicehost.start_sshd(tmp_path_factory.mktemp("sshd"))
    except RuntimeError as exc:
        pytest.fail(f"could not start sshd: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def arm_python():
    """An aarch64 Python 3.11 with numpy 1.26 and tflite-runtime 2.14, run by qemu-user."""
    require("qemu-aarch64-static", devicehost.find_qemu() is not None, f"apt-get install {devicehost.QEMU_APT_PACKAGE}")
    try:
        return devicehost.arm_python(device_cache_dir())
    except RuntimeError as exc:
        pytest.fail(f"could not build the ARM Python: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server on 127.0.0.1 (Debian's), a throwaway cluster for this session."""
    import pghost

    require("PostgreSQL's server", pghost.find_bin_dir() is not None, f"apt-get install {pghost.APT_PACKAGE}")
    try:
        server = pghost.start_postgres()
    except RuntimeError as exc:
        pytest.fail(f"could not start PostgreSQL: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory):
    """A real Label Studio server on 127.0.0.1 (its venv built once into the test cache), for this session."""
    import lshost

    try:
        venv = lshost.label_studio_venv(device_cache_dir())
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        require(f"Label Studio {lshost.VERSION}", False, f"python tests/lshost.py --venv DIR failed: {exc}")
    try:
        server = lshost.start_label_studio(venv, tmp_path_factory.mktemp("label-studio"))
    except RuntimeError as exc:
        pytest.fail(f"could not start Label Studio: {exc}", pytrace=False)
    print(f"\nLabel Studio {lshost.VERSION} answered on {server.url} after {server.start_s:.1f} s")
    try:
        yield server
    finally:
        server.stop()
