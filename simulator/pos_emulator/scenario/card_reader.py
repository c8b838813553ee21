"""The cards of the scenario steps: the card number of a card name, how a card step presents
its card (inserted, swiped or typed), and ScenarioReader, the emulated terminal's card reader
that presents the card of the last card: step."""

from agent.card_io.clubcard import ClubCardReader
from agent.ports import Card
from simulator.cards import catalogue
from simulator.cards import personas as chip
from simulator.cards.slots import InProcessSlot
from simulator.pos_emulator.scenario.step_failed import StepFailed
from simulator.pos_emulator.terminal import PERSONAS, SWIPE

ENTRY_CODES = {"insert": "051", "swipe": "021", "manual": "012"}
BANK_PREFIX = "603799"


def persona_number(name):
    """The card number of a card name (simulator/cards/catalogue.py), None for blank."""
    return catalogue.number(name)


def card_entry(persona, number, entry=None):
    """How a card step presents its card: the step's `entry`, else a swipe for a swipe persona
    or a bank card number, else inserted (docs/testing.md)."""
    if entry is not None:
        return entry
    if (persona in PERSONAS and PERSONAS[persona][2] == SWIPE) or (number or "").startswith(
        BANK_PREFIX
    ):
        return "swipe"
    return "insert"


class ScenarioReader:
    """The card reader: presents the card of the last card: step each time one is asked for.

    Inserted club cards are virtual chip cards (simulator/cards) read by the agent's
    ClubCardReader, a fresh one each read (the customer inserts the card again); swiped and
    manually entered cards are handed over as read."""

    def __init__(self):
        self.slot = InProcessSlot()
        self.chip_reader = ClubCardReader(self.slot.reader, chip.TEST_IMK)
        self.make_chip = None  # () -> a virtual card, for inserted cards
        self.card = None  # an agent.ports.Card, for swiped or typed cards

    def show(self, spec):
        """spec: {"out": True} or {persona|number, entry, expiry} (variables substituted)."""
        self.chip_reader.release()
        self.slot.remove()
        self.make_chip = self.card = None
        if spec.get("out"):
            return
        persona = spec.get("persona")
        number = persona_number(persona) if persona else spec["number"]
        entry = card_entry(persona, number, spec.get("entry"))
        if entry == "insert":
            if persona in chip.PERSONAS:
                self.make_chip = lambda: chip.make_card(persona)
            else:
                self.make_chip = lambda: chip.issued_card(number)
            return
        if number is None:
            raise StepFailed(f"persona {persona} is a chip card only: it cannot be {entry}d")
        self.card = Card(number, spec.get("expiry"), ENTRY_CODES[entry])

    def read(self, timeout_ms=30000):
        if self.make_chip is not None:
            self.chip_reader.release()
            self.slot.insert(self.make_chip())
            return self.chip_reader.read(timeout_ms)
        return self.card

    def present(self, card=None):
        if self.make_chip is not None:
            return self.chip_reader.present(card)
        return True

    def release(self):
        self.chip_reader.release()
