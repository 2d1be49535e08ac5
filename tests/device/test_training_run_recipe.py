"""README's "From a training run to the device", run as written (issue 21): each line a real process, from
a fresh checkpoint folder to a timing on the emulated aarch64 board (tflite-runtime 2.14 over real SSH).
Only the board's address and key are this machine's: the sshd on 127.0.0.1 stands in for the Pi."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def recipe_lines(name: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        if block.startswith(f"# recipe: {name}\n"):
            return [line for line in block.splitlines()[1:] if line.strip()]
    raise AssertionError(f"README.md has no bash recipe {name!r}")


def test_from_a_training_run_to_the_device_as_the_readme_says(tmp_path, sshd, arm_python):
    env = {**os.environ, "VOICESTUDIO_DB": str(tmp_path / "project.vsproj"), "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    board = (f"ssh://{sshd.user}@127.0.0.1:{sshd.port} --key {sshd.key_path} "
             f"--python {shlex.quote(arm_python.command)} --workdir {tmp_path / 'board'}")
    outputs = []
    for line in recipe_lines("training-run"):
        line = (line.replace("ssh://pi@10.0.0.5 --key ~/.ssh/id_ed25519", board)
                .replace("training/", f"{ROOT}/training/").replace("resources/", f"{ROOT}/resources/"))
        argv = shlex.split(line)
        argv = ([sys.executable] + argv[1:] if argv[0] == "python" else
                [sys.executable, "-m", "voicestudio"] + argv[1:])
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        outputs.append(done.stdout)
    made, inspected, values, frozen, converted, tensors, added, checked, bench = outputs
    assert "model.ckpt-300" in made or (tmp_path / "run" / "checkpoint").is_file()
    assert "TF1 name-based checkpoint" in inspected and "[moving average of conv1/kernel]" in inspected
    assert "dense/kernel" in values
    assert "moving averages of 6" in frozen and "checked against the checkpointed graph" in frozen
    assert (tmp_path / "detector.pb").is_file() and (tmp_path / "detector.tflite").is_file()
    assert "decisions at" in converted and "int8" in converted
    assert "conv2" in tensors
    assert "aarch64" in checked and "tflite-runtime: 2.14" in checked
    assert "detector.tflite" in bench and re.search(r"mean [0-9.]+ ms", bench), bench
