"""Real parts for the chip-card tests: pcscd with the vsmartcard vpcd driver, pyscard, and a
virtual card that pcscd sees through vpcd (simulator/cards/vpcd.py).

pcscd_daemon (session): starts `pcscd -f -i` unless one is running, waits for its socket
/run/pcscd/pcscd.comm and for the reader "Virtual PCD 00 00", stops pcscd at the end if it
started it; two test sessions on one machine take turns (pcscd.PcscLock). pcsc_card (session)
is the vpcd slot on port 35963 with its PcscReader; it is checked once with a card (insert
waits with pyscard's CardRequest). pcsc_slot is the same slot for one test, emptied after it.
When pcscd, the vpcd driver or pyscard is missing, these tests are skipped with a message
naming scripts/install-system-deps.sh (CI installs them).
"""

import time

import pytest

from simulator.cards import pcscd
from simulator.cards.personas import make_card

__all__ = ["card_club", "pcsc_card", "pcsc_slot", "pcscd_daemon"]

HINT = (
    "run 'sudo bash scripts/install-system-deps.sh' for pcscd and vsmartcard-vpcd, and "
    "'pip install -e .[cards]' for pyscard"
)
READER = "Virtual PCD 00 00"
READY_S = 5.0


@pytest.fixture(scope="session")
def pcscd_daemon(tmp_path_factory):
    missing = pcscd.missing_parts()
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: {HINT}")
    log = tmp_path_factory.mktemp("pcscd") / "pcscd.log"
    lock = pcscd.PcscLock()  # another test session on this machine waits for ours
    try:
        lock.acquire()
    except OSError as e:
        pytest.fail(str(e))
    daemon = pcscd.PcscDaemon(log_path=str(log))
    try:
        daemon.start()
    except OSError as e:
        lock.release()
        pytest.fail(f"pcscd did not start: {e} (log {log})")
    from agent.card_io.pcsc import reader_names

    deadline = time.monotonic() + READY_S
    while True:  # the vpcd reader is listed once pcscd has loaded the driver
        try:
            if READER in reader_names():
                break
        except Exception:  # the service is still starting: try again until the deadline
            pass
        if time.monotonic() > deadline:
            daemon.stop()
            lock.release()
            pytest.fail(f"pcscd lists no reader {READER!r} (log {log})")
        time.sleep(0.05)
    yield daemon
    daemon.stop()
    lock.release()


@pytest.fixture(scope="session")
def pcsc_card(pcscd_daemon):
    from simulator.cards.slots import PcscSlot

    slot = PcscSlot()  # vpcd port 35963: "Virtual PCD 00 00"
    try:
        slot.insert(make_card("active"))  # waits with CardRequest until pcscd sees it
    except OSError as e:
        slot.close()
        pytest.fail(f"the virtual card never showed up in {READER}: {e}")
    slot.remove()
    yield slot
    slot.close()


@pytest.fixture
def pcsc_slot(pcsc_card):
    yield pcsc_card
    pcsc_card.remove()


@pytest.fixture
def card_club(tmp_path):
    """The reference club server over a freshly seeded SQLite file: (handle, db path)."""
    from simulator.club_server.seed import seed_demo
    from simulator.club_server.server import run_in_thread

    db = str(tmp_path / "club.db")
    seed_demo(db)
    handle = run_in_thread(db)
    yield handle, db
    handle.stop()
