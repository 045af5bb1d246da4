"""Start Azurite's table service on a free loopback port for tests and the demo.

Azurite comes from the repo's ``package.json`` (``npm ci`` installs it under
``node_modules/``); we run its ``azurite-table`` entry point directly rather than
``npx``, so nothing is downloaded at test time and the pinned version is the one used.

    with Azurite() as azurite:
        client = TableClient.from_connection_string(azurite.connection_string, "AKSVersion")

The process runs in its own session so that stopping it also stops anything it spawned.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

#: The repository root: ops/azurite.py -> ops -> root.
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Where ``npm ci`` puts the table service's entry point.
DEFAULT_BINARY = REPO_ROOT / "node_modules" / ".bin" / "azurite-table"

#: Azurite's well-known development account; public by design (documented by Microsoft).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

HOST = "127.0.0.1"


class AzuriteError(RuntimeError):
    """Azurite could not be started (not installed, exited early, or never answered)."""


def free_port(host: str = HOST) -> int:
    """A port nobody listens on right now (the OS picks it; a race is possible but rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Azurite:
    """Context manager around one ``azurite-table`` process on loopback.

    ``binary`` defaults to the repo's ``node_modules/.bin/azurite-table``; ``port`` to a
    free one. Without ``location`` data is kept in memory and a temporary directory (removed
    on exit) holds our log of Azurite's output; with ``location`` Azurite persists there.
    """

    def __init__(
        self,
        *,
        binary: str | os.PathLike[str] | None = None,
        port: int | None = None,
        location: str | os.PathLike[str] | None = None,
        start_timeout_s: float = 30.0,
    ) -> None:
        self.binary = Path(binary) if binary is not None else DEFAULT_BINARY
        self.port = port if port is not None else free_port()
        self._given_location = Path(location) if location is not None else None
        self.start_timeout_s = start_timeout_s
        self.location: Path | None = None
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    # -- what clients need -------------------------------------------------------------

    @property
    def table_endpoint(self) -> str:
        """The account's table endpoint, path-style as Azurite expects."""
        return f"http://{HOST}:{self.port}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};TableEndpoint={self.table_endpoint};"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        if self._process is not None:
            raise AzuriteError("this Azurite is already started")
        if not self.binary.exists():
            hint = "run `npm ci` in the repository root to install it" if self.binary == DEFAULT_BINARY else "check the path"
            raise AzuriteError(f"Azurite binary not found: {self.binary}; {hint}")
        if self._given_location is not None:
            self._given_location.mkdir(parents=True, exist_ok=True)
            self.location = self._given_location
        else:
            self.location = Path(tempfile.mkdtemp(prefix="azurite-"))
        self.log_path = self.location / "azurite.log"
        command = [
            str(self.binary),
            "--tableHost",
            HOST,
            "--tablePort",
            str(self.port),
            "--silent",
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ]
        # Azurite refuses --inMemoryPersistence together with --location: a given location
        # means "persist there"; otherwise data lives in memory and the temporary directory
        # is only the working directory holding our log.
        if self._given_location is not None:
            command += ["--location", str(self.location)]
        else:
            command += ["--inMemoryPersistence"]
        log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._log_file = log_file
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.location,
                start_new_session=(os.name == "posix"),
            )
        except OSError as exc:
            self._cleanup()
            raise AzuriteError(f"could not run Azurite binary {self.binary}: {exc}") from exc
        try:
            self._wait_until_serving()
        except BaseException:
            # Keep the workspace: the error names its log.
            self.stop(keep_location=True)
            raise
        return self

    def _wait_until_serving(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            code = self._process.poll()
            if code is not None:
                raise AzuriteError(
                    f"Azurite ({self.binary}) exited with code {code} before serving on {HOST}:{self.port}; its output:\n{self._log_tail()}"
                )
            if self._answers_http():
                return
            if time.monotonic() >= deadline:
                raise AzuriteError(
                    f"Azurite ({self.binary}) did not answer on {HOST}:{self.port} within "
                    f"{self.start_timeout_s:.0f}s; log {self.log_path}:\n{self._log_tail()}"
                )
            time.sleep(0.1)

    def _answers_http(self) -> bool:
        """Any HTTP answer counts: the table service is up even if it refuses an unsigned call."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=1.0)
        try:
            conn.request("GET", f"/{ACCOUNT_NAME}/Tables")
            conn.getresponse().read()
            return True
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def _log_tail(self, limit: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no output)"
        text = self.log_path.read_bytes()[-limit:].decode("utf-8", "replace").strip()
        return text or "(no output)"

    def stop(self, *, keep_location: bool = False) -> None:
        """Stop the process and its children (SIGTERM, then SIGKILL after a grace period)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait(timeout=5)
        self._cleanup(keep_location=keep_location)

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        try:
            if os.name == "posix":
                # Our own session: its process group id is the child's pid.
                os.killpg(process.pid, sig)
            elif sig == signal.SIGTERM:
                process.terminate()
            else:
                process.kill()
        except ProcessLookupError:
            pass

    def _cleanup(self, *, keep_location: bool = False) -> None:
        log_file = self._log_file
        self._log_file = None
        if log_file is not None:
            log_file.close()
        if keep_location:
            return
        if self.location is not None and self._given_location is None:
            shutil.rmtree(self.location, ignore_errors=True)
            self.location = None
            self.log_path = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":  # pragma: no cover - manual use: python -m ops.azurite
    with Azurite() as _azurite:
        print(_azurite.connection_string, flush=True)
        try:
            while _azurite.running:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
