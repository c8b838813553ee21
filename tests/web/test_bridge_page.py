"""The bridge's page (GET /, docs/ecr.md 9.2) in a real headless Chromium: an integrator fills
amount and invoice, clicks, and the emulated terminal's approved answer shows; a bridge with a
token refuses the sale until the token is typed in; no console or page error either way."""

import threading
from pathlib import Path

import pytest

from hostbridge.client import EcrClient
from hostbridge.web import make_server
from tests.ecr.support import start_emulator
from tests.ecr.test_web import call

TOKEN = "page-token-0123456789abcdef"


@pytest.fixture
def bridge_at(tmp_path):
    """start(token=None) -> the base URL of a bridge in front of an emulated terminal."""
    running = []

    def start(token=None):
        emu = start_emulator("tcp", Path(tmp_path) / f"emu{len(running)}")
        client = EcrClient(emu.cashier)
        server = make_server(client, port=0, token=token and token.encode())
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        running.append((emu, client, server, thread))
        start.emulators.append(emu)
        return f"http://127.0.0.1:{server.server_port}"

    start.emulators = []  # the emulated terminals, in order (a test may set up their club)
    yield start
    for emu, client, server, thread in running:
        server.shutdown()
        thread.join()
        server.server_close()
        client.close()
        emu.stop()


def sell(page, amount, invoice):
    page.fill("#amount", str(amount))
    page.fill("#invoice", invoice)
    page.click("#send")


def test_a_sale_from_the_page_is_approved(page, bridge_at):
    base = bridge_at()
    page.goto(base + "/")
    assert page.title() == "Vafa bridge"
    assert page.input_value("#invoice")  # a fresh invoice is offered
    sell(page, 1200000, "PAGE-1")
    state = page.locator("#state")
    state.filter(has_text="approved (00)").wait_for()
    assert state.get_attribute("class") == "approved"
    summary = page.inner_text("#summary")
    assert "payable\t1,025,000" in summary and "****0014" in summary
    assert page.input_value("#invoice") != "PAGE-1"  # the next sale gets a new invoice
    # the terminal kept it under the page's invoice
    status, answer, _ = call(base, "/status", {"invoice": "PAGE-1"})
    assert status == 200 and answer["status_of"] == "sale" and answer["result"] == "00"
    assert page.vafa_errors == []


def test_a_declined_sale_shows_as_refused(page, bridge_at):
    base = bridge_at()
    page.goto(base + "/")
    page.select_option("#method", "club")
    sell(page, 999_000_000, "PAGE-2")  # more than the card's club credit
    page.locator("#state.refused").wait_for()
    assert "(01)" in page.inner_text("#state")
    assert page.input_value("#invoice") == "PAGE-2"  # kept: nothing was charged
    assert page.vafa_errors == []


def test_a_split_sale_from_the_page_shows_its_legs(page, bridge_at):
    """Store credit first (the tier A member has 500,000), the rest by bank card (docs/ecr.md
    3.6): the summary says what each leg paid."""
    base = bridge_at()
    page.goto(base + "/")
    page.select_option("#method", "store")
    page.select_option("#split", "bank")
    sell(page, 1200000, "PAGE-S")
    page.locator("#state.approved").wait_for()
    status, answer, _ = call(base, "/status", {"invoice": "PAGE-S"})
    assert status == 200 and [leg["account"] for leg in answer["legs"]] == ["70", "40"]
    rest = answer["payable"] - 500_000
    summary = page.inner_text("#summary")
    assert f"legs\tstore credit 500,000 + bank card {rest:,}" in summary, summary
    assert f"bank_reference\t{answer['bank_reference']}" in summary
    assert page.vafa_errors == []


def test_with_a_token_the_page_needs_it(page, bridge_at):
    base = bridge_at(TOKEN)
    page.goto(base + "/")
    sell(page, 1200000, "PAGE-3")
    page.locator("#state.error").wait_for()
    assert "HTTP 401" in page.inner_text("#state")
    page.fill("#token", TOKEN)
    page.click("#send")
    page.locator("#state.approved").wait_for()
    # a 401 is an answer the page expects: Chromium logs the failed fetch as a console error,
    # which is the only one allowed
    assert all("401" in error for error in page.vafa_errors), page.vafa_errors


def test_a_sale_with_a_coupon_from_the_page(page, bridge_at):
    """The optional coupon code goes with the sale (docs/ecr.md 3.2); its part shows."""
    base = bridge_at()
    page.goto(base + "/")
    page.fill("#coupon", "nowruz10")
    sell(page, 1200000, "PAGE-C")
    page.locator("#state").filter(has_text="approved (00)").wait_for()
    summary = page.inner_text("#summary")
    assert "coupon\tNOWRUZ10" in summary and "coupon_discount\t102,000" in summary
    assert page.vafa_errors == []


def test_a_points_sale_from_the_page_shows_the_points_left(page, bridge_at):
    """Payment "points" (docs/ecr.md 3.2 method P): the card's 80 points at the hypermarket,
    2,000 rials each; 100,001 rials take 51 of them."""
    from tests.ecr.test_points_ecr import LEFT, give_points_a_value

    base = bridge_at()
    give_points_a_value(bridge_at.emulators[-1])
    page.goto(base + "/")
    page.select_option("#method", "points")
    sell(page, 100001, "PAGE-P")
    page.locator("#state").filter(has_text="approved (00)").wait_for()
    summary = page.inner_text("#summary")
    assert f"points_balance\t{LEFT}" in summary and "points_earned\t0" in summary, summary
    page.fill("#coupon", "NOWRUZ10")  # a points sale takes no coupon: refused, nothing sent
    sell(page, 1000, "PAGE-PC")
    page.locator("#state.error").wait_for()
    assert "a coupon needs method bank, club, store or cash" in page.inner_text("#state")
    status, answer, _ = call(base, "/status", {"invoice": "PAGE-PC"})
    assert status == 200 and answer["result"] == "12"  # the terminal never saw it
    # the 400 is an answer the page expects: the only console error allowed
    assert all("400" in error for error in page.vafa_errors), page.vafa_errors
