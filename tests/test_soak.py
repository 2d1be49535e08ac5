"""The soak test's short version: four processes on one project, kills and re-recorded files.

``benchmarks/soak_project.py`` runs import (into the folder holding the project), label,
label import, score, export and ``db backup`` at random from four workers for a while,
SIGKILLs some of them and replaces audio under them, then checks that nothing acknowledged
was lost, no label sits on audio it was not given for, the database is intact and no partial
export is left. Here it runs for under a minute; the README's reliability section has a long run.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[1] / "benchmarks" / "soak_project.py"


@pytest.mark.slow
def test_short_soak_loses_nothing_and_mislabels_nothing():
    run = subprocess.run([sys.executable, str(SOAK), "--seconds", "45", "--files", "24", "--seed", "1", "--json"],
                         capture_output=True, text=True, timeout=900)
    assert run.stdout, run.stderr
    figures = json.loads(run.stdout)
    assert figures["failures"] == [], figures
    assert run.returncode == 0, run.stderr
    # It really did the work it claims to survive.
    assert figures["labels_acknowledged"] > 0 and figures["files_replaced"] > 0 and figures["killed"] > 0
    assert figures["lost"] == 0 and figures["mislabelled"] == 0 and figures["partial_folders_left"] == 0
