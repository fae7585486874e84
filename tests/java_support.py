"""Helpers for tests that build and run a generated service's Java code with the JDK alone.

No Gradle runs here (it cannot be downloaded in this environment), so the tests do what
Gradle's build would: javac per source set, the JUnit console launcher, and the service
started as a process the way the Dockerfile's ENTRYPOINT starts it.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pytest

JUNIT_CONSOLE_JARS = sorted(Path("/usr/share/java").glob("junit-platform-console-standalone*.jar"))
# javac warns about sun.misc.Signal whatever the flags; the skeleton uses it on purpose
# (SIGTERM handling that exits 0), so only this warning is expected.
EXPECTED_WARNING = re.compile(r"(Signal|SignalHandler) is internal proprietary API")


def require_tool(name: str, found: Any, install: str) -> None:
    """Skip a test whose tool is missing on a developer's machine; fail in CI (CI=true)."""
    if found:
        return
    message = f"{name} is not installed ({install})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def junit_console_jar() -> Path:
    require_tool("the JUnit console launcher", JUNIT_CONSOLE_JARS, "apt-get install junit5")
    return JUNIT_CONSOLE_JARS[-1]


def require_jdk() -> None:
    require_tool("a JDK (javac)", shutil.which("javac") and shutil.which("java"), "apt-get install default-jdk-headless")


def javac(sources: Sequence[Path], out: Path, classpath: Sequence[Path] = ()) -> list[str]:
    """Compiles for Java 17 with every lint on; returns the warnings. Raises on errors."""
    out.mkdir(parents=True, exist_ok=True)
    command = ["javac", "--release", "17", "-Xlint:all", "-encoding", "UTF-8", "-d", str(out)]
    if classpath:
        command += ["-cp", os.pathsep.join(map(str, classpath))]
    result = subprocess.run([*command, *map(str, sources)], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"javac failed:\n{result.stdout}{result.stderr}")
    return [line for line in (result.stdout + result.stderr).splitlines() if "warning:" in line]


def java_sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.java"))


def class_names(source_root: Path) -> set[str]:
    """Fully qualified names of the top-level classes under a source root."""
    return {".".join(path.relative_to(source_root).with_suffix("").parts) for path in java_sources(source_root)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float


def http_get(port: int, path: str, timeout: float = 10.0) -> Response:
    """GET without raising on error statuses: /health's 503 is an answer, not a failure."""
    start = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        body = reply.read().decode()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, body, time.monotonic() - start)
    finally:
        connection.close()


@dataclass
class ServiceProcess:
    """The generated service running as a process on free ports."""

    command: list[str]
    env: dict[str, str]
    http_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> "ServiceProcess":
        env = {**os.environ, **self.env, "HTTP_PORT": str(self.http_port), "METRICS_PORT": str(self.metrics_port)}
        # Files, not pipes: a service that logs more than a pipe holds would block on stdout.
        # They are read by path, so reading never moves the offset the service writes at.
        self._dir = Path(tempfile.mkdtemp(prefix="lemi-service-"))
        with open(self._dir / "stdout", "ab") as out, open(self._dir / "stderr", "ab") as err:
            self.process = subprocess.Popen(self.command, env=env, stdout=out, stderr=err)
        if wait:
            self.wait_until_serving()
        return self

    def wait_until_serving(self, timeout: float = 20.0) -> None:
        """Waits for the service's "started" log line, written once both ports are served.

        Polling the port instead can fool itself: a loopback connect to a free ephemeral
        port may connect the socket to itself.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if '"event":"started"' in self.stdout:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"the service exited with {self.process.returncode}:\n{self.stderr}{self.stdout}")
            time.sleep(0.01)
        raise AssertionError(f"the service did not start within {timeout} s:\n{self.stderr}{self.stdout}")

    def get(self, path: str, timeout: float = 10.0) -> Response:
        return http_get(self.http_port, path, timeout)

    def metrics(self) -> Response:
        return http_get(self.metrics_port, "/metrics")

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout)

    @property
    def stdout(self) -> str:
        return (self._dir / "stdout").read_text()

    @property
    def stderr(self) -> str:
        return (self._dir / "stderr").read_text()

    def log_lines(self) -> list[dict[str, Any]]:
        """Every stdout line, parsed as the JSON it must be."""
        return [json.loads(line) for line in self.stdout.splitlines()]

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def __del__(self) -> None:
        if getattr(self, "_dir", None):
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "ServiceProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
