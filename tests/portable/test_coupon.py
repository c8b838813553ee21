"""The terminal's side of coupon codes (agent/coupon.py, docs/protocol.md 5.10), under both
interpreters: the code as keyed or scanned, the 0100's tag 0F, the 0110's discount and words
on the screen and the receipt, a refusal (78) that is final and holds nothing."""

from agent import coupon, receipt
from agent.display import screens
from agent.protocol import messages as m
from agent.protocol.tlv import encode_tlv
from tests.portable.fakehost import Terminal, card

# The scripted club host shares the process with the engine (as in test_money_safety.py).
MICROPYTHON_HEAP = 417792

NORMALIZED = (
    ("NOWRUZ10", "NOWRUZ10"),
    ("nowruz10", "NOWRUZ10"),
    (" now-ruz 10\r\n", "NOWRUZ10"),  # a scanner's Enter, a printed dash
    ("ABCD", "ABCD"),
    ("A234567890123456", "A234567890123456"),
)
REFUSED = ("ABC", "A2345678901234567", "NOWRÜZ", "NOWRUZ_10", "", "۱۲۳۴۵")


def test_codes_are_uppercased_and_cleaned():
    for text, code in NORMALIZED:
        assert coupon.normalize(text) == code, text


def test_what_is_no_code_is_refused_before_anything_is_sent():
    for text in REFUSED:
        try:
            coupon.normalize(text)
        except ValueError as e:
            assert "coupon code" in str(e)
        else:
            raise AssertionError(text)


def test_every_refusal_reason_has_words_in_both_languages():
    for reason, words in coupon.REASONS.items():
        assert len(reason) == 2 and words
        fa = screens.render("coupon_refused", {"coupon": "ABCD", "message": words}, "fa")
        assert words not in fa, reason  # translated, not shown in English
    assert "78" in m.FINAL_0110


def with_tags_seen(t):
    seen = []
    auth = t.host._auth

    def spy(message, tags, pan):
        seen.append(tags.get(m.TAG_COUPON_CODE))
        return auth(message, tags, pan)

    t.host._auth = spy
    return seen


def answering(t, code, tags):
    def edit(response):
        if response["t"] == "0110":
            response["39"] = code
            response["48"] = encode_tlv(tags)
            if code != "00":
                response.pop("54", None)

    t.host.edit = edit


def with_amounts(edit, field54):
    """The club's D1 (the coupon's discount inside it) and P1 on the 0110, as 5.10 says."""

    def both(response):
        edit(response)
        if response["t"] == "0110":
            response["54"] = field54

    return both


def test_an_approval_with_a_coupon_shows_and_prints_its_line():
    t = Terminal()
    t.engine.recover()
    seen = with_tags_seen(t)
    answering(t, "00", {m.TAG_COUPON_TEXT: "Nowruz 10% off", m.TAG_COUPON_DISCOUNT: "20000"})
    t.host.edit = with_amounts(t.host.edit, "00D1364C000000020000" + "00P1364C000000280000")
    res = t.engine.purchase_cash(300000, card(), coupon="nowruz10")
    assert seen == [b"NOWRUZ10"]
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert (res["discount"], res["payable"]) == (20000, 280000)
    assert (res["coupon"], res["coupon_discount"], res["coupon_text"]) == (
        "NOWRUZ10",
        20000,
        "Nowruz 10% off",
    )
    assert ("coupon", {"coupon": "NOWRUZ10", "text": "Nowruz 10% off", "discount": 20000}) in (
        t.display.shown
    )
    lines = receipt.layout(res, "customer", t.engine.receipt_header())
    assert [x for x in lines if "Coupon NOWRUZ10" in x and "20,000" in x]
    assert "Nowruz 10% off" in lines
    farsi = receipt.layout(res, "customer", t.engine.receipt_header(), lang="fa")
    assert [x for x in farsi if "کوپن NOWRUZ10" in x and "۲۰٬۰۰۰" in x], farsi


def test_a_refusal_is_final_holds_nothing_and_is_shown():
    t = Terminal()
    t.engine.recover()
    answering(t, "78", {m.TAG_COUPON_REASON: "EX"})
    res = t.engine.purchase_bank(1200000, card(), coupon="OLD2020")
    assert (res["outcome"], res["response_code"], res["coupon_reason"]) == ("declined", "78", "EX")
    assert res["message"] == "Coupon refused: Code expired"
    assert [e[0] for e in t.host.log] == ["0100"]  # no repeat, no 0420
    assert t.display.last == ("coupon_refused", {"coupon": "OLD2020", "message": "Code expired"})
    assert not t.bank.charges() and not t.printer.printed
    assert not t.engine.ledger.open


def test_a_sale_without_a_coupon_sends_no_tag_0f():
    t = Terminal()
    t.engine.recover()
    seen = with_tags_seen(t)
    res = t.engine.purchase_cash(100000, card())
    assert res["outcome"] == "approved" and seen == [None]
    assert "coupon" not in res
