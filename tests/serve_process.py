"""How tests and benchmarks run `workout serve` as a real process on a free loopback port.

Shared by ``tests/test_service.py``, ``tests/test_browser.py`` and
``benchmarks/bench_service.py``.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from workout_process import ROOT, workout_command, workout_env

#: Seconds `workout serve` may take to answer its first request (imports, start-up).
START_SECONDS = 120


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(*args: str, db: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`workout serve --port FREE --db sqlite:///DB --format json ARGS` until the block ends
    (then SIGTERM, and SIGKILL after 30 s); yields the base URL (``http://127.0.0.1:N/``)
    once ``/api/health`` answers, and the process."""
    env = workout_env()
    env.pop("WORKOUT_TOKEN", None)
    command = [*workout_command(), "serve", "--port", str(free_port())]
    command += ["--db", f"sqlite:///{db}", "--format", "json", *args]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = json.loads(proc.stdout.readline())["url"]
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                httpx.get(url + "api/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("workout serve did not start") from None
                time.sleep(0.3)
        yield url, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def in_process_client(tmp_path_factory, name: str) -> Iterator[Any]:
    """The service app in-process (FastAPI's ``TestClient``), its audit trail in a fresh
    SQLite database under ``tmp_path_factory`` (one definition for the tests' ``client``
    fixtures; the real process is :func:`serve`)."""
    from fastapi.testclient import TestClient

    from solver.service import ServiceConfig, create_app

    db = tmp_path_factory.mktemp(name) / "audit.db"
    with TestClient(create_app(ServiceConfig(db_url=f"sqlite:///{db}"))) as client:
        yield client
