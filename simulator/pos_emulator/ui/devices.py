"""The interactive emulator's hardware: ports the engine calls from its worker thread, fed by
the UI thread (simulator/pos_emulator/ui/app.py). No Textual here: each device reports what
happens through a callback, and the app moves it onto the UI thread.

    card slot  CardSlot: the CardReader port. A chip card (simulator/cards personas) sits in an
               InProcessReader and is read through ClubCardReader (SELECT, READ CARD DATA,
               INTERNAL AUTHENTICATE), as on a terminal; a tap holds the card in the field
               until the flow ends; a swipe hands over the card's track (number and expiry,
               entry mode 021); pulling the card out mid-sale makes present() false, so the
               engine reverses.
    keypad     Keypad: confirm() shows the screen and waits for OK / Cancel; ask() (enrollment)
               waits for what is typed, then OK.
    display    Display: each screen rendered by agent/display/text.py in the chosen language.
    printer    Printer: keeps the logical receipt lines in the printer's language.

Card numbers never reach a callback in clear: the log and the screens see the last 4 digits.
"""

import queue
import threading

from agent.card_io.clubcard import ClubCardReader
from agent.card_io.inprocess import InProcessReader
from agent.display.text import render
from agent.ports import Card
from agent.printing.bidi import display as shaped_visual
from agent.printing.bidi import paragraph_rtl
from agent.printing.shaping import has_rtl
from simulator.cards import catalogue, personas

SWIPE = "021"
WAIT_MS = 120_000  # how long the keypad waits for OK / Cancel


def _issued(pan):
    return lambda: personas.issued_card(pan)


def card_catalogue():
    """name -> (what it is, card number or None, chip factory or None), in display order:
    every card name of simulator/cards/catalogue.py (the chip personas, more seeded club cards,
    the bank card with a stripe only, the magic cards), the names `vafa card` and scenarios use."""
    return {name: (e.what, e.number, e.chip) for name, e in catalogue.catalogue().items()}


def keyed_name(pan):
    """The card list's name for a card number typed in by the tester."""
    return "keyed-" + pan[-4:]


CARDS = card_catalogue()


def last4(pan):
    return "*" + pan[-4:] if pan else "(no number)"


class _LockedReader:
    """The in-process reader, one call at a time: the UI thread inserts and pulls cards while
    the engine's worker talks to the card."""

    def __init__(self):
        self.inner = InProcessReader(name="emulator slot")
        self.lock = threading.RLock()

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def locked(*args, **kwargs):
            with self.lock:
                return attr(*args, **kwargs)

        return locked


class CardSlot:
    """The CardReader port (read / present / release) over the emulator's card slot."""

    def __init__(self, event=None, cards=None):
        self.event = event or (lambda text: None)
        self.cards = dict(CARDS if cards is None else cards)  # name -> (what, pan, chip)
        self.slot = _LockedReader()
        self.reader = ClubCardReader(self.slot, personas.TEST_IMK, poll_ms=20)
        self.changed = threading.Condition()
        self.swiped = None  # a Card from a swipe, until the engine reads it
        self.inside = None  # the name of the card in the slot (or in the field)
        self.tapped = False
        self.cancelled = False

    # -- the customer (UI thread) ----------------------------------------------------------

    def insert(self, name, tap=False):
        _what, pan, chip = self.cards[name]
        if chip is None:
            self.event(f"card: {name} has no chip; swipe it")
            return False
        with self.changed:
            self.slot.insert(chip())
            self.inside, self.tapped, self.swiped = name, tap, None
            self.changed.notify_all()
        self.event(f"card: {name} {last4(pan)} {'tapped' if tap else 'inserted'}")
        return True

    def swipe(self, name):
        _what, pan, _chip = self.cards[name]
        if pan is None:
            self.event(f"card: {name} has no stripe")
            return False
        expiry = personas.PERSONAS[name][1] if name in personas.PERSONAS else None
        with self.changed:
            self.swiped = Card(pan, expiry or personas.DEFAULT_EXPIRY, SWIPE)
            self.changed.notify_all()
        self.event(f"card: {name} {last4(pan)} swiped")
        return True

    def add_number(self, pan):
        """Any card number (checked by the caller) joins the list as an issued chip card that
        can also be swiped; returns its name."""
        name = keyed_name(pan)
        self.cards[name] = (f"card number ending {pan[-4:]}, typed in", pan, _issued(pan))
        self.event(f"card: {name} {last4(pan)} added to the card list")
        return name

    def key_in(self, card):
        """A card number typed on the keypad while the terminal waits for a card (entry 012)."""
        with self.changed:
            self.swiped = card
            self.changed.notify_all()
        self.event(f"card: {last4(card.pan)} keyed in")

    def pull_out(self):
        with self.changed:
            name, self.inside, self.tapped = self.inside, None, False
            self.slot.remove()
            self.changed.notify_all()
        if name is not None:
            self.event(f"card: {name} pulled out")
        return name

    def cancel(self):
        """Stop a wait for a card (Cancel on the keypad, or the app closing)."""
        with self.changed:
            self.cancelled = True
            self.changed.notify_all()

    def flow_ended(self):
        """A tapped card leaves the field when the flow is over."""
        self.reader.release()
        if self.tapped:
            self.pull_out()
        elif self.inside is not None and not self.slot.card_present():
            self.event(f"card: {self.inside} left the reader")  # the pulled-out persona
            self.inside = None

    # -- the engine (worker thread) --------------------------------------------------------

    def _ready(self):
        return self.cancelled or self.swiped is not None or self.slot.card_present()

    def read(self, timeout_ms=30000):
        with self.changed:
            self.cancelled = False
            self.changed.wait_for(self._ready, timeout_ms / 1000)
            if self.cancelled:
                self.cancelled = False
                return None
            if self.swiped is not None:
                card, self.swiped = self.swiped, None
                return card
        card = self.reader.read(200)  # CardError (clone, blank, garbage) reaches the engine
        if card is not None:
            self.event(f"card: read {last4(card.pan)} ({card.program}) by chip")
        return card

    def present(self, card=None):
        return self.reader.present(card)

    def release(self):
        self.reader.release()


class Keypad:
    """The Keypad port: the engine's worker waits here for the UI's OK / Cancel."""

    def __init__(self, display, waiting=None):
        self.display = display
        self.waiting_changed = waiting or (lambda kind: None)
        self.answers = queue.Queue()
        self.waiting = None  # "confirm" or "ask" while the engine waits

    def answer(self, value):
        """From the UI: True / text (OK) or None (Cancel)."""
        if self.waiting is not None:
            self.answers.put(value)

    def _wait(self, kind):
        while not self.answers.empty():
            self.answers.get_nowait()
        self.waiting = kind
        self.waiting_changed(kind)
        try:
            return self.answers.get(timeout=WAIT_MS / 1000)
        except queue.Empty:
            return None
        finally:
            self.waiting = None
            self.waiting_changed(None)

    def confirm(self, screen, **params):
        self.display.show(screen, **params)
        return bool(self._wait("confirm"))

    def ask(self, field, kind="digits"):
        value = self._wait("ask")
        return value or None

    def pin(self, screen, **params):
        """The cardholder's PIN: digits typed on the keypad, shown as stars, kept nowhere
        (the app clears what was typed as soon as it is handed over)."""
        value = self._wait("pin")
        return value or None


class Display:
    """The display port: rendered lines (logical order) handed to on_show(screen, lines)."""

    def __init__(self, on_show, lang="en"):
        self.on_show = on_show
        self.lang = lang
        self.lines = [""] * 4
        self.screen = None

    def show(self, screen, **params):
        self.lines = render(screen, params, self.lang)
        self.screen = screen
        self.on_show(screen, list(self.lines))


class Printer:
    """The printer port: receipts as logical lines in `language`, handed to on_print(lines)."""

    def __init__(self, on_print, language="fa"):
        self.on_print = on_print
        self.language = language
        self.paper = True
        self.printed = []

    def ready(self):
        return self.paper

    def print_lines(self, lines):
        if not self.paper:
            raise OSError("printer out of paper")
        self.printed.append(list(lines))
        self.on_print(list(lines))


def visual_line(text, width=None, bidi="visual"):
    """A logical line as an LTR terminal should draw it. "visual": Persian shaped into its
    presentation forms and put in display order (agent/printing/bidi.py, checked against
    python-bidi), spaces kept on the side they belong to, an RTL line right-aligned in
    `width`; "logical": as is, for terminals that shape and reorder themselves."""
    if bidi == "logical" or not has_rtl(text):
        return text.ljust(width) if width else text
    core = text.strip(" ")
    lead = len(text) - len(text.lstrip(" "))
    trail = len(text) - len(text.rstrip(" "))
    if paragraph_rtl(text):
        out = " " * trail + shaped_visual(core) + " " * lead
        return out.rjust(width) if width else out
    out = " " * lead + shaped_visual(core) + " " * trail
    return out.ljust(width) if width else out
