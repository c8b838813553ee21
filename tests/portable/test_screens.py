"""Screens on every display a terminal has, in both languages (agent/display).

Runs under pytest and under MicroPython (where the pixel panel is also drawn through the real
framebuf module and compared with the pure-Python framebuffer, byte for byte).
Each screen id renders within 16x2 and 20x4 character LCDs and a 128x64 panel, with the
largest values a terminal shows (10-digit rial amounts) never cut.
"""

from agent.display.charlcd import CharLcd, RecordingBus
from agent.display.fb import MonoFrameBuffer, new_framebuffer
from agent.display.pixel import PixelDisplay
from agent.display.screens import SCREENS, TEXT, derive, names, render, row, templates
from agent.display.text import TextDisplay
from agent.printing.iran_system import encode, encode_visual

# every screen id the engine shows (agent/flows.py, steps.py, recovery.py)
ENGINE_SCREENS = (
    "card", "working", "payable", "bank", "approved", "declined", "reversed", "balance",
    "confirm", "confirm_topup", "enroll", "busy", "no_paper", "printer_error", "no_card",
    "card_error", "unsent", "no_answer", "no_response", "enroll_cancelled", "nothing_to_void",
    "recovering", "closing", "totals", "coupon", "coupon_refused",
    "pin", "pin_wrong", "pin_cancelled",
    "pin_new", "pin_again", "pin_mismatch", "pin_changed", "pin_unknown",
    "split", "collect_cash", "legs_bank", "legs_cash",
)  # fmt: skip
# the largest values: amounts up to 10 digits (discounts and store credit 9), 57's message is
# the longest response text
LARGEST = {
    "amount": 9999999999, "payable": 9999999999, "balance": 9999999999,
    "club_credit": 9999999999, "discount": 999999999, "store_credit": 999999999,
    "fee": 99999999, "points": 9999999, "count": 999, "open": 99, "queued": 999,
    "code": "57", "message": "Not allowed for this card", "reason": "PR", "field": "birth_date",
    "tier": "C", "rc": "95", "balanced": False, "flow": "bank", "confirmed": True,
    "coupon": "A234567890123456",
    "masked": "************", "tries_left": 2,
    "credit": 9999999999, "remainder": 9999999999, "tender": "40",
}  # fmt: skip


def largest(screen):
    params = dict(LARGEST)
    if screen == "card_error":  # card reader errors (agent/card_io/errors.py), not club answers
        params["message"] = "Card not genuine"
        del params["code"]
    return params


def shown_values(screen, lang, rows):
    """The formatted values a screen's templates show, for the largest parameters."""
    values = derive(largest(screen), lang)
    found = []
    for template in templates(screen, lang, rows):
        for name in names(template):
            found.append(values[name])
    return found


def check_nothing_cut(screen, lang, rows, lines):
    joined = " ".join(lines)
    for value in shown_values(screen, lang, rows):
        assert value in joined, (screen, lang, rows, value, lines)


def test_every_engine_screen_has_both_languages():
    ids = list(ENGINE_SCREENS)
    ids.extend(("ready", "amount"))
    for screen in ids:
        assert screen in SCREENS, screen
        assert set(SCREENS[screen]) == {"en", "fa"}, screen
        assert len(SCREENS[screen]["en"]) <= 4 and len(SCREENS[screen]["fa"]) <= 4


def test_character_lcds_english():
    for cols, rows in ((16, 2), (20, 4)):
        for screen in SCREENS:
            bus = RecordingBus()
            lcd = CharLcd(bus, cols, rows, "en")
            lcd.show(screen, **largest(screen))
            assert len(lcd.lines) == rows
            got = bus.rows(cols, rows)
            for i, line in enumerate(lcd.lines):
                row = got[i]
                assert len(line) <= cols, (screen, line)
                assert row == line.encode() + b" " * (cols - len(line)), (screen, row)
            check_nothing_cut(screen, "en", rows, lcd.lines)


def test_character_lcd_persian_falls_back_to_english_without_a_persian_rom():
    bus = RecordingBus()
    lcd = CharLcd(bus, 16, 2, "fa")
    lcd.show("payable", payable=1080000)
    assert lcd.screen_language == "en"
    assert bus.rows(16, 2) == [b"To pay (rials): ", b"1,080,000       "]


def test_character_lcds_persian_with_a_persian_rom():
    for cols, rows in ((16, 2), (20, 4)):
        for screen in SCREENS:
            bus = RecordingBus()
            lcd = CharLcd(bus, cols, rows, "fa", rom=encode_visual)
            lcd.show(screen, **largest(screen))
            got = bus.rows(cols, rows)
            for i, line in enumerate(lcd.lines):
                row = got[i]
                assert lcd.measure(line) <= cols, (screen, line)
                assert len(row) == cols
                assert row.lstrip(b" ") == encode(line, True).lstrip(b" "), (screen, line)
            check_nothing_cut(screen, "fa", rows, lcd.lines)


def test_pixel_panel_both_languages_stay_inside_128x64():
    for lang in ("en", "fa"):
        for screen in SCREENS:
            fb = MonoFrameBuffer(128, 64, strict=True)  # a pixel off the panel raises
            panel = PixelDisplay(fb, 128, 64, lang)
            panel.show(screen, **largest(screen))
            assert len(panel.lines) == 4
            for line in panel.lines:
                assert panel.measure(line) <= 126, (screen, lang, line)
            check_nothing_cut(screen, lang, 4, panel.lines)


def test_pixel_panel_draws_right_aligned_persian():
    fb = MonoFrameBuffer(128, 64)
    PixelDisplay(fb, lang="fa").show("approved", payable=1080000)
    rows = fb.rows()
    top = rows[:16]
    lit = [x for x in range(128) if any(r[x] == "#" for r in top)]
    assert lit and max(lit) >= 120 and min(lit) > 60  # "تایید شد" hugs the right edge
    fb = MonoFrameBuffer(128, 64)
    PixelDisplay(fb, lang="en").show("approved", payable=1080000)
    lit = [x for x in range(128) if any(r[x] == "#" for r in fb.rows()[:16])]
    assert min(lit) <= 2 and max(lit) < 70  # "APPROVED" hugs the left edge


def test_framebuf_and_the_pure_framebuffer_agree():
    fb, buf = new_framebuffer(128, 64)  # framebuf.FrameBuffer under MicroPython
    pure = MonoFrameBuffer(128, 64)
    for lang in ("fa", "en"):
        PixelDisplay(fb, lang=lang).show("payable", amount=1200000, discount=120000, fee=0,
                                         payable=1080000)  # fmt: skip
        PixelDisplay(pure, lang=lang).show("payable", amount=1200000, discount=120000, fee=0,
                                           payable=1080000)  # fmt: skip
        assert bytes(buf) == bytes(pure.buffer)
        assert any(buf)


def test_persian_digits_and_separators():
    lines = render("payable", {"amount": 1200000, "discount": 120000, "fee": 0,
                               "payable": 1080000}, "fa")  # fmt: skip
    assert lines == ["مبلغ ۱٬۲۰۰٬۰۰۰", "تخفیف ۱۲۰٬۰۰۰", "کارمزد ۰", "پرداخت ۱٬۰۸۰٬۰۰۰"]
    assert render("declined", {"code": "51", "message": "Insufficient credit"}, "fa")[:2] == [
        "رد شد (۵۱)",
        "اعتبار کافی نیست",
    ]
    assert render("reversed", {"reason": "PR"}, "fa")[1] == "چاپگر آماده نیست"
    assert render("totals", {"rc": "00", "balanced": True}, "fa")[1:3] == ["پاسخ ۰۰", "تراز: بله"]
    assert render("card_error", {"message": "Card locked"}, "fa")[1] == "کارت قفل است"


def test_english_values_and_wrapping():
    assert render("reversed", {"reason": "PR"}) == [
        "NOT COMPLETED",
        "Check printer",
        "Reversal sent (PR)",
        "",
    ]
    lines = render("declined", {"code": "57", "message": "Not allowed for this card"})
    assert lines == ["DECLINED (57)", "Not allowed for this", "card", ""]
    assert render("enroll", {"field": "birth_date"})[1] == "Enter birth date"
    assert render("no_such_screen", {}, "fa") == ["no_such_screen", "", "", ""]


def test_text_display_in_persian():
    shown = []
    TextDisplay(shown.append, lang="fa", columns=16, rows=2).show("bank", payable=1000)
    assert shown == [["پرداخت با کارت", "۱٬۰۰۰"]]


def test_packed_text_rows_are_unique_and_both_languages_have_the_same_keys():
    keys = {}
    for lang in ("en", "fa"):
        found = []
        for line in TEXT[lang].strip().split("\n"):
            head = line.split("|", 1)[0]
            assert head not in found, (lang, head)  # row() would only ever see the first
            found.append(head)
        keys[lang] = found
    fa_only = [k for k in keys["fa"] if k not in keys["en"]]
    assert [k for k in keys["en"] if k not in keys["fa"]] == []
    assert all(k[:2] in ("x ", "m ") for k in fa_only), fa_only
    for head in keys["en"]:
        if head.startswith("c "):
            assert "s " + head[2:] in keys["en"], head  # a compact form of a known screen
    assert row("en", "s", "payable")[3] == "PAY {payable}"
    assert row("fa", "r", "TO") == ["باشگاه پاسخ نداد"]
    assert row("en", "s", "no_such_screen") is None


def test_a_line_whose_values_were_not_given_is_blank():
    # an approved bank or cash sale has no credit balance: no bare "Credit" / "اعتبار"
    params = {"flow": "bank", "payable": 1080000, "points": 12, "balance": None}
    assert render("approved", params) == ["APPROVED", "Paid 1,080,000", "Points 12", ""]
    assert render("approved", params, "fa")[3] == ""
    assert render("approved", {"payable": 5000})[2:] == ["", ""]
    # a value given as zero or as empty text is still shown
    assert render("approved", {"payable": 5000, "points": 0, "balance": 0})[2:] == [
        "Points 0",
        "Credit 0",
    ]
    assert render("declined", {"code": "", "message": "Card not issued"})[0] == "DECLINED ()"
    assert render("reversed", {"reason": "CN"})[1] != ""  # a derived value counts as given
