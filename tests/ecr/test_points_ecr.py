"""A sale paid with points over the ECR link (docs/ecr.md 3.2 method P; docs/protocol.md 2.2
processing code 008000; docs/club_server.md "Spending points at the till"): the cashier's sale
with method P runs the terminal's points flow against the demo club server; approved, the
answer carries the points left; `01` with `57` while the store's program gives points no value,
`01` with `51` (and the points there) when they are too few; a coupon or a split with it is
refused before anything is sent; over HTTP the answers validate against /openapi.json; `vafa
bridge sale --method points`.

The emulator's card is the demo club's tier A member: 80 points at the hypermarket (program 1).
At 2,000 rials a point, 100,001 rials take 51 points (rounded up): 29 are left.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hostbridge.client import EcrClient
from hostbridge.errors import MessageError
from simulator.club_server import registry
from simulator.club_server.storage import Storage
from tests.ecr.test_openapi import served  # noqa: F401 (the bridge's HTTP API, a fixture)

POINTS = 80  # the card's points at the hypermarket
POINT_VALUE = 2_000  # rials a point is worth once the program says so
LEFT = POINTS - 51  # after a sale of 100,001


def give_points_a_value(emu, rials=POINT_VALUE):
    """The hypermarket's program takes points as payment (`vafa club-server register program
    set 1 point_value_rials ...` on the emulator's demo club)."""
    store = Storage(str(Path(emu.args.data_dir) / "club.db"))
    try:
        registry.set_program(store, 1, [("point_value_rials", str(rials))])
    finally:
        store.close()


def test_a_points_sale_approved_then_too_few_points(emulator):
    with EcrClient(emulator.cashier) as ecr:
        no_value = ecr.sale(100_000, "PTS-0", "07", method="points")
        give_points_a_value(emulator)
        sale = ecr.sale(100_001, "PTS-1", "07", method="points")
        short = ecr.sale(100_000, "PTS-2", "07", method="points")  # 50 points: 29 are there
        kept = ecr.status("PTS-1")
        balance = ecr.balance()
    assert (no_value.result, no_value.response_code) == ("01", "57"), no_value
    assert sale.ok and sale.response_code == "00" and sale.flow == "points", sale
    assert sale.amount == sale.payable == 100_001
    assert sale.points_balance == LEFT and sale.points_earned == 0
    assert sale.confirmed == "Y" and "POINTS PURCHASE" in sale.receipt
    assert "club_balance" not in sale.fields and "store_balance" not in sale.fields
    assert (short.result, short.response_code) == ("01", "51"), short
    assert short.points_balance == LEFT  # the points the card has there
    assert kept.fields["status_of"] == "sale" and kept.points_balance == LEFT
    assert balance.points_balance == LEFT
    assert emulator.bank.charges() == []  # nothing on the bank leg


def test_a_points_sale_voided_gives_the_points_back(emulator_tcp):
    give_points_a_value(emulator_tcp)
    with EcrClient(emulator_tcp.cashier) as ecr:
        sale = ecr.sale(100_001, "PTS-V", "07", method="points")
        void = ecr.void("PTS-VV", "07", original_invoice="PTS-V")
        balance = ecr.balance()
    assert sale.ok and void.ok, (sale, void)
    assert balance.points_balance == POINTS


def test_a_coupon_or_a_split_with_points_is_refused_before_anything_is_sent(emulator_tcp):
    give_points_a_value(emulator_tcp)
    with EcrClient(emulator_tcp.cashier) as ecr:
        with pytest.raises(MessageError, match="a coupon needs method bank, club, store or cash"):
            ecr.sale(100_001, "PTS-BAD", "07", method="points", coupon="NOWRUZ10")
        with pytest.raises(MessageError, match="split needs method club or store"):
            ecr.sale(100_001, "PTS-BAD", "07", method="points", split="cash")
        assert ecr.status("PTS-BAD").result == "12"  # never reached the terminal
        # on the wire, as another vendor's software might send them: 13, nothing run
        base = {"amount": 100_001, "cashier": "07", "method": "P"}
        coupon = ecr.request("sale", {**base, "invoice": "PTS-R1", "coupon": "NOWRUZ10"})
        split = ecr.request("sale", {**base, "invoice": "PTS-R2", "split": "B"})
        balance = ecr.balance()
    assert (coupon.result, coupon.message) == ("13", "coupon not with method P (points)")
    assert (split.result, split.message) == (
        "13",
        "split needs method C or S (the credit paid first)",
    )
    assert balance.points_balance == POINTS  # nothing was held or spent


def test_the_http_api_sells_with_points_and_its_answers_match_the_document(served):  # noqa: F811
    base, check, emu = served
    no_value = check(base, "/sale", {"amount": 1000, "invoice": "HP-0", "cashier": "7",
                                     "method": "points"})  # fmt: skip
    assert (no_value["result"], no_value["response_code"]) == ("01", "57")
    give_points_a_value(emu)
    sale = check(base, "/sale", {"amount": 100001, "invoice": "HP-1", "cashier": "7",
                                 "method": "points"})  # fmt: skip
    assert sale["result"] == "00" and sale["flow"] == "points", sale
    assert (sale["points_balance"], sale["points_earned"]) == (LEFT, 0)
    short = check(base, "/sale", {"amount": 100000, "invoice": "HP-2", "cashier": "7",
                                  "method": "points"})  # fmt: skip
    assert (short["result"], short["response_code"], short["points_balance"]) == ("01", "51", LEFT)
    status = check(base, "/status", {"invoice": "HP-1"})
    assert status["status_of"] == "sale" and status["points_balance"] == LEFT
    bad = check(base, "/sale", {"amount": 1000, "invoice": "HP-3", "cashier": "7",
                                "method": "points", "coupon": "NOWRUZ10"}, expect=400)  # fmt: skip
    assert "a coupon needs method bank, club, store or cash" in bad["error"]


def test_vafa_bridge_sale_method_points(emulator_tcp):
    """vafa bridge sale --method points, as a cashier runs it: the points left in the text and
    in --json; with --coupon or --split it is bad input (exit 2, one line), nothing sent."""
    give_points_a_value(emulator_tcp)
    base = [sys.executable, "-m", "vafa", "bridge", "sale", "--port", emulator_tcp.cashier]
    base += ["--method", "points"]
    done = subprocess.run([*base, "100001", "--invoice", "CLI-P1"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "approved" in done.stdout and f"points_balance   {LEFT}" in done.stdout, done.stdout
    done = subprocess.run([*base, "100000", "--invoice", "CLI-P2", "--json"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    answer = json.loads(done.stdout)
    assert (answer["result"], answer["response_code"]) == ("01", "51"), answer
    for extra, named in ((["--coupon", "NOWRUZ10"], "--coupon"), (["--split", "cash"], "--split")):
        done = subprocess.run([*base, "1000", "--invoice", "CLI-P3", *extra],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert named in done.stderr and "--method points" in done.stderr, done.stderr


def test_the_worked_example_in_docs_ecr_3_7_is_what_the_bridge_codec_builds():
    """Example 7's bytes, as an outside vendor reads them, against hostbridge's own codec
    (declared apart from the terminal's, from the document)."""
    from hostbridge.protocol import build_frame, build_payload, parse_payload

    doc = (Path(__file__).resolve().parents[2] / "docs/ecr.md").read_text()
    section = doc[doc.index("**Example 7") : doc.index("## 4. Link timers")]
    blocks = section.split("```")[1::2]
    request, answer = (
        bytes.fromhex(" ".join(line.split("  ")[0] for line in block.strip().splitlines()))
        for block in blocks
    )
    fields = {"amount": 100_001, "invoice": "INV-1004", "cashier": "07", "method": "P"}
    assert request == build_frame(build_payload(8, 0x01, fields))
    parsed = parse_payload(answer[3:-3])
    assert answer == build_frame(answer[3:-3])
    assert parsed["fields"]["points_balance"] == LEFT and parsed["fields"]["flow"] == "points"


def test_the_cli_offers_every_method_the_bridge_knows():
    import argparse

    from hostbridge import cli
    from hostbridge.protocol import METHODS

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    for method in METHODS:
        args = parser.parse_args(["sale", "1000", "--method", method])
        assert args.method == method
