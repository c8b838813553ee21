"""Points of docs/protocol.md an outside vendor had to guess at, each pinned against a real
server over TCP: field 62 of a 0220, unknown and malformed TLV items, the MTI in field 90,
repeats and their fields 7/12/13, and how reconciliation counts a void."""

from agent.protocol import crypto, protect
from simulator.club_server.seed import CARD_A, CARD_B


def raw_exchange(terminal, msg, secrets=None, keys=None, cipher=None):
    """Seal with the agent's code (or put `cipher` in field 62 as is) and return the answer."""
    keys = keys or terminal.next_keys()
    if cipher is not None:
        msg = dict(msg, **{"62": cipher})
    return terminal.exchange_raw(protect.seal(msg, keys, protect.REQUEST, secrets), keys)


# -- field 62 (4.1) --------------------------------------------------------------------------


def test_a_0220_without_a_card_number_is_processed(terminal):
    original, first = terminal.authorize("000000", 100_000, CARD_A)
    confirm = terminal.follow_up("0220", original, first.rrn)
    assert terminal.exchange(confirm, terminal.secrets()).code == "00"


def test_a_0220_with_another_card_is_12(terminal):
    original, first = terminal.authorize("000000", 100_000, CARD_A)
    confirm = terminal.follow_up("0220", original, first.rrn)
    assert terminal.exchange(confirm, terminal.secrets(CARD_B)).code == "12"


def test_a_0420_card_is_not_checked(terminal):
    original, first = terminal.authorize("000000", 100_000, CARD_A)
    assert terminal.reverse(original, CARD_B, first.rrn).code == "00"


def test_unknown_tags_are_skipped_in_48_and_62(terminal):
    msg = terminal.request_0100("000000", 100_000, tags={0x7E: "future"})
    secrets = {**terminal.secrets(CARD_A), 0x7F: "future"}
    assert terminal.exchange(msg, secrets).code == "00"


def test_a_field_62_item_cut_short_is_63(terminal):
    keys = terminal.next_keys()
    msg = terminal.request_0100("000000", 100_000)
    plain = b"\x03\x08VT000001\x01\x10" + CARD_A.encode() + b"\x02\x092812"  # 02 claims 9
    cipher = crypto.aes_cbc_encrypt(keys.data_encrypt, bytes(16), crypto.pad_iso9797_m2(plain))
    assert raw_exchange(terminal, msg, keys=keys, cipher=cipher).code == "63"


def test_a_0100_without_a_card_number_is_30(terminal):
    msg = terminal.request_0100("000000", 100_000)
    assert terminal.exchange(msg, terminal.secrets()).code == "30"


# -- fields 7, 12, 13 and 90; repeats (2.1 notes, section 6) -----------------------------------


def test_field_90_may_name_the_0101(terminal):
    original, first = terminal.authorize("000000", 100_000, CARD_A)
    confirm = terminal.follow_up("0220", original, first.rrn)
    confirm["90"] = "0101" + confirm["90"][4:]
    assert terminal.exchange(confirm, terminal.secrets(CARD_A)).code == "00"


def test_a_0101_is_answered_0110_with_the_first_answer(terminal):
    original, first = terminal.authorize("000000", 100_000, CARD_A)
    repeat = terminal.exchange(dict(original, t="0101"), terminal.secrets(CARD_A))
    assert repeat.message["t"] == "0110"
    assert repeat.code == "00" and repeat.rrn == first.rrn


def test_a_0101_with_other_local_time_is_94(terminal):
    original, _ = terminal.authorize("000000", 100_000, CARD_A)
    repeat = dict(original, t="0101", **{"12": "000000"})
    assert terminal.exchange(repeat, terminal.secrets(CARD_A)).code == "94"


def test_a_0101_with_another_field_7_is_a_new_request(terminal):
    original, first = terminal.authorize("000000", 100_000, CARD_A)
    other_time = "0101000000" if original["7"] != "0101000000" else "0102000000"
    repeat = dict(original, t="0101", **{"7": other_time})
    again = terminal.exchange(repeat, terminal.secrets(CARD_A))
    assert again.code == "00" and again.rrn != first.rrn


def test_the_0220_carries_its_own_time_and_the_0100s_in_field_90(terminal):
    original, first = terminal.authorize("000000", 100_000, CARD_A)
    confirm = terminal.follow_up("0220", original, first.rrn)
    confirm["7"], confirm["12"], confirm["13"] = "0101000000", "033000", "0101"
    assert confirm["90"][10:20] == original["7"]
    assert terminal.exchange(confirm, terminal.secrets(CARD_A)).code == "00"


# -- reconciliation of a void (5.8) -------------------------------------------------------------


def test_a_voided_purchase_counts_in_debits_and_debit_reversals(terminal):
    original, first = terminal.authorize("000000", 250_000, CARD_A)
    assert terminal.confirm(original, first, CARD_A).code == "00"
    assert terminal.reverse(original, CARD_A, first.rrn, reason="VD").code == "00"
    totals = {"76": 1, "88": 250_000, "77": 1, "89": 250_000, "97": "C" + "0" * 16}
    r = terminal.reconcile(totals)
    assert r.code == "00"
    assert r.message["76"] == r.message["77"] == "0000000001"
    assert r.message["88"] == r.message["89"] == f"{250_000:016d}"
    assert r.tags[0x0E] == "2"  # two items: the debit and its reversal
    assert terminal.reconcile({}).code == "00"  # the window closed with the 0510


def test_a_net_of_zero_compares_equal_with_either_sign(terminal):
    assert terminal.reconcile({"97": "D" + "0" * 16}).code == "00"
