"""The agent on the emulated Arm board, end to end: the mps2-an385 firmware (MicroPython built
from VAFA_MICROPYTHON_SRC with the agent frozen in, littlefs and the `semihost` module) under
qemu-system-arm, provisioned through its REPL, its one UART handed to the host link's gateway,
which reaches the real club server, the bank simulator and the peripherals' endpoints
(simulator/fil/qemu.py). QEMU killed mid-sale is a power cut: the flash (a host file through
semihosting) keeps the journal, the STAN and the DUKPT state, and the board recovers.

Without the MicroPython source these skip, except under CI, where they fail."""

import contextlib
import os
import shutil
import threading
import time

import pytest

from flashing import firmware
from hostbridge.client import EcrClient
from hostbridge.link import Timers
from simulator.cards import personas as chip
from simulator.club_server import seed
from simulator.club_server.ledger import ledger_check
from simulator.fil.qemu import FLASH, QemuTerminal, firmware_path

SOURCE = os.environ.get(firmware.ENV_SOURCE)
CARD_A = "9879110000000014"


def need_board():
    missing = None
    if not SOURCE:
        missing = f"{firmware.ENV_SOURCE} is not set (./run.sh test sets it)"
    elif shutil.which("qemu-system-arm") is None:
        missing = "qemu-system-arm not found (Debian qemu-system-arm)"
    if missing and os.environ.get("CI"):
        pytest.fail("CI must run the ARM board: " + missing)
    if missing:
        pytest.skip(missing)


@pytest.fixture(scope="session")
def elf():
    need_board()
    return firmware_path(SOURCE)


@pytest.fixture
def board(tmp_path, club, elf):
    with QemuTerminal(tmp_path / "terminal", club.port, elf) as t:
        yield t


def heap(terminal):
    """(bytes in use, bytes free) of the board's last VAFA-HEAP line."""
    lines = [x for x in terminal.output().splitlines() if x.startswith("VAFA-HEAP ")]
    used, free = lines[-1].split()[1:]
    return int(used), int(free)


def wait_for(ready, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_club_sale_on_the_cortex_m3(board, club):
    assert board.boot_s < 10
    assert "mps2-an385 with Cortex-M3" in board.output()
    board.card.insert(chip.make_card("active"))
    started = time.monotonic()
    answer = board.ecr.sale(20000, invoice="ARM-1", cashier="07", method="club")
    seconds = time.monotonic() - started
    assert answer.ok and answer.card == "****0014", answer.fields
    assert seconds < 15
    screens = board.screens.take()
    assert screens[-1][:2] == ["APPROVED", f"Paid {answer.payable:,}"], screens
    receipts = board.receipts()
    assert len(receipts) == 2 and "Card ****0014" in receipts[0]
    assert CARD_A not in board.output() + repr(receipts)
    used, free = heap(board)
    assert used + free <= 143360 and free > 16 * 1024  # the board's heap, with room to spare
    assert (board.root / FLASH).stat().st_size == 1024 * 1024
    assert club.call(ledger_check).ok


def test_a_power_cut_mid_sale_is_recovered_from_the_flash(board, club):
    """QEMU is killed while the customer is asked to confirm (the club approved phase one).
    Booted again, the board finds the open transaction in its journal on the flash and
    reverses it; the cashier's status inquiry gets the kept result; the next sale goes on
    with the next STAN and DUKPT counter (the club refuses a repeated KSN)."""
    board.card.insert(chip.issued_card(seed.CARD_B))
    first = board.ecr.sale(100000, invoice="PC-0", cashier="07", method="cash")
    assert first.ok, first.fields
    asked = threading.Event()
    board.keypad._answer = lambda prompt, confirmation: asked.set()  # the answer never comes
    board.card.insert(chip.make_card("active"))
    cashier = board.ecr
    fields = {"invoice": "PC-1", "cashier": "07", "method": "club"}
    threading.Thread(
        target=_quietly, args=(cashier.sale, 30000), kwargs=fields, daemon=True
    ).start()
    assert asked.wait(30), "the keypad was never asked"
    board.restart()  # the power cut, then power on
    wait_for(lambda: "VAFA-QUEUE 0" in board.output().rsplit("VAFA-READY", 1)[-1], 60, "no drain")
    status = board.ecr.status("PC-1")
    assert status.fields.get("invoice") == "PC-1" and not status.ok, status.fields
    assert "restart" in status.fields.get("message", ""), status.fields
    assert not club.call(ledger_check, time.time() + 3600).findings  # the hold was released
    board.card.insert(chip.issued_card(seed.CARD_B))
    board.keypad.confirms = [True]
    del board.keypad._answer
    after = board.ecr.sale(100000, invoice="PC-2", cashier="07", method="cash")
    assert after.ok, after.fields
    assert int(after.stan) > int(first.stan) + 1  # PC-1's STAN and its reversal's were used
    assert club.call(ledger_check).ok


def _quietly(call, *args, **kwargs):
    with contextlib.suppress(Exception):  # the cashier's line died with the board
        call(*args, **kwargs)


def test_the_cashier_reconnects_after_the_board_restarts(board):
    board.restart()
    board.ecr = EcrClient(f"socket://127.0.0.1:{board.ecr_port}", timers=Timers(busy_s=0))
    assert board.ecr.status("NEVER").fields["result"] == "12"
