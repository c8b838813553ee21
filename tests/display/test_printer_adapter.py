"""The Printer port through python-escpos (simulator/printer/adapter.py): the rendered bytes go
out through python-escpos's _raw, and the paper sensor (DLE EOT 4) is asked for real over a
TCP connection to a printer stand-in that answers like a printer does.
"""

import socket
import threading

import pytest

pytest.importorskip("escpos")
from escpos.printer import Dummy, Network

from agent.printing.escpos import STATUS_PAPER, qr, render
from agent.printing.layout import CENTER, Receipt
from simulator.printer.adapter import PythonEscposPrinter, open_printer


def small():
    doc = Receipt()
    doc.text("VAFA", CENTER)
    doc.row("Total", "1,000")
    doc.qr("vafa:T=VT000001;S=000001")
    doc.cut()
    return doc


class FakeNetworkPrinter:
    """A TCP printer on 127.0.0.1: records what it gets, answers DLE EOT 4 with `status`
    (None: stays silent, as a printer that has hung)."""

    def __init__(self, status=0x12):
        self.status = status
        self.received = b""
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.server.accept()
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                self.received += data
                for _ in range(data.count(STATUS_PAPER)):
                    if self.status is not None:
                        conn.sendall(bytes((self.status,)))

    def close(self):
        self.server.close()


@pytest.fixture
def network_printer():
    printers = []

    def make(status=0x12):
        fake = FakeNetworkPrinter(status)
        printers.append(fake)
        device = Network("127.0.0.1", fake.port, timeout=1)
        return fake, PythonEscposPrinter(device, "ascii-58")

    yield make
    for fake in printers:
        fake.close()


def test_dummy_records_exactly_the_rendered_bytes():
    device = Dummy()
    printer = PythonEscposPrinter(device, "ascii-58")
    printer.print_receipt(small())
    assert device.output == render(small(), "ascii-58")
    # Dummy cannot read: the status is unknown, the sale may go on (a failed print then shows)
    assert printer.ready() and printer.last_status == "unknown"


def test_qr_bytes_equal_python_escpos_native_qr():
    device = Dummy()
    device.qr("vafa:T=VT000001;S=000001", native=True, size=6, ec=1)  # QR_ECLEVEL_M
    assert qr("vafa:T=VT000001;S=000001", 6) == device.output


def test_paper_sensor_over_tcp(network_printer):
    fake, printer = network_printer(0x12)
    assert printer.ready() and printer.last_status == "ok"
    printer.print_receipt(small())
    fake.status = 0x1E
    assert printer.ready() and printer.last_status == "near_end"
    fake.status = 0x72
    assert not printer.ready() and printer.last_status == "out"
    printer.device.close()
    fake.thread.join(2)
    assert fake.received == STATUS_PAPER + render(small(), "ascii-58") + STATUS_PAPER * 2


def test_a_silent_printer_is_not_ready(network_printer):
    _fake, printer = network_printer(None)
    assert not printer.ready() and printer.last_status == "no answer"


def test_unreachable_printer_raises_oserror():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    printer = open_printer(f"tcp:127.0.0.1:{port}", "ascii-58")
    assert not printer.ready()
    with pytest.raises(OSError):
        printer.print_receipt(small())


def test_open_printer_urls():
    assert isinstance(open_printer("dummy", "ascii-58").device, Dummy)
    with pytest.raises(ValueError, match="scheme"):
        open_printer("lpt:1")
    printer = open_printer("dummy", "raster-58", language="fa")
    assert printer.rasterize is not None and printer.language == "fa"
