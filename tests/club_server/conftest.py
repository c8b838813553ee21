"""Fixtures: a seeded SQLite database in tmp_path and a real club server on 127.0.0.1:0."""

import pytest

from simulator.club_server.seed import seed_demo
from simulator.club_server.server import run_in_thread
from tests.club_server.client import Terminal

SLOW_DELAY = 0.6  # the tests' "slow" outcome: longer than their short response timeouts


@pytest.fixture(autouse=True)
def _close_terminals():
    yield
    for t in list(Terminal.instances):
        t.close()


@pytest.fixture
def db_path(tmp_path):
    path = str(tmp_path / "club.db")
    seed_demo(path)
    return path


@pytest.fixture
def server(db_path):
    handle = run_in_thread(db_path, slow_delay=SLOW_DELAY)
    yield handle
    handle.stop()


@pytest.fixture
def terminal(server):
    t = Terminal(server.port).connect()
    yield t
    t.close()


@pytest.fixture
def pool_terminal(server):
    t = Terminal(server.port, "VT000003", "VAFA00000000002", "5641464100000003").connect()
    yield t
    t.close()
