"""The cardholder's PIN end to end: the engine, the reference club server over TCP, the
operator's commands (docs/protocol.md 4.5, docs/terminal.md "PIN").

The club's seeded PIN cards (simulator/club_server/seed.py PIN_CARDS) and magic cards 55/75;
the PIN is typed on a ScriptedKeypad. Also: a repeat (0101) of a 0100 with a PIN is the same
request to the club (its block differs, its PIN does not), a power cut after the 0100 with a
PIN is reversed without the PIN, and no artefact of a PIN sale holds the PIN or its clear PIN
field.
"""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from agent.ports import Card, ScriptedKeypad
from agent.protocol import iso8583
from agent.storage import FileStorage
from tests.test_engine_club_server import World

seed = pytest.importorskip("simulator.club_server.seed")
server_module = pytest.importorskip("simulator.club_server.server")
from simulator.club_server import admin, pins, storage  # noqa: E402
from simulator.club_server.outcomes import magic_card  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def club(tmp_path):
    db = str(tmp_path / "club.db")
    seed.seed_demo(db)
    handle = server_module.run_in_thread(db, slow_delay=0.6)
    handle.db_path = db
    yield handle
    handle.stop()


def pin_world(club, pins_typed, **kw):
    w = World(club.port, **kw)
    w.keypad = w.engine.keypad = ScriptedKeypad(pins=pins_typed)
    return w


def card(pan=seed.CARD_PIN):
    return Card(pan, None, "012")  # keyed in: the case the PIN is for


def pin_state(club, pan=seed.CARD_PIN):
    store = storage.Storage(club.db_path)
    try:
        found = admin.find_card(store, seed.vault_for(club.db_path), pan)
        return pins.state(pins.record(store, found["id"]))
    finally:
        store.close()


def club_credit(eng, pan=seed.CARD_PIN):
    res = eng.balance(card(pan))
    assert res["outcome"] == "approved", res
    return res["club_credit"]


def test_right_pin_pays_club_credit(club):
    w = pin_world(club, ["1234"])
    before = club_credit(w.engine)
    res = w.engine.purchase_club_credit(300000, card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert w.keypad.asked == ["pin", "confirm"]
    assert ("pin", {"masked": "", "tries_left": 3, "amount": 300000}) in w.display.shown
    assert club_credit(w.engine) == before - res["payable"]
    assert pin_state(club)["wrong"] == 0


def test_wrong_then_right_pin(club):
    w = pin_world(club, ["9999", "1234"])
    res = w.engine.purchase_club_credit(300000, card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert w.keypad.asked == ["pin", "pin_wrong", "confirm"]
    assert ("pin_wrong", {"masked": "", "tries_left": 2, "amount": 300000}) in w.display.shown
    assert pin_state(club)["wrong"] == 0  # a right PIN resets the count


def test_three_wrong_pins_block_until_the_operator_unblocks(club, tmp_path):
    w = pin_world(club, ["1111", "2222", "3333"])
    before = club_credit(w.engine)
    res = w.engine.purchase_club_credit(300000, card())
    assert res["outcome"] == "declined" and res["response_code"] == "75", res
    assert res["message"] == "PIN blocked: see the club"
    assert w.keypad.asked == ["pin", "pin_wrong", "pin_wrong"]
    assert pin_state(club) == {"pin": "blocked", "wrong": 3, "tries_left": 0}
    w.keypad.pins = ["1234"]  # even the right PIN is refused now, and not asked for
    res = w.engine.purchase_club_credit(300000, card())
    assert res["response_code"] == "75", res
    assert club_credit(w.engine) == before  # nothing held, nothing spent
    vafa = [sys.executable, "-m", "vafa", "club-server", "pin"]
    out = subprocess.run(
        [*vafa, "unblock", "--card", seed.CARD_PIN, "--db", club.db_path],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "card ************0303: PIN unblocked (3 tries)"
    shown = subprocess.run(
        [*vafa, "show", "--card", seed.CARD_PIN, "--db", club.db_path, "--json"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert json.loads(shown.stdout) == {
        "card": "************0303", "pin": "set", "wrong": 0, "tries_left": 3,
    }  # fmt: skip
    res = w.engine.purchase_club_credit(300000, card())
    assert res["outcome"] == "approved", res


def test_operator_reset_sets_a_new_pin(club):
    vafa = [sys.executable, "-m", "vafa", "club-server", "pin", "reset"]
    out = subprocess.run(
        [*vafa, "--card", seed.CARD_PIN_BLOCKED, "--db", club.db_path],
        input="864209\n", capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "864209" not in out.stdout + out.stderr
    w = pin_world(club, ["1234", "864209"])
    res = w.engine.purchase_club_credit(100000, card(seed.CARD_PIN_BLOCKED))
    assert res["outcome"] == "approved", res
    assert w.keypad.asked == ["pin", "pin_wrong", "confirm"]


def test_seeded_blocked_pin_is_refused_without_asking(club):
    w = pin_world(club, ["1234"])
    res = w.engine.purchase_club_credit(100000, card(seed.CARD_PIN_BLOCKED))
    assert res["outcome"] == "declined" and res["response_code"] == "75", res
    assert w.keypad.asked == []


def test_cancelled_pin_entry_holds_nothing(club):
    w = pin_world(club, [])
    before = club_credit(w.engine)
    res = w.engine.purchase_club_credit(300000, card())
    assert res["outcome"] == "cancelled" and res["response_code"] == "55", res
    assert res["message"] == "PIN entry cancelled"
    assert club_credit(w.engine) == before
    assert w.engine.ledger.open == []  # the 0100 answered 55 is closed in the journal


def test_magic_pin_cards(club):
    w = pin_world(club, ["1234"])
    for code in ("55", "75"):
        res = w.engine.purchase_club_credit(100000, card(magic_card(code)))
        assert res["outcome"] == "declined" and res["response_code"] == code, res
    assert w.keypad.asked == []  # a 55 without tags 13/14 asks nothing more


def test_card_without_pin_is_not_asked(club):
    w = pin_world(club, [])
    res = w.engine.purchase_club_credit(100000, card(seed.CARD_A))
    assert res["outcome"] == "approved", res
    assert w.keypad.asked == ["confirm"]


def test_store_setting_asks_for_store_credit_above_the_floor(club):
    store = storage.Storage(club.db_path)
    program_id = store.merchant(seed.DEMO_MERCHANT)["program_id"]
    with store.transaction():
        store.put_setting(f"program.{program_id}.pin_accounts", "70,00")
        store.put_setting(f"program.{program_id}.pin_floor", "100000")
    store.close()
    w = pin_world(club, ["1234", "1234"])
    res = w.engine.purchase_store_credit(50000, card())  # below the floor
    assert res["outcome"] == "approved", res
    assert "pin" not in w.keypad.asked
    res = w.engine.purchase_store_credit(100000, card())
    assert res["outcome"] == "approved", res
    res = w.engine.purchase_cash(200000, card())
    assert res["outcome"] == "approved", res
    assert w.keypad.asked.count("pin") == 2
    res = w.engine.top_up(100000, card())  # never asked
    assert res["outcome"] == "approved", res
    assert w.keypad.asked.count("pin") == 2


def test_repeat_of_a_pin_request_is_the_same_request(club):
    """Amount 1,000,902 drops the first answer to each fresh 0100: the terminal repeats it as
    a 0101 with a new KSN, so a new PIN block; the club must see the same content (not 94) and
    count a wrong PIN once."""
    w = pin_world(club, ["9999", "1234"])
    res = w.engine.purchase_club_credit(1_000_902, card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert w.keypad.asked == ["pin", "pin_wrong", "confirm"]
    assert pin_state(club)["wrong"] == 0


class PowerCut(BaseException):  # not caught by the engine's error path, like a real cut
    pass


class CutAfterPin:
    """A club link that loses power right after a 0100 with field 52 has left."""

    def __init__(self, link):
        self.link = link

    def exchange(self, payload, timeout_ms):
        answer = self.link.exchange(payload, timeout_ms)
        if "52" in iso8583.decode(payload):
            raise PowerCut()
        return answer

    def receive(self, timeout_ms):
        return self.link.receive(timeout_ms)

    def close(self):
        self.link.close()


def test_power_cut_after_the_0100_with_a_pin(club, tmp_path):
    files = FileStorage(str(tmp_path / "terminal"))
    w = pin_world(club, ["1234"], storage=files)
    before = club_credit(w.engine)
    w.engine.club.link = CutAfterPin(w.link)
    with pytest.raises(PowerCut):
        w.engine.purchase_club_credit(300000, card())
    w.link.close()
    again = pin_world(club, [], storage=FileStorage(str(tmp_path / "terminal")))
    report = again.engine.recover()
    assert report["actions"], report  # the 0100 is reversed (PF): no PIN needed for that
    assert again.keypad.asked == []
    assert club_credit(again.engine) == before


def artefacts(root):
    """Every file under root, as bytes."""
    return {p: p.read_bytes() for p in Path(root).rglob("*") if p.is_file()}


def test_no_pin_or_pin_field_anywhere(club, tmp_path, caplog):
    """A PIN sale (wrong PIN, then right) with a file journal and the server logging every
    message: the PIN digits and the clear PIN field's first half (format, length, digits,
    fill) appear in no journal file, SQLite file, log record, screen, receipt or result."""
    pin = "739154"
    wrong = "802617"
    store = storage.Storage(club.db_path)
    found = admin.find_card(store, seed.vault_for(club.db_path), seed.CARD_PIN)
    with store.transaction():
        pins.set_pin(store, seed.vault_for(club.db_path), found["id"], seed.CARD_PIN, pin, 0)
    store.close()
    caplog.set_level(logging.DEBUG)
    w = pin_world(club, [wrong, pin], storage=FileStorage(str(tmp_path / "terminal")))
    res = w.engine.purchase_club_credit(300000, card())
    assert res["outcome"] == "approved", res
    res2 = w.engine.close_day()
    club.stop()
    texts = {
        "result": json.dumps([res, res2]),
        "screens": repr(w.display.shown),
        "receipts": repr(w.printer.printed),
        "keypad": repr(w.keypad.asked),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
    }
    blobs = artefacts(tmp_path)
    assert any(p.name.startswith("club.db") for p in blobs)
    assert any("terminal" in str(p) for p in blobs)
    for digits in (pin, wrong):
        field = bytes.fromhex((f"4{len(digits):X}" + digits).ljust(16, "A"))
        needles = [digits.encode(), field, field.hex().encode(), field.hex().upper().encode()]
        for name, text in texts.items():
            for needle in needles:
                assert needle.decode("latin-1") not in text, (name, needle)
        for path, data in blobs.items():
            for needle in needles:
                assert needle not in data, (path, needle)


def test_pin_change_at_the_terminal(club):
    # new PIN twice, then the current PIN when the club asks for it (55 R)
    w = pin_world(club, ["5678", "5678", "1234"])
    res = w.engine.pin_change(card())
    assert res["outcome"] == "approved" and res["response_code"] == "00", res
    assert res["message"] == "PIN changed"
    assert w.keypad.asked == ["pin_new", "pin_again", "pin"]
    w.keypad.pins = ["1234", "5678"]  # the old PIN is wrong now
    res = w.engine.purchase_club_credit(100000, card())
    assert res["outcome"] == "approved", res
    assert w.keypad.asked[3:] == ["pin", "pin_wrong", "confirm"]


def test_pin_change_with_a_wrong_current_pin_counts(club):
    w = pin_world(club, ["5678", "5678", "0000", "0001", "0002"])
    res = w.engine.pin_change(card())
    assert res["outcome"] == "declined" and res["response_code"] == "75", res
    assert pin_state(club)["pin"] == "blocked"


def test_pin_change_mismatch_then_cancel(club):
    w = pin_world(club, ["5678", "5679", "5678"])
    res = w.engine.pin_change(card())
    assert res["outcome"] == "cancelled", res
    assert ("pin_mismatch", {}) in w.display.shown
    assert w.engine.club.stats["sent"] == 0  # nothing went to the club


def test_enrollment_sets_the_chosen_pin(club):
    w = pin_world(club, ["2468", "2468"])
    w.keypad.answers = {
        "phone": "09121112233", "gender": "M", "birth_date": "19850101", "education": "5",
    }  # fmt: skip
    res = w.engine.purchase_cash(300000, card(seed.STOCK[1]))
    assert res["outcome"] == "approved", res
    assert w.keypad.asked[-2:] == ["pin_new", "pin_again"]
    assert pin_state(club, seed.STOCK[1]) == {"pin": "set", "wrong": 0, "tries_left": 3}
    w.keypad.pins = ["2468"]
    res = w.engine.top_up(500000, card(seed.STOCK[1]))
    assert res["outcome"] == "approved", res
    res = w.engine.purchase_club_credit(100000, card(seed.STOCK[1]))
    assert res["outcome"] == "approved", res
    assert w.keypad.asked[-2:] == ["pin", "confirm"]


class CutKeypad(ScriptedKeypad):
    """Power goes while the cardholder types the PIN."""

    def pin(self, screen, **params):
        raise PowerCut()


def test_power_cut_while_the_pin_is_typed(club, tmp_path):
    w = pin_world(club, [], storage=FileStorage(str(tmp_path / "terminal")))
    before = club_credit(w.engine)
    w.keypad = w.engine.keypad = CutKeypad()
    with pytest.raises(PowerCut):
        w.engine.purchase_club_credit(300000, card())
    w.link.close()
    again = pin_world(club, ["1234"], storage=FileStorage(str(tmp_path / "terminal")))
    report = again.engine.recover()
    assert report["actions"] == [], report  # the 0100 answered 55 held nothing: nothing to do
    res = again.engine.purchase_club_credit(300000, card())
    assert res["outcome"] == "approved", res
    assert club_credit(again.engine) == before - res["payable"]


def test_program_settings_take_the_pin_knobs():
    from simulator.club_server import program_settings

    assert program_settings.check_value("pin_accounts", "70, 00") == "00,70"
    assert program_settings.check_value("pin_floor", "1,000,000") == 1_000_000
    assert program_settings.check_value("pin_accounts", "80,70") == "70,80"  # points: 008000
    with pytest.raises(program_settings.SettingError):
        program_settings.check_value("pin_accounts", "60")  # club credit: always, not a choice


def test_receipts_say_the_pin_was_verified_in_both_languages(club):
    from agent import receipt

    w = pin_world(club, ["1234"])
    res = w.engine.purchase_club_credit(300000, card())
    assert res["pin_verified"] is True, res
    assert any("Cardholder PIN verified" in line for copy in w.printer.printed for line in copy)
    fa = receipt.layout(res, "customer", w.engine.receipt_header(), lang="fa")
    assert any("رمز دارنده کارت تایید شد" in line for line in fa)
    res = w.engine.purchase_club_credit(100000, card(seed.CARD_A))  # no PIN asked
    assert res["pin_verified"] is False
    assert not any("PIN" in line for line in w.printer.printed[-1])


def test_a_linked_bank_card_is_not_asked_the_club_pin(club):
    """The hypermarket protects bank-card purchases (40) with the PIN: the club card is asked,
    its linked bank card is not (the bank leg verifies its own cardholder)."""
    store = storage.Storage(club.db_path)
    program_id = store.merchant(seed.DEMO_MERCHANT)["program_id"]
    with store.transaction():
        store.put_setting(f"program.{program_id}.pin_accounts", "40")
    store.close()
    w = pin_world(club, [])
    res = w.engine.purchase_bank(200000, Card(seed.BANK_CARD_A, None, "021"))
    assert res["outcome"] == "approved", res
    assert "pin" not in w.keypad.asked
    w.keypad.pins = ["1234"]
    res = w.engine.purchase_bank(200000, card())
    assert res["outcome"] == "approved" and res["pin_verified"], res
    assert w.keypad.asked[-1] == "pin"


def points_at_the_till(club, pin_accounts):
    """The demo store spends points at 1,000 rials a point and protects `pin_accounts`; the PIN
    card holds 500 points there."""
    import time

    from simulator.club_server import accounts

    store = storage.Storage(club.db_path)
    program_id = store.merchant(seed.DEMO_MERCHANT)["program_id"]
    with store.transaction():
        store.put_setting(f"program.{program_id}.pin_accounts", pin_accounts)
        store.put_setting(f"program.{program_id}.point_value_rials", "1000")
        card_id = admin.find_card(store, seed.vault_for(club.db_path), seed.CARD_PIN)["id"]
        seed.opening_balance(store, card_id, accounts.POINTS, seed.DEMO_MERCHANT, 500, time.time())
    store.close()


def test_store_setting_asks_the_pin_for_points_at_the_till(club):
    """Issue 13 section 2: points are protected by the store's choice, "80" (008000)."""
    points_at_the_till(club, "80")
    w = pin_world(club, ["9999", "1234"])
    res = w.engine.purchase_points(100000, card())  # 100 points
    assert res["outcome"] == "approved" and res["confirmed"] and res["pin_verified"], res
    assert w.keypad.asked == ["pin", "pin_wrong", "confirm_points"]
    assert pin_state(club)["wrong"] == 0
    res = w.engine.purchase_cash(100000, card())  # "00" not chosen: not asked
    assert res["outcome"] == "approved" and w.keypad.asked.count("pin") == 1, res


def test_points_at_the_till_without_the_choice_ask_no_pin(club):
    points_at_the_till(club, "70")
    w = pin_world(club, [])
    res = w.engine.purchase_points(100000, card())
    assert res["outcome"] == "approved" and not res["pin_verified"], res
    assert "pin" not in w.keypad.asked


def test_a_cancelled_pin_for_points_holds_nothing(club):
    points_at_the_till(club, "80")
    w = pin_world(club, [None])
    res = w.engine.purchase_points(100000, card())
    assert res["outcome"] == "cancelled" and res["response_code"] == "55", res
    w.keypad.pins = ["1234"]
    res = w.engine.purchase_points(500000, card())  # all 500 points: none was held
    assert res["outcome"] == "approved", res


NEW_CARD = "9879110000000501"  # Luhn-valid, new to the club


def vafa_club(db, *argv, stdin=""):
    done = subprocess.run([sys.executable, "-m", "vafa", "club-server", *argv, "--db", db],
                          input=stdin, capture_output=True, text=True, timeout=30)  # fmt: skip
    assert "Traceback" not in done.stderr
    return done


def test_a_replacement_of_a_pin_card_is_blocked_until_the_operator_sets_its_pin(club):
    """The PIN cannot move (the club keeps HMAC(card, PIN) only): the new card is answered 75,
    whatever 0100 comes first, until `pin reset` (docs/club_server.md "Replacing a lost or
    damaged card")."""
    done = vafa_club(club.db_path, "replace-card", "--old", "0303", "--new", "-", stdin=NEW_CARD)
    assert done.returncode == 0, done.stderr
    assert "PIN to set: blocked (75) until `vafa club-server pin reset`" in done.stdout
    assert pin_state(club, NEW_CARD)["pin"] == "to set"
    w = pin_world(club, ["4321"])
    res = w.engine.purchase_club_credit(100000, card(NEW_CARD))  # the finder's own PIN ...
    assert (res["outcome"], res["response_code"]) == ("declined", "75"), res
    assert pin_state(club, NEW_CARD)["pin"] == "to set"  # ... set nothing
    shown = vafa_club(club.db_path, "pin", "show", "--card", "-", stdin=NEW_CARD)
    assert "PIN to set" in shown.stdout and NEW_CARD not in shown.stdout
    refused = vafa_club(club.db_path, "pin", "unblock", "--card", "-", stdin=NEW_CARD)
    assert refused.returncode == 2 and "pin reset" in refused.stderr
    reset = vafa_club(club.db_path, "pin", "reset", "--card", "-", stdin=NEW_CARD + "\n5678\n")
    assert reset.returncode == 0, reset.stderr
    w.keypad.pins = ["5678"]
    res = w.engine.purchase_club_credit(100000, card(NEW_CARD))
    assert res["outcome"] == "approved" and res["pin_verified"], res


def test_replace_card_takes_the_new_pin_from_standard_input(club):
    done = vafa_club(club.db_path, "replace-card", "--old", "0311", "--new", "-", "--pin",
                     stdin=NEW_CARD + "\n2468\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "PIN set" in done.stdout and "2468" not in done.stdout
    assert pin_state(club, NEW_CARD) == {"pin": "set", "wrong": 0, "tries_left": 3}
    w = pin_world(club, ["2468"])
    res = w.engine.purchase_club_credit(100000, card(NEW_CARD))
    assert res["outcome"] == "approved" and res["pin_verified"], res
    bad = vafa_club(club.db_path, "replace-card", "--old", "0014", "--new", "-", "--pin",
                    stdin="9879110000000519\n12\n")  # fmt: skip
    assert bad.returncode == 2 and "4..12 digits" in bad.stderr


def test_a_replacement_of_a_card_without_pin_still_takes_its_first_pin(club):
    done = vafa_club(club.db_path, "replace-card", "--old", "0014", "--new", "-", stdin=NEW_CARD)
    assert done.returncode == 0 and "PIN none" in done.stdout, done.stderr
    assert pin_state(club, NEW_CARD)["pin"] == "none"
