"""The engine with an ESC/POS printer: Persian receipts printed, the paper checked before a
sale and again before the confirmation (a clear screen when it is out).

CPython only: under MicroPython the engine and its test host already fill most of the 256 KB
heap of tools/run_micropython_tests.py, and compiling the printer modules from source beside
them runs out of contiguous blocks. The same code is covered there piece by piece:
tests/portable/test_escpos.py (receipts, the port) and test_engine.py (the paper checks).
"""

from agent.printing.iran_system import encode
from agent.printing.printer import RecordingEscPosPrinter
from tests.portable.fakehost import Terminal, card


class RunsOut(RecordingEscPosPrinter):
    """Paper present for the first n status requests, then out."""

    def __init__(self, n, **kw):
        super().__init__(**kw)
        self.left = n

    def _query(self, command):
        self.status = self.OK if self.left > 0 else self.OUT
        self.left -= 1
        return super()._query(command)


def test_engine_prints_escpos_receipts_in_persian():

    t = Terminal()
    printer = RecordingEscPosPrinter("iran-system-80", "fa")
    t.engine.printer = printer
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "approved" and res["printed"]
    assert len(printer.jobs) == 2
    merchant, customer = printer.jobs
    assert encode("-- نسخه پذیرنده --") in merchant and encode("-- نسخه مشتری --") in customer
    assert encode("****۷۸۹۰", True) in customer
    assert b"1234567890" not in customer  # never the card number


def test_a_persian_receipt_prints_the_stores_persian_name():
    for lang, profile, expected, absent in (
        ("fa", "iran-system-80", encode("فروشگاه وفا"), b"Vafa Store"),
        ("en", "ascii-80", b"Vafa Store", encode("فروشگاه وفا")),
    ):
        t = Terminal()
        t.engine.config.update(merchant_name="Vafa Store", merchant_name_fa="فروشگاه وفا")
        t.engine.printer = RecordingEscPosPrinter(profile, lang)
        assert t.engine.purchase_bank(1200000, card())["printed"]
        for job in t.engine.printer.jobs:
            assert expected in job and absent not in job


def test_engine_checks_the_paper_before_a_sale_and_before_confirming():

    t = Terminal()
    t.engine.printer = RecordingEscPosPrinter(status=RecordingEscPosPrinter.OUT)
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "failed" and t.host.log == []
    assert t.display.screens()[-1] == "no_paper"
    t = Terminal()
    t.engine.printer = RunsOut(1)  # paper runs out after the club answered
    res = t.engine.purchase_bank(1200000, card())
    assert (res["outcome"], res["reason"]) == ("reversed", "PR")
    assert t.bank.payments == []
    assert t.display.last == ("reversed", {"reason": "PR"})


def test_paper_out_shows_a_clear_screen_in_persian():
    from agent.display.fb import MonoFrameBuffer
    from agent.display.pixel import PixelDisplay

    t = Terminal()
    panel = PixelDisplay(MonoFrameBuffer(128, 64, strict=True), lang="fa")
    t.engine.display = panel
    t.engine.printer = RecordingEscPosPrinter(status=RecordingEscPosPrinter.OUT)
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "failed" and res["message"] == "Printer: no paper"
    assert panel.lines[:3] == ["چاپگر کاغذ ندارد", "کاغذ بگذارید و", "دوباره تلاش کنید"]
    t = Terminal()
    t.engine.display = panel
    t.engine.printer = RunsOut(1)
    res = t.engine.purchase_bank(1200000, card())
    assert res["reason"] == "PR"
    assert panel.lines[:3] == ["انجام نشد", "چاپگر آماده نیست", "برگشت ارسال شد (PR)"]


def test_engine_with_python_escpos_over_tcp():
    from escpos.printer import Network

    from simulator.printer.adapter import PythonEscposPrinter
    from tests.display.test_printer_adapter import FakeNetworkPrinter

    fake = FakeNetworkPrinter(0x12)
    try:
        t = Terminal()
        printer = PythonEscposPrinter(Network("127.0.0.1", fake.port, timeout=1), "raster-58", "fa")
        t.engine.printer = printer
        res = t.engine.purchase_bank(1200000, card())
        assert res["outcome"] == "approved" and res["printed"]
        printer.device.close()
        fake.thread.join(2)
        # two status requests (before the sale, before the confirmation), two raster receipts
        assert fake.received.count(b"\x10\x04\x04") == 2
        assert fake.received.count(b"\x1d\x56\x42\x00") == 0  # raster-58 has no cutter
        assert fake.received.count(b"\x1d\x76\x30") >= 30  # a GS v 0 image per line
    finally:
        fake.close()
