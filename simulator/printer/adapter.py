"""The Printer port on CPython through python-escpos: USB, network, serial, file, dummy.

PythonEscposPrinter is agent/printing/printer.py's EscPosPrinter whose two transport hooks
are a python-escpos printer object: the rendered receipt goes out through its _raw(bytes),
and the paper sensor is asked through its query_status(DLE EOT 4) where the transport can
read (Usb, Serial, Network); python-escpos's File, LP, CUPS and Dummy cannot, so the status
is "unknown" and the receipt prints (a failure then raises OSError). python-escpos's own
paper_status() treats no answer as "paper adequate"; this adapter treats it as "no answer"
(not ready), so a switched-off printer stops the sale before the confirmation.

    printer = open_printer("tcp:192.168.1.50:9100", "raster-80", language="fa")
    printer = open_printer("usb:0x0416:0x5011", "iran-system-80", language="fa")
    printer = open_printer("serial:/dev/ttyUSB0", "ascii-58")
"""

from escpos import printer as escpos_printer
from escpos.escpos import Escpos

from agent.printing.printer import EscPosPrinter
from agent.printing.profiles import profile as get_profile

STATUS_TIMEOUT_S = 2


class PythonEscposPrinter(EscPosPrinter):
    """Printer port over a python-escpos printer instance (escpos.printer.*)."""

    def __init__(self, device, profile="raster-80", language="en", rasterize=None):
        prof = get_profile(profile)
        if rasterize is None and prof["text"] == "raster":
            from simulator.printer.raster import PillowRasterizer

            rasterize = PillowRasterizer(dots=prof["dots"])
        super().__init__(prof, language, rasterize)
        self.device = device

    def can_read(self):
        return type(self.device)._read is not Escpos._read

    def _raw(self, data):
        try:
            self.device._raw(data)
        except OSError:
            raise
        except Exception as e:  # usb.core.USBError, serial.SerialException, DeviceNotFound
            raise OSError(f"printer: {e}") from e

    def _query(self, command):
        if not self.can_read():
            raise NotImplementedError
        try:
            return bytes(self.device.query_status(command) or b"")
        except NotImplementedError:
            raise
        except Exception as e:  # a timeout or a broken link: nothing usable came back
            raise OSError(f"printer status: {e}") from e


def _usb(rest, **kw):
    vendor, product = (int(part, 0) for part in rest.split(":"))
    return escpos_printer.Usb(vendor, product, **kw)


def _tcp(rest, **kw):
    host, _, port = rest.rpartition(":")
    return escpos_printer.Network(host, int(port), timeout=STATUS_TIMEOUT_S, **kw)


def _serial(rest, **kw):
    return escpos_printer.Serial(rest, timeout=STATUS_TIMEOUT_S, **kw)


def _file(rest, **kw):
    return escpos_printer.File(rest, **kw)


def _dummy(rest, **kw):
    return escpos_printer.Dummy(**kw)


TRANSPORTS = {"usb": _usb, "tcp": _tcp, "serial": _serial, "file": _file, "dummy": _dummy}


def open_printer(url, profile="raster-80", language="en", rasterize=None):
    """A Printer port from "usb:VID:PID", "tcp:HOST:PORT", "serial:DEVICE", "file:PATH" or
    "dummy" (python-escpos's own transports)."""
    scheme, _, rest = url.partition(":")
    if scheme not in TRANSPORTS:
        raise ValueError(f"printer url {url!r}: scheme must be one of {sorted(TRANSPORTS)}")
    return PythonEscposPrinter(TRANSPORTS[scheme](rest), profile, language, rasterize)
