"""The small ports the device main needs beyond agent/ports.py."""

from agent.display.text import TextDisplay


class ScreenKeeper(TextDisplay):
    """The 20x4 text display; the last screen's lines stay in `lines` (a board hands a write
    function driving its LCD, agent/display/charlcd.py)."""

    def __init__(self, lang="fa"):
        super().__init__(None, "fa" if lang == "fa" else "en")


class HandedCard:
    """The card reader: the card handed over with the sale, once."""

    def __init__(self):
        self.card = None

    def read(self, timeout_ms=30000):
        card, self.card = self.card, None
        return card
