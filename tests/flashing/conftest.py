import pytest

from flashing import bundle as bundles
from simulator.pos_emulator.terminal import start_demo_club
from tests.flashing.support import KEYS


@pytest.fixture(scope="session")
def bundle(tmp_path_factory):
    return bundles.build(tmp_path_factory.mktemp("bundle") / "b", KEYS.firmware)


@pytest.fixture
def club(tmp_path):
    """A fresh demo club on a free port, for a device to sell against."""
    server = start_demo_club(tmp_path / "club.db", fresh=True)
    yield server
    server.stop()
