"""docs/protocol.md section 6: repeats, duplicates and the idempotency of phase two."""

from simulator.club_server.seed import CARD_A, CARD_LOW
from tests.club_server.support import balance, ledger_of, txn

CLUB = "006000"


def test_a_repeat_gets_the_original_response_and_holds_once(server, terminal):
    msg, first = terminal.authorize(CLUB, 1_200_000, CARD_A)
    repeat = dict(msg, t="0101")  # same STAN, field 7 and content; a new KSN
    again = terminal.exchange(repeat, terminal.secrets(CARD_A))
    assert again.message["t"] == "0110"
    assert again.message["53"] != first.message["53"]  # protected under the repeat's KSN
    for key in ("37", "38", "39", "54", "48", "4", "11", "7"):
        assert again.message[key] == first.message[key]
    assert balance(server, CARD_A) == (5_000_000, 1_025_000)  # held once
    same_mti = terminal.exchange(dict(msg), terminal.secrets(CARD_A))  # an 0100 sent twice
    assert same_mti.rrn == first.rrn


def test_a_repeat_of_an_unseen_request_is_processed(server, terminal):
    msg = terminal.request_0100(CLUB, 100_000, mti="0101")
    r = terminal.exchange(msg, terminal.secrets(CARD_A))
    assert r.code == "00" and r.message["t"] == "0110"
    assert balance(server, CARD_A)[1] == r.amounts["60P1"]


def test_a_repeat_of_a_decline_is_the_same_decline(terminal):
    msg, first = terminal.authorize(CLUB, 100_000, CARD_LOW)
    assert first.code == "51"
    assert terminal.exchange(dict(msg, t="0101"), terminal.secrets(CARD_LOW)).code == "51"


def test_same_stan_different_content_is_94(server, terminal):
    msg, first = terminal.authorize(CLUB, 100_000, CARD_A)
    changed = dict(msg, t="0101", **{"4": f"{200_000:012d}"})
    assert terminal.exchange(changed, terminal.secrets(CARD_A)).code == "94"
    other_card = dict(msg, t="0101")
    assert terminal.exchange(other_card, terminal.secrets(CARD_LOW)).code == "94"  # 62 decrypted
    assert balance(server, CARD_A) == (5_000_000, first.amounts["60P1"])


def test_a_second_confirmation_changes_nothing_and_gets_the_first_data(server, terminal):
    msg, first = terminal.authorize(CLUB, 1_200_000, CARD_A)
    c1 = terminal.confirm(msg, first, CARD_A)
    rows = ledger_of(server, first.rrn)
    c2 = terminal.confirm(msg, first, CARD_A)  # a new 0220 (new STAN) for the same original
    assert c2.code == "00"
    assert (c2.tags, c2.amounts) == (c1.tags, c1.amounts)
    assert ledger_of(server, first.rrn) == rows
    assert balance(server, CARD_A) == (3_975_000, 0)


def test_a_repeated_confirmation_gets_the_original_response(server, terminal):
    msg, first = terminal.authorize(CLUB, 100_000, CARD_A)
    confirm = terminal.follow_up("0220", msg, first.rrn)
    c1 = terminal.exchange(confirm, terminal.secrets(CARD_A))
    c2 = terminal.exchange(dict(confirm, t="0221"), terminal.secrets(CARD_A))
    assert c2.message["t"] == "0230" and c2.code == "00"
    assert c2.message["48"] == c1.message["48"] and c2.message["54"] == c1.message["54"]


def test_a_confirmation_after_a_reversal_is_12(server, terminal):
    msg, first = terminal.authorize(CLUB, 100_000, CARD_A)
    assert terminal.reverse(msg, CARD_A, first.rrn, "BT").code == "00"
    assert terminal.confirm(msg, first, CARD_A).code == "12"
    assert balance(server, CARD_A) == (5_000_000, 0)
    assert txn(server, first.rrn)["state"] == "reversed"


def test_a_reversal_of_an_unknown_transaction_is_acknowledged(server, terminal):
    msg = terminal.request_0100(CLUB, 100_000)  # never sent
    assert terminal.reverse(msg, CARD_A, None, "TO").code == "00"
    # the 0100 arriving late (after the terminal gave it up) is not approved
    late = terminal.exchange(msg, terminal.secrets(CARD_A))
    assert late.code == "12"
    assert balance(server, CARD_A) == (5_000_000, 0)
    assert terminal.reverse(msg, CARD_A, "000000999999", "TO").code == "00"  # unknown RRN too


def test_a_second_reversal_changes_nothing(server, terminal):
    msg, first = terminal.authorize(CLUB, 1_200_000, CARD_A)
    terminal.confirm(msg, first, CARD_A)
    assert terminal.reverse(msg, CARD_A, first.rrn, "VD").code == "00"
    rows = ledger_of(server, first.rrn)
    assert terminal.reverse(msg, CARD_A, first.rrn, "VD").code == "00"
    assert ledger_of(server, first.rrn) == rows
    assert balance(server, CARD_A) == (5_000_000, 0)


def test_confirmation_checks_against_the_original(server, terminal):
    msg, first = terminal.authorize(CLUB, 100_000, CARD_A)
    unknown = terminal.follow_up("0220", msg, "000000999999")
    assert terminal.exchange(unknown, terminal.secrets(CARD_A)).code == "25"
    other_amount = terminal.follow_up("0220", dict(msg, **{"4": f"{1:012d}"}), first.rrn)
    other_amount["90"] = "0100" + msg["11"] + msg["7"] + "0" * 22
    assert terminal.exchange(other_amount, terminal.secrets(CARD_A)).code == "13"
    wrong_original = terminal.follow_up("0220", dict(msg, **{"11": "999999"}), first.rrn)
    assert terminal.exchange(wrong_original, terminal.secrets(CARD_A)).code == "12"
    assert terminal.confirm(msg, first, CARD_LOW).code == "12"  # another card
    assert terminal.confirm(msg, first, CARD_A).code == "00"
