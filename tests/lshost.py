"""A real Label Studio server for the interchange tests: pip-installed into its own venv, run on 127.0.0.1.

* :func:`label_studio_venv` builds (once, into a cache folder) a venv with ``label-studio==VERSION``
  from PyPI, beside the tests' venv and never inside it (Label Studio pins Django and friends).
  A marker file is written once Label Studio imports, so an interrupted build is never mistaken
  for a finished one (it is removed and built again).
* :func:`start_label_studio` starts ``label-studio start`` on a free port with a fresh data folder,
  an admin user with a known API token (``LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN``: the ``Token``
  header) and local file serving under a document root, without a browser; :class:`LabelStudioServer`
  calls its API and stops it.

CI builds the venv ahead of the tests (``.ci/run``)::

    python tests/lshost.py --venv DIR     # then VOICESTUDIO_TEST_CACHE=DIR (default ~/.cache/voicestudio-tests)

Without network access on first use, the ``label_studio`` fixture skips its test locally and fails
it in CI (``tests/components.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from devicehost import _locked  # one lock for the test cache's builders

VERSION = "1.23.2"  # the server the tests talk to; a new one gets a new venv folder
TOKEN = "voicestudio0test0token0123456789abcdef"
ADMIN = "admin@voicestudio.test"
_MARKER = "built.json"


def _venv_name() -> str:
    return f"label-studio-{VERSION}-py{sys.version_info.major}.{sys.version_info.minor}"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done


def label_studio_venv(cache_dir: Path) -> Path:
    """The venv holding Label Studio VERSION (built into ``cache_dir`` on first use); its folder."""
    cache_dir = Path(cache_dir).expanduser().absolute()
    final = cache_dir / _venv_name()
    if (final / _MARKER).is_file():
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / f".{final.name}.lock"):
        if (final / _MARKER).is_file():
            return final
        for stale in cache_dir.glob(f".{final.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        # A venv's scripts carry its absolute path: build it where it will live, mark it when done.
        if final.exists():
            shutil.rmtree(final)
        started = time.monotonic()
        base = getattr(sys, "_base_executable", sys.executable)  # not the tests' venv python
        _run([base, "-m", "venv", str(final)], timeout=300)
        python = final / "bin" / "python"
        try:
            _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                  f"label-studio=={VERSION}"], timeout=1800)
            version = _run([str(python), "-c", "import label_studio; print(label_studio.__version__)"],
                           timeout=300).stdout  # not `label-studio --version`: it asks PyPI for the latest
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        (final / _MARKER).write_text(json.dumps({"label-studio": VERSION, "version_output": version.strip()[-500:],
                                                 "build_s": round(time.monotonic() - started, 1)}, indent=2))
    return final


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabelStudioServer:
    url: str
    token: str
    document_root: Path  # LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT: audio for ?d= URLs lives below it
    process: subprocess.Popen
    log_path: Path
    start_s: float  # seconds from the start command to the API answering
    venv: Path  # where Label Studio (and its label_studio_sdk) is installed

    def request(self, method: str, path: str, body=None, *, timeout: float = 120) -> tuple[int, bytes, dict]:
        """(status, body, headers) of an API call with the admin's token; errors are answers, not raised."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Token {self.token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def api(self, method: str, path: str, body=None):
        """The JSON answer of a call that must succeed (AssertionError with the server's words otherwise)."""
        status, raw, _ = self.request(method, path, body)
        assert 200 <= status < 300, f"{method} {path}: {status} {raw[:2000].decode(errors='replace')}"
        return json.loads(raw) if raw.strip() else None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the server and what it started
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(20)


def start_label_studio(venv: Path, workdir: Path, *, timeout: float = 300) -> LabelStudioServer:
    """``label-studio start`` on 127.0.0.1 with its data and document root in ``workdir``."""
    workdir = Path(workdir).absolute()
    data, root = workdir / "data", workdir / "files"
    data.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "DJANGO_", "VIRTUAL_ENV"))},
        "HOME": str(workdir),
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(root),
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
    }
    log_path = workdir / "label-studio.log"
    cmd = [str(venv / "bin" / "label-studio"), "start", "--no-browser", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data), "--username", ADMIN, "--password", "voicestudio-test", "--user-token", TOKEN]
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=workdir, start_new_session=True)
    server = LabelStudioServer(f"http://127.0.0.1:{port}", TOKEN, root, process, log_path, 0.0, Path(venv))
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"label-studio exited with {process.returncode}:\n{server.log()[-3000:]}")
        try:
            status, _, _ = server.request("GET", "/api/version", timeout=5)
        except OSError:
            status = None
        if status == 200:
            server.start_s = time.monotonic() - started
            return server
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"label-studio did not answer on {server.url} within {timeout:.0f} s:\n{server.log()[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, required=True, metavar="DIR",
                        help="cache folder to build the Label Studio venv in (use it as VOICESTUDIO_TEST_CACHE)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    venv = label_studio_venv(args.venv)
    print(f"Label Studio {VERSION} in {venv} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
