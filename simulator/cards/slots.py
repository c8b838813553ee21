"""A card slot for simulators: where a virtual card goes, and the agent reader that reads it.

    slot = open_slot("inprocess")          # or "pcsc": through pcscd and vpcd
    slot.insert(make_card("active"))       # returns once the reader sees the card
    reader = ClubCardReader(slot.reader, TEST_IMK)
    ...
    slot.remove(); slot.close()

InProcessSlot: agent/card_io/inprocess.InProcessReader, no I/O (tests, demo, emulator).
PcscSlot: a VpcdCard runner plus agent/card_io/pcsc.PcscReader on the same vpcd slot, so the
card goes through real pcscd and pyscard (pcscd must be running; see pcscd.py).
"""

from agent.card_io.inprocess import InProcessReader
from simulator.cards.vpcd import DEFAULT_HOST, DEFAULT_PORT, VpcdCard

INSERT_TIMEOUT_MS = 5000


class InProcessSlot:
    kind = "inprocess"

    def __init__(self):
        self.reader = InProcessReader()

    def insert(self, card):
        self.reader.insert(card)

    def remove(self):
        self.reader.remove()

    def close(self):
        self.reader.remove()


class PcscSlot:
    kind = "pcsc"

    def __init__(self, host=DEFAULT_HOST, port=DEFAULT_PORT, trace=None):
        from agent.card_io.pcsc import PcscReader

        self.runner = VpcdCard(host, port, trace)
        self.reader = PcscReader(self.runner.reader_name)

    def insert(self, card, timeout_ms=INSERT_TIMEOUT_MS):
        """Insert and wait until pcscd reports the card (CardRequest); OSError if it never
        does."""
        self.remove()
        self.runner.insert(card)
        if not self.reader.wait_for_card(timeout_ms):
            self.runner.remove()
            raise OSError(f"pcscd did not see the card in {self.runner.reader_name}")

    def remove(self, timeout_ms=INSERT_TIMEOUT_MS):
        """Take the card out and wait until pcscd reports the reader empty, so the next
        insert is seen as a new card."""
        self.reader.disconnect()
        if self.runner.card is None:
            return
        self.runner.remove()
        self.reader.wait_for_removal(timeout_ms)

    def close(self):
        self.remove()
        self.reader.close()


SLOTS = {"inprocess": InProcessSlot, "pcsc": PcscSlot}


def open_slot(kind="inprocess", **options):
    """A slot of the given kind ("inprocess" or "pcsc")."""
    try:
        factory = SLOTS[kind]
    except KeyError:
        raise ValueError(f"card slot must be one of {', '.join(SLOTS)}") from None
    return factory(**options)
