"""Firmware in the loop at the byte level: the flashed bundle (installed by flashing/install.py
into a VirtualDevice folder, booted by its loader under the unix MicroPython with a capped heap)
serves a cashier's ECR commands; its LCD is an HD44780 byte stream, its printer raw ESC/POS, its
card reader a vpcd link to a virtual chip card, its keypad ASCII keys (simulator/fil). The byte
formats are also checked under CPython, the device's adapters against the host's endpoints."""

import pytest

from agent.card_io.clubcard import ClubCardReader
from agent.device import peripherals as ports
from agent.display.charlcd import CharLcd
from agent.printing.printer import StreamPrinter
from flashing.targets import micropython_binary
from simulator.cards import personas as chip
from simulator.cards.vpcd import VpcdCard
from simulator.club_server import seed
from simulator.club_server.ledger import ledger_check
from simulator.fil import HEAP, FirmwareTerminal, KeypadEndpoint, LcdEndpoint, PrinterEndpoint
from simulator.fil.terminal import free_port

CARD_A = "9879110000000014"  # the "active" persona

try:
    micropython_binary()
    HAVE_MP = True
except Exception:
    HAVE_MP = False
needs_mp = pytest.mark.skipif(not HAVE_MP, reason="needs the unix micropython")


@pytest.fixture
def device(tmp_path, club, bundle):
    with FirmwareTerminal(tmp_path / "terminal", club.port, bundle) as t:
        yield t


# -- the flashed device ----------------------------------------------------------------------


@needs_mp
def test_club_sale_over_ecr_card_lcd_printer(device, club):
    assert f"heapsize={HEAP}" in " ".join(device.device.command("x", HEAP))
    device.card.insert(chip.make_card("active"))
    answer = device.ecr.sale(20000, invoice="INV-1", cashier="07", method="club")
    assert answer.ok, answer.fields
    assert answer.card == "****0014" and answer.terminal_id == "VT000001"
    payable = answer.payable
    screens = device.screens.take()
    assert ["APPROVED", f"Paid {payable:,}"] == screens[-1][:2], screens
    assert any(s[0] == "Please wait" for s in screens)
    assert device.keypad.asked == ["confirm"]  # the keypad was asked, Enter accepted
    receipts = device.receipts()
    assert len(receipts) == 2  # merchant and customer copies, decoded from ESC/POS
    for lines in receipts:
        assert "CLUB CREDIT PURCHASE" in lines and "Card ****0014" in lines
        assert f"Payable {payable:,}" in lines and "APPROVED" in lines
    assert receipts[1][-1] == "-- customer copy --"
    seen = repr(screens) + repr(receipts) + device.output()
    assert CARD_A not in seen and CARD_A not in repr(answer.fields)
    assert club.call(ledger_check).ok


@needs_mp
def test_cash_sale_clone_card_and_a_power_cut(device, club):
    device.card.insert(chip.issued_card(seed.CARD_B))  # the member-b persona's chip card
    cash = device.ecr.sale(450000, invoice="INV-2", cashier="07", method="cash")
    assert cash.ok and cash.points_earned == 45, cash.fields
    device.screens.take()
    device.receipts()
    # a clone (right data, wrong key) fails INTERNAL AUTHENTICATE on the device: no message
    device.card.insert(chip.make_card("clone"))
    clone = device.ecr.sale(100000, invoice="INV-3", cashier="07", method="cash")
    assert clone.result == "04" and "Card refused" in clone.message, clone.fields
    assert device.receipts() == []
    # the cashier asks after a power cut: the kept result survives the restart
    device.restart()
    status = device.ecr.status("INV-2")
    assert status.ok and status.rrn == cash.rrn, status.fields
    assert club.call(ledger_check).ok


@needs_mp
def test_customer_cancels_on_the_keypad(device):
    device.card.insert(chip.make_card("active"))
    device.keypad.confirms.append(False)  # Cancel at the confirmation
    answer = device.ecr.sale(300000, invoice="INV-4", cashier="07", method="club")
    assert answer.result == "02" and answer.reason == "CN", answer.fields
    assert device.receipts() == []


# -- the byte formats, the device's adapters under CPython ------------------------------------


def test_lcd_stream_decodes_to_the_screen():
    lcd = LcdEndpoint(cols=16, rows=2)
    stream = ports.TcpStream("127.0.0.1", lcd.port)
    try:
        CharLcd(ports.FramedLcdBus(stream), 16, 2).show("approved", payable="22,000")
        CharLcd(ports.FramedLcdBus(stream), 16, 2).show("payable", payable="1,500")
        assert lcd.take() == [["APPROVED  Paid:", "22,000"], ["To pay (rials):", "1,500"]]
    finally:
        stream.close()
        lcd.close()


def test_printer_stream_answers_status_and_decodes():
    endpoint = PrinterEndpoint()
    stream = ports.TcpStream("127.0.0.1", endpoint.port)
    try:
        printer = StreamPrinter(stream)
        assert printer.paper_status() == "ok"
        printer.print_lines(["Card ****0014", "APPROVED"])
        assert endpoint.take() == [["Card ****0014", "APPROVED"]]
        endpoint.status = 0x72  # paper out
        assert printer.paper_status() == "out" and not printer.ready()
    finally:
        stream.close()
        endpoint.close()


def test_keypad_prompts_and_keys():
    endpoint = KeypadEndpoint({"phone": "09121112233"}, [True, False])
    stream = ports.TcpStream("127.0.0.1", endpoint.port)
    try:
        keypad = ports.StreamKeypad(stream, timeout_ms=3000)
        assert keypad.confirm("confirm", payable=1) is True
        assert keypad.confirm("confirm", payable=1) is False
        assert keypad.ask("phone") == "09121112233"
        assert keypad.ask("gender") is None  # Cancel
        assert endpoint.asked == ["confirm", "confirm", "phone", "gender"]
    finally:
        stream.close()
        endpoint.close()


def test_vpcd_reader_authenticates_the_card_and_sees_it_leave():
    port = free_port()
    reader = ports.VpcdReader("127.0.0.1", port)
    slot = VpcdCard(port=port)
    try:
        club = ClubCardReader(reader, chip.TEST_IMK)
        assert club.read(100) is None  # no card
        slot.insert(chip.make_card("active"))
        card = club.read(3000)
        assert card.pan == CARD_A and card.entry == "051"
        assert club.present(card)
        slot.remove()
        assert not club.present(card)
        slot.insert(chip.make_card("clone"))
        with pytest.raises(Exception, match="authentication failed"):
            club.read(3000)
    finally:
        slot.close()
        reader.listener.close()
