"""The interactive POS emulator: a Textual app around the real engine (`vafa emulator` on a
terminal, without --ecr).

    display   the engine's screens (agent/display/text.py), 20x4, in --ui-lang
    keypad    digits, Enter = OK, Esc = Cancel, Backspace; F1..F9 (or the buttons) pick a flow
    card slot Up / Down choose a card; i insert, t tap, s swipe, p pull out
    printer   the receipts as printed, in the printer's language
    log       engine events: the sign-on after power-up, flows, screens, card events and
              results (card numbers masked; a flow the club did not answer says why)

A flow runs in a worker thread (the engine blocks on the card reader and the keypad, which the
UI feeds), so the UI stays responsive. Persian is drawn shaped and in display order (see
devices.visual_line); --ui-bidi logical leaves the reordering to the terminal.
"""

import contextlib
import threading
import time

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Log, Static

from agent.flows import CREDIT_FLOWS
from agent.receipt import WIDTH
from simulator.pos_emulator.ui.devices import (
    CARDS,
    CardSlot,
    Display,
    Keypad,
    Printer,
    last4,
    visual_line,
)

# key -> (flow, label, needs an amount)
FLOWS = {
    "f1": ("bank", "Bank purchase", True),
    "f2": ("club_credit", "Club credit", True),
    "f3": ("store_credit", "Store credit", True),
    "f4": ("cash", "Cash", True),
    "f5": ("balance", "Balance", False),
    "f6": ("top_up", "Top-up", True),
    "f7": ("refund", "Refund", True),
    "f8": ("void", "Void last", False),
    "f9": ("close", "Close day", False),
}
CARD_KEYS = {"i": "insert", "t": "tap", "s": "swipe", "p": "pull out"}
MAX_AMOUNT_DIGITS = 12
RESULT_KEYS = ("amount", "discount", "fee", "payable", "points_earned", "balance_after", "stan",
               "rrn")  # fmt: skip


def result_line(res):
    """One log line for a flow's result; the card as its last 4 digits only."""
    parts = [f"result: {res.get('flow')} {res.get('outcome')} ({res.get('response_code')})"]
    for key in RESULT_KEYS:
        value = res.get(key)
        if value not in (None, "", 0):
            parts.append(f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}")
    if res.get("card_last4"):
        parts.append("card *" + res["card_last4"])
    if res.get("message"):
        parts.append("- " + str(res["message"]))
    return " ".join(parts)


class EmulatorApp(App):
    TITLE = "Vafa POS emulator"
    CSS = """
    Screen { layout: vertical; }
    #top { height: 1fr; }
    #left { width: 36; }
    #display { border: round $accent; height: 8; padding: 0 1; }
    #status { height: 2; color: $text-muted; }
    #keypad { grid-size: 3 4; grid-gutter: 0; height: 12; }
    #keypad Button { width: 100%; min-width: 4; }
    #flows { grid-size: 3 3; height: 9; }
    #flows Button { width: 100%; min-width: 4; }
    #middle { width: 1fr; }
    #cards { border: round $secondary; height: auto; padding: 0 1; }
    #slot { height: 3; }
    #slot Button { width: 1fr; min-width: 4; }
    #roll { width: 40; border: round $warning; }
    #log { height: 10; border: round $primary; }
    """
    BINDINGS = (("ctrl+q", "quit", "Quit"),)

    def __init__(self, terminal, lang="fa", bidi="visual", card="active", club=""):
        super().__init__()
        self.terminal = terminal
        self.engine = terminal.engine
        self.bidi = bidi
        self.club = club
        self.lines = [""] * 4  # the display, logical order
        self.screen_id = None
        self.receipts = []  # receipts printed, logical lines
        self.event_lines = []  # the log's lines
        self.entry = ""  # digits typed (amount, or an enrollment answer)
        self.pending = None  # the flow key chosen, waiting for its amount
        self.busy = False
        self.waiting = None  # "confirm" / "ask" while the engine waits on the keypad
        self.last_sale = None  # (rrn, account) of the last credit purchase, for a refund
        self.names = list(CARDS)
        self.selected = self.names.index(card) if card in CARDS else 0
        self._ui_thread = None
        # the hardware the engine talks to (replacing the headless ports)
        self.display_port = Display(self._shown, lang)
        self.slot = CardSlot(self._event)
        self.keypad = Keypad(self.display_port, self._waiting)
        self.printer = Printer(self._printed, lang)
        self.engine.display = self.display_port
        self.engine.reader = self.slot
        self.engine.keypad = self.keypad
        self.engine.printer = self.printer

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            with Vertical(id="left"):
                yield Static(id="display")
                yield Static(id="status")
                with Grid(id="keypad"):
                    for key in "123456789":
                        yield self._button(key, f"key-{key}")
                    yield self._button("Cancel", "key-escape", "error")
                    yield self._button("0", "key-0")
                    yield self._button("OK", "key-enter", "success")
                with Grid(id="flows"):
                    for key, (_flow, label, _amount) in FLOWS.items():
                        yield self._button(f"{key.upper()} {label}", f"flow-{key}", "primary")
            with Vertical(id="middle"):
                yield Static(id="cards")
                with Horizontal(id="slot"):
                    for key, action in CARD_KEYS.items():
                        yield self._button(f"{action.capitalize()} ({key})", f"card-{key}")
            with VerticalScroll(id="roll"):
                yield Static(id="paper")
        yield Log(id="log")
        yield Footer()

    @staticmethod
    def _button(label, id, variant="default"):
        button = Button(label, id=id, variant=variant)
        button.can_focus = False  # keys go to the terminal, not to a focused button
        return button

    def on_mount(self):
        self._ui_thread = threading.get_ident()
        store = self.engine.config.get("merchant_name") or self.engine.config["merchant_id"]
        self.sub_title = f"terminal {self.engine.terminal_id} at {store}" + (
            f", club {self.club}" if self.club else ""
        )
        self.query_one("#display").border_title = "Display"
        self.query_one("#cards").border_title = "Card slot (Up/Down to choose)"
        self.query_one("#roll").border_title = "Printer"
        self.query_one("#log").border_title = "Log"
        self.display_port.show("ready")
        self._refresh_cards()
        self._event(f"terminal {self.engine.terminal_id} ready; display and printer in "
                    f"{self.display_port.lang}")  # fmt: skip
        signed_on = getattr(self.terminal, "signed_on", None)
        if signed_on is not None:  # power_up() ran: what the club said to the sign-on
            self._event(f"sign-on: {signed_on['message']}")

    def on_unmount(self):
        self.keypad.answer(None)
        self.slot.cancel()

    # -- from the engine's thread to the UI ------------------------------------------------

    def _ui(self, fn, *args):
        if self._ui_thread is None or threading.get_ident() == self._ui_thread:
            fn(*args)
        else:
            with contextlib.suppress(RuntimeError):  # the app is closing
                self.call_from_thread(fn, *args)

    def _shown(self, screen, lines):
        self._ui(self._set_display, screen, lines)

    def _set_display(self, screen, lines):
        self.screen_id, self.lines = screen, lines
        if screen != "amount":  # not one line per digit typed
            self._event(f"screen {screen}: " + " | ".join(line for line in lines if line))
        self._refresh_display()

    def _printed(self, lines):
        self._ui(self._add_receipt, lines)

    def _add_receipt(self, lines):
        self.receipts.append(lines)
        self._event(f"printer: receipt of {len(lines)} lines")
        paper = Text()
        for n, receipt in enumerate(self.receipts):
            if n:
                paper.append("\u2702" + " -" * (WIDTH // 2 - 1) + "\n")
            for line in receipt:
                paper.append(visual_line(line, WIDTH, self.bidi) + "\n")
        self.query_one("#paper", Static).update(paper)
        self.query_one("#roll", VerticalScroll).scroll_end(animate=False)

    def _waiting(self, kind):
        self._ui(self._set_waiting, kind)

    def _set_waiting(self, kind):
        self.waiting = kind
        self.entry = ""
        self._refresh_display()

    def _event(self, text):
        self._ui(self._add_event, text)

    def _add_event(self, text):
        line = time.strftime("%H:%M:%S ") + text
        self.event_lines.append(line)
        if self.is_mounted:
            self.query_one("#log", Log).write_line(visual_line(line, bidi=self.bidi))

    # -- drawing ---------------------------------------------------------------------------

    def _refresh_display(self):
        if not self.is_mounted:
            return
        text = Text()
        for line in self.lines:
            text.append(visual_line(line, 20, self.bidi) + "\n")
        text.append("> " + self.entry if (self.entry or self.pending or self.waiting) else "")
        self.query_one("#display", Static).update(text)
        self.query_one("#status", Static).update(Text(self.status_text()))

    def status_text(self):
        if self.waiting == "confirm":
            return "OK (Enter) to accept, Cancel (Esc) to stop"
        if self.waiting == "ask":
            return "Type the answer, then OK (Enter); Esc cancels"
        if self.busy and self.screen_id == "card":
            return "Waiting for a card: insert (i), tap (t) or swipe (s); Esc cancels"
        if self.busy:
            return "Working..."
        if self.pending:
            return f"{FLOWS[self.pending][1]}: type the amount, then OK (Enter)"
        return "Ready: pick a flow (F1-F9); digits first set the amount"

    def _refresh_cards(self):
        if not self.is_mounted:
            return
        text = Text()
        for n, name in enumerate(self.names):
            what, pan, chip = CARDS[name]
            mark = "\u25b6 " if n == self.selected else "  "
            where = "  [in slot]" if name == self.slot.inside else ""
            kind = "chip" if chip else "stripe"
            line = f"{mark}{name:<12} {last4(pan):<6} {kind:<6}{where}"
            text.append(line + "\n", style="bold" if n == self.selected else "")
        what = CARDS[self.names[self.selected]][0]
        text.append(what, style="italic")
        self.query_one("#cards", Static).update(text)

    # -- input -----------------------------------------------------------------------------

    def on_button_pressed(self, event):
        kind, _, key = (event.button.id or "").partition("-")
        if kind == "key" or kind == "flow":
            self.press(key)
        elif kind == "card":
            self.card_action(CARD_KEYS[key])

    def on_key(self, event):
        key = event.key
        if key in ("ctrl+q", "ctrl+c"):
            return
        if self.press(key, event.character):
            event.stop()
            event.prevent_default()

    def press(self, key, character=None):
        """One key of the terminal; True when it meant something."""
        if self.waiting == "confirm":
            if key in ("enter", "escape"):
                self.keypad.answer(key == "enter")
                return True
            return self._card_key(key)
        if self.waiting == "ask":
            if key == "enter":
                self.keypad.answer(self.entry)
            elif key == "escape":
                self.keypad.answer(None)
            elif key == "backspace":
                self.entry = self.entry[:-1]
            elif character and character.isalnum() and len(key) == 1:
                self.entry += character.upper() if character.isalpha() else character
            else:
                return False
            self._refresh_display()
            return True
        if self.busy:
            if key == "escape":
                self.slot.cancel()  # stops a wait for a card
                return True
            return self._card_key(key)
        if key in FLOWS:
            return self.choose_flow(key)
        if key.isdigit() and len(key) == 1:
            if len(self.entry) < MAX_AMOUNT_DIGITS and (self.entry or key != "0"):
                self.entry += key
            self._show_amount()
            return True
        if key == "backspace":
            self.entry = self.entry[:-1]
            self._show_amount()
            return True
        if key == "enter" and self.pending and self.entry:
            key, self.pending = self.pending, None
            return self.start_flow(key, int(self.entry))
        if key == "escape":
            self.entry, self.pending = "", None
            self.display_port.show("ready")
            self._refresh_display()
            return True
        return self._card_key(key)

    def _show_amount(self):
        self.display_port.show("amount", amount=int(self.entry or 0))
        self._refresh_display()

    def _card_key(self, key):
        if key in CARD_KEYS:
            self.card_action(CARD_KEYS[key])
            return True
        if key in ("up", "down"):
            step = 1 if key == "down" else -1
            self.selected = (self.selected + step) % len(self.names)
            self._refresh_cards()
            return True
        return False

    def card_action(self, action):
        name = self.names[self.selected]
        if action == "insert":
            self.slot.insert(name)
        elif action == "tap":
            self.slot.insert(name, tap=True)
        elif action == "swipe":
            self.slot.swipe(name)
        else:
            self.slot.pull_out()
        self._refresh_cards()

    def choose_card(self, name):
        """Select a card by name (as Up / Down would)."""
        self.selected = self.names.index(name)
        self._refresh_cards()

    # -- flows -----------------------------------------------------------------------------

    def choose_flow(self, key):
        if not FLOWS[key][2]:  # needs no amount
            return self.start_flow(key, None)
        if self.entry:
            return self.start_flow(key, int(self.entry))
        self.pending = key
        self._show_amount()
        return True

    def _call(self, key, amount):
        """The engine call for a flow, or None (logged) when it cannot run."""
        eng = self.engine
        flow = FLOWS[key][0]
        calls = {
            "bank": lambda: eng.purchase_bank(amount),
            "club_credit": lambda: eng.purchase_club_credit(amount),
            "store_credit": lambda: eng.purchase_store_credit(amount),
            "cash": lambda: eng.purchase_cash(amount),
            "balance": lambda: eng.balance(),
            "top_up": lambda: eng.top_up(amount),
            "void": lambda: eng.void_last(),
            "close": lambda: eng.close_day(),
        }
        if flow == "refund":
            if self.last_sale is None:
                self._event("refund: no credit purchase in this session to refund")
                return None
            rrn, account = self.last_sale
            return lambda: eng.refund(amount, rrn, account)
        return calls[flow]

    def start_flow(self, key, amount):
        call = self._call(key, amount)
        self.entry = ""
        if call is None:
            self._refresh_display()
            return True
        self.busy = True
        label = FLOWS[key][1]
        self._event(f"flow: {label}" + (f" {amount:,} rials" if amount else ""))
        self._refresh_display()
        self.run_worker(lambda: self._run(call), thread=True, group="engine", name=label)
        return True

    def _run(self, call):
        """In the worker thread: the flow, then its result to the UI."""
        link = getattr(self.terminal, "link", None)
        if hasattr(link, "forget"):
            link.forget()
        try:
            res = call()
        except Exception as e:  # the engine's own failure: logged, the terminal goes on
            res = {"flow": "?", "outcome": "error", "message": f"{type(e).__name__}: {e}"}
        finally:
            self.slot.flow_ended()
        self._ui(self._finished, res)

    def _finished(self, res):
        self.busy = False
        flow = res.get("flow")
        if res.get("outcome") == "approved" and flow in ("club_credit", "store_credit"):
            account = next(a for a, (f, _pc) in CREDIT_FLOWS.items() if f == flow)
            self.last_sale = (res.get("rrn"), account)
        self._event(result_line(res))
        explain = getattr(self.terminal, "explain", None)
        why = explain(res) if explain is not None and res.get("flow") != "?" else None
        if why:
            self._event(f"why: {why}")
        self._refresh_display()
        self._refresh_cards()

    def display_text(self):
        """The display as logical text (tests, logs)."""
        return "\n".join(self.lines)

    def paper_text(self):
        """Every receipt printed, logical lines."""
        return "\n".join("\n".join(r) for r in self.receipts)


def run(args, world):
    """The `ui` mode of `vafa emulator` (simulator/pos_emulator/cli.py)."""
    club = f"{world.terminal.link.host}:{world.terminal.link.port}" if hasattr(
        world.terminal.link, "host") else ""  # fmt: skip
    app = EmulatorApp(world.terminal, args.ui_lang, args.ui_bidi, args.card, club)
    app.run()
    return 0
