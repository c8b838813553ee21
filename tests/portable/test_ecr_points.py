"""A sale paid with points on the ECR link (docs/ecr.md 3.2 method P, 3.4; docs/protocol.md
2.2 processing code 008000): the method picks the engine's points flow, a coupon or a split with
it is refused (13) before the engine runs, the answer carries the points left, and the worked
example of docs/ecr.md 3.2 byte for byte. The sale against the club runs in
tests/ecr/test_points_ecr.py.

Runs under pytest and under MicroPython.
"""

from agent.ecr import spec
from agent.ecr.message import decode_message, encode_message
from agent.ecr.session import digest
from tests.portable.test_ecr_session import SALE, FakeEngine, new_session, one, sale


class PointsEngine(FakeEngine):
    """The recording engine with the points flow: what agent/flows.py purchase_points returns
    (no discount or fee, nothing earned, 48 02 the points left)."""

    def __init__(self, **answer):
        super().__init__()
        self.answer = answer  # what the club answered, over the approval's fields

    def purchase_points(self, amount):
        res = {"discount": 0, "fee": 0, "payable": amount, "points_earned": 0}
        res["points_balance"] = 29
        res.update(self.answer)
        return self._flow("purchase_points", "points", amount, **res)


def test_method_p_runs_the_points_flow_and_answers_the_points_left():
    engine, session = new_session(PointsEngine())
    msg_type, fields = one(session.handle(sale(method="P", amount=100_001)))
    assert msg_type == 0x81
    assert engine.calls == [("purchase_points", 100_001)]
    assert fields["result"] == "00" and fields["flow"] == "points"
    assert fields["amount"] == fields["payable"] == 100_001
    assert fields["points_balance"] == 29 and fields["points_earned"] == 0
    assert "club_balance" not in fields and "store_balance" not in fields
    assert "bank_reference" not in fields


def test_too_few_points_and_points_of_no_value_are_declines():
    for code, extra in (("51", {"points_balance": 7}), ("57", {"points_balance": None})):
        engine = PointsEngine(response_code=code, **extra)
        engine.outcome = "declined"
        _engine, session = new_session(engine)
        fields = one(session.handle(sale(method="P")))[1]
        assert (fields["result"], fields["response_code"]) == ("01", code), fields
        assert fields.get("points_balance") == extra["points_balance"]  # 51: the points there


def test_a_coupon_or_a_split_with_points_is_a_bad_request_before_the_engine_runs():
    engine, session = new_session(PointsEngine())
    split = "split needs method C or S (the credit paid first)"
    cases = (
        (sale(invoice="P-1", method="P", coupon="NOWRUZ10"), "coupon not with method P (points)"),
        (sale(invoice="P-2", method="P", split="B"), split),
        (sale(invoice="P-3", method="P", split="K"), split),
        (sale(invoice="P-4", method="X"), "method must be one of B, C, K, P, S"),
    )
    for msg, message in cases:
        fields = one(session.handle(msg))[1]
        assert fields["result"] == "13" and fields["message"] == message, fields
    assert engine.calls == []
    # a coupon with every other method still goes to the engine
    assert spec.COUPON_METHODS == ("B", "C", "S", "K")


def test_method_p_is_part_of_what_makes_an_invoice_the_same_sale():
    engine, session = new_session(PointsEngine())
    session.handle(sale(invoice="P-9", method="P"))
    assert one(session.handle(sale(invoice="P-9", method="K")))[1]["result"] == "14"
    assert digest("sale", {"amount": 5, "method": "P"}) != digest("sale", {"amount": 5})
    assert len(engine.calls) == 1


def test_the_worked_example_of_docs_ecr_3_2():
    from agent.ecr.frame import encode_frame
    from tests.portable.support import unhex as _unhex

    def unhex(text):
        return _unhex(text.replace(" ", ""))

    request = {"amount": 100_001, "invoice": "INV-1004", "cashier": "07", "method": "P"}
    assert encode_frame(encode_message(8, SALE, request)) == unhex(EXAMPLE_REQUEST)
    answer = {
        "amount": 100_001,
        "invoice": "INV-1004",
        "result": "00",
        "response_code": "00",
        "payable": 100_001,
        "points_earned": 0,
        "points_balance": 29,
        "flow": "points",
    }
    payload = encode_message(9, 0x81, answer)
    assert encode_frame(payload) == unhex(EXAMPLE_ANSWER)
    assert decode_message(payload)["fields"] == answer


# docs/ecr.md 3.2, example 7 (the hostbridge codec builds the same request: tests/ecr)
EXAMPLE_REQUEST = (
    "02 00 1F 08 01 01 00 06 31 30 30 30 30 31 02 00 08 49 4E 56 2D 31 30 30 34 03 00 02 30 37"
    " 04 00 01 50 03 CC 5E"
)
EXAMPLE_ANSWER = (
    "02 00 3B 09 81 01 00 06 31 30 30 30 30 31 02 00 08 49 4E 56 2D 31 30 30 34 20 00 02 30 30"
    " 21 00 02 30 30 25 00 06 31 30 30 30 30 31 26 00 01 30 27 00 02 32 39 35 00 06 70 6F 69 6E"
    " 74 73 03 1D 0F"
)
