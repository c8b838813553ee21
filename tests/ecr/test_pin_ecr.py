"""The cardholder's PIN behind the ECR link (docs/ecr.md 3.5, docs/protocol.md 4.5): the cashier's
sale is answered as any other (00, 01 with 55 or 75, 02 when the PIN entry is cancelled) and no
byte of the link, either way, carries the PIN or its clear PIN field. The emulated terminal's
keypad types the PIN (the headless emulator's ScriptedKeypad); a recording proxy sits between
the cashier and the terminal's ECR port."""

import socket
import threading

from hostbridge.client import EcrClient
from simulator.club_server import seed
from tests.ecr.support import start_emulator

PIN = "1234"


class Recorder:
    """A TCP proxy that keeps every byte it passes, both ways."""

    def __init__(self, target):
        host, port = target.removeprefix("socket://").rsplit(":", 1)
        self.target = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.listener.getsockname()[1]}"
        self.seen = bytearray()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        conn, _ = self.listener.accept()
        upstream = socket.create_connection(self.target)
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        while True:
            try:
                data = src.recv(4096)
            except OSError:
                return
            if not data:
                return
            self.seen += data
            dst.sendall(data)


def test_pin_sales_over_the_ecr_link_carry_no_pin(tmp_path):
    emu = start_emulator("tcp", tmp_path / "tcp", card="pin")
    try:
        keypad = emu.world.terminal.engine.keypad
        proxy = Recorder(emu.cashier)
        with EcrClient(proxy.url) as ecr:
            keypad.pins = [PIN]
            paid = ecr.sale(300_000, "PIN-1", "07", method="club")
            keypad.pins = []
            cancelled = ecr.sale(300_000, "PIN-2", "07", method="club")
            keypad.pins = ["0000", "1111", "2222"]
            blocked = ecr.sale(300_000, "PIN-3", "07", method="club")
    finally:
        emu.stop()
    assert paid.ok and paid.response_code == "00", paid
    assert (cancelled.result, cancelled.response_code) == ("02", "55")
    assert (blocked.result, blocked.response_code) == ("01", "75")
    assert seed.CARD_PIN[-4:] in paid.receipt and "Cardholder PIN verified" in paid.receipt
    field = bytes.fromhex(("44" + PIN).ljust(16, "A"))
    assert len(proxy.seen) > 200  # the three sales and their answers went through the proxy
    for needle in (PIN.encode(), field, field.hex().encode(), field.hex().upper().encode()):
        assert needle not in proxy.seen
        assert needle.decode("latin-1") not in "\n".join(emu.lines)
