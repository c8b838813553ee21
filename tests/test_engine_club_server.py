"""The engine end to end against the reference club server (simulator/club_server, pyiso8583)
over TCP, with the bank leg simulator: every flow, the recovery paths, the magic outcomes.

Identities and cards are the club server's demo data (simulator/club_server/seed.py).
"""

import binascii
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.engine import Engine
from agent.links.tcp import TcpClubLink
from agent.ports import (
    Card,
    MemoryStorage,
    RecordingDisplay,
    RecordingPrinter,
    ScriptedKeypad,
    SystemClock,
)
from agent.protocol.dukpt import TerminalDukpt, derive_initial_key
from agent.storage import BlobStore
from simulator.bank import BankSimulator

seed = pytest.importorskip("simulator.club_server.seed")
server_module = pytest.importorskip("simulator.club_server.server")

BDK = binascii.unhexlify("FEDCBA9876543210F1F1F1F1F1F1F1F1")
SLOW_DELAY = 0.6
TIMEOUT_MS = 300  # shorter than the server's slow delay in these tests


@pytest.fixture
def club(tmp_path):
    db = str(tmp_path / "club.db")
    seed.seed_demo(db)
    handle = server_module.run_in_thread(db, slow_delay=SLOW_DELAY)
    yield handle
    handle.stop()


class World:
    def __init__(self, port, storage=None, bank=None, number=1):
        terminal_id, ikid_hex = seed.terminal_identity(number)
        self.storage = storage if storage is not None else MemoryStorage()
        self.bank = bank or BankSimulator()
        self.display = RecordingDisplay()
        self.printer = RecordingPrinter()
        self.keypad = ScriptedKeypad(
            {"phone": "09121112233", "gender": "M", "birth_date": "19850101", "education": "5"}
        )
        self.link = TcpClubLink("127.0.0.1", port)
        dukpt = TerminalDukpt(BlobStore(self.storage, "dukpt"))
        if not dukpt.loaded:
            ikid = binascii.unhexlify(ikid_hex)
            dukpt.load_initial_key(derive_initial_key(BDK, ikid), ikid)
        self.engine = Engine(
            self.link,
            self.bank,
            None,
            self.keypad,
            self.display,
            self.printer,
            SystemClock(),
            self.storage,
            {
                "terminal_id": terminal_id,
                "merchant_id": seed.DEMO_MERCHANT,
                "storage_key": bytes(range(16)),
                "timeout_ms": TIMEOUT_MS,
            },
            dukpt=dukpt,
        )

    def restart(self, port):
        self.link.close()
        return World(port, self.storage, self.bank)


def card(pan=seed.CARD_A):
    return Card(pan, None, "051")


def test_every_flow(club):
    w = World(club.port)
    eng = w.engine
    assert eng.recover()["actions"] == []
    assert eng.sign_on() == "00"
    res = eng.purchase_bank(1200000, card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert res["discount"] == 180000 and res["fee"] == 5000  # tier A: 15 %, fee 5,000
    assert w.bank.charged_total() == res["payable"] == 1200000 - 180000 + 5000
    res = eng.purchase_club_credit(300000, card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    credit_rrn = res["rrn"]
    res = eng.purchase_store_credit(100000, card())
    assert res["outcome"] == "approved", res
    res = eng.purchase_cash(200000, card())
    assert res["outcome"] == "approved" and res["points_earned"] is not None, res
    res = eng.balance(card())
    assert res["outcome"] == "approved" and res["club_credit"] is not None, res
    res = eng.top_up(100000, card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    res = eng.refund(50000, credit_rrn, "60", card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    res = eng.void_last()
    assert res["outcome"] == "approved" and res["confirmed"], res
    res = eng.close_day()
    assert res["response_code"] == "00", res
    assert w.bank.charged_total() == 1025000


def test_enrollment(club):
    eng = World(club.port).engine
    res = eng.purchase_cash(300000, card(seed.STOCK[0]))
    assert res["outcome"] == "approved" and res["confirmed"], res


def test_declines_stop_without_phase_two(club):
    w = World(club.port)
    res = w.engine.purchase_bank(1200000, card(seed.CARD_BLOCKED))
    assert (res["outcome"], res["response_code"]) == ("declined", "62")
    res = w.engine.purchase_club_credit(1000051, card())
    assert (res["outcome"], res["response_code"]) == ("declined", "51")
    assert w.bank.payments == [] and w.engine.pending() == 0


def test_slow_answer_repeat_gets_the_original(club):
    w = World(club.port)
    res = w.engine.purchase_bank(1000901, card())  # the 0110 comes after our timer
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert len(w.bank.charges()) == 1


def test_dropped_and_bad_mac_answers(club):
    w = World(club.port)
    for amount in (1000902, 1000904):
        res = w.engine.purchase_bank(amount, card())
        assert res["outcome"] == "approved" and res["confirmed"], (amount, res)
    assert len(w.bank.charges()) == 2


def test_bank_decline_reverses(club):
    w = World(club.port, bank=BankSimulator(["decline"]))
    res = w.engine.purchase_bank(1200000, card())
    assert (res["outcome"], res["reason"], res["confirmed"]) == ("reversed", "BD", False)
    assert w.engine.pending() == 0
    res = w.engine.purchase_bank(1200000, card())  # the discount offer was released
    assert res["outcome"] == "approved"


def test_power_cut_after_the_approval_is_reversed_with_pf(club):
    w = World(club.port)
    eng = w.engine
    eng.recover()
    # cut right after the 0110 is journaled: replay what the journal would hold
    original = eng.ledger.record

    class Cut(BaseException):  # a power cut: no code of the engine's runs after it
        pass

    def record(rec):
        original(rec)
        if rec["k"] == "rsp":
            raise Cut()

    eng.ledger.record = record
    with pytest.raises(Cut):
        eng.purchase_bank(1200000, card())
    w2 = w.restart(club.port)
    report = w2.engine.recover()
    assert report["actions"] == [("reversed", "000001")]
    assert report["pending"] == 0
    assert w.bank.payments == []


def test_power_cut_after_the_bank_charged_is_confirmed(club):
    w = World(club.port)
    eng = w.engine
    eng.recover()

    class Cut(BaseException):  # a power cut: no code of the engine's runs after it
        pass

    pay = w.bank.pay

    def pay_then_cut(amount, card, txn_id):
        pay(amount, card, txn_id)
        raise Cut()

    w.bank.pay = pay_then_cut
    with pytest.raises(Cut):
        eng.purchase_bank(1200000, card())
    w.bank.pay = pay
    w2 = w.restart(club.port)
    report = w2.engine.recover()
    assert report["actions"] == [("confirmed", "000001")]
    assert report["pending"] == 0
    assert len(w.bank.charges()) == 1
    assert w2.engine.close_day()["response_code"] == "00"


MICROPYTHON_SALE = """
import binascii
from agent.engine import Engine
from agent.links.tcp import TcpClubLink
from agent.ports import Card, RecordingDisplay, RecordingPrinter, ScriptedKeypad, SystemClock
from agent.protocol.dukpt import TerminalDukpt, derive_initial_key
from agent.storage import FileStorage
from simulator.bank import BankSimulator

storage = FileStorage(ROOT)
dukpt = TerminalDukpt(storage.store("dukpt"))
if not dukpt.loaded:
    ikid = binascii.unhexlify("5641464100000001")
    bdk = binascii.unhexlify("FEDCBA9876543210F1F1F1F1F1F1F1F1")
    dukpt.load_initial_key(derive_initial_key(bdk, ikid), ikid)
config = {"terminal_id": "VT000001", "merchant_id": "VAFA00000000001", "storage_key": bytes(16)}
bank = BankSimulator()
engine = Engine(TcpClubLink("127.0.0.1", PORT), bank, None, ScriptedKeypad(), RecordingDisplay(),
                RecordingPrinter(), SystemClock(), storage, config, dukpt=dukpt)
print("recover", engine.recover()["pending"])
res = engine.purchase_bank(1200000, Card("9879110000000014", None, "051"))
assert res["outcome"] == "approved" and res["confirmed"], res
assert bank.charged_total() == res["payable"]
res = engine.purchase_club_credit(300000, Card("9879110000000014", None, "051"))
assert res["outcome"] == "approved" and res["confirmed"], res
res = engine.close_day()
assert res["response_code"] == "00", res
print("micropython engine ok")
"""


MICROPYTHON = Path(sys.executable).parent / "micropython"
# The unix port keeps all bytecode in the heap (a board's frozen modules keep it in flash), and
# here every module is compiled from source in this process, beside the bank simulator: the
# least heap this sale passes in is 392 KB (4 KB steps), almost all of it the modules; the two
# receipts of a sale churn ~40 KB of short-lived garbage, no longer what limits it. 464 KB
# leaves 18 %. The device footprint is bench/bench_footprint.py's business, not this test's.
HEAP = 475136


@pytest.mark.skipif(not MICROPYTHON.exists(), reason="micropython unix binary not installed")
def test_the_engine_under_micropython_against_the_club_server(club, tmp_path):
    root = Path(__file__).resolve().parent.parent
    script = tmp_path / "sale.py"
    text = MICROPYTHON_SALE.replace("PORT", str(club.port))
    script.write_text(text.replace("ROOT", repr(str(tmp_path / "terminal"))))
    out = subprocess.run(
        [str(MICROPYTHON), "-X", f"heapsize={HEAP}", str(script)],
        cwd=root,
        env=dict(os.environ, MICROPYPATH=".frozen:."),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "micropython engine ok" in out.stdout
