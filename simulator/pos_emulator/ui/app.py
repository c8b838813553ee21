"""The interactive POS emulator: a Textual app around the real engine (`vafa emulator` on a
terminal, without --ecr).

    display   the engine's screens (agent/display/text.py), 20x4, in --ui-lang
    keypad    digits, Enter = OK, Esc = Cancel, Backspace; F1..F9 (or the buttons) pick a flow;
              while the terminal asks for a card, digits and OK key a card number in (012)
    card slot Up / Down choose a card; i insert, t tap, s swipe, p pull out; n adds any number
    panels    Cards (the list), Printer (the receipts as printed), Magic (the club's outcome
              table: simulator/club_server/magic.py)
    log       engine events: the sign-on after power-up, flows, screens, card events and
              results (card numbers masked; a flow the club did not answer says why)

Every key is a Textual binding from one table (keys.py), so the footer, the Keys panel (?) and
the command palette (Ctrl+P) list them. The layout keeps the display, the keypad and the flow
buttons on screen from 80x24 up. A flow runs in a worker thread (the engine blocks on the card
reader and the keypad, which the UI feeds), so the UI stays responsive. Persian is drawn
shaped and in display order (bidi.py says what that means on a terminal and in a screenshot);
--ui-bidi logical leaves the reordering to the terminal.
"""

import contextlib
import threading
import time
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    Footer,
    Header,
    Log,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
)

from agent.flows import CREDIT_FLOWS
from agent.receipt import WIDTH
from simulator.club_server import magic
from simulator.pos_emulator.ui import bidi, keys
from simulator.pos_emulator.ui.card_number import CardNumberScreen
from simulator.pos_emulator.ui.coupon_keys import CouponKeys
from simulator.pos_emulator.ui.devices import (
    CARDS,
    CardSlot,
    Display,
    Keypad,
    Printer,
    last4,
    visual_line,
)
from simulator.pos_emulator.ui.keyboard import TerminalKeys
from simulator.pos_emulator.ui.results import result_line
from simulator.pos_emulator.ui.split_keys import SplitKeys

FLOWS = keys.FLOWS
CARD_KEYS = keys.CARD_KEYS


def magic_text():
    """The Magic panel: the club's outcome table (simulator/club_server/magic.py)."""
    return Text("\n".join(magic.text_lines()) + "\nvafa club-server magic --json lists them too.")


class EmulatorApp(SplitKeys, CouponKeys, TerminalKeys, App):
    TITLE = "Vafa POS emulator"
    # 80x24 and up: the left column (display, keypad, flows, card buttons) is 18 rows high;
    # the panels share the rest of the width, the log the rest of the height
    CSS = """
    Screen { layout: vertical; overflow: hidden; }
    #top { height: 2fr; min-height: 18; }
    #left { width: 38; height: 18; }
    #display { border: round $accent; height: 7; padding: 0 1; }
    #status { height: 2; color: $text-muted; }
    #left Button { width: 100%; min-width: 4; height: 1; border: none; margin: 0;
                   padding: 0; }
    #keypad { grid-size: 3 4; grid-gutter: 0 1; height: 4; }
    #flows { grid-size: 3 4; grid-gutter: 0 1; height: 4; }
    #slot { grid-size: 4 1; grid-columns: 10 7 9 12; height: 1; }
    #panels { width: 1fr; height: 100%; }
    #panels > ContentSwitcher { height: 1fr; }
    #panels TabPane { height: 100%; padding: 0 1; }
    #cardlist { height: 1fr; border: none; padding: 0; }
    #card-what { height: 2; color: $text-muted; text-style: italic; }
    #log { height: 1fr; min-height: 5; border: round $primary; }
    """
    BINDINGS = keys.bindings()
    AUTO_FOCUS = None  # keys go to the terminal, never to a widget

    def __init__(self, terminal, lang="fa", bidi="visual", card="active", club="",
                 screenshots="."):  # fmt: skip
        super().__init__()
        self.terminal = terminal
        self.engine = terminal.engine
        self.bidi = bidi
        self.club = club
        self.screenshots = Path(screenshots)  # where Ctrl+S and the palette save SVGs
        self.typed = None  # the key event being handled (the digit binding reads its key)
        self.lines = [""] * 4  # the display, logical order
        self.screen_id = None
        self.receipts = []  # receipts printed, logical lines
        self.event_lines = []  # the log's lines
        self.entry = ""  # typed: the amount, a card number keyed in, an enrollment answer
        self.pending = None  # the flow key chosen, waiting for its amount
        self.busy = False
        self.waiting = None  # "confirm" / "ask" while the engine waits on the keypad
        self.last_sale = None  # (rrn, account) of the last credit purchase, for a refund
        self._ui_thread = None
        # the hardware the engine talks to (replacing the headless ports)
        self.display_port = Display(self._shown, lang)
        self.slot = CardSlot(self._event)
        self.names = list(self.slot.cards)
        self.selected = self.names.index(card) if card in CARDS else 0
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
                with Grid(id="slot"):
                    for key, action in CARD_KEYS.items():
                        yield self._button(f"{action.capitalize()} {key}", f"card-{key}")
            with TabbedContent(id="panels", initial="cards"):
                with TabPane("Cards (c)", id="cards"):
                    yield OptionList(id="cardlist")
                    yield Static(id="card-what")
                with TabPane("Printer (r)", id="printer"), VerticalScroll(id="roll"):
                    yield Static(id="paper")
                with TabPane("Magic (m)", id="magic"), VerticalScroll():
                    yield Static(magic_text(), id="magic-text")
        yield Log(id="log")
        # one line for F1-F10, i, t, s, p at 120 columns; the status line names ? and Ctrl+P
        yield Footer(compact=True, show_command_palette=False)

    @staticmethod
    def _button(label, id, variant="default"):
        button = Button(label, id=id, variant=variant)
        button.can_focus = False  # keys go to the terminal, not to a focused button
        return button

    def on_mount(self):
        self._ui_thread = threading.get_ident()
        for widget in self.query("Tabs, OptionList, Log, VerticalScroll").results():
            widget.can_focus = False
        self._terminal_mode(0)
        store = self.engine.config.get("merchant_name") or self.engine.config["merchant_id"]
        self.sub_title = f"terminal {self.engine.terminal_id} at {store}" + (
            f", club {self.club}" if self.club else ""
        )
        self.query_one("#display").border_title = "Display"
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
        self._terminal_mode(1)

    def _terminal_mode(self, which):
        """Tell the terminal who reorders Persian (bidi.py); nothing when headless (tests)."""
        driver = self._driver
        if driver is not None and not self.is_headless:
            driver.write(bidi.TERMINAL_MODES[self.bidi][which])

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
        self.query_one("#panels", TabbedContent).active = "printer"  # the paper comes out
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
        text.append("> " + self.entry_shown() if (self.entry or self.pending or self.waiting)
                    else "")  # fmt: skip
        self.query_one("#display", Static).update(text)
        self.query_one("#status", Static).update(Text(self.status_text()))

    def keying_in(self):
        """True while the terminal asks for a card: digits then key a card number in."""
        return self.busy and self.screen_id == "card" and self.waiting is None

    def entry_shown(self):
        """What is typed; a card number being keyed in shows only its last 4 digits."""
        if self.waiting == "pin":  # the PIN: never a digit on the screen
            return "*" * len(self.entry)
        if self.keying_in() and len(self.entry) > 4:
            return "*" * (len(self.entry) - 4) + self.entry[-4:]
        return self.entry

    def status_text(self):
        if self.waiting == "confirm":
            return "OK (Enter) to accept, Cancel (Esc) to stop"
        if self.waiting == "ask":
            return "Type the answer, then OK (Enter); Esc cancels"
        if self.waiting == "pin":
            return "The cardholder types the PIN (shown as *), then OK (Enter); Esc cancels"
        if self.keying_in():
            return "Card? i insert, t tap, s swipe, or type its number and OK; Esc cancels"
        if self.busy:
            return "Working..."
        if self.pending:
            return f"{FLOWS[self.pending][1]}: type the amount, then OK (Enter)"
        return (
            self.split_status()
            or "Ready: F1-F9 pick a flow, digits set the amount. All keys: ? or Ctrl+P"
        )

    def _refresh_cards(self):
        if not self.is_mounted:
            return
        cards = self.slot.cards
        options = self.query_one("#cardlist", OptionList)
        lines = []
        for name in self.names:
            _what, pan, chip = cards[name]
            where = " [in slot]" if name == self.slot.inside else ""
            lines.append(f"{name:<12} {last4(pan):<6} {'chip' if chip else 'stripe'}{where}")
        if [str(options.get_option_at_index(n).prompt) for n in range(options.option_count)] \
                != lines:  # fmt: skip
            options.set_options(lines)
        options.highlighted = self.selected
        self.query_one("#card-what", Static).update(cards[self.names[self.selected]][0])

    def on_option_list_option_selected(self, event):
        self.selected = event.option_index  # a click on the list
        self._refresh_cards()

    # -- input: every key is a binding (keys.py); the actions below -----------------------

    def on_button_pressed(self, event):
        kind, _, key = (event.button.id or "").partition("-")
        if kind in ("key", "flow", "card"):  # the same keys as on the keyboard
            self.press(key)

    def on_key(self, event):
        """Runs before the bindings: keeps the key for the digit action, and lets an
        enrollment answer take letters and digits (i, t, s, p are letters there)."""
        self.typed = event
        char = event.character
        typing = self.waiting == "ask" or self.coupon_typing  # a code's letters too (K)
        if typing and char and char.isalnum() and len(event.key) == 1:
            self.press(event.key, char)
            event.stop()
            event.prevent_default()

    def action_flow(self, key):
        self.press(key)

    def action_card(self, key):
        self.press(key)

    def action_choose(self, step):
        self.press("down" if step > 0 else "up")

    def action_digit(self):
        key = self.typed.key if self.typed is not None else ""
        if not (len(key) == 1 and key.isdigit()):
            self.notify("Type the digits on the keyboard", timeout=3)
            return
        self.press(key, key)

    def action_ok(self):
        self.press("enter")

    def action_cancel(self):
        self.press("escape")

    def action_backspace(self):
        self.press("backspace")

    def action_panel(self, name):
        self.query_one("#panels", TabbedContent).active = name

    def action_keys(self):
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_coupon(self):
        self.press("k")

    def action_new_card(self):
        self.push_screen(CardNumberScreen(), self.add_card_number)

    def add_card_number(self, pan):
        """A number from the dialog: joins the card list, chosen (None: closed)."""
        if not pan:
            return
        name = self.slot.add_number(pan)
        if name not in self.names:
            self.names.append(name)
        self.choose_card(name)
        self.action_panel("cards")

    def action_screenshot(self, filename=None, path=None):
        """Save an SVG of the screen in self.screenshots; its path goes to the log."""
        folder = Path(path) if path else self.screenshots
        name = filename or datetime.now().strftime("vafa-emulator-%Y%m%d-%H%M%S-%f.svg")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / name
            target.write_text(self.export_screenshot(), encoding="utf-8")
        except OSError as e:
            self._event(f"screenshot: not saved in {folder}: {e.strerror or e}")
            self.notify(f"Screenshot not saved: {e.strerror or e}", severity="error")
            return None
        self._event(f"screenshot: {target}")
        self.notify(f"Screenshot saved: {target}", timeout=5)
        return target

    def export_screenshot(self, *, title=None, simplify=False):
        return bidi.svg_as_drawn(super().export_screenshot(title=title, simplify=simplify))

    def get_system_commands(self, screen):
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":  # saved where the log says, not ~/Downloads
                yield SystemCommand("Screenshot", f"Save an SVG screenshot in "
                                    f"{self.screenshots}", self.action_screenshot)  # fmt: skip
            else:
                yield command
        for title, help_text, action in keys.commands():
            if action != "screenshot":
                yield SystemCommand(title, help_text, self._runner(action))

    def _runner(self, action):
        return lambda: self.run_action(action)

    # -- flows -----------------------------------------------------------------------------

    def _call(self, key, amount):
        """The engine call for a flow, or None (logged) when it cannot run."""
        eng = self.engine
        flow = FLOWS[key][0]
        code = self.take_coupon(flow)  # keyed in with K before the flow (coupon_keys.py)
        split = self.split_call(flow, amount, code)  # X before F2/F3 (split_keys.py)
        if split is not None:
            return split
        calls = {
            "bank": lambda: eng.purchase_bank(amount, coupon=code),
            "club_credit": lambda: eng.purchase_club_credit(amount, coupon=code),
            "store_credit": lambda: eng.purchase_store_credit(amount, coupon=code),
            "cash": lambda: eng.purchase_cash(amount, coupon=code),
            "points": lambda: eng.purchase_points(amount),
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
        elif res.get("outcome") == "approved" and flow == "split" and res.get("legs"):
            self.last_sale = (res.get("rrn"), res["legs"][0]["account"])  # the credit leg
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
    app = EmulatorApp(world.terminal, args.ui_lang, args.ui_bidi, args.card, club,
                      screenshots=Path(args.data_dir) / "screenshots")  # fmt: skip
    app.run()
    return 0
