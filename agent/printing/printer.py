"""The Printer port over ESC/POS: rendering above, transport below.

EscPosPrinter renders receipts (agent/printing/escpos.py) and asks the paper sensor; a
transport subclass implements only two hooks, like micropython-lib's ssd1306 buses:

    _raw(data)          send bytes (raise OSError when the printer cannot be reached)
    _query(command)     send a real-time status command, return the answer bytes
                        (b"" when nothing came back); raise NotImplementedError when the
                        transport cannot read at all

Transports: StreamPrinter (any object with write() and optionally read(): machine.UART on a
board, a pyserial port), RecordingEscPosPrinter here (keeps the bytes, like python-escpos's Dummy),
and simulator/printer (python-escpos's Usb, Network, Serial, File, Dummy on CPython).

Port methods (agent/ports.py, docs/receipts.md):
    ready() -> bool          paper present and printer answering
    print_receipt(doc)       a layout (agent/printing/layout.py Receipt) -> ESC/POS bytes
    print_lines(lines)       plain text lines (the end-of-day report)
    language                 "en" or "fa": the language receipts are laid out in
"""

from agent.printing.escpos import STATUS_PAPER, paper_status, render
from agent.printing.layout import Receipt
from agent.printing.profiles import profile as get_profile


class EscPosPrinter:
    """Printer port for an ESC/POS printer; subclasses supply _raw and _query."""

    def __init__(self, profile="ascii-58", language="en", rasterize=None):
        self.profile = get_profile(profile)
        self.language = language
        self.rasterize = rasterize
        self.last_status = None

    # -- transport hooks ----------------------------------------------------------------------

    def _raw(self, data):
        raise NotImplementedError

    def _query(self, command):
        raise NotImplementedError

    # -- the port -----------------------------------------------------------------------------

    def paper_status(self):
        """ "ok", "near_end", "out", "no answer" (the printer is silent or sent garbage), or
        "unknown" (the transport cannot read: nothing can be known before printing)."""
        try:
            answer = self._query(STATUS_PAPER)
        except NotImplementedError:
            status = "unknown"
        except OSError:
            status = "no answer"
        else:
            status = paper_status(answer) or "no answer"
        self.last_status = status
        return status

    def ready(self):
        """True when paper is present (near its end still prints); False when it is out or
        the printer does not answer. A transport that cannot read counts as ready: a failed
        print still raises OSError, and the receipt is then reported as not printed."""
        return self.paper_status() in ("ok", "near_end", "unknown")

    def render(self, doc):
        return render(doc, self.profile, self.rasterize)

    def print_receipt(self, doc):
        self._raw(self.render(doc))

    def print_lines(self, lines):
        doc = Receipt(rtl=self.language == "fa")
        for line in lines:
            doc.text(line)
        doc.cut()
        self.print_receipt(doc)


class StreamPrinter(EscPosPrinter):
    """An ESC/POS printer on a byte stream: write(data); read(n) when the link can read
    (a UART with a timeout: the printer answers a status request within milliseconds)."""

    def __init__(self, stream, profile="ascii-58", language="en", rasterize=None):
        super().__init__(profile, language, rasterize)
        self.stream = stream

    def _raw(self, data):
        view = memoryview(data)
        while view:
            n = self.stream.write(view)
            if not n:
                raise OSError("printer: write failed")
            view = view[n:]

    def _query(self, command):
        if not hasattr(self.stream, "read"):
            raise NotImplementedError
        self._raw(command)
        return self.stream.read(1) or b""


class RecordingEscPosPrinter(EscPosPrinter):
    """Keeps every byte sent in `output` (python-escpos Dummy's habit); `status` is the byte
    the paper sensor answers (0x12 paper present, 0x72 paper out, None: no answer)."""

    OK = 0x12
    NEAR_END = 0x1E
    OUT = 0x72

    def __init__(self, profile="ascii-58", language="en", rasterize=None, status=0x12):
        super().__init__(profile, language, rasterize)
        self.status = status
        self.output = b""
        self.jobs = []

    def _raw(self, data):
        if data != STATUS_PAPER and self.status == self.OUT:
            raise OSError("printer out of paper")
        self.output += data
        if data != STATUS_PAPER:
            self.jobs.append(bytes(data))

    def _query(self, command):
        self._raw(command)
        return b"" if self.status is None else bytes((self.status,))
