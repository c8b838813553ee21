"""A coupon over the ECR link (docs/ecr.md 3.2-3.4, docs/protocol.md 5.10): the cashier's sale
carries the code (tag 0A), the answer its discount, words and refusal reason (3D-3F); the
emulated terminal runs it against the demo club, whose NOWRUZ10 and QA78 codes are seeded."""

import pytest

from hostbridge.client import EcrClient
from hostbridge.errors import MessageError
from tests.ecr.test_openapi import served  # noqa: F401 (the bridge's HTTP API, a fixture)


def test_a_sale_with_a_coupon_answers_its_discount_and_words(emulator_tcp):
    with EcrClient(emulator_tcp.cashier) as ecr:
        sale = ecr.sale(1_200_000, "CPN-1", "07", coupon="nowruz-10")
    assert sale.ok, sale
    assert sale.fields["coupon_discount"] == 102_000  # 10 % of what tier A's 15 % leaves
    assert sale.discount == 180_000 + 102_000 and sale.payable == 1_200_000 - 282_000 + 5_000
    assert sale.fields["coupon_text"] == "Nowruz 10% off"
    assert "Coupon NOWRUZ10" in sale.receipt
    assert emulator_tcp.bank.charged_total() == sale.payable


@pytest.mark.parametrize("reason", ["UK", "EX", "US"])
def test_a_refused_coupon_is_01_with_78_and_its_reason_and_charges_nothing(emulator_tcp, reason):
    with EcrClient(emulator_tcp.cashier) as ecr:
        refused = ecr.sale(300_000, "CPN-" + reason, "07", method="club", coupon="QA78" + reason)
        again = ecr.sale(300_000, "CPN-" + reason + "-2", "07", method="club")
    assert (refused.result, refused.response_code) == ("01", "78")
    assert refused.fields["coupon_reason"] == reason and "Coupon refused" in refused.message
    assert "coupon_discount" not in refused.fields
    assert again.ok  # the same sale without the code
    assert emulator_tcp.bank.charges() == []


def test_a_code_that_is_no_code_is_refused_by_the_client_before_it_is_sent(emulator_tcp):
    with EcrClient(emulator_tcp.cashier) as ecr:
        for bad in ("AB", "NOWRÜZ", "A" * 17):
            with pytest.raises(MessageError, match="coupon"):
                ecr.sale(100_000, "CPN-BAD", "07", coupon=bad)
        assert ecr.status("CPN-BAD").result == "12"  # never reached the terminal


def test_the_http_api_takes_a_coupon_and_its_answers_match_the_document(served):  # noqa: F811
    """POST /sale with "coupon" (docs/ecr.md 9): the answers validate against /openapi.json."""
    base, check, _emu = served
    sale = check(base, "/sale", {"amount": 1200000, "invoice": "H-1", "cashier": "7",
                                 "coupon": "NOWRUZ10"})  # fmt: skip
    assert sale["result"] == "00" and sale["coupon"] == "NOWRUZ10"
    assert sale["coupon_discount"] == 102000 and sale["coupon_text"] == "Nowruz 10% off"
    refused = check(base, "/sale", {"amount": 30000, "invoice": "H-2", "cashier": "7",
                                    "method": "club", "coupon": "QA78MN"})  # fmt: skip
    assert (refused["result"], refused["response_code"]) == ("01", "78")
    assert refused["coupon_reason"] == "MN"
    bad = check(base, "/sale", {"amount": 30000, "invoice": "H-3", "cashier": "7",
                                "coupon": "no"}, expect=400)  # fmt: skip
    assert "coupon" in bad["error"]


def test_vafa_bridge_sale_with_coupon(emulator_tcp):
    """vafa bridge sale --coupon, run as a cashier runs it: the code goes with the sale, the
    answer shows the coupon's part of the discount (text) and all its fields (--json)."""
    import json
    import subprocess
    import sys

    base = [sys.executable, "-m", "vafa", "bridge", "sale", "--port", emulator_tcp.cashier]
    done = subprocess.run(
        [*base, "1200000", "--coupon", "nowruz 10", "--invoice", "CLI-1", "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["coupon"], answer["coupon_discount"]) == ("NOWRUZ10", 102000)
    done = subprocess.run(
        [*base, "300000", "--coupon", "QA78US", "--invoice", "CLI-2", "--method", "club"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "Coupon refused: Code used up" in done.stdout
    assert "coupon_reason    US" in done.stdout
    done = subprocess.run(
        [*base, "500000", "--coupon", "NOWRUZ10", "--invoice", "CLI-3"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and "coupon_discount  42,500" in done.stdout, done.stdout
