"""A split sale on the ECR link (docs/ecr.md 3.2 tag 0B, 3.6 the legs): the request's checks,
the legs of a result as the answer's fields, and their encoding. The sale itself (the agent's
agent/split.py over a club) runs in tests/ecr/test_split_ecr.py.

Runs under pytest and under MicroPython.
"""

from agent.ecr import spec
from agent.ecr.message import decode_message, encode_message
from agent.ecr.session import digest
from tests.portable.test_ecr_session import SALE, new_session, one, sale

# agent/split.py with the flows it imports (a power cut's legs, the last test), beside the
# session tests' recording engine in one process: a device has the engine's flows loaded anyway
MICROPYTHON_HEAP = 327680

BANK_SPLIT = {
    "flow": "split", "outcome": "approved", "response_code": "10", "amount": 1_200_000,
    "discount": 120_000, "fee": 5_000, "payable": 1_085_000, "stan": "000007",
    "rrn": "000000000077", "card_last4": "0014", "balance_after": 0, "confirmed": True,
    "legs": [
        {"account": "60", "amount": 700_000},
        {"account": "40", "amount": 385_000, "bank_reference": "PSP000000009"},
    ],
}  # fmt: skip


def test_split_needs_a_credit_method_and_a_tender():
    engine, session = new_session()
    cases = (
        (sale(split="B"), "split needs method C or S (the credit paid first)"),
        (sale(split="K", method="B"), "split needs method C or S (the credit paid first)"),
        (sale(split="K", method="K"), "split needs method C or S (the credit paid first)"),
        (sale(split="C", method="C"), "split must be one of B, K"),
        (sale(split="X", method="S"), "split must be one of B, K"),
    )
    for msg, message in cases:
        msg_type, fields = one(session.handle(msg))
        assert msg_type == 0x81
        assert fields["result"] == "13" and fields["message"] == message, fields
    assert engine.calls == []


def test_split_is_part_of_what_makes_an_invoice_the_same_sale():
    plain = digest("sale", {"amount": 5, "method": "C"})
    assert digest("sale", {"amount": 5, "method": "C", "split": "B"}) != plain
    assert digest("sale", {"amount": 5, "method": "C", "split": "K"}) != digest(
        "sale", {"amount": 5, "method": "C", "split": "B"}
    )


def test_the_legs_of_a_bank_split_are_the_answers_credit_and_remainder():
    _engine, session = new_session()
    fields = session._fields("sale", dict(BANK_SPLIT), "INV-S", "60")
    assert fields["result"] == "00" and fields["response_code"] == "10"
    assert fields["credit_account"] == "60" and fields["credit_part"] == 700_000
    assert fields["remainder_account"] == "40" and fields["remainder"] == 385_000
    assert fields["bank_reference"] == "PSP000000009"  # the bank leg's own reference
    assert fields["club_balance"] == 0 and fields["payable"] == 1_085_000
    assert fields["flow"] == "split" and fields["card"] == "****0014"


def test_a_cash_split_and_a_split_the_credit_covered():
    _engine, session = new_session()
    cash = dict(BANK_SPLIT, legs=[{"account": "70", "amount": 80_000},
                                  {"account": "00", "amount": 20_000}])  # fmt: skip
    fields = session._fields("sale", cash, "INV-C", "70")
    assert (fields["credit_account"], fields["credit_part"]) == ("70", 80_000)
    assert (fields["remainder_account"], fields["remainder"]) == ("00", 20_000)
    assert "bank_reference" not in fields and fields["store_balance"] == 0
    covered = dict(BANK_SPLIT, response_code="00", legs=[{"account": "60", "amount": 1_085_000}])
    fields = session._fields("sale", covered, "INV-D", "60")
    assert (fields["credit_account"], fields["credit_part"]) == ("60", 1_085_000)
    assert "remainder" not in fields and "remainder_account" not in fields


def test_a_void_and_a_refund_carry_their_legs():
    _engine, session = new_session()
    void = {"flow": "void", "outcome": "approved", "response_code": "00", "amount": 1_200_000,
            "reason": "VD", "legs": BANK_SPLIT["legs"]}  # fmt: skip
    fields = session._fields("void", void, "V-1")
    assert fields["credit_part"] == 700_000 and fields["remainder"] == 385_000
    assert fields["bank_reference"] == "PSP000000009"
    refund = {
        "flow": "refund",
        "outcome": "approved",
        "response_code": "00",
        "amount": 100_000,
        "legs": [{"account": "60", "amount": 64_516}, {"account": "40", "amount": 35_484}],
    }
    fields = session._fields("refund", refund, "R-1", "60")
    assert (fields["credit_part"], fields["remainder"]) == (64_516, 35_484)
    assert fields["remainder_account"] == "40"


def test_legs_only_in_the_answers_that_carry_them():
    for name in ("sale", "void", "refund"):
        for field in ("credit_account", "credit_part", "remainder_account", "remainder"):
            assert field in spec.ANSWERS[name], (name, field)
    for name in ("balance", "settlement", "topup", "print", "show"):
        assert "credit_part" not in spec.ANSWERS[name], name
    _engine, session = new_session()
    fields = session._fields("topup", dict(BANK_SPLIT), "T-1")
    assert "credit_part" not in fields and "remainder" not in fields


def test_the_split_tags_on_the_wire():
    request = encode_message(3, SALE, {"amount": 1_200_000, "invoice": "S-1", "cashier": "7",
                                       "method": "C", "split": "B"})  # fmt: skip
    assert b"\x04\x00\x01C\x0b\x00\x01B" in request  # method C, then split B (ascending tags)
    answer = {"result": "00", "credit_account": "60", "credit_part": 700_000,
              "remainder_account": "40", "remainder": 385_000}  # fmt: skip
    payload = encode_message(4, 0x81, answer)
    assert b"\x40\x00\x0260\x41\x00\x06700000\x42\x00\x0240\x43\x00\x06385000" in payload
    assert decode_message(payload)["fields"] == answer


def test_the_worked_example_of_docs_ecr_3_6():
    from agent.ecr.frame import encode_frame
    from tests.portable.support import unhex as _unhex

    def unhex(text):
        return _unhex(text.replace(" ", ""))

    request = encode_frame(encode_message(6, SALE, {"amount": 1_200_000, "invoice": "INV-1003",
                                                    "cashier": "07", "method": "C",
                                                    "split": "B"}))  # fmt: skip
    assert request == unhex(
        "02 00 24 06 01 01 00 07 31 32 30 30 30 30 30 02 00 08 49 4E 56 2D 31 30 30 33"
        " 03 00 02 30 37 04 00 01 43 0B 00 01 42 03 21 CA"
    )
    answer = {
        "amount": 1_200_000,
        "invoice": "INV-1003",
        "result": "00",
        "response_code": "10",
        "payable": 1_085_000,
        "bank_reference": "PSP000000009",
        "credit_account": "60",
        "credit_part": 700_000,
        "remainder_account": "40",
        "remainder": 385_000,
    }
    assert encode_frame(encode_message(7, 0x81, answer)) == unhex(
        "02 00 56 07 81 01 00 07 31 32 30 30 30 30 30 02 00 08 49 4E 56 2D 31 30 30 33"
        " 20 00 02 30 30 21 00 02 31 30 25 00 07 31 30 38 35 30 30 30 2D 00 0C 50 53 50 30 30"
        " 30 30 30 30 30 30 39 40 00 02 36 30 41 00 06 37 30 30 30 30 30 42 00 02 34 30 43 00"
        " 06 33 38 35 30 30 30 03 75 A8"
    )


def test_a_split_sale_a_power_cut_interrupted_answers_its_legs():
    """docs/ecr.md 3.6, 6.3: the kept result of a split sale that recovery confirmed (or that
    had finished) names its legs, from the ledger's 0220 (agent/split.py legs_of)."""
    import binascii

    from agent.protocol.tlv import encode_tlv
    from tests.portable.test_ecr_session import interrupted

    ref = binascii.hexlify(encode_tlv({0x05: b"PSP000000009"})).decode()
    q = {"txn": "000002", "card": "0014", "legs": [["70", 500_000], ["40", 700_000]],
         "f": {"3": "007000", "4": "000001200000", "37": "000000000042", "48": ref}}  # fmt: skip
    for report in ({"actions": [("confirmed", "000002")]}, {"actions": []}):
        status = interrupted(report, {"q": q, "state": "confirmed"})
        assert status["result"] == "00", status
        assert (status["credit_account"], status["credit_part"]) == ("70", 500_000)
        assert (status["remainder_account"], status["remainder"]) == ("40", 700_000)
        assert status["bank_reference"] == "PSP000000009"
    reversed_ = interrupted({"actions": [("reversed", "000002")]}, {"q": q, "state": "reversed"})
    assert reversed_["result"] == "03" and "credit_part" not in reversed_
