"""Fixtures of the ECR tests (helpers in tests/ecr/support.py)."""

import threading

import pytest

from hostbridge.client import EcrClient
from hostbridge.web import make_server
from tests.ecr.support import start_emulator


@pytest.fixture(params=["tcp", "pty"])
def emulator(request, tmp_path):
    """The emulated terminal behind its ECR port: over TCP, and over a socat pty pair."""
    emu = start_emulator(request.param, tmp_path / request.param)
    yield emu
    emu.stop()


@pytest.fixture
def emulator_tcp(tmp_path):
    emu = start_emulator("tcp", tmp_path / "tcp")
    yield emu
    emu.stop()


@pytest.fixture
def bridge():
    """start(**options) -> a running BridgeServer on 127.0.0.1:0 (`vafa bridge serve` with
    those options); all stopped afterwards."""
    running = []

    def start(**options):
        client = EcrClient("loop://")
        server = make_server(client, port=0, **options)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        running.append((server, thread, client))
        return server

    yield start
    for server, thread, client in running:
        server.shutdown()
        thread.join()
        server.server_close()
        client.close()
