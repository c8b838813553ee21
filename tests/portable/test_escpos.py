"""ESC/POS receipts: golden bytes, commands, the printer port and the engine's paper check.

Runs under pytest and under MicroPython. The two small receipts' bytes are derived by hand
(command by command, in the comments); the full receipts are golden hex reviewed once and
kept to catch any change (regenerate only on purpose, and look at the difference).
"""

from agent.printing.decode import parse
from agent.printing.escpos import (
    STATUS_PAPER,
    RenderError,
    paper_status,
    qr,
    raster,
    render,
)
from agent.printing.iran_system import encode
from agent.printing.layout import BOLD, CENTER, DOUBLE, Receipt, text_lines
from agent.printing.printer import RecordingEscPosPrinter, StreamPrinter
from agent.printing.profiles import PROFILES, ProfileError, profile
from agent.receipt import document, layout
from agent.steps import new_result
from tests.portable.support import hexu, raises, unhex


def small_english():
    doc = Receipt()
    doc.text("VAFA", CENTER, BOLD)
    doc.row("Total", "1,000")
    doc.sep("=")
    doc.cut()
    return doc


def test_small_english_receipt_by_hand():
    expected = (
        "1B40"  # ESC @: initialize
        + "1B7400"  # ESC t 0: code page PC437 (profile ascii-58)
        + "1B6101"  # ESC a 1: center
        + "1B4501"  # ESC E 1: bold on
        + "56414641" + "0A"  # "VAFA", LF
        + "1B4500"  # ESC E 0: bold off
        + "1B6100"  # ESC a 0: left
        + "546F74616C" + "20" * 22 + "312C303030" + "0A"  # "Total", 22 spaces, "1,000": 32
        + "1B6100" + "3D" * 32 + "0A"  # a rule of 32 "="
        + "1B6404"  # no cutter on this profile: ESC d 4 feeds the paper out to tear
    )  # fmt: skip
    assert hexu(render(small_english(), "ascii-58")) == expected


def test_small_persian_receipt_by_hand():
    doc = Receipt(rtl=True)
    doc.text("سلام", CENTER, DOUBLE)
    doc.row("مبلغ", "۱۲٬۰۰۰")
    doc.cut()
    expected = (
        "1B40"  # ESC @
        + "1B7420"  # ESC t 32: the Iran System page of profile iran-system-58
        + "1B6101"  # ESC a 1: center
        + "1D2111"  # GS ! 0x11: double width and height
        + "F4F2A8" + "0A"  # سلام in visual order: meem F4, lam-alef F2, seen initial A8
        + "1D2100"  # GS ! 0: normal size
        + "1B6100"  # ESC a 0: the row is laid out to 32 cells by itself
        # right to left: the value at the left end, the label at the right end
        + "81822C808080"  # ۱۲٬۰۰۰ left to right (٬ as ",")
        + "20" * 22  # 32 - 6 - 4 cells
        + "E6F393F5"  # مبلغ: ghain final, lam medial, beh medial, meem initial
        + "0A"
        + "1B6404"  # ESC d 4
    )  # fmt: skip
    assert hexu(render(doc, "iran-system-58")) == expected


def sample(lang):
    res = new_result("bank", 1200000)
    res.update(discount=120000, fee=5000, payable=1085000, stan="000123", rrn="402512345678",
               card_last4="7890", points_earned=120, balance_after=350000, tier="B",
               confirmed=True)  # fmt: skip
    if lang == "en":
        res["club_message"] = "Thank you: 120 points earned"
    else:
        res["club_message"] = "با تشکر: ۱۲۰ امتیاز گرفتید"
    header = {"merchant_name": "Vafa Store", "merchant_id": "VAFA00000000001",
              "terminal_id": "VT000001", "time": 1710923400}  # fmt: skip
    return res, header


# document(sample("en"), "customer") on ascii-80
GOLDEN_EN = (
    "1B401B74001B61011B4501566166612053746F72650A1B45001B61004D65726368616E74202020202020202020202020"
    "202020202020202020202020205641464130303030303030303030310A1B61005465726D696E616C2020202020202020"
    "20202020202020202020202020202020202020202020202056543030303030310A1B6100446174652020202020202020"
    "2020202020202020202020202020202020202020313430332F30312F30312031323A30300A1B61002D2D2D2D2D2D2D2D"
    "2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D0A1B61011B450142"
    "414E4B20434152442050555243484153450A1B45001B6101416D6F756E747320696E207269616C730A1B610043617264"
    "2020202020202020202020202020202020202020202020202020202020202020202020202A2A2A2A373839300A1B6100"
    "416D6F756E74202020202020202020202020202020202020202020202020202020202020202020312C3230302C303030"
    "0A1B6100446973636F756E74202020202020202020202020202020202020202020202020202020202020202020313230"
    "2C3030300A1B610046656520202020202020202020202020202020202020202020202020202020202020202020202020"
    "202020352C3030300A1B61001B450150617961626C652020202020202020202020202020202020202020202020202020"
    "202020202020312C3038352C3030300A1B45001B61005354414E20202020202020202020202020202020202020202020"
    "202020202020202020202020202020203030303132330A1B610052524E20202020202020202020202020202020202020"
    "20202020202020202020202020203430323531323334353637380A1B6100506F696E7473206561726E65642020202020"
    "2020202020202020202020202020202020202020202020202020203132300A1B61004372656469742062616C616E6365"
    "2020202020202020202020202020202020202020202020202020203335302C3030300A1B610054696572202020202020"
    "20202020202020202020202020202020202020202020202020202020202020202020202020420A1B61005468616E6B20"
    "796F753A2031323020706F696E7473206561726E65640A1B61011D286B0400314132001D286B03003143061D286B0300"
    "3145311D286B3400315030766166613A543D56543030303030313B533D3030303132333B523D34303235313233343536"
    "37383B413D313038353030301D286B03003151300A1B61001B61011B45011D2111415050524F5645440A1B45001D2100"
    "1B61012D2D20637573746F6D657220636F7079202D2D0A1D564200"
)
# document(sample("fa"), "customer", lang="fa") on iran-system-80
GOLDEN_FA = (
    "1B401B74201B61011B4501566166612053746F72650A1B45001B61005641464130303030303030303030312020202020"
    "202020202020202020202020202020202020202020F9A2F7A4FEA3950A1B610056543030303030312020202020202020"
    "2020202020202020202020202020202020202020202020202020F9F791FE91950A1B610081823A808020818480832F80"
    "812F8081202020202020202020202020202020202020202020202020202020A0FEA491970A1B61002D2D2D2D2D2D2D2D"
    "2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D0A1B61011B4501FC"
    "EEF791932096A491EE20919320A2FEA4A10A1B45001B6101F191FEA420F99320E6F39193F50A1B6100878889802A2A2A"
    "2A20202020202020202020202020202020202020202020202020202020202020202020202096A491EE0A1B6100812C82"
    "80802C8080802020202020202020202020202020202020202020202020202020202020202020202020E6F393F50A1B61"
    "008182802C808080202020202020202020202020202020202020202020202020202020202020202020202020E9FEEAA1"
    "970A1B6100852C80808020202020202020202020202020202020202020202020202020202020202020202020202020A2"
    "A5F5A491EE0A1B61001B4501812C8088852C808080202020202020202020202020202020202020202020202020202020"
    "2096A190A2A49520F19391EC0A1B45001B61008080808182832020202020202020202020202020202020202020202020"
    "20202020202020FDA4FEF0FE9520F9A491F5AA0A1B610084808285818283848586878820202020202020202020202020"
    "20202020202020202020202020E29BA4F520F9A491F5AA0A1B6100818280202020202020202020202020202020202020"
    "202020202020202020202020A2FEA4A120F6FE9020A591FE97F5900A1B61008385802C80808020202020202020202020"
    "20202020202020202020202020202020202020A4919397E49020F9A2F791F50A1B610042202020202020202020202020"
    "20202020202020202020202020202020202020202020202020202020202020209EAFA80A1B6102A2FE97EAA4F020A591"
    "FE97F59020818280203AA4EEAA972091930A1B61011D286B0400314132001D286B03003143061D286B03003145311D28"
    "6B3400315030766166613A543D56543030303030313B533D3030303132333B523D3430323531323334353637383B413D"
    "313038353030301D286B03003151300A1B61001B61011B45011D2111A2AA20A2FEFE91970A1B45001D21001B61012D2D"
    "20FDA497AAF520F9A1A8F7202D2D0A1D564200"
)


def test_full_receipts_golden():
    res, header = sample("en")
    assert hexu(render(document(res, "customer", header, lang="en"), "ascii-80")) == GOLDEN_EN
    res, header = sample("fa")
    data = render(document(res, "customer", header, lang="fa"), "iran-system-80")
    assert hexu(data) == GOLDEN_FA


def test_persian_receipt_content():
    res, header = sample("fa")
    data = render(document(res, "customer", header, lang="fa"), "iran-system-80")
    for text in ("تایید شد", "قابل پرداخت", "۱٬۰۸۵٬۰۰۰", "۱۴۰۳/۰۱/۰۱", "شماره مرجع", "VT000001"):
        assert encode(text) in data, text
    assert encode("****۷۸۹۰", True) in data  # only the last 4 digits of the card
    names = [name for name, _ in parse(data)]
    assert names[:2] == ["ESC @", "ESC t"] and names[-1] == "GS V"
    assert "GS ( k" in names


def test_english_receipt_content_and_plain_text():
    res, header = sample("en")
    doc = document(res, "merchant", header)
    data = render(doc, "ascii-80")
    for text in (b"APPROVED", b"Payable", b"1,085,000", b"1403/01/01 12:00", b"****7890"):
        assert text in data, text
    lines = text_lines(doc, 32)
    assert lines[-1].strip() == "-- merchant copy --"
    assert "Date            1403/01/01 12:00" in lines
    assert layout(res, "merchant", header) == lines


def test_qr_command():
    data = qr("vafa:T=VT000001;S=000123", 6)
    assert hexu(data[:25]) == (
        "1D286B040031413200"  # fn 65: model 2
        + "1D286B0300314306"  # fn 67: module size 6 dots
        + "1D286B0300314531"  # fn 69: error correction M
    )
    # fn 80 stores the data: pL pH = 24 bytes of data + 3 (cn, fn, m)
    assert hexu(data[25:33]) == "1D286B1B00315030"
    assert data[33:57] == b"vafa:T=VT000001;S=000123"
    assert data.endswith(unhex("1D286B0300315130"))


def test_raster_command():
    data = raster(2, 3, bytes([0x80, 0x01, 0xFF, 0xFF, 0x00, 0x00]))
    assert hexu(data) == "1D763000" + "0200" + "0300" + "8001FFFF0000"
    raises(RenderError, raster, 2, 3, b"\x00")


def test_paper_status_bits():
    assert paper_status(b"\x12") == "ok"
    assert paper_status(b"\x1e") == "near_end"
    assert paper_status(b"\x72") == "out"
    assert paper_status(b"\x7e") == "out"
    assert paper_status(b"") is None
    assert paper_status(b"\x00") is None  # the fixed bits are missing: no status byte


def test_profiles():
    for name in PROFILES:
        p = profile(name)
        assert p["width"] in (32, 48) and p["dots"] // p["width"] == 12
    raises(ProfileError, profile, "no-such-printer")
    raises(ProfileError, profile, {"width": 32})
    raises(RenderError, render, small_english(), "raster-58")  # raster needs a rasterizer


def test_raster_profile_uses_the_rasterizer():
    calls = []

    def rasterize(segments, style, rtl):
        calls.append((segments, style, rtl))
        return 1, 1, b"\x80"

    data = render(small_english(), "raster-58", rasterize)
    assert calls == [([("VAFA", CENTER)], BOLD, False), ([("Total", 0), ("1,000", 2)], 0, False),
                     (None, 0, False)]  # fmt: skip
    assert data.count(b"\x1d\x76\x30") == 3 and b"\x1b\x74" not in data


class Stream:
    def __init__(self, answer=b"\x12"):
        self.written = b""
        self.answer = answer

    def write(self, data):
        self.written += bytes(data)
        return len(data)

    def read(self, n):
        return self.answer[:n]


def test_printer_port_over_a_stream():
    stream = Stream()
    p = StreamPrinter(stream, "ascii-58")
    assert p.ready() and stream.written == STATUS_PAPER
    p.print_receipt(small_english())
    assert stream.written == STATUS_PAPER + render(small_english(), "ascii-58")
    assert not StreamPrinter(Stream(b"\x72")).ready()
    assert not StreamPrinter(Stream(b"")).ready()  # silent: not ready
    p = StreamPrinter(Stream(b"\x1e"))
    assert p.ready() and p.last_status == "near_end"


def test_recording_printer_prints_lines_and_refuses_without_paper():
    p = RecordingEscPosPrinter("ascii-58")
    p.print_lines(["Totals", "Debits 3"])
    assert b"Totals\n" in p.jobs[0] and b"Debits 3\n" in p.jobs[0]
    p.status = p.OUT
    assert not p.ready()
    raises(OSError, p.print_lines, ["x"])
    p.status = None
    assert not p.ready() and p.last_status == "no answer"
