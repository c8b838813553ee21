"""The reader's side of the vpcd protocol (vsmartcard's virtual PC/SC driver, docs/flashing.md
"Firmware in the loop"; simulator/cards/vpcd.py is the card's side): the device is the driver,
a card connects (inserted) or closes its connection (pulled out). Frames: 2-byte big-endian
length + payload; a 1-byte payload is control (0 power off, 1 power on, 2 reset, 4 send the
ATR), a longer one a command APDU, answered by one frame with the response APDU.

VpcdCardPort speaks the frames over whatever carries the card's connection: a subclass holds
`conn` (None: no card) and gives _send(data) (OSError when the card is gone),
_read_exact(n, timeout_ms) (None when nothing or not all came) and _drop(). The TCP reader is
agent/device/peripherals.py VpcdReader, the host link's agent/hostlink/services.py
HostVpcdReader.
"""

import struct

from agent.card_io.errors import CardRemoved

CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4  # the vpcd control bytes


class VpcdCardPort:
    conn = None
    timeout_ms = 3000

    def _exchange(self, payload, answer=True):
        if self.conn is None:
            raise CardRemoved("no card in the reader")
        try:
            self._send(struct.pack(">H", len(payload)) + payload)
        except OSError:
            self._drop()
            raise CardRemoved("card removed")
        if not answer:
            return b""
        head = self._read_exact(2, self.timeout_ms)
        body = None if head is None else self._read_exact(struct.unpack(">H", head)[0], 1000)
        if body is None:
            self._drop()
            raise CardRemoved("card removed")
        return body

    def connect(self):
        if not self.card_present():
            raise CardRemoved("no card in the reader")
        self._exchange(bytes((CTRL_ON,)), False)
        return self._exchange(bytes((CTRL_ATR,)))

    def transmit(self, apdu):
        return self._exchange(bytes(apdu))

    def disconnect(self):
        if self.conn is not None:
            try:
                self._exchange(bytes((CTRL_OFF,)), False)
            except CardRemoved:
                pass
