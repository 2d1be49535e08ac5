"""The device fixtures are real: an OpenSSH server and an aarch64 Python running TFLite."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import shlex
import subprocess

import numpy as np
import paramiko
import pytest

import devicehost

INPUT_SHAPE = (1, 40, 101, 1)


def run(client: paramiko.SSHClient, command: str, timeout: float = 600) -> tuple[int, str, str]:
    stdin, stdout, stderr = client.exec_command(command, timeout=timeout)
    stdin.close()
    out = stdout.read().decode()
    err = stderr.read().decode()
    return stdout.channel.recv_exit_status(), out, err


@pytest.fixture(scope="session")
def ssh(sshd):
    client = devicehost.connect(sshd)
    yield client
    client.close()


@pytest.fixture(scope="session")
def conv_model(tmp_path_factory):
    """A tiny Conv2D + Dense .tflite model, an input for it and TensorFlow's own answer."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(INPUT_SHAPE[1:], batch_size=1),
        keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    out = tmp_path_factory.mktemp("conv_model")
    path = out / "conv.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    x = np.random.default_rng(0).standard_normal(INPUT_SHAPE).astype(np.float32)
    np.save(out / "input.npy", x)
    expected = model(x).numpy()
    return path, out / "input.npy", expected


def test_sshd_logs_in_with_the_client_key_and_checks_the_host_key(sshd, ssh):
    assert sshd.host == "127.0.0.1"
    code, out, err = run(ssh, "uname -m && id -un")
    assert code == 0, err
    assert out.split() == [platform.machine(), sshd.user]

    # The key the server showed is the one in host_key_line / host_fingerprint.
    key = ssh.get_transport().get_remote_server_key()
    assert sshd.host_key_line.split()[1:] == [key.get_name(), key.get_base64()]
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    assert sshd.host_fingerprint == f"SHA256:{digest}"
    assert sshd.host_key_line.startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")


def test_sshd_host_key_is_checked_for_real(sshd):
    """With no known host key and a rejecting policy the client refuses to log in."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        client.connect(sshd.host, port=sshd.port, username=sshd.user,
                       pkey=paramiko.Ed25519Key.from_private_key_file(str(sshd.key_path)),
                       look_for_keys=False, allow_agent=False, timeout=20)
    client.close()


def test_sshd_refuses_other_keys_and_passwords(sshd, tmp_path):
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    for kwargs in ({"pkey": paramiko.Ed25519Key.from_private_key_file(str(other))},
                   {"password": "secret"}):
        client = paramiko.SSHClient()
        client.get_host_keys().add(f"[{sshd.host}]:{sshd.port}", "ssh-ed25519",
                                   paramiko.Ed25519Key(data=base64.b64decode(sshd.host_key_line.split()[2])))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        with pytest.raises(paramiko.AuthenticationException):
            client.connect(sshd.host, port=sshd.port, username=sshd.user, look_for_keys=False,
                           allow_agent=False, timeout=20, **kwargs)
        client.close()


@pytest.mark.slow
def test_arm_python_is_aarch64_with_numpy_and_tflite_runtime(ssh, arm_python):
    code, out, err = run(ssh, arm_python.command + " -c " + shlex.quote(
        "import platform, sys, numpy, tflite_runtime, tflite_runtime.interpreter as t; "
        "print(platform.machine(), numpy.__version__, tflite_runtime.__version__, sys.prefix)"))
    assert code == 0, err
    machine, numpy_version, tflite_version, prefix = out.split()
    assert (machine, numpy_version, tflite_version) == ("aarch64", "1.26.4", "2.14.0")
    assert prefix == str(arm_python.root / "usr")  # the stdlib comes from the arm64 root


_RUN_MODEL = """
import json, platform, sys
import numpy as np
import tflite_runtime.interpreter as tflite
model, data = sys.argv[1:3]
interp = tflite.Interpreter(model_path=model)
interp.allocate_tensors()
inp, = interp.get_input_details()
out, = interp.get_output_details()
x = np.load(data)
interp.set_tensor(inp["index"], x)
interp.invoke()
y = interp.get_tensor(out["index"])
print(json.dumps({"machine": platform.machine(), "input_shape": inp["shape"].tolist(),
                  "output": y.tolist(), "dtype": str(y.dtype)}))
"""


@pytest.mark.slow
def test_arm_python_runs_a_tflite_model_over_ssh(ssh, arm_python, conv_model):
    model, data, expected = conv_model
    command = f"{arm_python.command} -c {shlex.quote(_RUN_MODEL)} {shlex.quote(str(model))} {shlex.quote(str(data))}"
    code, out, err = run(ssh, command)
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["machine"] == "aarch64"
    assert result["input_shape"] == list(INPUT_SHAPE)
    assert result["dtype"] == "float32"
    np.testing.assert_allclose(np.array(result["output"]), expected, rtol=1e-4, atol=1e-6)
