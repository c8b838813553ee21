"""Screens, receipts and the calendar arithmetic behind fields 7, 12 and 13."""

from agent.display.text import COLUMNS, ROWS, SCREENS, TextDisplay, render
from agent.receipt import WIDTH, layout, row, wrap
from agent.steps import new_result
from agent.timeutil import civil, local_fields, local_stamp, transmission

HEADER = {"merchant_name": "Demo", "merchant_id": "M1", "terminal_id": "T0000001", "time": 0}


def test_civil_known_answers():
    assert civil(0) == (1970, 1, 1, 0, 0, 0)
    assert civil(1700000000) == (2023, 11, 14, 22, 13, 20)
    assert civil(951782400) == (2000, 2, 29, 0, 0, 0)  # a leap day in a century year
    assert civil(1709164800 + 86399) == (2024, 2, 29, 23, 59, 59)


def test_message_fields_and_tehran_time():
    assert transmission(1700000000) == "1114221320"
    # 22:13:20 UTC is 01:43:20 the next day in Tehran (UTC+03:30)
    assert local_fields(1700000000) == ("014320", "1115")
    assert local_stamp(1700000000) == "2023-11-15 01:43"


def test_every_screen_fits_the_display():
    for screen in SCREENS:
        lines = render(screen, {"amount": 123456789012, "message": "x" * 40})
        assert len(lines) == ROWS
        assert all(len(line) <= COLUMNS for line in lines), screen


def test_screen_values():
    lines = render("payable", {"amount": 1200000, "discount": 120000, "fee": 0, "payable": 1080000})
    assert lines == ["Amount 1,200,000", "Discount 120,000", "Fee 0", "PAY 1,080,000"]
    assert render("approved", {"payable": 5})[2] == ""  # a line whose values were not given
    assert render("approved", {"payable": 5, "points": 0})[2] == "Points 0"  # zero shows
    assert render("no_such_screen") == ["no_such_screen", "", "", ""]
    shown = []
    TextDisplay(shown.append).show("bank", payable=1000)
    assert shown == [["Pay on bank terminal", "1,000", "", ""]]


def test_receipt_layout():
    res = new_result("bank", 1200000)
    res.update(
        discount=120000,
        payable=1080000,
        stan="000001",
        rrn="000000000001",
        card_last4="7890",
        points_earned=120,
        confirmed=True,
        club_message="با تشکر از خرید شما",
    )
    lines = layout(res, "customer", HEADER)
    assert all(len(line) <= WIDTH for line in lines)
    assert "Card                    ****7890" in lines
    assert "Payable                1,080,000" in lines
    assert "با تشکر از خرید شما" in lines
    assert lines[-1].strip() == "-- customer copy --"
    assert lines[-2].strip() == "APPROVED"
    res["confirmed"] = False
    assert layout(res, "merchant", HEADER)[-2].strip() == "APPROVED (confirmation pending)"


def test_day_report_shows_both_sides_when_they_differ():
    from agent.closing import day_report  # imports the club client: here only (heap)

    res = new_result("close")
    res.update(response_code="95", message="Totals differ", totals={"dn": 2, "da": 300})
    res["host_totals"] = {"dn": 3, "da": 400}
    text = "\n".join(day_report(res, HEADER))
    assert "Terminal:" in text and "Club:" in text
    assert "  Debits (3)" in text


def test_row_and_wrap():
    assert row("Amount", "1,000") == "Amount" + " " * 21 + "1,000"
    assert len(row("A very long label that does not fit", "123")) == WIDTH
    assert wrap("one two three", 8) == ["one two", "three"]
    assert wrap("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
