"""A reader whose card is an object in the same process (tests, the demo, the POS emulator).

The card is anything with the card-OS interface of simulator/cards (vsmartcard's shape):

    atr() -> bytes, power_up(), power_down(), reset(), execute(apdu) -> response bytes

and optionally a `removed` attribute: a card that sets it True (the "pulled out" persona
does, right after answering) leaves the reader after that answer, as a customer pulling the
card would. No I/O and no threads: insert() and remove() are plain calls.

    reader = InProcessReader()
    reader.insert(card)
    ClubCardReader(reader, imk).read(1000)
"""

from agent.card_io.errors import CardRemoved


class InProcessReader:
    def __init__(self, card=None, name="in-process"):
        self.name = name
        self.card = None
        self.powered = False
        self.exchanges = 0  # APDUs carried, for benchmarks and tests
        if card is not None:
            self.insert(card)

    # -- the slot --------------------------------------------------------------------------

    def insert(self, card):
        """Put a card in the slot (replacing any)."""
        self.remove()
        self.card = card

    def remove(self):
        """Take the card out (it is powered down, as contacts opening would)."""
        if self.card is not None and self.powered:
            self.card.power_down()
        self.card = None
        self.powered = False

    # -- the reader interface (agent/card_io/reader.py) ------------------------------------

    def card_present(self):
        if self.card is not None and getattr(self.card, "removed", False):
            self.remove()
        return self.card is not None

    def wait_for_card(self, timeout_ms):
        """Nobody can insert a card while this call waits, so: is one there now?"""
        return self.card_present()

    def wait_for_removal(self, timeout_ms):
        return not self.card_present()

    def connect(self):
        if not self.card_present():
            raise CardRemoved("no card in the reader")
        if not self.powered:
            self.card.power_up()
            self.powered = True
        return self.card.atr()

    def transmit(self, apdu):
        if not self.card_present():
            raise CardRemoved("card removed")
        if not self.powered:
            raise CardRemoved("card not powered: connect() first")
        self.exchanges += 1
        return self.card.execute(bytes(apdu))

    def disconnect(self):
        if self.card is not None and self.powered:
            self.card.power_down()
        self.powered = False
