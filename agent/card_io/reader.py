"""The reader interface: the one inner hook every smart-card reader implements.

A reader is any object with:

    connect() -> bytes              power the card up (or join the session); its ATR.
                                    CardRemoved when no card is in the reader.
    transmit(apdu) -> bytes         one command APDU out, the response APDU (data + SW1 SW2)
                                    back, unchecked. CardRemoved when the card left,
                                    ReaderError when the reader or its service failed.
    disconnect()                    end the session (power the card down); never raises.
    card_present() -> bool          a card is in the reader now (as far as the reader knows).

and optionally:

    wait_for_card(timeout_ms) -> bool      block until a card is in (True) or time is up.
    wait_for_removal(timeout_ms) -> bool   block until the reader is empty (True).

Everything above it (tracing, status words, GET RESPONSE) is agent/card_io/apdu.ApduChannel;
the club card's commands are agent/card_io/clubcard.py. Adapters: agent/card_io/inprocess.py
(a card object in the same process: tests, demo, emulator), agent/card_io/pcsc.py (PC/SC
through pyscard, CPython). ScriptedReader here is the recording fake.
"""

import time

from agent.card_io.errors import CardRemoved


def sleep_ms(ms, clock=None):
    """Wait ms milliseconds: the clock's own sleep_ms when it has one (a test clock advances),
    else the interpreter's."""
    hook = getattr(clock, "sleep_ms", None)
    if hook is not None:
        hook(ms)
    elif hasattr(time, "sleep_ms"):
        time.sleep_ms(ms)  # MicroPython
    else:
        time.sleep(ms / 1000)


def wait_for_card(reader, timeout_ms, clock=None, poll_ms=50):
    """True once reader has a card, False when timeout_ms passed: the reader's own
    wait_for_card when it has one, else polling card_present() every poll_ms. The number of
    polls is bounded too, so a clock that does not move cannot make this spin forever."""
    own = getattr(reader, "wait_for_card", None)
    if own is not None:
        return bool(own(timeout_ms))
    if reader.card_present():
        return True
    start = clock.ticks_ms() if clock is not None else None
    for _ in range(timeout_ms // poll_ms + 1):
        sleep_ms(poll_ms, clock)
        if reader.card_present():
            return True
        if start is not None and clock.ticks_ms() - start >= timeout_ms:
            break
    return False


class ScriptedReader:
    """A reader that answers from a list of response APDUs (bytes) or callables(apdu) -> bytes,
    in order, and records every command in `sent`. CardRemoved once the script runs out or
    after remove(); `present` is settable."""

    def __init__(self, responses=(), atr=b"\x3b\x00", present=True):
        self.responses = list(responses)
        self.atr = atr
        self.present = present
        self.sent = []
        self.connected = False

    def connect(self):
        if not self.present:
            raise CardRemoved("no card in the reader")
        self.connected = True
        return self.atr

    def transmit(self, apdu):
        if not self.present or not self.connected:
            raise CardRemoved("card removed")
        self.sent.append(bytes(apdu))
        if not self.responses:
            raise CardRemoved("card removed (script ended)")
        answer = self.responses.pop(0)
        return answer(apdu) if callable(answer) else answer

    def disconnect(self):
        self.connected = False

    def card_present(self):
        return self.present

    def remove(self):
        self.present = False
