"""Business rules that lost money or misled (docs/club_server.md "A store's program",
"Enrollment"): points on gift credit, the prepaid card's sale multiplier, holder details.

Seeded data: docs/testing.md. CARD_A has 500,000 rials of store credit and 80 points at the
hypermarket (1 point per 10,000 rials, every 100 points become 100,000 rials at once).
"""

import datetime as dt
import time

import pytest

from simulator.club_server import accounts, tehran
from simulator.club_server.ledger import ledger_check
from simulator.club_server.program import product_key, program_key
from simulator.club_server.seed import CARD_A, CARD_POOL, DEMO_MERCHANT, POOL_STOCK, STOCK
from simulator.club_server.server import run_in_thread
from tests.club_server.client import Terminal
from tests.club_server.support import balance, card_row, ledger_of, outbox, txn

CASH, CLUB, STORE, TOP_UP = "000000", "006000", "007000", "210060"
POINTS = accounts.POINTS
HOLDER = {0x07: "09121111111", 0x08: "F", 0x09: "19900321", 0x0A: "4"}


def put_setting(server, key, value):
    server.call(lambda store: store.put_setting(key, value))


def hypermarket_program(server):
    return server.call(lambda store: store.merchant(DEMO_MERCHANT)["program_id"])


# -- points on redemption -------------------------------------------------------------------


def test_store_credit_purchase_earns_no_points_by_default(server, terminal):
    msg, first = terminal.authorize(STORE, 200_000, CARD_A)
    assert first.code == "00" and first.tags[1] == "0"
    second = terminal.confirm(msg, first, CARD_A)
    assert second.code == "00" and second.tags[1] == "0" and second.tags[2] == "80"
    assert balance(server, CARD_A, POINTS) == (80, 0)  # no points, so no conversion either
    assert balance(server, CARD_A, accounts.STORE) == (300_000, 0)
    assert txn(server, first.rrn)["points"] == 0


def test_the_program_setting_lets_gift_credit_earn(server, terminal):
    assert (
        server.call(lambda store: store.settings())[
            program_key(hypermarket_program(server), "earn_on_redemption")
        ]
        == "0"
    )  # seeded, written out
    put_setting(server, program_key(hypermarket_program(server), "earn_on_redemption"), "1")
    first, second = terminal.purchase(STORE, 200_000, CARD_A)
    assert first.tags[1] == "20" and second.tags[1] == "20"
    # 80 + 20 points became 100,000 rials of store credit
    assert balance(server, CARD_A, POINTS) == (0, 0)
    assert balance(server, CARD_A, accounts.STORE) == (400_000, 0)


def test_the_setting_is_per_program(server, terminal):
    other = hypermarket_program(server) + 1  # the pool's program
    put_setting(server, program_key(other, "earn_on_redemption"), "1")
    first, _ = terminal.purchase(STORE, 200_000, CARD_A)
    assert first.tags[1] == "0"


def test_club_credit_is_money_and_earns(server, terminal):
    # tier A: 15 % off 1,200,000; points on what the member paid for the goods: 1,020,000
    first, second = terminal.purchase(CLUB, 1_200_000, CARD_A)
    assert first.tags[1] == "102" and second.tags[1] == "102"


def test_refund_of_a_store_credit_purchase_takes_back_no_points(server, terminal):
    first, _ = terminal.purchase(STORE, 200_000, CARD_A)
    _, refund = terminal.purchase("200070", 100_000, CARD_A, {0x06: first.rrn})
    assert refund.code == "00"
    assert balance(server, CARD_A, POINTS) == (80, 0)
    assert balance(server, CARD_A, accounts.STORE) == (400_000, 0)


# -- the prepaid card's sale multiplier -----------------------------------------------------


def test_a_pool_card_gets_ten_times_on_its_sale_only(server, terminal):
    card = POOL_STOCK[0]
    msg, sale = terminal.authorize(TOP_UP, 100_000, card, HOLDER)  # sold and enrolled
    assert sale.code == "00" and sale.amounts == {"6002": 1_000_000}
    assert terminal.confirm(msg, sale, card).code == "00"
    msg, later = terminal.authorize(TOP_UP, 100_000, card)
    assert later.code == "00" and later.amounts == {"6002": 1_100_000}
    confirmed = terminal.confirm(msg, later, card)
    assert confirmed.code == "00" and confirmed.amounts == {"6002": 1_100_000}
    assert balance(server, card) == (1_100_000, 0)
    assert ledger_of(server, later.rrn) == [("topup", "club", 100_000)]
    assert txn(server, later.rrn)["credit"] == 100_000


def test_the_seeded_pool_persona_is_sold_by_its_first_top_up(server, terminal):
    first, _ = terminal.purchase(TOP_UP, 100_000, CARD_POOL)  # opening balance: not a sale
    assert first.amounts == {"6002": 11_000_000}
    second, _ = terminal.purchase(TOP_UP, 100_000, CARD_POOL)
    assert second.amounts == {"6002": 11_100_000}


def test_the_top_up_multiplier_is_a_product_setting(server, terminal):
    assert (
        server.call(lambda store: store.settings())[product_key("pool", "topup_multiplier")] == "1"
    )
    put_setting(server, product_key("pool", "topup_multiplier"), "2")
    terminal.purchase(TOP_UP, 100_000, CARD_POOL)
    later, _ = terminal.purchase(TOP_UP, 100_000, CARD_POOL)
    assert later.amounts == {"6002": 11_200_000}


def test_a_voided_sale_leaves_the_card_unsold(server, terminal):
    card = POOL_STOCK[1]
    msg, sale = terminal.authorize(TOP_UP, 100_000, card, HOLDER)
    terminal.confirm(msg, sale, card)
    assert terminal.reverse(msg, card, sale.rrn, "VD").code == "00"
    assert balance(server, card) == (0, 0)
    again, _ = terminal.purchase(TOP_UP, 100_000, card)
    assert again.amounts == {"6002": 1_000_000}


def test_two_sales_approved_at_once_give_the_multiplier_once(server, terminal):
    card = POOL_STOCK[0]
    msg_a, a = terminal.authorize(TOP_UP, 100_000, card, HOLDER)
    msg_b, b = terminal.authorize(TOP_UP, 100_000, card)  # neither is confirmed yet
    assert a.amounts == b.amounts == {"6002": 1_000_000}
    assert terminal.confirm(msg_a, a, card).amounts == {"6002": 1_000_000}
    assert terminal.confirm(msg_b, b, card).amounts == {"6002": 1_100_000}
    assert txn(server, b.rrn)["credit"] == 100_000
    assert ledger_check(server.server.db_path).ok


# -- enrollment: the holder's details -------------------------------------------------------

NOW = time.time()


@pytest.fixture
def fixed_server(db_path):
    """A server whose clock stands still: the birth date limits are exact days."""
    handle = run_in_thread(db_path, clock=lambda: NOW)
    yield handle
    handle.stop()


def tehran_today():
    return tehran.local_date(NOW)


def ymd(day):
    return day.strftime("%Y%m%d")


def years_before(day, years):
    return f"{day.year - years:04d}{day.month:02d}{day.day:02d}"


@pytest.mark.parametrize(
    "tag, value",
    [
        (0x07, "0912ABC"),  # reached the club and came back "system error" (30)
        (0x07, "0912345678"),  # 10 digits
        (0x07, "091234567890"),  # 12 digits
        (0x07, "9121234567"),  # without the 0
        (0x07, "+989121234567"),
        (0x07, "02112345678"),  # a Tehran landline: no SMS
        (0x07, "0912²²²²²²²"),  # "²".isdigit() is True
        (0x07, "۰۹۱۲۱۲۳۴۵۶۷"),  # Persian digits: the wire carries ASCII
        (0x09, "13690230"),  # a Jalali date sent as it was typed: it was stored
        (0x09, "19900230"),  # no 30 February
        (0x09, "20230229"),  # 2023 is not leap
        (0x09, "19901301"),
        (0x09, "19900100"),
        (0x09, "00000000"),
        (0x09, "1990321"),
        (0x09, "1990-3-21"),
        (0x09, "١٩٩٠٠٣٢١"),  # Arabic-Indic digits
    ],
)
def test_bad_holder_details_are_refused_with_77(fixed_server, tag, value):
    terminal = Terminal(fixed_server.port).connect()
    card = STOCK[2]
    _, refused = terminal.authorize(CASH, 100_000, card, {**HOLDER, tag: value})
    assert refused.code == "77" and refused.rrn is None
    assert card_row(fixed_server, card)["status"] == "unissued"
    _, again = terminal.authorize(CASH, 100_000, card)
    assert again.code == "64"  # still to enroll
    assert not any(m["phone"] == value for m in outbox(fixed_server))


def test_birth_dates_at_the_limits(fixed_server):
    terminal = Terminal(fixed_server.port).connect()
    today = tehran_today()
    tomorrow = today + dt.timedelta(days=1)
    yesterday = today - dt.timedelta(days=1)
    for value in (ymd(tomorrow), years_before(yesterday, 120)):  # the future; 120 years + 1 day
        _, refused = terminal.authorize(CASH, 100_000, STOCK[3], {**HOLDER, 0x09: value})
        assert refused.code == "77", value
    for card, value in zip(
        STOCK[3:6], (ymd(today), years_before(today, 120), "20000229"), strict=True
    ):
        _, ok = terminal.authorize(CASH, 100_000, card, {**HOLDER, 0x09: value})
        assert ok.code == "00", value
        member_id = card_row(fixed_server, card)["member_id"]
        member = fixed_server.call(lambda store, m=member_id: store.member(m))
        assert member["birth_date"] == value


def test_a_choice_no_keypad_offers_is_still_a_format_error(server, terminal):
    _, bad = terminal.authorize(CASH, 100_000, STOCK[6], {**HOLDER, 0x0A: "7"})
    assert bad.code == "30"
