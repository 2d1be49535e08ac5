"""The test suite's own rules: a missing component skips locally and fails in CI, and the
markers of the fast lane (``pytest -m "not slow"``) land on the tests that need them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A session fixture like tests/conftest.py's sshd, for a program nobody has.
SUITE = '''
import pytest
from components import require

@pytest.fixture(scope="session")
def teleporter():
    require("teleporter", False, "apt-get install teleporter")
    return "beam"

@pytest.fixture(scope="session")
def kettle():
    require("kettle", True, "apt-get install kettle")
    return "tea"

def test_first_use(teleporter):
    assert teleporter == "beam"

def test_second_use(teleporter):
    assert teleporter == "beam"

def test_present(kettle):
    assert kettle == "tea"
'''


def test_a_missing_component_skips_locally_and_says_what_to_install(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["SKIPPED * teleporter is missing: apt-get install teleporter"] * 2)


def test_a_missing_component_fails_in_ci(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("-rE")
    result.assert_outcomes(passed=1, errors=2)  # a failure in a fixture is an error of each test
    result.stdout.fnmatch_lines(["ERROR *test_first_use*teleporter is missing: apt-get install teleporter (CI=true*"])
    assert "Traceback" not in result.stdout.str()  # one clear line, not a stack


def test_only_ci_true_means_ci(pytester, monkeypatch):
    monkeypatch.setenv("CI", "false")
    pytester.makepyfile(SUITE)
    pytester.runpytest().assert_outcomes(passed=1, skipped=2)


# The real fixtures and tests, on a machine where the program is missing: a plugin hides it.
HIDDEN = [
    ("devicehost", "find_sshd", "tests/device/test_devicehost.py::test_sshd_host_key_is_checked_for_real",
     "sshd is missing: apt-get install openssh-server"),
    ("devicehost", "find_qemu", "tests/device/test_transport.py::test_check_and_bench_through_adb",
     "qemu-aarch64-static is missing: apt-get install qemu-user-static"),
    ("pghost", "find_bin_dir", "tests/store/test_store_labels.py::test_undo_with_nothing_to_undo[postgresql]",
     "PostgreSQL's server is missing: apt-get install postgresql"),
]


@pytest.mark.parametrize("ci", [False, True], ids=["local", "ci"])
@pytest.mark.parametrize("module, finder, test, reason", HIDDEN, ids=[h[1] for h in HIDDEN])
def test_the_suite_without_a_program_skips_locally_and_fails_in_ci(tmp_path, module, finder, test, reason, ci):
    (tmp_path / "hide_program.py").write_text(f"import {module}\n{module}.{finder} = lambda: None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "tests"), str(ROOT)])}
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "hide_program", "-p", "no:cacheprovider", "-rsE",
                           test], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    summary = done.stdout.splitlines()[-1]
    if ci:
        assert done.returncode == 1 and "1 error" in summary, done.stdout[-3000:]
        assert f"{reason} (CI=true" in done.stdout
    else:
        assert done.returncode == 0 and "1 skipped" in summary, done.stdout[-3000:]
        assert [line for line in done.stdout.splitlines() if line.startswith("SKIPPED [1]") and reason in line]


def _selected(marker_expression: str, path: str) -> set[str]:
    """The real suite's tests that ``-m`` selects in one file, as node ids (collection only)."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "-m", marker_expression, path], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 5), done.stdout[-3000:] + done.stderr[-3000:]  # 5: none selected
    return {line.removeprefix(path + "::") for line in done.stdout.splitlines() if line.startswith(path + "::")}


def test_postgres_marks_the_server_fixture_and_only_the_postgresql_parameter():
    path = "tests/store/test_store_labels.py"
    postgres, others = _selected("postgres", path), _selected("not postgres", path)
    assert "test_postgresql_refuses_any_update_or_delete_of_label_events" in postgres  # uses pg_server
    assert "test_undo_with_nothing_to_undo[postgresql]" in postgres
    assert "test_undo_with_nothing_to_undo[sqlite]" in others
    assert not [test for test in postgres if "sqlite" in test]


def test_tf_and_slow_mark_the_training_run_only():
    path = "tests/model/test_train.py"
    training = {"test_train_cli_writes_models_that_predict",
                "test_half_width_adds_a_network_of_half_windows_scored_on_both_halves"}
    assert _selected("tf", path) == _selected("slow", path) == training
    fast = _selected("not slow", path)
    assert fast and not fast & training


def test_device_marks_the_tests_that_use_the_stand_in_adb():
    path = "tests/device/test_transport.py"
    device = _selected("device", path)
    assert {"test_adb_commands_are_built_once_quoted", "test_check_and_bench_through_adb"} <= device
    assert "test_quoting_keeps_each_argument_whole" in _selected("not device", path)  # needs no device


def test_a_renamed_test_in_the_marker_lists_is_refused(tmp_path):
    """MARKED_TESTS names tests by hand: a name its module no longer has stops the run, not its marker."""
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    assert "tests/model/test_train.py::test_train_cli_writes_models_that_predict" in conftest
    copy = tmp_path / "tests"
    (copy / "model").mkdir(parents=True)
    (copy / "conftest.py").write_text(conftest)
    (copy / "model" / "test_train.py").write_text("def test_train_renamed():\n    pass\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), "-c", "/dev/null", "--strict-markers", str(copy)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])})
    assert done.returncode == 4, done.stdout + done.stderr
    assert "test_train_cli_writes_models_that_predict, which does not exist" in done.stderr
