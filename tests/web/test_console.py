"""The club's web console in a real headless Chromium: every page loads without a console
error, filters change the rows, a transaction's story opens from the list, the daily report
draws its hourly chart, and a list follows sales made while it is open."""

import time

import pytest

from simulator.club_server import listing
from simulator.club_server.console.app import run_console_in_thread
from simulator.club_server.seed import all_card_numbers, seed_demo
from simulator.club_server.server import run_in_thread
from tests.club_server.activity import CARD_B, CASH, run_sales
from tests.club_server.client import Terminal

REFRESH_S = 0.5


@pytest.fixture(scope="module")
def club(tmp_path_factory):
    """(db path, {name: rrn}, console) on a seeded club with sales made through the server."""
    path = str(tmp_path_factory.mktemp("club") / "club.db")
    seed_demo(path)
    made = run_sales(path)
    console = run_console_in_thread(path, refresh=REFRESH_S)
    yield path, made, console
    console.stop()


def rows(page):
    return page.locator("#rows tbody tr")


LISTS = ["/txns", "/members", "/cards", "/holds", "/settlements", "/outbox"]


def test_every_page_loads_without_errors(page, club):
    _, made, console = club
    for path in ["/", *LISTS, "/report", f"/txn/{made['club_a']}"]:
        answer = page.goto(console.url + path)
        assert answer.status == 200, path
        assert page.locator("h1").inner_text().strip(), path
        assert page.locator("#as-of").inner_text().startswith("14"), path  # a Jalali stamp
        if path in LISTS:
            assert rows(page).count() > 0, path
        text = page.content()
        assert not any(pan in text for pan in all_card_numbers()), path
    assert page.vafa_errors == []


def test_filters_change_the_rows(page, club):
    _, made, console = club
    page.goto(console.url + "/txns")
    assert rows(page).count() == len(made)
    page.fill("#f-last4", "0014")
    with page.expect_navigation():
        page.click("#apply")
    assert "last4=0014" in page.url
    assert rows(page).count() == 2
    assert all("************0014" in t for t in rows(page).all_inner_texts())
    page.fill("#f-last4", "")
    page.select_option("#f-status", "reversed")
    with page.expect_navigation():
        page.click("#apply")
    assert rows(page).count() == 1
    assert made["reversed_b"] in rows(page).first.inner_text()
    # days in the Jalali calendar, as typed by a person
    page.goto(console.url + "/txns")
    today = listing.jalali_date(listing.today(time.time()))
    page.fill("#f-since", today)
    page.fill("#f-until", today)
    with page.expect_navigation():
        page.click("#apply")
    assert rows(page).count() == len(made)
    page.fill("#f-until", "1400/01/01")
    page.fill("#f-since", "")
    with page.expect_navigation():
        page.click("#apply")
    assert rows(page).count() == 0
    page.goto(console.url + "/outbox")
    everything = rows(page).count()
    page.fill("#f-terminal", "VT000003")
    with page.expect_navigation():
        page.click("#apply")
    assert 0 < rows(page).count() < everything
    assert all("************0071" in t for t in rows(page).all_inner_texts())
    assert page.vafa_errors == []


def test_a_story_opens_from_the_list(page, club):
    _, made, console = club
    page.goto(console.url + "/txns")
    with page.expect_navigation():
        page.click(f"a.story:text('{made['club_a']}')")
    assert page.url.endswith(f"/txn/{made['club_a']}")
    assert page.locator("#state").inner_text() == "confirmed"
    requests = [r.split() for r in page.locator("#requests tr").all_inner_texts()[1:]]
    # when (Jalali date, time), request, STAN, answer, code
    assert [r[2:3] + r[4:6] for r in requests] == [["0100", "0110", "00"], ["0220", "0230", "00"]]
    assert "captured" in page.locator("#holds").inner_text()
    assert "-1,025,000" in page.locator("#ledger").inner_text()
    assert "+1,020,000" in page.locator("#settlements").inner_text()
    assert "۱٬۰۲۵٬۰۰۰" in page.locator("#sms").inner_text()
    assert page.vafa_errors == []


def test_the_report_draws_sales_per_hour(page, club):
    _, _, console = club
    page.goto(console.url + "/report")
    bars = page.locator("#hourly-chart rect.bar")
    assert bars.count() == 24
    amounts = [int(b.get_attribute("data-amount")) for b in bars.all()]
    assert sum(amounts) == 250_000 + 1_200_000 * 2 + 400_000
    heights = [float(b.get_attribute("height")) for b in bars.all()]
    assert max(heights) > 100 and heights.count(0) >= 22  # drawn where the sales were
    box = page.locator("#hourly-chart").bounding_box()
    assert box["width"] > 500 and box["height"] > 150  # laid out, not just in the markup
    assert "VT000003" in page.locator("#report").inner_text()
    assert page.vafa_errors == []


def test_a_list_follows_sales_made_while_it_is_open(page, club):
    path, _, console = club
    page.goto(console.url + "/txns?terminal=VT000002")
    assert rows(page).count() == 0
    with run_in_thread(path) as server:
        terminal = Terminal(server.port, "VT000002", ikid="5641464100000002").connect()
        try:
            first, second = terminal.purchase(CASH, 700_000, CARD_B)
        finally:
            terminal.close()
    assert second.code == "00"
    page.wait_for_function(
        "document.querySelectorAll('#rows tbody tr').length === 1", timeout=10 * 1000
    )
    assert first.rrn in rows(page).first.inner_text()
    assert "confirmed" in rows(page).first.inner_text()
    assert page.vafa_errors == []


def test_a_bad_filter_is_one_sentence(page, club):
    _, _, console = club
    answer = page.goto(console.url + "/txns?last4=9879110000000014")
    assert answer.status == 400
    message = page.locator("#error").inner_text()
    assert "last 4 digits" in message and "9879110000000014" not in page.content()
    assert rows(page).count() == 0
    page.fill("#f-last4", "0071")  # the form is still there: correct it and go on
    with page.expect_navigation():
        page.click("#apply")
    assert rows(page).count() == 1 and page.locator("#error").count() == 0
    # the browser reports the 400 itself; nothing else went wrong on the page
    assert [e for e in page.vafa_errors if "status of 400" not in e] == []
