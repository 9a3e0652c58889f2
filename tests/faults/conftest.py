"""The fault suite (`make faults`): real Celery workers, a private Redis, PostgreSQL and the fake USGS server.

Collected only when STREAMFLOW_FAULTS=1 (set by `make faults`), never by `make test`: these scenarios kill
processes and restart servers, and take minutes. Each scenario records what it did and what it found through the
`scenario` fixture; the terminal summary prints the table scenario → result.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field

import pytest

if os.environ.get("STREAMFLOW_FAULTS") != "1":
    collect_ignore_glob = ["test_*.py"]

REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "6390"))


# --- The report -------------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    lines: list[str] = field(default_factory=list)
    result: str = "not finished"
    ok: bool | None = None

    def did(self, text: str) -> None:
        self.lines.append(f"did:   {text}")
        _live(f"   [{self.name}] did: {text}")

    def found(self, text: str, ok: bool = True) -> None:
        self.lines.append(f"found: {text}")
        _live(f"   [{self.name}] found: {text}")
        if not ok:
            self.ok = False

    def passed(self, result: str) -> None:
        self.result = result
        if self.ok is None:
            self.ok = True


_SCENARIOS: list[Scenario] = []
_TERMINAL = None


def _live(text: str) -> None:
    if _TERMINAL is not None:
        _TERMINAL.write_line(text)


def pytest_configure(config):
    global _TERMINAL
    _TERMINAL = config.pluginmanager.get_plugin("terminalreporter")


@pytest.fixture
def scenario(request):
    sc = Scenario(request.node.name.removeprefix("test_").replace("_", " "))
    _SCENARIOS.append(sc)
    _live("")
    yield sc
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        sc.ok = False
        message = str(call.longrepr.reprcrash.message if hasattr(call.longrepr, "reprcrash") else call.longrepr)
        sc.result = "FAILED: " + message.splitlines()[0][:160]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter):
    if not _SCENARIOS:
        return
    tr = terminalreporter
    tr.section("fault scenarios")
    for sc in _SCENARIOS:
        tr.write_line(f"{sc.name}")
        for line in sc.lines:
            tr.write_line(f"    {line}")
    tr.write_line("")
    width = max(len(sc.name) for sc in _SCENARIOS)
    tr.write_line(f"{'scenario':<{width}}  {'':4}  result")
    tr.write_line(f"{'-' * width}  ----  {'-' * 60}")
    for sc in _SCENARIOS:
        mark = "PASS" if sc.ok else "FAIL"
        tr.write_line(f"{sc.name:<{width}}  {mark}  {sc.result}")


# --- A private Redis ------------------------------------------------------------------------------------------


class PrivateRedis:
    """redis-server on its own port, with no persistence (a restart loses everything queued, like a crash)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; the fault suite needs it (apt-get install redis-server).")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the private redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        """Stop like `redis-cli shutdown nosave`: every queued and unacknowledged message is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


@pytest.fixture(scope="session")
def private_redis():
    from django.conf import settings

    wanted = f"redis://127.0.0.1:{REDIS_PORT}/"
    if not settings.CELERY_BROKER_URL.startswith(wanted):
        pytest.fail(f"the fault suite needs CELERY_BROKER_URL={wanted}0 (make faults sets it)")
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.fail("the fault suite needs DATABASE_URL=postgres://… (make faults sets it)")
    redis = PrivateRedis(REDIS_PORT)
    redis.start()
    yield redis
    redis.stop()
