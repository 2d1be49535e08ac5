"""The Model tab on a training run's checkpoint folder (issue 21): made by the example script as a user
runs it, shown as a tree of scopes, variables, their moving averages and optimizer slots, and the graph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 120000


def test_model_tab_shows_a_checkpoint_as_a_tree(qtbot, open_window, project_file, tmp_path):
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, str(ROOT / "training" / "example_checkpoint.py"), "--out", str(run),
                           "--steps", "60", "--every", "20"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    window = open_window(project_file)
    panel = window.model_panel
    window.model_dock.raise_()
    with qtbot.waitSignal(panel.inspected, timeout=WAIT_MS, check_params_cb=lambda found: found.kind == "checkpoint"):
        panel.inspect(str(run))
    tree = panel.tree
    sections = {tree.topLevelItem(i).text(0): tree.topLevelItem(i) for i in range(tree.topLevelItemCount())}
    checkpoint = sections["Checkpoint"]
    rows = {checkpoint.child(i).text(0): checkpoint.child(i).text(1) for i in range(checkpoint.childCount())}
    assert rows["step"] == "60" and rows["steps present"] == "20, 40, 60" and rows["format"] == "TF1 name-based"
    assert rows["moving averages"].startswith("6 ")

    variables = sections["Variables (6)"]
    scopes = {variables.child(i).text(0): variables.child(i) for i in range(variables.childCount())}
    assert {"conv1/", "conv2/", "dense/"} <= set(scopes)
    kernel = next(scopes["conv1/"].child(i) for i in range(scopes["conv1/"].childCount())
                  if scopes["conv1/"].child(i).text(0) == "kernel")
    assert kernel.text(1).startswith("float32 [3, 3, 1, 8] · 72")
    beside = {kernel.child(i).text(0): kernel.child(i).text(1) for i in range(kernel.childCount())}
    assert beside["ExponentialMovingAverage"].startswith("moving average") and beside["Adam"].startswith("optimizer")

    outputs = sections["Outputs"]
    assert "p_human:0" in {outputs.child(i).text(0) for i in range(outputs.childCount())}
    assert any(title.startswith("Graph nodes (") for title in sections)
    assert panel.copy_button.isEnabled() and "conv1/kernel" in panel.inspection.text()
