"""Coupon and campaign codes on the club's side (docs/protocol.md 5.10): the discount inside D1
with tags 10 and 12, each refusal (78 + tag 11), and the life of a use: held with the 0110,
consumed by the 0220, given back by a 0420, the hold window and a void; a copy under a used
KSN or a repeat holds nothing more. Over TCP against the real server and SQLite."""

import time

import pytest

from simulator.club_server import coupons
from simulator.club_server.seed import CARD_A, CARD_B
from simulator.club_server.server import ClubServer
from tests.club_server.client import Terminal

COUPON, TEXT, REASON, OFF = 0x0F, 0x10, 0x11, 0x12
BANK, CLUB, STORE, CASH = "004000", "006000", "007000", "000000"


def add(server, code, **kw):
    kw.setdefault("description", "Test " + code)
    kw.setdefault("kind", "percent")
    kw.setdefault("value", 1000)  # 10 %
    return server.call(lambda store: coupons.add(store, code, **kw))


def state(server, code):
    row = server.call(lambda store: coupons.coupon(store, code))
    return row["held"], row["consumed"], row["released"], row["discount_given"]


def test_a_percentage_comes_after_the_tier_discount_inside_d1(server, terminal):
    add(server, "SPRING10", description="نوروز ۱۰٪", max_uses=5)
    msg, first = terminal.authorize(BANK, 1_200_000, CARD_A, {COUPON: "SPRING10"})
    assert first.code == "00", first
    # tier A: 15 % = 180,000; the coupon 10 % of the 1,020,000 left = 102,000
    assert first.amounts["40D1"] == 180_000 + 102_000
    assert first.amounts["40F1"] == 5_000
    assert first.amounts["40P1"] == 1_200_000 - 282_000 + 5_000
    assert first.tags[OFF] == "102000" and first.tags[TEXT] == "نوروز ۱۰٪"
    assert state(server, "SPRING10") == (1, 0, 0, 0)  # held with the 0110
    assert terminal.confirm(msg, first, CARD_A).code == "00"
    assert state(server, "SPRING10") == (0, 1, 0, 102_000)  # consumed by the 0220


def test_a_fixed_amount_on_cash_and_store_credit_gets_d1_and_p1(server, terminal):
    add(server, "GIFT50K", kind="fixed", value=50_000, max_uses=3)
    first, _ = terminal.purchase(CASH, 300_000, CARD_A, {COUPON: "GIFT50K"})
    assert first.code == "00"
    assert (first.amounts["00D1"], first.amounts["00P1"]) == (50_000, 250_000)
    assert first.tags[OFF] == "50000"
    first, _ = terminal.purchase(STORE, 40_000, CARD_A, {COUPON: "GIFT50K"})
    assert first.code == "00", first
    # never more than what is left to pay: the store credit holds nothing
    assert (first.amounts["70D1"], first.amounts["70P1"]) == (40_000, 0)
    assert state(server, "GIFT50K") == (0, 2, 0, 90_000)


def test_a_percentage_is_capped(server, terminal):
    add(server, "HALFOFF", value=5000, cap=70_000)
    first, _ = terminal.purchase(CLUB, 1_000_000, CARD_A, {COUPON: "HALFOFF"})
    assert first.code == "00" and first.tags[OFF] == "70000"


@pytest.mark.parametrize(
    "setup, proc, amount, card, reason",
    [
        (None, CASH, 100_000, CARD_A, "UK"),
        (dict(status="disabled"), CASH, 100_000, CARD_A, "DS"),
        (dict(valid_until="2020-03-20"), CASH, 100_000, CARD_A, "EX"),
        (dict(merchant_id="VAFA00000000002"), CASH, 100_000, CARD_A, "ST"),
        (dict(chain_id="NOSUCHCHAIN"), CASH, 100_000, CARD_A, "ST"),
        (dict(member="B"), CASH, 100_000, CARD_A, "MB"),
        (dict(min_amount=500_000), CASH, 499_999, CARD_A, "MN"),
        (dict(), "210060", 100_000, CARD_A, "TX"),
    ],
)
def test_each_refusal_is_78_with_its_reason_and_holds_nothing(
    server, terminal, setup, proc, amount, card, reason
):
    if setup is not None:
        setup = dict(setup)
        status = setup.pop("status", None)
        if setup.pop("member", None):
            setup["member_id"] = member_of(server, CARD_B)
        add(server, "CODE1", **setup)
        if status:
            server.call(lambda store: coupons.set_status(store, "CODE1", status))
    before = server.call(lambda store: store.table_counts())
    _, answer = terminal.authorize(proc, amount, card, {COUPON: "CODE1"})
    assert (answer.code, answer.tags.get(REASON)) == ("78", reason)
    assert answer.rrn is None and "54" not in answer.message
    after = server.call(lambda store: store.table_counts())
    assert after["txns"] == before["txns"] and after["holds"] == before["holds"]
    # the sale again without the coupon goes through
    assert terminal.authorize(proc, amount, card)[1].code == "00"


def member_of(server, pan):
    digest = server.server._vault.lookup_hash(pan)
    return server.call(lambda store: store.card_by_hash(digest))["member_id"]


def test_the_last_use_held_makes_the_code_used_up_until_it_comes_back(server, terminal):
    add(server, "ONCE", kind="fixed", value=10_000)
    msg, first = terminal.authorize(CASH, 100_000, CARD_A, {COUPON: "ONCE"})
    assert first.code == "00"
    _, second = terminal.authorize(CASH, 100_000, CARD_A, {COUPON: "ONCE"})
    assert (second.code, second.tags[REASON]) == ("78", "US")
    assert terminal.reverse(msg, CARD_A, first.rrn, "CN").code == "00"
    assert state(server, "ONCE") == (0, 0, 1, 0)  # the 0420 gave it back
    assert terminal.reverse(msg, CARD_A, first.rrn, "CN").code == "00"  # a second: nothing
    assert state(server, "ONCE") == (0, 0, 1, 0)
    first, done = terminal.purchase(CASH, 100_000, CARD_A, {COUPON: "ONCE"})
    assert (first.code, done.code) == ("00", "00")
    assert state(server, "ONCE") == (0, 1, 1, 10_000)
    _, third = terminal.authorize(CASH, 100_000, CARD_A, {COUPON: "ONCE"})
    assert (third.code, third.tags[REASON]) == ("78", "US")


def test_a_void_gives_the_use_back(server, terminal):
    add(server, "VOIDME", kind="fixed", value=10_000)
    msg, first = terminal.authorize(CASH, 100_000, CARD_A, {COUPON: "VOIDME"})
    assert terminal.confirm(msg, first, CARD_A).code == "00"
    assert state(server, "VOIDME") == (0, 1, 0, 10_000)
    assert terminal.reverse(msg, CARD_A, first.rrn, "VD").code == "00"
    assert state(server, "VOIDME") == (0, 0, 1, 0)


def test_a_copy_under_a_used_ksn_and_a_repeat_hold_nothing_more(server, terminal):
    add(server, "COPY2", kind="fixed", value=10_000, max_uses=2)
    keys = terminal.next_keys()
    msg = terminal.request_0100(CASH, 100_000, {COUPON: "COPY2"})
    data = terminal.seal(msg, terminal.secrets(CARD_A), keys)
    first = terminal.exchange_raw(data, keys)
    copy = terminal.exchange_raw(data, keys)
    repeat = terminal.exchange({**msg, "t": "0101"}, terminal.secrets(CARD_A))
    assert first.code == copy.code == repeat.code == "00"
    assert first.rrn == copy.rrn == repeat.rrn
    assert state(server, "COPY2") == (1, 0, 0, 0)


def test_the_hold_window_gives_the_use_back(db_path):
    with ClubServer(db_path, hold_window=0.3, sweep_interval=0.05).run_in_thread() as server:
        add(server, "LATE", kind="fixed", value=10_000)
        t = Terminal(server.port).connect()
        msg, first = t.authorize(CASH, 100_000, CARD_A, {COUPON: "LATE"})
        assert first.code == "00"
        deadline = time.monotonic() + 5
        while state(server, "LATE")[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state(server, "LATE") == (0, 0, 1, 0)
        assert t.confirm(msg, first, CARD_A).code == "12"  # too late: nothing consumed
        assert state(server, "LATE") == (0, 0, 1, 0)
        t.close()


def test_the_qa_codes_answer_their_reason(server, terminal):
    for reason in ("UK", "DS", "EX", "ST", "MB", "MN", "US"):
        _, answer = terminal.authorize(BANK, 100_000, CARD_A, {COUPON: "QA78" + reason})
        assert (answer.code, answer.tags[REASON]) == ("78", reason)


def test_a_malformed_code_is_unknown(server, terminal):
    _, answer = terminal.authorize(CASH, 100_000, CARD_A, {COUPON: "no-good"})
    assert (answer.code, answer.tags[REASON]) == ("78", "UK")


def test_add_refuses_what_is_no_coupon(server):
    for code, kw, words in (
        ("AB", {}, "letters A-Z"),
        ("GOOD1", {"kind": "bogus"}, "kind"),
        ("GOOD2", {"value": 10001}, "at most 100"),
        ("GOOD3", {"description": "x" * 41}, "description"),
    ):
        with pytest.raises(ValueError, match=words):
            add(server, code, **kw)
    add(server, "TWICE")
    with pytest.raises(ValueError, match="exists"):
        add(server, "TWICE")


def vafa(capsys, *argv):
    from vafa import cli

    code = cli.main(["club-server", *argv])
    return code, capsys.readouterr().out


def test_the_operator_makes_lists_and_disables_codes_and_the_daily_report_counts_them(
    server, terminal, db_path, capsys
):
    """vafa club-server coupon add|list|disable (docs/club_server.md "Coupons"): a code bound
    to a member's card (read from stdin, never shown), used once; the daily report counts it."""
    import io
    import json
    import sys

    stdin, sys.stdin = sys.stdin, io.StringIO(CARD_A + "\n")
    try:
        code, out = vafa(capsys, "coupon", "add", "mina-2026", "--amount", "30000",
                         "--text", "هدیه تولد", "--card", "-", "--min", "100000",
                         "--until", "2099-03-20", "--db", db_path)  # fmt: skip
    finally:
        sys.stdin = stdin
    assert code == 0 and "coupon MINA2026 added: 30,000 rials off, 1 use" in out
    assert CARD_A not in out and CARD_A[-4:] not in out
    first, done = terminal.purchase(CASH, 200_000, CARD_A, {COUPON: "MINA2026"})
    assert (first.code, first.tags[OFF], done.code) == ("00", "30000", "00")
    _, other = terminal.authorize(CASH, 200_000, CARD_B, {COUPON: "MINA2026"})
    assert (other.code, other.tags[REASON]) == ("78", "MB")
    code, out = vafa(capsys, "coupon", "list", "MINA2026", "--json", "--db", db_path)
    (row,) = json.loads(out)["coupons"]
    assert (row["consumed"], row["held"], row["discount_given"]) == (1, 0, 30_000)
    assert row["one_member"] is True and "member_id" not in row
    assert row["amount"] == 30_000 and row["percent"] is None
    code, out = vafa(capsys, "daily-report", "--db", db_path)
    assert code == 0 and "coupon MINA2026: 1 uses, 30,000 rials of discount" in out
    code, out = vafa(capsys, "daily-report", "--json", "--db", db_path)
    assert {"code": "MINA2026", "uses": 1, "discount": 30_000} in json.loads(out)["coupons"]
    assert vafa(capsys, "coupon", "disable", "MINA2026", "--db", db_path)[0] == 0
    _, again = terminal.authorize(CASH, 200_000, CARD_A, {COUPON: "MINA2026"})
    assert (again.code, again.tags[REASON]) == ("78", "DS")
    code, out = vafa(capsys, "coupon", "list", "--db", db_path)
    assert "MINA2026         disabled" in out and "NOWRUZ10" in out  # the demo's too


def test_a_chain_coupon_is_good_at_every_store_of_the_chain_and_nowhere_else(server, terminal):
    """The demo chain VAFA-HYPER: the hypermarket (VT000001) and its second store (VT000005)."""
    add(server, "HYPER5", kind="fixed", value=5_000, max_uses=5, chain_id="VAFA-HYPER")
    second = Terminal(server.port, "VT000005", "VAFA00000000004", "5641464100000005").connect()
    pool = Terminal(server.port, "VT000003", "VAFA00000000002", "5641464100000003").connect()
    try:
        for t in (terminal, second):
            _, answer = t.authorize(CASH, 100_000, CARD_A, {COUPON: "HYPER5"})
            assert (answer.code, answer.tags[OFF]) == ("00", "5000"), t.terminal_id
        _, answer = pool.authorize(CASH, 100_000, CARD_A, {COUPON: "HYPER5"})
        assert (answer.code, answer.tags[REASON]) == ("78", "ST")
    finally:
        second.close()
        pool.close()
