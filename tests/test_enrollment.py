"""Enrollment on CPython: agent/enrollment.py's Jalali birth dates against jdatetime, and the
engine enrolling a stock card at the reference club server (the answers the terminal checks,
what reaches the club, what it stores)."""

import binascii
import datetime as dt

import pytest

from agent.engine import Engine
from agent.enrollment import OLDEST_YEARS, birth_date
from agent.links.tcp import TcpClubLink
from agent.ports import Card, MemoryStorage, RecordingDisplay, RecordingPrinter, SystemClock
from agent.protocol.dukpt import TerminalDukpt, derive_initial_key
from agent.storage import BlobStore
from simulator.club_server.seed import DEMO_MERCHANT, STOCK, seed_demo, terminal_identity, vault_for
from simulator.club_server.server import TEST_BDK, run_in_thread
from tests.portable.test_enrollment import SequenceKeypad

jdatetime = pytest.importorskip("jdatetime")

TODAY = dt.date(2025, 6, 1)


def test_every_jalali_day_and_non_day_of_1280_to_1410_matches_jdatetime():
    oldest = dt.date(TODAY.year - OLDEST_YEARS, TODAY.month, TODAY.day)
    today = (TODAY.year, TODAY.month, TODAY.day)
    count = 0
    for jy in range(1280, 1411):
        for jm in range(1, 14):
            for jd in range(0, 33):
                try:
                    g = jdatetime.date(jy, jm, jd).togregorian()
                except ValueError:
                    expected = None
                else:
                    expected = g.strftime("%Y%m%d") if oldest <= g <= TODAY else None
                    count += expected is not None
                assert birth_date(f"{jy:04d}{jm:02d}{jd:02d}", today) == expected, (jy, jm, jd)
    assert count == (TODAY - oldest).days + 1  # every day of the 120 years, once


@pytest.fixture
def club(tmp_path):
    db = str(tmp_path / "club.db")
    seed_demo(db)
    handle = run_in_thread(db)
    yield handle
    handle.stop()


def engine(port, keypad):
    terminal_id, ikid_hex = terminal_identity(1)
    storage = MemoryStorage()
    dukpt = TerminalDukpt(BlobStore(storage, "dukpt"))
    ikid = binascii.unhexlify(ikid_hex)
    dukpt.load_initial_key(derive_initial_key(TEST_BDK, ikid), ikid)
    display = RecordingDisplay()
    config = {
        "terminal_id": terminal_id,
        "merchant_id": DEMO_MERCHANT,
        "storage_key": bytes(range(16)),
        "timeout_ms": 3000,
    }
    link = TcpClubLink("127.0.0.1", port)
    return Engine(
        link, None, None, keypad, display, RecordingPrinter(), SystemClock(), storage, config,
        dukpt=dukpt,
    )  # fmt: skip


def member_of(club, pan):
    vault = vault_for(club.server.db_path)

    def find(store):
        card = store.card_by_hash(vault.lookup_hash(pan))
        return card, store.member(card["member_id"]) if card["member_id"] else None

    return club.call(find)


def requests(club):
    return club.call(lambda store: store.table_counts()["requests"])


def test_a_jalali_birth_date_is_sent_converted_and_a_bad_phone_never_leaves(club):
    keypad = SequenceKeypad(
        {
            "phone": ["0912ABC", "09121234567"],
            "gender": "F",
            "birth_date": ["13690230", "13690230"],
            "education": "4",
        }
    )
    eng = engine(club.port, keypad)
    res = eng.purchase_cash(100000, Card(STOCK[0], None, "051"))
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert "enroll_phone" in eng.display.screens()
    assert requests(club) == 3  # 0100 (64), 0100 with the details (00), 0220
    card, member = member_of(club, STOCK[0])
    assert card["status"] == "active"
    assert (member["phone"], member["birth_date"]) == ("09121234567", "19900520")
