"""One rule for the outside programs some tests need (sshd, qemu-user, PostgreSQL's server).

On a developer's machine a missing program skips the tests that need it, saying what to
install; in CI (``CI=true``, as GitHub Actions and ``.ci/run`` set it) it fails them, so a
broken CI image can never pass by skipping its device or team-project tests.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require(name: str, found: bool, how_to_install: str) -> None:
    """Return if ``found``; else skip the test (locally) or fail it (in CI) with one clear line."""
    if found:
        return
    reason = f"{name} is missing: {how_to_install}"
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing component fails in CI)", pytrace=False)
    pytest.skip(reason)
