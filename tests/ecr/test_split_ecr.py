"""A split sale over the ECR link (docs/ecr.md 3.6; docs/protocol.md 5.11): the
cashier's sale carries method C/S and split B/K (tag 0B); the emulated terminal runs
agent/split.py against the demo club server (a partial approval, 10), pays the rest on its bank
leg or has the cash confirmed on its keypad, and the answer carries each leg (tags 40-43, the
bank leg's reference in 2D); a status inquiry, a void and a refund carry them too; over HTTP
the answers validate against /openapi.json and have `legs`; `vafa bridge sale --split`.

The emulator's card is the demo club's tier A member: club credit 5,000,000, store credit
500,000 at the hypermarket."""

import json
import subprocess
import sys

import pytest

from hostbridge.client import EcrClient
from hostbridge.errors import MessageError
from tests.ecr.test_openapi import served  # noqa: F401 (the bridge's HTTP API, a fixture)

STORE_CREDIT = 500_000
CLUB_CREDIT = 5_000_000


def legs_of(answer):
    return [(leg["account"], leg["amount"]) for leg in answer.legs]


def test_store_credit_then_bank_card(emulator_tcp):
    with EcrClient(emulator_tcp.cashier) as ecr:
        sale = ecr.sale(1_200_000, "SPL-1", "07", method="store", split="bank")
        kept = ecr.status("SPL-1")
        balance = ecr.balance()
    assert sale.ok and sale.response_code == "10" and sale.flow == "split", sale
    rest = sale.payable - STORE_CREDIT
    assert rest > 0 and sale.amount == 1_200_000
    assert (sale.credit_account, sale.credit_part) == ("70", STORE_CREDIT)
    assert (sale.remainder_account, sale.remainder) == ("40", rest)
    assert legs_of(sale) == [("70", STORE_CREDIT), ("40", rest)]
    assert sale.legs[1]["bank_reference"] == sale.bank_reference and sale.bank_reference
    assert sale.confirmed == "Y"
    assert emulator_tcp.bank.charged_total() == rest  # the bank leg charged the rest only
    assert kept.fields["status_of"] == "sale" and kept.legs == sale.legs
    # the club spent the store credit (what the card has now is only what its points bought
    # at the confirmation: the demo club turns each 100 points into 100,000 of store credit)
    assert balance.store_balance == sale.store_balance < STORE_CREDIT


def test_club_credit_then_cash(emulator_tcp):
    with EcrClient(emulator_tcp.cashier) as ecr:
        sale = ecr.sale(7_000_000, "SPL-2", "07", split="cash")  # method club by default
        balance = ecr.balance()
    assert sale.ok and sale.response_code == "10", sale
    rest = sale.payable - CLUB_CREDIT
    assert legs_of(sale) == [("60", CLUB_CREDIT), ("00", rest)]
    assert "bank_reference" not in sale.fields and sale.club_balance == 0
    assert emulator_tcp.bank.charges() == []  # cash: nothing on the bank leg
    assert balance.club_balance == 0


def test_credit_that_covers_the_sale_is_one_leg(emulator_tcp):
    with EcrClient(emulator_tcp.cashier) as ecr:
        sale = ecr.sale(200_000, "SPL-3", "07", method="store", split="bank")
    assert sale.ok and sale.response_code == "00", sale
    assert legs_of(sale) == [("70", sale.payable)]
    assert "remainder" not in sale.fields and emulator_tcp.bank.charges() == []


def test_the_bank_leg_declined_releases_the_credit(emulator_tcp):
    emulator_tcp.bank.script.append("decline")  # the customer's bank card is declined
    with EcrClient(emulator_tcp.cashier) as ecr:
        sale = ecr.sale(1_200_000, "SPL-6", "07", method="store", split="bank")
        balance = ecr.balance()
    assert (sale.result, sale.reason) == ("03", "BD"), sale
    assert sale.legs == [] and emulator_tcp.bank.charges() == []
    assert balance.store_balance == STORE_CREDIT  # the hold was released


@pytest.mark.parametrize(
    ("split", "confirms"),
    [("bank", [False]), ("cash", [False]), ("cash", [True, False])],
    ids=["split-refused-bank", "split-refused-cash", "cash-not-confirmed"],
)
def test_refused_on_the_terminal_spends_nothing(emulator_tcp, split, confirms):
    emulator_tcp.world.terminal.engine.keypad.confirms = list(confirms)
    with EcrClient(emulator_tcp.cashier) as ecr:
        sale = ecr.sale(1_200_000, "SPL-7", "07", method="store", split=split)
        balance = ecr.balance()
    assert (sale.result, sale.reason) == ("02", "CN"), sale
    assert sale.legs == [] and emulator_tcp.bank.charges() == []
    assert balance.store_balance == STORE_CREDIT  # the hold was released


def test_a_split_sale_voided_gives_each_leg_back(emulator_tcp):
    with EcrClient(emulator_tcp.cashier) as ecr:
        sale = ecr.sale(1_200_000, "SPL-4", "07", method="store", split="bank")
        after_sale = ecr.balance()
        void = ecr.void("SPL-4V", "07", original_invoice="SPL-4")
        balance = ecr.balance()
    assert sale.ok and void.ok, (sale, void)
    assert legs_of(void) == legs_of(sale)  # what goes back where
    assert void.bank_reference == sale.bank_reference  # the bank leg to reverse
    # the club gave the credit part back
    assert balance.store_balance == after_sale.store_balance + STORE_CREDIT, balance


def test_a_split_sale_refunded_in_part_names_each_share(emulator_tcp):
    with EcrClient(emulator_tcp.cashier) as ecr:
        sale = ecr.sale(1_200_000, "SPL-5", "07", method="store", split="bank")
        refund = ecr.refund(100_000, "SPL-5R", "07", original_rrn=sale.rrn, account="70")
        wrong = ecr.refund(100_000, "SPL-5W", "07", original_rrn=sale.rrn, account="60")
    assert sale.ok and refund.ok, (sale, refund)
    credit_share = 100_000 * sale.credit_part // sale.payable  # docs/protocol.md: in proportion
    assert legs_of(refund) == [("70", credit_share), ("40", 100_000 - credit_share)]
    assert (wrong.result, wrong.response_code) == ("01", "12")  # not the credit leg's account


def test_split_needs_a_credit_method(emulator_tcp):
    with EcrClient(emulator_tcp.cashier) as ecr:
        for method in ("bank", "cash"):
            with pytest.raises(MessageError, match="split needs method club or store"):
                ecr.sale(100_000, "SPL-BAD", "07", method=method, split="bank")
        with pytest.raises(MessageError, match="split must be bank or cash"):
            ecr.sale(100_000, "SPL-BAD", "07", split="card")
        # on the wire, as another vendor's software might send it: 13, nothing run
        raw = ecr.request("sale", {"amount": 100_000, "invoice": "SPL-RAW", "cashier": "07",
                                   "split": "B"})  # fmt: skip
        assert (
            raw.result == "13"
            and raw.message == "split needs method C or S (the credit paid first)"
        )
        assert ecr.status("SPL-BAD").result == "12"  # never reached the terminal
    assert emulator_tcp.bank.charges() == []


def test_the_http_api_sells_a_split_and_its_answers_match_the_document(served):  # noqa: F811
    base, check, emu = served
    sale = check(base, "/sale", {"amount": 1200000, "invoice": "HS-1", "cashier": "7",
                                 "method": "store", "split": "bank"})  # fmt: skip
    assert sale["result"] == "00" and sale["response_code"] == "10" and sale["flow"] == "split"
    rest = sale["payable"] - STORE_CREDIT
    assert sale["legs"] == [
        {"account": "70", "amount": STORE_CREDIT},
        {"account": "40", "amount": rest, "bank_reference": sale["bank_reference"]},
    ]
    assert (sale["credit_part"], sale["remainder"]) == (STORE_CREDIT, rest)
    status = check(base, "/status", {"invoice": "HS-1"})
    assert status["legs"] == sale["legs"] and status["status_of"] == "sale"
    void = check(base, "/void", {"invoice": "HS-1V", "cashier": "7", "original_invoice": "HS-1"})
    assert void["result"] == "00" and void["legs"] == sale["legs"]
    cash = check(base, "/sale", {"amount": 7000000, "invoice": "HS-2", "cashier": "7",
                                 "split": "cash"})  # fmt: skip
    assert [leg["account"] for leg in cash["legs"]] == ["60", "00"]
    bad = check(base, "/sale", {"amount": 1000, "invoice": "HS-3", "cashier": "7",
                                "method": "bank", "split": "bank"}, expect=400)  # fmt: skip
    assert "split needs method club or store" in bad["error"]
    assert emu.bank.charged_total() == rest


def test_vafa_bridge_sale_split(emulator_tcp):
    """vafa bridge sale --split, as a cashier runs it: the legs in the text and in --json;
    --split with --method bank is bad input, nothing sent."""
    base = [sys.executable, "-m", "vafa", "bridge", "sale", "--port", emulator_tcp.cashier]
    done = subprocess.run(
        [*base, "1200000", "--method", "store", "--split", "cash", "--invoice", "CLI-S1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "credit_account   70" in done.stdout and "credit_part      500,000" in done.stdout
    assert "remainder_account 00" in done.stdout, done.stdout
    rest = int(done.stdout.split("remainder ")[-1].split()[0].replace(",", ""))
    assert f"legs             store credit 500,000 + cash {rest:,}" in done.stdout
    done = subprocess.run(
        [*base, "7000000", "--split", "bank", "--invoice", "CLI-S2", "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert [leg["account"] for leg in answer["legs"]] == ["60", "40"]
    assert answer["legs"][0]["amount"] == CLUB_CREDIT
    done = subprocess.run(
        [*base, "1000", "--split", "bank", "--method", "bank", "--invoice", "CLI-S3"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "--split bank with --method bank" in done.stderr
