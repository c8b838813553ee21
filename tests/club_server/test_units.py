"""Known answers for the club server's pure parts: program arithmetic, calendar, Persian text,
card numbers, the wire profile, key derivation; and docs/testing.md kept in step with the data."""

import contextlib
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.jalali import gregorian_to_jalali
from simulator.club_server import sms, tehran, wire, workcal
from simulator.club_server.cards import CardVault, luhn_valid, mask, with_check_digit
from simulator.club_server.context import encode_amounts
from simulator.club_server.host import respond
from simulator.club_server.outcomes import RULES, OutcomeTable, magic_card
from simulator.club_server.program import DEFAULT_SETTINGS, Program, tier_for
from simulator.club_server.protection import Keyring
from simulator.club_server.seed import (
    CARDS,
    MERCHANTS,
    POOL_STOCK,
    PROGRAMS,
    STOCK,
    TERMINALS,
    all_card_numbers,
    terminal_identity,
)

ROOT = Path(__file__).resolve().parents[2]


def program(code):
    return Program({"id": 1, **PROGRAMS[code]})


@pytest.mark.parametrize(
    "code, amount, tier, account, expected",
    [
        ("hyper", 1_200_000, "B", "40", (120_000, 5_000, 1_085_000)),  # docs/protocol.md 2.4
        ("hyper", 1_200_000, "A", "60", (180_000, 5_000, 1_025_000)),
        ("hyper", 1_200_000, "C", "40", (60_000, 5_000, 1_145_000)),
        ("pool", 1_000_000, "A", "40", (200_000, 10_000, 810_000)),  # fee 1 %
        ("pool", 1_000_000, "C", "40", (0, 0, 1_000_000)),  # no discount, no fee
        ("books", 1_000_000, "A", "60", (0, 0, 1_000_000)),  # discount on bank cards only
        ("books", 999, "A", "40", (99, 0, 900)),  # rounding down
    ],
)
def test_pricing(code, amount, tier, account, expected):
    assert program(code).price(amount, tier, account) == expected


@pytest.mark.parametrize(
    "code, balance, expected",
    [
        ("hyper", 99, (0, 0)),
        ("hyper", 100, (100, 100_000)),
        ("hyper", 250, (200, 200_000)),
        ("pool", 999, (0, 0)),  # below the 1,000-point threshold
        ("pool", 1_200, (1_000, 1_000_000)),
        ("books", 10_000, (0, 0)),
    ],
)
def test_points_conversion(code, balance, expected):
    assert program(code).conversion(balance) == expected


def test_points_and_tiers():
    assert program("hyper").points_for(1_019_999) == 101
    assert program("hyper").points_for(0) == 0
    assert tier_for(50_000_000, DEFAULT_SETTINGS) == "A"
    assert tier_for(49_999_999, DEFAULT_SETTINGS) == "B"
    assert tier_for(9_999_999, DEFAULT_SETTINGS) == "C"
    assert tier_for(0, DEFAULT_SETTINGS, floor="A") == "A"
    assert tier_for(60_000_000, DEFAULT_SETTINGS, floor="B") == "A"  # a floor never lowers


@pytest.mark.parametrize(
    "gregorian, jalali",
    [
        ((2024, 3, 20), (1403, 1, 1)),
        ((2023, 3, 21), (1402, 1, 1)),
        ((2025, 3, 21), (1404, 1, 1)),
        ((2025, 1, 1), (1403, 10, 12)),
        ((1979, 2, 11), (1357, 11, 22)),
    ],
)
def test_jalali(gregorian, jalali):
    # The club's dates use the agent's conversion (agent/jalali.py): one implementation.
    assert gregorian_to_jalali(*gregorian) == jalali


@pytest.mark.parametrize(
    "start, due",
    [
        ("2024-05-01T10:00", "2024-05-04T10:00"),  # Wednesday -> Saturday (Thu, Fri skipped)
        ("2024-05-04T10:00", "2024-05-05T10:00"),  # Saturday -> Sunday
        ("2024-05-02T10:00", "2024-05-05T00:00"),  # Thursday -> end of Saturday
    ],
)
def test_settlement_due_in_24_working_hours(start, due):
    ts = dt.datetime.fromisoformat(start).replace(tzinfo=tehran.TEHRAN).timestamp()
    due_at = workcal.settlement_due(ts, {})  # the club's calendar without holidays or hours
    assert tehran.local(due_at).strftime("%Y-%m-%dT%H:%M") == due


def test_card_expiry_months():
    ts = dt.datetime(2024, 11, 15, tzinfo=tehran.TEHRAN).timestamp()
    assert tehran.add_months_yymm(ts, 36) == "2711"
    assert tehran.add_months_yymm(ts, 2) == "2501"
    assert tehran.expired("2410", ts) and not tehran.expired("2411", ts)


def test_persian_numbers_and_notices():
    assert sms.fa_number(1_200_000) == "۱٬۲۰۰٬۰۰۰"
    assert sms.fa_digits("0914") == "۰۹۱۴"
    ts = dt.datetime(2024, 3, 20, 12, 30, tzinfo=tehran.TEHRAN).timestamp()
    text = sms.notice(
        "purchase",
        when=ts,
        card_last4="1234",
        amount=120_000,
        store="فروشگاه",
        points=12,
        points_balance=340,
    )
    assert text == (
        "باشگاه وفا: خرید ۱۲۰٬۰۰۰ ریال در فروشگاه، کارت ۱۲۳۴. امتیاز: +۱۲، امتیاز کل: ۳۴۰. "
        "۱۴۰۳/۰۱/۰۱ ۱۲:۳۰"
    )
    assert len(sms.receipt_line("earn", points=10**60).encode()) <= 255


def test_card_numbers():
    assert with_check_digit("7992739871") == "79927398713"  # the classic Luhn example
    assert luhn_valid("9879110000000014") and not luhn_valid("9879110000000015")
    assert mask("9879110000000014") == "************0014"
    assert all(
        luhn_valid(pan) and pan.startswith(("987911", "603799")) for pan in all_card_numbers()
    )
    assert len(set(all_card_numbers())) == len(all_card_numbers())
    vault = CardVault(bytes(32))
    assert vault.lookup_hash("9879110000000014") != CardVault(b"\x01" * 32).lookup_hash(
        "9879110000000014"
    )  # keyed
    blob = vault.encrypt("9879110000000014")
    assert b"9879110000000014" not in blob
    assert vault.decrypt(blob, vault.lookup_hash("9879110000000014")) == "9879110000000014"


def test_additional_amounts_example_of_the_protocol():
    text = encode_amounts([("40", "D1", 120_000), ("40", "F1", 5_000), ("40", "P1", 1_085_000)])
    assert text == "40D1364C00000012000040F1364C00000000500040P1364C000001085000"


def test_key_derivation_example_of_the_protocol():
    """docs/protocol.md 4.2: the keys of KSN 123456789012345600000001 under the test BDK."""
    from agent.protocol import aes_cryptography

    aes_cryptography.install()
    keys = Keyring(bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")).keys_for(
        bytes.fromhex("123456789012345600000001")
    )
    assert keys.mac_generation.hex().upper() == "A2DC23DE6FDE0824A2BC321E08E4B8B7"
    assert keys.data_encrypt.hex().upper() == "A35C412EFD41FDB98B69797C02DCD08F"


def base_0100():
    return {
        "t": "0100",
        "3": "000000",
        "4": "000000100000",
        "7": "1123101010",
        "11": "000001",
        "12": "133010",
        "13": "1123",
        "22": "051",
        "25": "00",
        "42": "VAFA00000000001",
        "49": "364",
        "53": bytes(12),
        "62": bytes(16),
        "64": bytes(8),
    }


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda m: m.pop("12"), "12"),
        (lambda m: m.update({"4": "00000010000A"}), "4"),
        (lambda m: m.update({"42": "VAFA0000000000\x01"}), "42"),
        (lambda m: m.update({"90": "0" * 42}), "90"),
        (lambda m: m.update({"22": "999"}), "22"),
        (lambda m: m.update({"t": "0200"}), "t"),
    ],
)
def test_format_rules(change, field):
    msg = base_0100()
    wire.check_format(msg, False)
    change(msg)
    with pytest.raises(wire.FormatError) as e:
        wire.check_format(msg, False)
    assert e.value.field == field


def test_pyiso8583_round_trip_and_bitmap_rule():
    msg = base_0100()
    decoded, secondary = wire.decode(wire.encode(msg))
    assert decoded == msg and secondary is False
    with pytest.raises(wire.FormatError, match="not allowed"):
        wire.check_format(dict(msg, **{"128": bytes(8)}), True)  # 0100 has its MAC in 64
    with pytest.raises(wire.FormatError, match="secondary bitmap"):
        wire.check_format(msg, True)  # a secondary bitmap with no field 65..128
    with pytest.raises(wire.Undecodable):
        wire.decode(b"0100")


def test_outcome_table_lookup():
    table = OutcomeTable()
    assert table.match("010", 1_000_005).argument == "05"
    assert table.match("010", 1_000_005, fresh=False) is None  # amount rules: once
    assert table.match("010", 5, card=magic_card("92"), fresh=False).effect == "drop"  # always
    assert table.match("022", 1_000_005) is None
    assert table.match("022", 1_000_912).effect == "drop"


def test_docs_testing_lists_every_seeded_number_and_outcome():
    doc = (ROOT / "docs/testing.md").read_text()
    flat = doc.replace(",", "").replace(" ", "")
    for pan in (
        list(CARDS)
        + STOCK
        + POOL_STOCK
        + [magic_card(c) for c in ("05", "51", "91", "92", "93", "94")]
    ):
        assert pan in flat, pan
    for rule in RULES:
        assert str(rule.value) in flat, rule
    for merchant in MERCHANTS:
        assert merchant in doc
    for n in TERMINALS:
        terminal_id, ikid = terminal_identity(n)
        assert terminal_id in doc and ikid in doc
    assert "FEDCBA9876543210F1F1F1F1F1F1F1F1" in doc and "TEST ONLY" in doc


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_any_bytes_give_a_message_or_one_of_two_errors(data):
    """Decoding and the profile raise only Undecodable or FormatError, and a 30 can always be
    encoded for whatever decoded (so a malformed request never crashes the answer path)."""
    raw = bytearray(wire.encode(base_0100()))
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "add"]))
        if action == "flip" and raw:
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del raw[data.draw(st.integers(0, len(raw))) :]
        else:
            raw += data.draw(st.binary(max_size=20))
    try:
        message, secondary = wire.decode(bytes(raw))
    except wire.Undecodable:
        return
    if message["t"] in wire.ORIGINAL:
        wire.encode(dict(respond(message, "30"), **{"53": bytes(12), "64": bytes(8)}))
    with contextlib.suppress(wire.FormatError):
        wire.check_format(message, secondary)
