"""Fixtures of the ECR tests (helpers in tests/ecr/support.py)."""

import pytest

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
